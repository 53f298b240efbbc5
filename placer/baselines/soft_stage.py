"""The soft-macro stage: force-directed placement, then soft-macro annealing on the exact proxy cost.

Once the hard macros are down, the soft macros (std-cell clusters) decide most of the proxy
cost. Force-directed placement alone leaves a lot on the table: on the clustered Ariane133,
re-placing the soft macros of an annealing placement by FD costs +0.06 proxy, and a short
annealing of the soft macros alone on the exact incremental cost wins most of it back. This
stage is that: FD from the canvas centre around the hard macros and ports (nothing of the
soft macros' previous positions is read), then ``moves`` soft-macro nudges under Metropolis
acceptance (the moves and acceptance of :mod:`placer.baselines.annealing`, hard macros never
moved). It returns the best placement visited, so never one costlier than FD's.

The constructive placers (random, greedy, the policy's episodes) end with it; annealing and
the analytic flow move the soft macros on the exact cost themselves.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from netlists import Placement
from placer.baselines.annealing import MOVES, AnnealRun, AnnealSettings
from placer.cost import CostModel, CostReport, CostWeights
from placer.fd import FDSchedule, place_soft_macros

SOFT_ONLY = tuple(1.0 if move == "soft" else 0.0 for move in MOVES)
SOFT_MOVES = 10_000
"""The stage's nudges in ``placer place`` (about 0.6 s on Ariane133's 799 clusters, 3 s on 1,000 at 128 x 128)."""


@dataclass(frozen=True)
class SoftStage:
    """How the soft macros are finished.

    Attributes:
        moves: Soft-macro nudges after FD (0: FD alone).
        initial_acceptance: Share of uphill nudges accepted at the start (sets the temperature).
        final_ratio: Final temperature over the initial one.
    """

    moves: int = 0
    initial_acceptance: float = 0.01
    final_ratio: float = 1e-3

    def __post_init__(self) -> None:
        if self.moves < 0:
            raise ValueError("the soft-macro stage needs moves >= 0")
        AnnealSettings(initial_acceptance=self.initial_acceptance, final_ratio=self.final_ratio)  # checks both

    def anneal_settings(self) -> AnnealSettings:
        """Annealing that nudges soft macros only and never re-places them by FD."""
        # Random nudges only (no pulls): the stage ranks the policy's episodes, and its figures were measured so.
        return AnnealSettings(move_probabilities=SOFT_ONLY, initial_acceptance=self.initial_acceptance,
                              final_ratio=self.final_ratio, fd_every=self.moves + 1, pull_share=0.0)  # fmt: skip


@dataclass
class SoftStageResult:
    """What :func:`finish_soft_macros` made.

    Attributes:
        placement: The best placement visited.
        report: Its proxy cost.
        fd_cost: The proxy cost after FD, before the nudges.
        seconds: Wall time of the stage.
    """

    placement: Placement
    report: CostReport
    fd_cost: float
    seconds: float


def finish_soft_macros(
    model: CostModel,
    placement: Placement,
    stage: SoftStage | None = None,
    *,
    seed: int = 0,
    weights: CostWeights | None = None,
    fd_schedule: FDSchedule | None = None,
) -> SoftStageResult:
    """Place the movable soft macros around ``placement``'s hard macros: FD, then ``stage.moves`` nudges.

    Args:
        model: Cost model of the design.
        placement: Hard macros and ports where they stay (every movable hard macro placed).
        stage: The nudge budget and temperatures (FD alone by default).
        seed: Seed of the nudges.
        weights: Weights of the proxy cost.
        fd_schedule: The FD schedule (the electrostatic one by default).
    """
    started = time.perf_counter()
    stage = stage or SoftStage()
    weights = weights or CostWeights()
    nl, fp = model.netlist, model.floorplan
    placed = place_soft_macros(nl, placement, fp, fd_schedule or FDSchedule.electrostatic())
    if stage.moves == 0:
        report = model.evaluate(placed, weights)
        return SoftStageResult(placed, report, report.proxy_cost, time.perf_counter() - started)
    run = AnnealRun(model, placed, moves=stage.moves, seed=seed, settings=stage.anneal_settings(), weights=weights,
                    fd_schedule=fd_schedule, soft_placed=True)  # fmt: skip
    run.advance()
    done = run.result()
    return SoftStageResult(done.placement, done.report, run.start_cost, time.perf_counter() - started)
