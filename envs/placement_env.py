"""``MacroPlacement-v0``: place a netlist's hard macros one per step on a grid, with action masks.

An episode puts the movable hard macros down in order (area descending, as Circuit
Training does, unless asked otherwise), each with its centre on a grid cell. After the
last one, the soft macros (std-cell clusters) are placed by force-directed placement and
the episode's result is the proxy cost of the whole placement.

Actions index the padded ``max_grid x max_grid`` map, times 4 orientations (N, FN, S, FS)
when the orientation is part of the action: :class:`envs.actions.ActionLayout` numbers them
(``env.layout``). :meth:`MacroPlacementEnv.action_masks` gives the legal ones: the cells
where the macro fits and after which the rest of the macros still pack, the room rule of
the greedy placer (:meth:`placer.sequential.SequentialPlacer.room_mask`), so an episode
does not walk into a dead end while a packing of the rest is known. Every action is
accepted: an illegal one ends the episode with ``-infeasible_penalty`` and
``info["infeasible"] = True``. Should the next macro still find no legal cell (the rule
offers every legal cell once first fit finds no packing of the rest), the episode is not
lost: the remaining macros go where wirelength wants them and every macro is legalised
with little displacement (:meth:`placer.sequential.SequentialPlacer.complete_by_legalizing`;
``info["legalized"]`` counts the macros it moved); only macros that do not pack on the grid
at all end it infeasibly. A finished episode's last ``info`` holds its cost terms and
``info["placement"]``.

Rewards (``reward=``):

* ``"terminal"`` (Circuit Training's): 0 per step, minus the final proxy cost at the end.
* ``"dense"``: minus the increase of the wirelength cost at each step, and at the end
  minus the rest of the final proxy cost (final proxy cost minus the wirelength cost
  before the soft macros moved). An episode's return is then minus the final proxy cost
  plus a constant of the design (the wirelength cost at the start), so both rewards rank
  placements the same way; the dense one tells each step what it did.

Both are in proxy-cost units, which are normalised per design (wirelength over
``(W + H) x nets``, densities and congestion as ratios), so one policy can train across
designs of any size.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import netlists
from envs.actions import ActionLayout, action_index
from envs.observation import ObservationBuilder
from netlists import Design, Floorplan, Netlist, Placement, synthetic
from netlists.loader import DEFAULT
from netlists.plc import write_plc
from placer.baselines.soft_stage import SoftStage, finish_soft_macros
from placer.cost import CostModel, CostReport, CostWeights
from placer.fd import SCHEDULES, FDSchedule
from placer.gridding import gridded
from placer.legality import PackingError
from placer.raster import layout_image
from placer.sequential import FLIPS, SequentialPlacer, flip_to_best, placement_order, starting_placement

REWARDS = ("terminal", "dense")
ORIENTATION_MODES = ("fixed", "action", "post")


def load_design(
    netlist: str | Path | Design | Netlist,
    plc: str | Path | None = DEFAULT,
    floorplan: Floorplan | None = None,
    max_grid: int = 128,
) -> Design:
    """A design argument of an environment as a :class:`Design`: itself, generated, or loaded.

    A generated design is the one its name says (``synthetic:N@G``, see
    :func:`netlists.synthetic.by_name`), whatever ``max_grid``; a loaded design whose files
    state no grid gets the one :func:`placer.gridding.gridded` chooses.
    """
    if isinstance(netlist, Design):
        return netlist
    if synthetic.is_name(netlist):
        return synthetic.by_name(netlist)
    if isinstance(netlist, Netlist):
        n = netlist.n_nodes
        empty = Placement.unplaced(n)
        return Design(netlist, floorplan or Floorplan.default_for(netlist), empty)
    return gridded(netlists.load(netlist, plc=plc))[0]  # the grid placer's commands choose, whatever max_grid


def action_layout(
    netlist: object, design: Design, max_grid: int, orientations: Sequence[int] | None = None
) -> ActionLayout:
    """The design's action layout in a ``max_grid`` map; one line naming it (and the name that fits) when it cannot.

    Raises:
        ValueError: The design's grid is larger than ``max_grid``.
    """
    try:
        return ActionLayout.of(design.floorplan, max_grid, orientations)
    except ValueError as error:
        fits = f"; {synthetic.capped(netlist, max_grid)} draws it to fit" if synthetic.is_name(netlist) else ""
        raise ValueError(f"{design.netlist.name}: {error}{fits}") from None


def _fd_schedule(schedule: FDSchedule | str | None) -> FDSchedule | None:
    if schedule is None or isinstance(schedule, FDSchedule):
        return schedule
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown fd_schedule {schedule!r} (expected one of {', '.join(SCHEDULES)} or None)")
    return SCHEDULES[schedule]()


class MacroPlacementEnv(gym.Env):
    """Macro placement as a gymnasium environment (see the module docstring).

    Args:
        netlist: A netlist file or folder, a bundled design name, ``"synthetic:N"`` or
            ``"synthetic:N@G"`` (the generated design of seed ``N``, its grid at most ``G``, 128
            when not given), a :class:`Design`, or a :class:`Netlist` (with ``floorplan``).
        plc: Placement file giving the floorplan and where fixed macros, ports and soft
            macros start (the design folder's own by default; see :func:`netlists.load`).
        floorplan: Canvas and grid when ``netlist`` is a bare :class:`Netlist`.
        reward: ``"terminal"`` or ``"dense"``.
        order: Macro order: ``"area"``, ``"netlist"``, ``"random"`` (new each episode) or an explicit list.
        orientation: ``"fixed"`` (macros keep their orientation), ``"action"`` (the action
            picks N, FN, S or FS) or ``"post"`` (after the last macro, each takes the best of those four).
        fd_schedule: How soft macros are placed at the end: ``"electrostatic"`` (default),
            ``"circuit_training"``, an :class:`FDSchedule`, or ``None`` to leave them where they started.
        weights: Weights of the proxy cost (1, 0.5, 0.5 by default).
        infeasible_penalty: Reward of a step that ends the episode infeasibly (Circuit Training: 4).
        max_grid: Side of the padded grid; one policy serves every design up to it.
        spacing: Clearance (µm) between hard macros (Circuit Training uses 0.1).
        render_mode: ``"rgb_array"``, ``"human"`` or ``None``.
        render_size: Pixels along the longer canvas side of rendered frames.
        soft_start: Where soft macros start: ``"fd"`` (the default: all of them placed once, by
            force-directed placement around the fixed macros and ports, when the env is built;
            the file's soft-macro positions unread, so observations carry no reference answer)
            or ``"file"`` (where the placement file puts them; those it leaves unplaced by FD).
        soft_moves: After FD, nudge the soft macros this many times by annealing on the exact
            cost (:func:`placer.baselines.soft_stage.finish_soft_macros`, the best placement
            visited kept, the same seed in every episode, so the final cost is a function of
            the hard macros' cells); 0 for FD alone. Needs an ``fd_schedule``.
    """

    metadata = {"render_modes": ["rgb_array", "human"], "render_fps": 8}

    def __init__(
        self,
        netlist: str | Path | Design | Netlist = "ariane133",
        plc: str | Path | None = DEFAULT,
        *,
        floorplan: Floorplan | None = None,
        reward: str = "terminal",
        order: str | list[int | str] = "area",
        orientation: str = "fixed",
        fd_schedule: FDSchedule | str | None = "electrostatic",
        weights: CostWeights | None = None,
        infeasible_penalty: float = 4.0,
        max_grid: int = 128,
        spacing: float = 0.0,
        render_mode: str | None = None,
        render_size: int = 512,
        soft_start: str = "fd",
        soft_moves: int = 0,
    ) -> None:
        if reward not in REWARDS:
            raise ValueError(f"unknown reward {reward!r} (expected one of {', '.join(REWARDS)})")
        if orientation not in ORIENTATION_MODES:
            raise ValueError(f"unknown orientation {orientation!r} (expected one of {', '.join(ORIENTATION_MODES)})")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"unknown render_mode {render_mode!r}")
        self.design = load_design(netlist, plc, floorplan, max_grid)
        self.reward_mode, self.orientation_mode, self.order = reward, orientation, order
        self.fd_schedule = _fd_schedule(fd_schedule)
        if soft_moves and self.fd_schedule is None:
            raise ValueError("soft_moves needs an fd_schedule: the soft-macro stage starts with FD")
        self.soft_stage = SoftStage(moves=soft_moves)
        self.weights = weights or CostWeights()
        self.infeasible_penalty = float(infeasible_penalty)
        self.spacing = spacing
        self.render_mode, self.render_size = render_mode, render_size
        nl, fp = self.design.netlist, self.design.floorplan
        self.model = CostModel(nl, fp)
        self._start = starting_placement(nl, fp, self.design.placement, self.fd_schedule, soft_start)
        self._placer = self._new_placer(placement_order(nl, self._start, order, np.random.default_rng(0)))
        if self._placer.order.size == 0:
            raise ValueError(f"{nl.name} has no movable hard macro to place")
        stuck = self._placer.unplaceable()
        if stuck:
            name = nl.node_names[stuck[0]]
            raise ValueError(f"{nl.name}: hard macro {name} fits nowhere on the {fp.width} x {fp.height} canvas")
        self.layout = action_layout(netlist, self.design, max_grid, FLIPS if orientation == "action" else None)
        self.observations = ObservationBuilder(self._placer, self.layout)
        self.observation_space = self.observations.space
        self.max_grid = max_grid
        self.action_space = gym.spaces.Discrete(self.layout.n)
        self._final: Placement | None = None
        self._report: CostReport | None = None
        self._over = False
        self._figure = None

    # ------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start an episode: every movable hard macro off the canvas; returns ``(observation, info)``."""
        super().reset(seed=seed)
        order = placement_order(self.design.netlist, self._start, self.order, self.np_random)
        self._placer = self._new_placer(order)
        self.observations = ObservationBuilder(self._placer, self.layout)  # of this episode's order
        self._final, self._report, self._over = None, None, False
        self._refresh()
        if self.render_mode == "human":
            self.render()
        return self._observation, {"macros": int(order.size)}

    def step(self, action):
        """Place the current macro as ``action`` says; returns gymnasium's five-tuple."""
        if self._over:
            raise RuntimeError("the episode is over; call reset()")
        placer = self._placer
        info: dict[str, Any] = {"step": placer.step}
        index = action_index(action)
        if index is None:
            return self._end_infeasible(info, f"action {action!r} is not an integer")
        decoded = self.layout.decode(index)
        if decoded is None or not self._action_mask[index]:
            return self._end_infeasible(info, f"action {index} is not legal")
        cell, orientation = decoded
        before = placer.cost.wirelength_cost
        placer.place(cell, orientation)
        reward = 0.0 if self.reward_mode == "terminal" else before - placer.cost.wirelength_cost
        info["legalized"] = 0
        if not placer.done and not placer.legal_mask().any():  # a dead end: finish by legalising
            wirelength = placer.cost.wirelength_cost
            try:
                info["legalized"] = placer.complete_by_legalizing()
            except PackingError:
                return self._end_infeasible(info, "no legal cell for the next macro, and the macros do not pack")
            if self.reward_mode != "terminal":
                reward += wirelength - placer.cost.wirelength_cost
        terminated = placer.done
        if terminated:
            reward += self._finish(info)
        else:
            self._refresh()
        if self.render_mode == "human":
            self.render()
        return self._observation, reward, terminated, False, info

    def action_masks(self) -> np.ndarray:
        """Legal actions (booleans over the action space), for sb3-contrib's ``MaskablePPO``."""
        return self._action_mask.copy()

    def render(self):
        """The layout so far: an ``(H, W, 3)`` ``uint8`` image (``"rgb_array"``) or a window (``"human"``)."""
        if self.render_mode is None:
            gym.logger.warn("render() was called without a render_mode; pass render_mode='rgb_array' or 'human'")
            return None
        placer = self._placer
        last = placer.order[placer.step - 1 : placer.step] if placer.step else ()
        cells = None if placer.done or self._over else placer.room_mask()
        image = layout_image(
            self.design.netlist, self.design.floorplan, self.placement, self.render_size, highlight=last, cells=cells
        )
        if self.render_mode == "rgb_array":
            return image
        from placer import plot  # matplotlib only when a window is asked for

        self._figure = plot.show_image(image, self._figure, title=self.design.netlist.name)
        return None

    def close(self) -> None:
        """Close the window of ``"human"`` rendering, if any."""
        if self._figure is not None:
            from placer import plot

            plot.close(self._figure)
            self._figure = None

    # --------------------------------------------------------------- results
    @property
    def placement(self) -> Placement:
        """The placement so far; after the last macro, with the soft macros placed."""
        return (self._final if self._final is not None else self._placer.placement()).copy()

    @property
    def macro_order(self) -> np.ndarray:
        """The hard macros (node indices) in the order this episode places them."""
        return self._placer.order.copy()

    @property
    def report(self) -> CostReport | None:
        """The proxy cost report of the finished episode (``None`` before the end)."""
        return self._report

    def write_plc(self, path: str | Path) -> None:
        """Write the current placement as a ``.plc`` file (with its cost terms in the header when finished)."""
        costs = {} if self._report is None else self._report.header_costs()
        design = Design(self.design.netlist, self.design.floorplan, self.placement, costs, self.design.source)
        write_plc(design, path, costs)

    # --------------------------------------------------------------- helpers
    def _new_placer(self, order: np.ndarray) -> SequentialPlacer:
        return SequentialPlacer(self.model, self._start, order, self.weights, self.spacing)

    def _refresh(self) -> None:
        """Mask and observation for the current macro."""
        placer = self._placer
        increments = None if placer.done else placer.wirelength_increments()
        self._observation = self.observations.build(placer, increments)
        offered = placer.room_mask() if not placer.done else np.zeros((self.layout.rows, self.layout.cols), bool)
        self._action_mask = self.layout.mask(offered)

    def _finish(self, info: dict[str, Any]) -> float:
        """After the last macro: orientations, soft macros, final cost; returns the rest of the reward."""
        placer = self._placer
        last_step = placer.cost.wirelength_cost  # what the dense rewards have accounted for
        if self.orientation_mode == "post":
            flip_to_best(placer.cost, placer.order)
        placement = placer.placement()
        started = time.perf_counter()
        if self.fd_schedule is None:
            report = self.model.evaluate(placement, self.weights)
        else:
            # one seed for every episode: the finished cost is a function of the hard macros' cells
            finished = finish_soft_macros(self.model, placement, self.soft_stage, weights=self.weights,
                                          fd_schedule=self.fd_schedule)  # fmt: skip
            placement, report = finished.placement, finished.report
        soft_macro_s = time.perf_counter() - started
        self._final, self._report = placement, report
        self._over = True
        self._refresh()
        # the placement travels with the info so training can keep its best episode (worker processes)
        info.update(self._report.as_dict(), infeasible=False, placed=int(placer.step), placement=placement.copy(),
                    soft_macro_s=soft_macro_s)  # fmt: skip
        if self.reward_mode == "terminal":
            return -self._report.proxy_cost
        return -(self._report.proxy_cost - last_step)

    def _end_infeasible(self, info: dict[str, Any], why: str):
        self._over = True
        info.update(infeasible=True, reason=why, placed=int(self._placer.step))
        observation = {key: value.copy() for key, value in self._observation.items()}  # never hand out one twice
        return observation, -self.infeasible_penalty, True, False, info
