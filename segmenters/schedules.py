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
    # real defects from scratch on a CPU: `short` learns no magnetic-tile defect at 128 px (defect mIoU 0), 1000
    # iterations do (results/perf/cpu_schedule.md); about 10 minutes a run at 128 px on one core
    Schedule("cpu", iters=1000, batch_size=8, crop_size=None),
    Schedule("paper", iters=20000, batch_size=8, crop_size=512),  # GPU leaderboard runs
):
    SCHEDULES.register(_schedule)
