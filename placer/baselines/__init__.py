"""Non-RL placers, the yardsticks of every RL result: random, greedy, annealing, coordinate descent, the analytic flow.

>>> import netlists
>>> from placer.baselines import place
>>> result = place(netlists.load("ariane133"), "greedy")
>>> result.report.overlap_area
0.0
"""

from placer.baselines.annealing import AnnealResult, AnnealRun, AnnealSettings, MoveMix, anneal
from placer.baselines.descent import coordinate_descent
from placer.baselines.mixed_size import FlowSettings, analytic_start, mixed_size_place, polish_settings
from placer.baselines.run import METHODS, STARTS, PlaceResult, place, with_descent
from placer.baselines.soft_stage import SoftStage, SoftStageResult, finish_soft_macros
from placer.legality import PackingError

__all__ = [
    "METHODS",
    "STARTS",
    "AnnealResult",
    "AnnealRun",
    "AnnealSettings",
    "FlowSettings",
    "MoveMix",
    "PackingError",
    "PlaceResult",
    "SoftStage",
    "SoftStageResult",
    "analytic_start",
    "anneal",
    "coordinate_descent",
    "finish_soft_macros",
    "mixed_size_place",
    "place",
    "polish_settings",
    "with_descent",
]
