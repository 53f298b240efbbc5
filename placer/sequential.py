"""Hard macros placed one at a time on grid cells: the episode of the RL environment.

A :class:`SequentialPlacer` holds a placement in which the movable hard macros start
unplaced and are put down, in a fixed order, each with its centre on the centre of a legal
grid cell (see :mod:`placer.legality`). It keeps the proxy cost up to date as it goes
(:class:`placer.cost.IncrementalCost`), and for the macro to place next it gives the
legal cells and the wirelength change at every cell. The gymnasium environment and the
greedy placer are thin layers over it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from netlists import Floorplan, Netlist, NodeKind, Orientation, Placement
from placer.cost import CostModel, CostWeights, IncrementalCost
from placer.fd import FDSchedule, place_soft_macros
from placer.legality import SCANS, MacroBoxes, PackingError, boxes_fit, cell_centre, cell_centres, legal_cells
from placer.legalize import legalize

ORDERS = ("area", "netlist", "random")
"""Named macro orders: area descending (Circuit Training's, ties in netlist order), netlist order, random."""

ROOM_CHECKS = 16
"""First-fit checks of single cells per step at most in :meth:`SequentialPlacer.room_mask` (each packs the rest)."""

FLIPS = (Orientation.N, Orientation.FN, Orientation.S, Orientation.FS)
"""The orientations that keep a macro's footprint and that Circuit Training's coordinate descent tries."""


def placement_order(
    netlist: Netlist,
    placement: Placement,
    order: str | Sequence[int | str] = "area",
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """The movable (not fixed) hard macros in the order they are to be placed.

    Args:
        netlist: The netlist.
        placement: Tells which hard macros are fixed.
        order: One of :data:`ORDERS`, or every movable hard macro (ids or names) in the wanted order.
        rng: Random generator for ``"random"``.

    Raises:
        ValueError: An unknown order name, or an explicit order that is not a permutation
            of the movable hard macros.
    """
    hard = netlist.nodes_of(NodeKind.HARD_MACRO)
    movable = hard[~placement.fixed[hard]].astype(np.int64)
    if isinstance(order, str):
        if order == "area":
            return movable[np.argsort(-netlist.node_area[movable], kind="stable")]
        if order == "netlist":
            return movable
        if order == "random":
            return (rng or np.random.default_rng()).permutation(movable)
        raise ValueError(f"unknown macro order {order!r} (expected one of {', '.join(ORDERS)} or a list of macros)")
    ids = np.array([netlist.node_id(m) if isinstance(m, str) else int(m) for m in order], dtype=np.int64)
    if ids.size != movable.size or not np.array_equal(np.sort(ids), np.sort(movable)):
        raise ValueError(f"an explicit order must list each of the {movable.size} movable hard macros once")
    return ids


SOFT_STARTS = ("fd", "file")
"""Where the soft macros start (:func:`starting_placement`): FD's alone (the default), or the file's positions."""


def check_soft_start(soft_start: str) -> None:
    """Refuse a ``soft_start`` that is not one of ``SOFT_STARTS``.

    Raises:
        ValueError: It is not.
    """
    if soft_start not in SOFT_STARTS:
        raise ValueError(f"unknown soft_start {soft_start!r} (expected one of {', '.join(SOFT_STARTS)})")


def starting_placement(
    netlist: Netlist,
    floorplan: Floorplan,
    placement: Placement,
    schedule: FDSchedule | None = None,
    soft_start: str = "fd",
) -> Placement:
    """Where sequential placement starts: movable hard macros off the canvas, everything else placed.

    Fixed nodes and ports stay where ``placement`` has them. With ``soft_start="fd"`` (the
    default) every movable soft macro is put down by force-directed placement (``schedule``, the
    electrostatic one by default) from the canvas centre around the fixed macros and ports, so
    the start carries nothing of the file's soft-macro positions (for a file written by another
    placer, its answer); with ``"file"`` the placed soft macros stay where the file has them and
    only those it leaves unplaced are put down by FD.

    Raises:
        ValueError: ``soft_start`` is not one of ``SOFT_STARTS``.
    """
    check_soft_start(soft_start)
    start = placement.copy()
    hard = netlist.nodes_of(NodeKind.HARD_MACRO)
    movable = hard[~start.fixed[hard]]
    start.x[movable] = start.y[movable] = math.nan
    soft = netlist.nodes_of(NodeKind.SOFT_MACRO)
    missing = soft[~start.is_placed[soft]] if soft_start == "file" else soft[~start.fixed[soft]]
    if missing.size:
        placed = place_soft_macros(netlist, start, floorplan, schedule or FDSchedule.electrostatic())
        start.x[missing], start.y[missing] = placed.x[missing], placed.y[missing]
    return start


class SequentialPlacer:
    """Places the macros of ``order`` one after another on legal grid cells.

    Args:
        model: Cost model of the netlist and floorplan.
        start: Where everything else is (soft macros, ports, fixed macros). The macros of
            ``order`` are taken off the canvas; the placement itself is not modified.
        order: Hard macros to place, in order (see :func:`placement_order`).
        weights: Weights of the proxy cost.
        spacing: Clearance (µm) kept between hard macros and from blockages.

    Attributes:
        cost: The proxy cost of the placement so far, kept up to date.
        step: How many macros of the order are placed.
        boxes: The hard macros and blockages on the canvas (slot ``k`` is ``order[k]``).
    """

    def __init__(
        self,
        model: CostModel,
        start: Placement,
        order: np.ndarray,
        weights: CostWeights | None = None,
        spacing: float = 0.0,
    ) -> None:
        netlist, floorplan = model.netlist, model.floorplan
        self.model, self.floorplan = model, floorplan
        self.order = np.asarray(order, dtype=np.int64)
        self.spacing = spacing
        placement = start.copy()
        placement.x[self.order] = placement.y[self.order] = math.nan
        self.cost = IncrementalCost(model, placement, weights)
        self.boxes = MacroBoxes.of(netlist, floorplan, placement, self.order, spacing)
        self._xs, self._ys = cell_centres(floorplan)
        self.step = 0
        self._mask: np.ndarray | None = None
        self._room: np.ndarray | None = None
        self._packs: bool | None = None  # whether the unplaced macros pack from here, once asked
        # Packings of the macros after the current one, one per scan order (see room_mask), then the
        # one that let the last macro's cell in, if first fit found it: centres per slot; None: to
        # compute (none, for the last); False: that scan's packing failed at this step.
        self._witnesses: list = [None] * (SCANS + 1)
        self._checked: dict[int, np.ndarray] = {}  # this step's cells let in by first fit, and its packing

    # ---------------------------------------------------------------- reading
    @property
    def done(self) -> bool:
        """Whether every macro of the order is placed."""
        return self.step >= self.order.size

    @property
    def current(self) -> int | None:
        """The node to place next (``None`` when done)."""
        return None if self.done else int(self.order[self.step])

    @property
    def cover(self) -> np.ndarray:
        """Fraction of each grid cell (``rows x cols``) under hard macros and blockages."""
        return self.boxes.cover()

    def placement(self) -> Placement:
        """A copy of the current placement."""
        return self.cost.placement()

    def legal_mask(self, node: int | None = None) -> np.ndarray:
        """Cells (``rows x cols`` booleans) where ``node`` (default: the current macro) may go now.

        The current macro's mask is computed once per step and shared (do not modify it).
        """
        if node is None:
            if self.done:
                return np.zeros((self.floorplan.rows, self.floorplan.cols), dtype=bool)
            if self._mask is None:
                self._mask = self.legal_mask(self.current)
            return self._mask
        nl = self.model.netlist
        obstacles = self.boxes.obstacles()
        return legal_cells(self.floorplan, nl.node_width[node], nl.node_height[node], obstacles, self.spacing)

    def wirelength_increments(self, orientation: int | None = None) -> np.ndarray:
        """Weighted wirelength change (µm) if the current macro went to each cell, ``rows x cols``."""
        if self.done:
            raise RuntimeError("every macro is placed")
        along_x, along_y = self.cost.wirelength_increments(self.current, self._xs, self._ys, orientation)
        return along_y[:, None] + along_x[None, :]

    def leaves_room(self, cell: int) -> bool:
        """Whether the current macro on ``cell`` leaves room for the rest of the order.

        The rest must still pack, each on its first legal cell in row order
        (:meth:`placer.legality.MacroBoxes.packs`); when they do, a legal completion exists.
        True as well when the current macro and the rest no longer pack from here at all:
        then no cell is known to keep a completion open.
        """
        x, y = cell_centre(self.floorplan, cell)
        if self.boxes.leaves_room(self.step, x, y, np.arange(self.step + 1, self.order.size)):
            return True
        if self._packs is None:
            self._packs = self.boxes.packs(np.arange(self.step, self.order.size))
        return not self._packs

    def room_mask(self) -> np.ndarray:
        """The legal cells of the current macro that leave room for the rest of the order (the room rule).

        A cell is kept when a packing of the rest is known that the macro on it does not
        overlap: one of the packings of :func:`placer.legality.scan_orders` (kept from step to
        step while the macros put down miss them), or else the first-fit packing of
        :meth:`leaves_room` with the macro on that cell, tried on at most ``ROOM_CHECKS``
        cells a step, those of least wirelength first. So every kept cell has a legal
        completion, the kept cell of one step keeps one open for the next, and an episode
        that starts with a packing never reaches a dead end. Cells no packing clears are
        not offered: on a crowded grid some that first fit would keep may be left out, and
        when no cell is kept (no scan packs the rest from here) every legal cell is offered,
        as :meth:`leaves_room` does. Computed once per step and shared (do not modify it).
        """
        if self._room is None:
            self._room = self._room_mask()
        return self._room

    def _room_mask(self) -> np.ndarray:
        legal = self.legal_mask()
        rest = np.arange(self.step + 1, self.order.size)
        if not legal.any() or rest.size == 0:
            return legal
        boxes, node = self.boxes, self.current
        width, height = self.model.netlist.node_width[node], self.model.netlist.node_height[node]
        unknown, known = legal.copy(), False
        if self._apart(rest, 0, 1, height) or self._apart(rest, 2, 3, width):
            return legal
        for scan in range(SCANS + 1):
            witness = self._witness(rest, scan)
            if witness is None or witness is False:
                continue
            known = True
            unknown &= ~legal_cells(self.floorplan, width, height, boxes.boxes_at(rest, *witness[:, rest]),
                                    self.spacing)  # fmt: skip
            if not unknown.any():
                return legal
        if not known:  # the rest does not pack even without the current macro: no cell keeps room
            return legal
        room = legal & ~unknown
        candidates = np.flatnonzero(unknown)
        if candidates.size > ROOM_CHECKS:  # the cells a placer wants most are checked first
            candidates = candidates[np.argsort(self.wirelength_increments().flat[candidates], kind="stable")]
        checks = 0
        for cell in candidates:  # the exact first-fit check; what it packs clears other cells too
            if not unknown.flat[cell]:
                continue
            if checks == ROOM_CHECKS:
                break
            checks += 1
            packed = boxes.pack_after(self.step, *cell_centre(self.floorplan, int(cell)), rest)
            unknown.flat[cell] = False
            if packed is not None:
                room.flat[cell] = True
                self._checked[int(cell)] = self._slotted(rest, packed)
                clear = legal_cells(self.floorplan, width, height, boxes.boxes_at(rest, *packed), self.spacing)
                room |= unknown & clear
                unknown &= ~clear
        return room if room.any() else legal

    def _witness(self, rest: np.ndarray, scan: int):
        """The packing of ``rest`` kept for ``scan``, computed when there is none (False: it failed)."""
        if self._witnesses[scan] is None and scan < SCANS:
            packed = self.boxes.pack(rest, scan)
            self._witnesses[scan] = False if packed is None else self._slotted(rest, packed)
        return self._witnesses[scan]

    def _apart(self, rest: np.ndarray, low: int, high: int, size: float) -> bool:
        """Whether the packings from one side (``low``) and the other (``high``) leave a gap the macro cannot span.

        The packings of rows from the bottom and from the top (or of columns from the left and
        the right) then cannot both be overlapped by the current macro (of ``size`` across the
        gap), so every legal cell is clear of one of them: the test of a roomy canvas, two
        packings and no mask.
        """
        below, above = self._witness(rest, low), self._witness(rest, high)
        if below is None or below is False or above is None or above is False:
            return False
        axis, half = (1, self.boxes.half_h) if low == 0 else (0, self.boxes.half_w)
        reach = (below[axis, rest] + half[rest]).max()  # the far edge of the low side's packing
        start = (above[axis, rest] - half[rest]).min()  # the near edge of the high side's
        return start - reach >= size + 2 * self.spacing

    def _slotted(self, rest: np.ndarray, packed: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """A packing's centres as a ``2 x slots`` array (NaN for the slots it does not hold)."""
        centres = np.full((2, self.order.size), np.nan)
        centres[0, rest], centres[1, rest] = packed
        return centres

    def unplaceable(self) -> list[int]:
        """Macros of the order that fit nowhere even on the canvas as it was at the start."""
        return [int(node) for node in self.order if not self.legal_mask(int(node)).any()]

    # --------------------------------------------------------------- changing
    def place(self, cell: int, orientation: int | None = None) -> float:
        """Put the current macro on grid cell ``cell`` (``col + row * cols``); returns the proxy cost.

        Raises:
            ValueError: The cell is off the grid or not legal for the macro.
            RuntimeError: Every macro is already placed.
        """
        node = self.current
        if node is None:
            raise RuntimeError("every macro is placed")
        if not 0 <= cell < self.floorplan.cols * self.floorplan.rows or not self.legal_mask().flat[cell]:
            raise ValueError(f"cell {cell} is not legal for {self.model.netlist.node_names[node]}")
        x, y = cell_centre(self.floorplan, cell)
        total = self.cost.place(node, x, y, orientation)
        self._witnesses[SCANS] = self._checked.get(cell)  # the packing that let this cell in, when no scan's did
        self._checked = {}
        self._keep_witnesses(x, y)
        self.boxes.put(self.step, x, y)
        self.step += 1
        self._mask = self._room = self._packs = None
        return total

    def _keep_witnesses(self, x: float, y: float) -> None:
        """Keep the packings of the rest that the current macro put at ``(x, y)`` misses: they still pack the rest."""
        rest = np.arange(self.step + 1, self.order.size)
        box = self.boxes.boxes_at([self.step], [x], [y])
        fp, no_skip = self.floorplan, np.full(1, -1)
        for scan, witness in enumerate(self._witnesses):
            if witness is None or witness is False:
                self._witnesses[scan] = None
                continue
            others = self.boxes.boxes_at(rest, *witness[:, rest])
            if not boxes_fit(box, 1, others, no_skip, self.spacing, self.boxes.touch, fp.width, fp.height):
                self._witnesses[scan] = None

    def complete_by_legalizing(self) -> int:
        """Place the rest of the order where wirelength wants it, overlaps allowed, then legalise every macro.

        Each remaining macro goes, in order, to the cell (inside the canvas) of smallest
        wirelength increase; then :func:`placer.legalize.legalize` moves all macros of the
        order onto legal cells with little displacement. Returns how many macros moved.

        Raises:
            PackingError: The macros do not pack on this grid; the placer is left as it was.
        """
        nl, fp = self.model.netlist, self.floorplan
        nowhere = np.zeros((0, 4))
        first = self.step
        try:
            while not self.done:
                node = self.current
                inside = legal_cells(fp, nl.node_width[node], nl.node_height[node], nowhere, self.spacing)
                if not inside.any():
                    raise PackingError(f"{nl.name}: {nl.node_names[node]} is larger than the canvas")
                increments = np.where(inside, self.wirelength_increments(), np.inf)
                x, y = cell_centre(fp, int(np.argmin(increments)))
                self.cost.place(node, x, y)
                self.boxes.put(self.step, x, y)
                self.step += 1
            legal = legalize(nl, fp, self.cost.placement(), self.order, self.spacing)
            self._witnesses, self._checked = [None] * (SCANS + 1), {}
        except PackingError:
            for k in range(first, self.step):
                self.cost.unplace(int(self.order[k]))
                self.boxes.take(k)
            self.step = first
            raise
        xs, ys = legal.placement.x[self.order], legal.placement.y[self.order]
        for k, node in enumerate(self.order):
            if (xs[k], ys[k]) != self.cost.location(int(node))[:2]:
                self.cost.move(int(node), xs[k], ys[k])
                self.boxes.put(k, xs[k], ys[k])
        self._mask = self._room = None
        return legal.moved


def flip_to_best(cost: IncrementalCost, nodes: Sequence[int], orientations: Sequence[int] = FLIPS) -> float:
    """Give each node in turn the orientation (of ``orientations``) with the lowest proxy cost.

    Footprints do not change, so legality is kept. Returns the final proxy cost.
    """
    best = cost.proxy_cost
    for node in nodes:
        keep = cost.location(int(node))[2]
        for orientation in orientations:
            if orientation != keep and cost.flip(int(node), int(orientation)) < best:
                best, keep = cost.proxy_cost, int(orientation)
        best = cost.flip(int(node), keep)
    return best
