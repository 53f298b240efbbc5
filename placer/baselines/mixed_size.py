"""The field's strongest non-RL flow: mixed-size analytic placement, macro legalisation, exact-proxy polish.

The best published results on Circuit Training's proxy cost place hard and soft macros
together with an analytic placer, legalise the hard macros, then polish on the exact proxy
(the 2026 macro placement challenge's top entries; ePlace-MS and DREAMPlace's mixed-size flow
before them). The stages here:

1. *global*: :func:`placer.analytic.place_analytic` places every movable hard and soft macro
   at once, from the canvas centre (no position of the design's movable nodes is read), hard
   macros charged at the target density and grown by the spacing;
2. *legalize*: :func:`placer.legalize.legalize` moves the hard macros onto legal grid cells
   with little displacement, orientations kept;
3. *soft*: the soft macros are placed again by the analytic engine around the legal hard
   macros, from where global placement left them;
4. *polish*: simulated annealing on the exact incremental cost (:func:`anneal`, hard and soft
   macros together) from that placement, at a low starting temperature, for the rest of the
   budget.

The target density is ``min_density``, raised where the movable area needs more room
(``density_margin`` above the soft macros' share of the area the hard macros leave free), so
that spreading can finish on a crowded canvas.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from netlists import NodeKind, Placement
from placer.analytic import AnalyticSettings, place_analytic
from placer.baselines.annealing import AnnealResult, AnnealSettings, MoveMix, anneal
from placer.cost import CostModel, CostReport, CostWeights
from placer.fd import FDSchedule
from placer.legalize import legalize


@dataclass(frozen=True)
class FlowSettings:
    """Settings of :func:`mixed_size_place`.

    Attributes:
        min_density: The lowest target density of the analytic stages.
        density_margin: Target density at least this much above the soft macros' share of
            the area the hard macros leave free (at most 1).
        hpwl_step: The analytic engine's ``hpwl_step`` (how fast the density weight grows);
            the engine's default suits a flat netlist of many small cells, not macros.
        polish_acceptance: Share of uphill moves accepted as the polish starts (annealing's
            ``initial_acceptance``; low, so the polish keeps what the analytic stages found).
        max_iterations: Gradient steps of each analytic stage at most (the clustered designs
            of about 1,000 nodes converge in about 500).
    """

    min_density: float = 0.6
    density_margin: float = 0.1
    hpwl_step: float = 1e-2
    polish_acceptance: float = 0.1
    max_iterations: int = 1000

    def __post_init__(self) -> None:
        if not 0.0 < self.min_density <= 1.0 or not 0.0 <= self.density_margin <= 1.0:
            raise ValueError("need 0 < min_density <= 1 and 0 <= density_margin <= 1")
        if not 0.0 < self.polish_acceptance < 1.0 or not 0.0 < self.hpwl_step:
            raise ValueError("need 0 < polish_acceptance < 1 and hpwl_step > 0")
        if self.max_iterations < 0:
            raise ValueError("need max_iterations >= 0")


@dataclass(frozen=True)
class Stage:
    """One stage of the flow: its name, the time it took (on the run's clock) and the proxy cost after it."""

    name: str
    seconds: float
    proxy_cost: float


@dataclass
class FlowResult:
    """What :func:`mixed_size_place` found.

    Attributes:
        placement: The polished placement (hard macros on legal cells).
        report: Its proxy cost.
        stages: Global, legalize, soft and polish, in order.
        density: The target density the analytic stages used.
        polish: The polish's annealing run (``None`` when no budget was left for it).
    """

    placement: Placement
    report: CostReport
    stages: list[Stage] = field(default_factory=list)
    density: float = 1.0
    polish: AnnealResult | None = None


def target_density(model: CostModel, placement: Placement, settings: FlowSettings) -> float:
    """The analytic stages' target density for this design (see the module's docstring)."""
    nl, fp = model.netlist, model.floorplan
    hard, soft = nl.nodes_of(NodeKind.HARD_MACRO), nl.nodes_of(NodeKind.SOFT_MACRO)
    free = fp.width * fp.height - float(nl.node_area[hard].sum())
    soft_area = float(nl.node_area[soft[~placement.fixed[soft]]].sum())
    share = soft_area / free if free > 0 else 1.0
    return float(min(1.0, max(settings.min_density, share + settings.density_margin)))


def polish_settings(anneal_settings: AnnealSettings | None, settings: FlowSettings) -> AnnealSettings:
    """Annealing's settings for the polish: ``anneal_settings`` starting at the flow's ``polish_acceptance``."""
    return dataclasses.replace(anneal_settings or AnnealSettings(), initial_acceptance=settings.polish_acceptance)


def analytic_start(
    model: CostModel,
    placement: Placement,
    *,
    seed: int = 0,
    settings: FlowSettings | None = None,
    spacing: float = 0.0,
    weights: CostWeights | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> FlowResult:
    """The flow's first three stages (global, legalize, soft): the start its polish anneals from.

    Args:
        model: The design's cost model.
        placement: Fixed nodes and ports where they stay; the movable nodes' positions are not read.
        seed: Seed of the analytic spread.
        settings: The flow's settings.
        spacing: Clearance (µm) between hard macros, the analytic stages' halo too.
        weights: Weights of the proxy cost the stages are scored with.
        clock: The clock of the stages' times.

    Raises:
        PackingError: The hard macros do not fit on the grid.
    """
    settings, weights = settings or FlowSettings(), weights or CostWeights()
    nl, fp = model.netlist, model.floorplan
    hard, soft = nl.nodes_of(NodeKind.HARD_MACRO), nl.nodes_of(NodeKind.SOFT_MACRO)
    movable_hard, movable_soft = hard[~placement.fixed[hard]], soft[~placement.fixed[soft]]
    movable = np.concatenate([movable_hard, movable_soft])
    density = target_density(model, placement, settings)
    analytic = AnalyticSettings(target_density=density, hpwl_step=settings.hpwl_step, seed=seed,
                                macro_halo=spacing, max_iterations=settings.max_iterations)  # fmt: skip
    stages: list[Stage] = []
    last = clock()

    def finished(name: str, done: Placement) -> CostReport:
        nonlocal last
        now = clock()
        report = model.evaluate(done, weights)
        stages.append(Stage(name, now - last, report.proxy_cost))
        last = now
        return report

    start = placement.copy()
    start.x[movable] = start.y[movable] = np.nan  # nothing of the design's answer is read
    current = place_analytic(nl, start, fp, movable, analytic).placement
    finished("global", current)
    current = legalize(nl, fp, current, movable_hard, spacing=spacing).placement
    finished("legalize", current)
    current = place_analytic(nl, current, fp, movable_soft, analytic, use_current_loc=True).placement
    return FlowResult(current, finished("soft", current), stages, density)


def mixed_size_place(
    model: CostModel,
    placement: Placement,
    *,
    seconds: float | None = None,
    moves: int | None = None,
    seed: int = 0,
    settings: FlowSettings | None = None,
    anneal_settings: AnnealSettings | None = None,
    weights: CostWeights | None = None,
    fd_schedule: FDSchedule | None = None,
    progress: Callable[[float, float], None] | None = None,
    controller: Callable[[np.ndarray], MoveMix] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> FlowResult:
    """Place every movable hard and soft macro by the mixed-size flow; the polish takes what is left of the budget.

    Args:
        model: The design's cost model.
        placement: Fixed nodes and ports where they stay; the movable nodes' positions are not read.
        seconds: Budget of the whole flow on ``clock``; the analytic stages run whole
            (seconds on a 1,000-node design) and the polish gets the rest, if any.
        moves: Budget of the polish in moves (repeatable for a seed); one of the two budgets
            at least.
        seed: Seed of the analytic spread and of the polish.
        settings: The flow's settings.
        anneal_settings: The polish's annealing settings (its ``initial_acceptance`` is
            replaced by ``settings.polish_acceptance``; its ``spacing`` is the halo too).
        weights: Weights of the proxy cost.
        fd_schedule: The polish's soft-macro re-placement (see :func:`anneal`).
        progress: For the polish: called with the fraction of its budget used and the best cost.
        controller: For the polish: steers its moves block by block (see :func:`anneal`).
        clock: The clock of ``seconds``.

    Raises:
        ValueError: Neither budget is given.
        PackingError: The hard macros do not fit on the grid.
    """
    if seconds is None and moves is None:
        raise ValueError("give a budget: seconds, moves or both")
    started = clock()
    settings = settings or FlowSettings()
    anneal_settings = polish_settings(anneal_settings, settings)
    flow = analytic_start(model, placement, seed=seed, settings=settings, spacing=anneal_settings.spacing,
                          weights=weights, clock=clock)  # fmt: skip
    remaining = None if seconds is None else seconds - (clock() - started)
    if remaining is not None and remaining <= 0:
        return flow
    before = clock()
    flow.polish = anneal(model, flow.placement, seconds=remaining, moves=moves, seed=seed, settings=anneal_settings,
                         weights=weights, fd_schedule=fd_schedule, progress=progress, controller=controller,
                         clock=clock)  # fmt: skip
    flow.stages.append(Stage("polish", clock() - before, flow.polish.report.proxy_cost))
    flow.placement, flow.report = flow.polish.placement, flow.polish.report
    return flow
