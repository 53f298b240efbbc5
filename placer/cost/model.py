"""Circuit Training's proxy cost: wirelength, density and congestion of a placement.

The definitions are Circuit Training's (see "The proxy cost" in the README): wirelength cost is the
weighted half-perimeter wirelength over ``(W + H) * sum of net weights``; density cost is
half the mean of the densest 10 % of placement-grid cells; congestion cost is the mean of
the top 5 % of the vertical and horizontal routing-congestion maps, built by grid routing
of every net plus the tracks hard macros take.

A :class:`CostModel` holds what does not change between placements (the netlist as flat
arrays, the grids); :meth:`CostModel.evaluate` scores one placement in about a
millisecond on a clustered Ariane133. :class:`placer.cost.IncrementalCost` updates the
terms when one macro moves.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from netlists import Floorplan, Netlist, NodeKind, Placement
from netlists.model import ORIENTATION_MATRICES
from placer.cost import kernels as k


@dataclass(frozen=True)
class CostWeights:
    """Weights of the three terms in the proxy cost.

    The defaults (1, 0.5, 0.5) are those of Google's published runs and of every
    academic comparison; Circuit Training's code defaults to (1, 1, 0.5).
    """

    wirelength: float = 1.0
    density: float = 0.5
    congestion: float = 0.5

    def combine(self, wirelength_cost: float, density_cost: float, congestion_cost: float) -> float:
        """The weighted sum of the three cost terms."""
        return self.wirelength * wirelength_cost + self.density * density_cost + self.congestion * congestion_cost


@dataclass(frozen=True, eq=False)
class CostReport:
    """The proxy cost of one placement, each term, and the maps behind them.

    Attributes:
        wirelength: Weighted half-perimeter wirelength (µm).
        wirelength_cost: Wirelength over ``(W + H) * sum of net weights``.
        density_cost: Half the mean of the top 10 % cell densities.
        congestion_cost: Mean of the top 5 % of the concatenated V and H congestion maps.
        proxy_cost: The weighted sum of the three costs.
        weights: The weights used for ``proxy_cost``.
        overlap_area: Area shared by pairs of hard macros (µm²); 0 for a legal placement.
        outside_area: Hard-macro area lying outside the canvas (µm²).
        density_map: Density per placement-grid cell, shape ``(rows, cols)``.
        h_congestion: Horizontal congestion per congestion-grid cell, ``(rows, cols)``.
        v_congestion: Vertical congestion per congestion-grid cell, ``(rows, cols)``.
    """

    wirelength: float
    wirelength_cost: float
    density_cost: float
    congestion_cost: float
    proxy_cost: float
    weights: CostWeights
    overlap_area: float
    outside_area: float
    density_map: np.ndarray
    h_congestion: np.ndarray
    v_congestion: np.ndarray

    def as_dict(self) -> dict[str, object]:
        """The scalar results and weights, ready for JSON."""
        out: dict[str, object] = {
            name: getattr(self, name)
            for name in (
                "wirelength",
                "wirelength_cost",
                "density_cost",
                "congestion_cost",
                "proxy_cost",
                "overlap_area",
                "outside_area",
            )
        }
        out["weights"] = dataclasses.asdict(self.weights)
        return out

    def header_costs(self) -> dict[str, float]:
        """The costs a ``.plc`` header records (see :func:`netlists.write_plc`)."""
        return {key: getattr(self, key) for key in ("wirelength", "wirelength_cost", "density_cost", "congestion_cost")}


def separate_congestion_grid(floorplan: Floorplan, routes_per_cell: float = 1000.0) -> Floorplan:
    """The floorplan with Circuit Training's post-2023 congestion grid.

    Cells are about ``2 * routes_per_cell / (hroutes + vroutes)`` µm on a side (13.81 µm
    with the default technology), independent of the placement grid. Circuit Training
    pairs this grid with a smoothing range of 5; set ``smoothing_range`` as wanted.
    """
    size = 2.0 * routes_per_cell / (floorplan.hroutes_per_micron + floorplan.vroutes_per_micron)
    cols = max(1, int(floorplan.width / size))
    rows = max(1, int(floorplan.height / size))
    return dataclasses.replace(floorplan, congestion_cols=cols, congestion_rows=rows)


def _csr(groups: np.ndarray, members: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Group ``members`` by ``groups`` into CSR offsets and a member array."""
    order = np.argsort(groups, kind="stable")
    start = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(np.bincount(groups, minlength=n_groups), out=start[1:])
    return start, members[order].astype(np.int64)


def _new_state(model: CostModel, placement: Placement) -> k.State:
    """The arrays behind one placement's cost (owned by one evaluator), positions copied, the rest to be filled."""
    nl = model.netlist
    n = model.n_congestion_cells
    rows, cols = model.congestion_shape
    return k.State(
        x=placement.x.astype(np.float64, copy=True),
        y=placement.y.astype(np.float64, copy=True),
        orientation=placement.orientation.astype(np.int64, copy=True),
        pin_x=np.empty(nl.n_pins), pin_y=np.empty(nl.n_pins),
        pin_row=np.zeros(nl.n_pins, dtype=np.int64), pin_col=np.zeros(nl.n_pins, dtype=np.int64),
        pin_cell=np.empty(nl.n_pins, dtype=np.int64),
        net_hpwl=np.zeros(nl.n_nets),
        occupancy=np.zeros(model.n_cells),
        h_diff=np.zeros(rows * (cols + 1)), v_diff=np.zeros((rows + 1) * cols),
        hm_raw=np.zeros(n), vm_raw=np.zeros(n),
        h_total=np.zeros(n), v_total=np.zeros(n), both=np.zeros(2 * n),
        top_hints=np.full(2, -np.inf),  # density, congestion: see kernels.top_mean
        top_scratch=np.empty(max(model.n_cells, 2 * n)),
        stamp=np.zeros(n + 1, dtype=np.int64),  # per cell, then the visit counter
        firsts=np.zeros(int(nl.net_degree.max(initial=0)) + 1, dtype=np.int64),
    )  # fmt: skip


class CostModel:
    """Everything about a netlist and floorplan that the proxy cost needs, as flat arrays.

    Args:
        netlist: The netlist.
        floorplan: Canvas, placement grid, routing model (and optional congestion grid).
    """

    def __init__(self, netlist: Netlist, floorplan: Floorplan) -> None:
        self.netlist, self.floorplan = netlist, floorplan
        nl, fp = netlist, floorplan
        pin_node, net_pins = nl.pin_node.astype(np.int64), nl.net_pins.astype(np.int64)
        self.net_weight = nl.net_weight
        driver_kind = nl.node_kind[nl.pin_node[nl.net_pins[nl.net_start[:-1]]]]
        # Circuit Training routes port-driven nets once and counts weights below 1 as 1.
        route_weight = np.where(driver_kind == NodeKind.PORT, 1.0, np.maximum(nl.net_weight, 1.0))
        self.wirelength_norm = (fp.width + fp.height) * nl.weighted_net_count
        self.all_pins = np.arange(nl.n_pins, dtype=np.int64)
        self.all_nets = np.arange(nl.n_nets, dtype=np.int64)
        self.area_nodes = nl.nodes_of(NodeKind.HARD_MACRO, NodeKind.SOFT_MACRO, NodeKind.STD_CELL).astype(np.int64)
        self.hard_macros = nl.nodes_of(NodeKind.HARD_MACRO).astype(np.int64)
        node_pin_start, node_pins = _csr(pin_node, self.all_pins, nl.n_nodes)
        n_nets = max(nl.n_nets, 1)
        owner_net = np.unique(pin_node[net_pins] * n_nets + nl.pin_net)
        node_net_start, node_nets = _csr(owner_net // n_nets, owner_net % n_nets, nl.n_nodes)
        # The kernels' groups as plain tuples (see placer.cost.kernels); their fields by name in k.Graph, k.Grid.
        self.graph = tuple(k.Graph(
            pin_node=pin_node, pin_dx=nl.pin_dx, pin_dy=nl.pin_dy, node_pin_start=node_pin_start, node_pins=node_pins,
            node_net_start=node_net_start, node_nets=node_nets, net_start=nl.net_start.astype(np.int64),
            net_pins=net_pins, net_weight=nl.net_weight, route_weight=route_weight, node_w=nl.node_width,
            node_h=nl.node_height, is_area=nl.node_kind != NodeKind.PORT, is_hard=nl.node_kind == NodeKind.HARD_MACRO,
            matrices=ORIENTATION_MATRICES,
        ))  # fmt: skip
        cong_cols = fp.cols if fp.congestion_cols is None else fp.congestion_cols
        cong_rows = fp.rows if fp.congestion_rows is None else fp.congestion_rows
        self.n_cells = fp.cols * fp.rows
        self.n_congestion_cells = cong_cols * cong_rows
        self.cell_area = fp.cell_width * fp.cell_height
        p = np.zeros(10)
        p[k.P_WIDTH], p[k.P_HEIGHT] = fp.width, fp.height
        p[k.P_CELL_W], p[k.P_CELL_H] = fp.width / fp.cols, fp.height / fp.rows
        p[k.P_CONG_W], p[k.P_CONG_H] = fp.width / cong_cols, fp.height / cong_rows
        p[k.P_H_ROUTES], p[k.P_V_ROUTES] = fp.hroutes_per_micron, fp.vroutes_per_micron
        p[k.P_H_ALLOC], p[k.P_V_ALLOC] = fp.hrouting_alloc, fp.vrouting_alloc
        ip = np.array([fp.cols, fp.rows, cong_cols, cong_rows, math.floor(fp.smoothing_range)], np.int64)
        self.grid = tuple(k.Grid(p, ip, self.cell_area))
        self.congestion_shape = (cong_rows, cong_cols)

    # ------------------------------------------------------------------ state
    def check(self, placement: Placement) -> None:
        """Raise ``ValueError`` when a placement does not fit this netlist or has bad values."""
        nl = self.netlist
        if len(placement) != nl.n_nodes:
            raise ValueError(f"placement has {len(placement)} nodes, netlist {nl.name} has {nl.n_nodes}")
        bad = np.flatnonzero(np.isinf(placement.x) | np.isinf(placement.y))
        if bad.size:
            raise ValueError(f"node {nl.node_names[bad[0]]} has an infinite coordinate")
        if placement.orientation.size and not (0 <= placement.orientation.min() and placement.orientation.max() < 8):
            raise ValueError("orientation codes must be 0..7")

    def fill(self, state: k.State) -> None:
        """Recompute every array of ``state`` from its node positions."""
        g, grid, arrays = self.graph, self.grid, tuple(state)
        k.update_pins(self.all_pins, g, grid, arrays)
        for array in (state.net_hpwl, state.occupancy, state.h_diff, state.v_diff, state.hm_raw, state.vm_raw):
            array[:] = 0.0
        k.update_nets(self.all_nets, 1.0, True, g, grid, arrays)
        k.add_density(self.area_nodes, 1.0, g, grid, arrays)
        k.add_macro_blockage(self.hard_macros, 1.0, g, grid, arrays)

    def new_state(self, placement: Placement) -> k.State:
        """A filled state for a placement (the placement itself is not kept)."""
        self.check(placement)
        state = _new_state(self, placement)
        self.fill(state)
        return state

    # ------------------------------------------------------------------ costs
    def terms(self, state: k.State) -> tuple[float, float, float]:
        """Wirelength, density cost and congestion cost of a filled state."""
        wirelength = float(np.dot(self.net_weight, state.net_hpwl))
        return (wirelength, *self.grid_costs(state))

    def grid_costs(self, state: k.State) -> tuple[float, float]:
        """Density cost and congestion cost from a state's maps."""
        arrays = tuple(state)
        return float(k.density_cost(self.grid, arrays)), float(k.congestion_cost(self.grid, arrays))

    def wirelength_cost(self, wirelength: float) -> float:
        """Wirelength over ``(W + H) * sum of net weights`` (0 for a netlist without nets)."""
        return wirelength / self.wirelength_norm if self.wirelength_norm > 0 else 0.0

    def report(self, state: k.State, weights: CostWeights) -> CostReport:
        """A full :class:`CostReport` of a filled state."""
        wirelength, density, congestion = self.terms(state)
        wirelength_cost = self.wirelength_cost(wirelength)
        fp = self.floorplan
        overlap, outside = self._overlap_and_outside(state)
        return CostReport(
            wirelength=wirelength,
            wirelength_cost=wirelength_cost,
            density_cost=density,
            congestion_cost=congestion,
            proxy_cost=weights.combine(wirelength_cost, density, congestion),
            weights=weights,
            overlap_area=overlap,
            outside_area=outside,
            density_map=(state.occupancy / self.cell_area).reshape(fp.rows, fp.cols),
            h_congestion=state.h_total.reshape(self.congestion_shape).copy(),
            v_congestion=state.v_total.reshape(self.congestion_shape).copy(),
        )

    def evaluate(self, placement: Placement, weights: CostWeights | None = None) -> CostReport:
        """The proxy cost of a placement, each term and the maps.

        Pins of unplaced nodes (NaN centre) are left out; overlapping macros and macros
        outside the canvas are scored as they are (see ``overlap_area``, ``outside_area``).
        """
        return self.report(self.new_state(placement), weights or CostWeights())

    def _overlap_and_outside(self, state: k.State) -> tuple[float, float]:
        overlap, outside = k.hard_macro_overlap(self.hard_macros, self.graph, self.grid, tuple(state))
        return float(overlap), float(outside)


def evaluate(
    netlist: Netlist, placement: Placement, floorplan: Floorplan, weights: CostWeights | None = None
) -> CostReport:
    """The proxy cost of one placement; build a :class:`CostModel` to score many."""
    return CostModel(netlist, floorplan).evaluate(placement, weights)
