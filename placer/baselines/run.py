"""One entry point for the non-RL placers: ``place(design, method, ...)`` -> a scored placement."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from netlists import Design, Placement
from placer.baselines.annealing import AnnealSettings, MoveMix, anneal
from placer.baselines.constructive import (
    column_packer,
    greedy_chooser,
    place_sequentially,
    random_chooser,
    row_packer,
)
from placer.baselines.descent import coordinate_descent
from placer.baselines.mixed_size import FlowSettings, Stage, mixed_size_place
from placer.baselines.soft_stage import SoftStage, finish_soft_macros
from placer.cost import CostModel, CostReport, CostWeights
from placer.fd import FDSchedule
from placer.sequential import check_soft_start, placement_order, starting_placement

METHODS = ("random", "greedy", "sa", "analytic")
BUDGETED = ("sa", "analytic")  # the methods that search for as long as they are given
DEFAULT_SECONDS = 60.0  # their budget when none is given
STARTS = ("analytic", "policy")  # where learned annealing may start: the analytic flow's start, a policy's placement
RANDOM_RETRIES = 3  # fresh random tries before random placement backs off to packing


@dataclass
class PlaceResult:
    """A placement made by one method, with its proxy cost.

    Attributes:
        method: ``random``, ``greedy``, ``sa`` or ``analytic`` (``+cd`` when coordinate descent followed).
        placement: Hard macros on legal cells, soft macros placed by force-directed placement.
        report: Its proxy cost and terms.
        runtime_s: Wall time of the whole method (s).
        seed: The seed used.
        budget_s: The wall-clock budget, if any.
        moves: Annealing moves tried (0 for the other methods).
        backed_off: The placer had to fall back to packing to fit every macro.
        history: Annealing's ``(moves, seconds, temperature, current cost, best cost)`` now and then
            (seconds on the run's clock, from annealing's start).
        details: What else the method counted, by name (e.g. fine-tuning's steps and episodes).
        stages: The stages of a method made of several (``analytic``), each with its time and
            the proxy cost after it.
    """

    method: str
    placement: Placement
    report: CostReport
    runtime_s: float
    seed: int
    budget_s: float | None = None
    moves: int = 0
    backed_off: bool = False
    history: list[tuple[int, float, float, float, float]] = field(default_factory=list)
    details: dict[str, int | float] = field(default_factory=dict)
    stages: list[Stage] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """The cost terms (the keys of ``placer eval --json``) and how the result was made."""
        return {
            **self.report.as_dict(),
            "method": self.method,
            "runtime_s": self.runtime_s,
            "seed": self.seed,
            "budget_s": self.budget_s,
            "moves": self.moves,
            "backed_off": self.backed_off,
            **self.details,
            **({"stages": [dataclasses.asdict(stage) for stage in self.stages]} if self.stages else {}),
        }


def place(
    design: Design,
    method: str = "greedy",
    *,
    seconds: float | None = None,
    moves: int | None = None,
    seed: int = 0,
    descent: bool = False,
    weights: CostWeights | None = None,
    fd_schedule: FDSchedule | None = None,
    anneal_settings: AnnealSettings | None = None,
    progress: Callable[[float, float], None] | None = None,
    controller: Callable[[np.ndarray], MoveMix] | None = None,
    clock: Callable[[], float] = time.perf_counter,
    soft_start: str = "fd",
    flow_settings: FlowSettings | None = None,
    soft_stage: SoftStage | None = None,
) -> PlaceResult:
    """Place a design's movable hard macros by ``method``, then its soft macros; score it.

    Args:
        design: The design; fixed macros, ports and placed soft macros start where it has them.
        method: ``"random"``, ``"greedy"``, ``"sa"`` (annealing from the greedy placement) or
            ``"analytic"`` (:func:`placer.baselines.mixed_size.mixed_size_place`: mixed-size
            analytic placement, macro legalisation, then annealing as a polish).
        seconds: Wall-clock budget of annealing, or of the whole analytic flow (60 s when
            neither budget is given).
        moves: Budget of annealing (or of the analytic flow's polish) in moves (repeatable for a seed).
        seed: Seed of random choices.
        descent: Run coordinate descent afterwards.
        weights: Weights of the proxy cost.
        fd_schedule: How soft macros are placed (the electrostatic schedule by default).
        anneal_settings: Settings of annealing.
        progress: For annealing: called with the fraction of the budget used and the best cost.
        controller: For annealing and the analytic flow's polish: steers its moves block by block (see :func:`anneal`).
        clock: The clock of ``seconds`` (wall time by default; ``time.process_time`` for CPU time).
        soft_start: Where soft macros start (:func:`placer.sequential.starting_placement`):
            force-directed placement's alone (``"fd"``, the default) or the design's positions
            (``"file"``).
            The analytic flow reads no movable node's position, so for it both are the same.
        flow_settings: Settings of the analytic flow.
        soft_stage: How random and greedy finish the soft macros
            (:func:`placer.baselines.soft_stage.finish_soft_macros`: FD, then soft-macro
            nudges on the exact cost; FD alone by default). Annealing and the analytic flow
            move the soft macros on the exact cost themselves.

    Raises:
        ValueError: An unknown method or ``soft_start``.
        PackingError: The macros do not fit on the canvas.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r} (expected one of {', '.join(METHODS)})")
    check_soft_start(soft_start)
    started = clock()
    nl, fp = design.netlist, design.floorplan
    weights = weights or CostWeights()
    fd_schedule = fd_schedule or FDSchedule.electrostatic()
    settings = anneal_settings or AnnealSettings()
    model = CostModel(nl, fp)
    if method in BUDGETED and seconds is None and moves is None:
        seconds = DEFAULT_SECONDS
    if method == "analytic":
        flow = mixed_size_place(model, design.placement, seconds=seconds, moves=moves, seed=seed,
                                settings=flow_settings, anneal_settings=settings, weights=weights,
                                fd_schedule=fd_schedule, progress=progress, controller=controller,
                                clock=clock)  # fmt: skip
        annealed = flow.polish.moves if flow.polish else 0
        history = flow.polish.history if flow.polish else []
        result = PlaceResult(method, flow.placement, flow.report, clock() - started, seed, seconds, annealed,
                             history=history, details={"target_density": flow.density}, stages=flow.stages)  # fmt: skip
    else:
        start = starting_placement(nl, fp, design.placement, fd_schedule, soft_start)
        order = placement_order(nl, start)
        if method == "random":
            choosers = [random_chooser(seed + k) for k in range(RANDOM_RETRIES)] + [row_packer, column_packer]
            backed_off_from = RANDOM_RETRIES
        else:
            choosers, backed_off_from = [greedy_chooser, row_packer, column_packer], 1
        placer, attempt = place_sequentially(model, start, order, choosers, weights, settings.spacing)
        placement = placer.placement()
        annealed, history, details = 0, [], {}
        if method == "sa":
            remaining = None if seconds is None else max(seconds - (clock() - started), 0.0)
            annealed_run = anneal(model, placement, seconds=remaining, moves=moves, seed=seed, settings=settings,
                                  weights=weights, fd_schedule=fd_schedule, progress=progress, controller=controller,
                                  clock=clock)  # fmt: skip
            placement, report = annealed_run.placement, annealed_run.report
            annealed, history = annealed_run.moves, annealed_run.history
        else:
            finished = finish_soft_macros(model, placement, soft_stage, seed=seed, weights=weights,
                                          fd_schedule=fd_schedule)  # fmt: skip
            placement, report = finished.placement, finished.report
            if soft_stage is not None and soft_stage.moves:
                details = {"fd_proxy_cost": finished.fd_cost, "soft_stage_s": finished.seconds}
        result = PlaceResult(method, placement, report, clock() - started, seed, seconds, annealed,
                             attempt >= backed_off_from, history, details)  # fmt: skip
    if descent:
        result = with_descent(design, result, weights=weights, fd_schedule=fd_schedule, spacing=settings.spacing)
    return result


def with_descent(
    design: Design,
    result: PlaceResult,
    *,
    weights: CostWeights | None = None,
    fd_schedule: FDSchedule | None = None,
    spacing: float = 0.0,
) -> PlaceResult:
    """``result`` improved by coordinate descent (any method's); ``+cd`` is added to the method.

    The runtime includes the descent; the seed of the macro order is the result's.
    """
    started = time.perf_counter()
    model = CostModel(design.netlist, design.floorplan)
    placement, report = coordinate_descent(model, result.placement, seed=result.seed, weights=weights,
                                           fd_schedule=fd_schedule, spacing=spacing)  # fmt: skip
    runtime = result.runtime_s + time.perf_counter() - started
    return dataclasses.replace(result, method=result.method + "+cd", placement=placement, report=report,
                               runtime_s=runtime)  # fmt: skip
