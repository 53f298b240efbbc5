"""Where a learned choice of soft macro could pay in annealing: how concentrated the gain is, and what predicts it.

    python benchmarks/bench_proposals.py [--designs ariane133,synthetic:1000] [--moves 600000]
        [--bands 0.2,0.5,0.8] [--seed 0] [--data ../shared/data]

Annealing (``placer place --method sa``'s settings) runs from greedy for ``--moves`` moves. At
each fraction of the run in ``--bands`` it stops, and every movable soft macro's pull (the move
to its least-wirelength point within the nudge range, :meth:`AnnealState.pull_target`) is made
on the exact cost and undone. Printed per band: the share of soft macros whose pull lowers the
cost; the share of all the available decrease held by the best 10 % of them (what a perfect
choice of node would draw from); and, for each cheap per-node feature that a learned proposal
could read in one batched pass, the share of the available decrease held by the 10 % of soft
macros that feature ranks highest (a choice at random holds about 10 %). The features: the
magnitude of the node's wirelength subgradient (nets it bounds on one side minus the other,
weighted), its weighted degree, the density and the congestion where it sits, with the time one
pass over all nodes takes against the time of one annealing move.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from bench_baselines import load_design

from placer.baselines import place
from placer.baselines.annealing import AnnealRun
from placer.cost import CostModel
from placer.cost import kernels as k


def node_features(model: CostModel, run: AnnealRun) -> dict[str, np.ndarray]:
    """Per node, the cheap features a batched proposal could read (all nodes in one numpy pass)."""
    g, fp, cost = k.Graph(*model.graph), model.floorplan, run.run.cost
    state = k.State(*model.new_state(cost.placement()))
    sizes = np.diff(g.net_start)
    starts = g.net_start[:-1][sizes > 0]
    px, py = state.pin_x[g.net_pins], state.pin_y[g.net_pins]
    weight = np.repeat(g.net_weight, sizes)
    node, n = g.pin_node[g.net_pins], state.x.size

    def bound(values: np.ndarray) -> np.ndarray:  # +1 at the net's maximum, -1 at its minimum
        top = np.repeat(np.maximum.reduceat(values, starts), sizes[sizes > 0])
        low = np.repeat(np.minimum.reduceat(values, starts), sizes[sizes > 0])
        return (values == top).astype(float) - (values == low)

    gradient = np.abs(np.bincount(node, weight * bound(px), n)) + np.abs(np.bincount(node, weight * bound(py), n))
    col = np.clip((state.x / fp.cell_width).astype(int), 0, fp.cols - 1)
    row = np.clip((state.y / fp.cell_height).astype(int), 0, fp.rows - 1)
    h, v = cost.congestion_maps()
    c_row = np.clip((state.y / fp.height * h.shape[0]).astype(int), 0, h.shape[0] - 1)
    c_col = np.clip((state.x / fp.width * h.shape[1]).astype(int), 0, h.shape[1] - 1)
    return {
        "wirelength subgradient": gradient,
        "degree": np.bincount(node, weight, n),
        "density": np.asarray(cost.density_map()).reshape(fp.rows, fp.cols)[row, col],
        "congestion": np.maximum(h[c_row, c_col], v[c_row, c_col]),
    }


def pull_decreases(run: AnnealRun) -> np.ndarray:
    """Each movable soft macro's decrease of the proxy cost if pulled now (made and undone)."""
    state, fp = run.run, run.run.model.floorplan
    start, out = state.cost.proxy_cost, []
    for node in state.soft:
        x, y = state.pull_target(int(node))
        hw, hh = state.soft_half_w[node], state.soft_half_h[node]
        state.cost.move(int(node), min(max(x, hw), fp.width - hw), min(max(y, hh), fp.height - hh))
        out.append(start - state.cost.proxy_cost)
        state.cost.undo()
    return np.array(out)


def share_of_top(decrease: np.ndarray, score: np.ndarray) -> float:
    """Share of the available (positive) decrease held by the 10 % of nodes ``score`` ranks highest."""
    gain = np.clip(decrease, 0.0, None)
    top = np.argsort(-score, kind="stable")[: max(1, score.size // 10)]
    return float(gain[top].sum() / gain.sum()) if gain.sum() > 0 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", default="ariane133,synthetic:1000")
    parser.add_argument("--moves", type=int, default=600_000)
    parser.add_argument("--bands", default="0.2,0.5,0.8")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    args = parser.parse_args()
    bands = [float(b) for b in args.bands.split(",")]
    for name in args.designs.split(","):
        design = load_design(name, Path(args.data))
        model = CostModel(design.netlist, design.floorplan)
        run = AnnealRun(model, place(design, "greedy").placement, moves=args.moves, seed=args.seed)
        names = None
        print(f"\n{name}: annealing from greedy, {args.moves:,} moves, seed {args.seed}; "
              f"{run.run.soft.size} movable soft macros\n")  # fmt: skip
        for band in bands:
            started, done = time.process_time(), run.done
            run.advance(band)
            per_move = (time.process_time() - started) / max(run.done - done, 1)
            decrease = pull_decreases(run)
            started = time.process_time()
            features = node_features(model, run)
            pass_s = time.process_time() - started
            if names is None:
                names = list(features)
                print("| band | cost | pulls that lower the cost | best 10 % hold | "
                      + " | ".join(f"top 10 % by {f} hold" for f in names) + " | feature pass / move |")  # fmt: skip
                print("|---:|---:|---:|---:|" + "---:|" * len(names) + "---:|")
            soft = run.run.soft
            cells = [np.mean(decrease > 0), share_of_top(decrease, decrease)]
            cells += [share_of_top(decrease, features[f][soft]) for f in names]
            print(f"| {band:g} | {run.current:.4f} | " + " | ".join(f"{c:.1%}" for c in cells)
                  + f" | {pass_s / per_move:.0f} moves |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
