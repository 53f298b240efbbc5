"""Reading a training run's TensorBoard logs back as arrays (for curves and reports)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def read_scalars(run: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every scalar logged under ``run/tb``: ``{tag: (steps, values)}``, steps increasing.

    A resumed run writes several event files; their points are merged by step.
    """
    merged: dict[str, dict[int, float]] = {}
    for events in sorted(Path(run, "tb").rglob("events.out.tfevents.*")):
        accumulator = EventAccumulator(str(events))
        accumulator.Reload()
        for tag in accumulator.Tags()["scalars"]:
            merged.setdefault(tag, {}).update({e.step: e.value for e in accumulator.Scalars(tag)})
    return {
        tag: (np.array(sorted(points)), np.array([points[s] for s in sorted(points)])) for tag, points in merged.items()
    }
