"""Named training schedules: how long and how big a segmenter trains."""

from __future__ import annotations

from dataclasses import dataclass

from bench.core.registry import Registry


@dataclass(frozen=True)
class Schedule:
    name: str
    iters: int
    batch_size: int
    crop_size: int | None  # square training crop; None = whole images
    lr_scale: float = 1.0  # multiplies the config's learning rate
    eval_batch_size: int = 8


SCHEDULES: Registry[Schedule] = Registry("schedule", "bench.schedules", Schedule)
for _schedule in (
    Schedule("smoke", iters=20, batch_size=4, crop_size=None),  # tests: seconds on CPU
    Schedule("short", iters=400, batch_size=8, crop_size=None),  # the CPU demo: minutes
    Schedule("paper", iters=20000, batch_size=8, crop_size=512),  # GPU leaderboard runs
):
    SCHEDULES.register(_schedule)
