"""Circuit Training's proxy cost, exact and fast: full evaluation and incremental updates.

>>> import netlists
>>> from placer.cost import CostModel
>>> design = netlists.load("ariane133")
>>> report = CostModel(design.netlist, design.floorplan).evaluate(design.placement)
>>> round(report.congestion_cost, 4)
0.7259
"""

from placer.cost.incremental import IncrementalCost
from placer.cost.model import CostModel, CostReport, CostWeights, evaluate, separate_congestion_grid

__all__ = ["CostModel", "CostReport", "CostWeights", "IncrementalCost", "evaluate", "separate_congestion_grid"]
