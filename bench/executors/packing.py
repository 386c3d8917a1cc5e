"""How many runs share a machine: cores bound CPU runs; on a GPU, each run's measured peak memory decides.

A run's GPU peak is measured by the run itself (``resources`` in its record). Runs whose peak is not yet
known start alone; once one run of a kind has finished, its peak admits as many siblings as fit in the free
memory. Pure bookkeeping, so the policy is testable without a GPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Iterable

from bench.spec import RunSpec

# Each extra process pays for its own CUDA context and cuDNN/cuBLAS workspaces, which torch's allocator
# does not count; measured contexts on recent GPUs are 0.3-0.6 GiB.
CUDA_CONTEXT_BYTES = 600 * 2**20
HEADROOM = 0.9  # of the free memory, so allocator fragmentation cannot push a packed run over the edge


def memory_key(spec: RunSpec) -> tuple:
    """Runs that hold the same memory: same model, schedule (batch, crop) and data (image size)."""
    return (spec.segmenter, spec.schedule, spec.dataset, spec.category, spec.device)


def peaks_from_records(records: Iterable[dict]) -> dict[tuple, int]:
    """The largest GPU peak seen per memory key in existing run records."""
    peaks: dict[tuple, int] = {}
    for record in records:
        peak = (record.get("resources") or {}).get("peak_gpu_reserved_bytes")
        if peak:
            key = memory_key(RunSpec.from_dict(record["spec"]))
            peaks[key] = max(peaks.get(key, 0), int(peak))
    return peaks


def cpu_cores() -> int:
    """Cores this process may use (cgroup/affinity aware where the OS says)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


@dataclass
class Admission:
    """Whether one more run may start beside the running ones."""

    slots: int  # at most this many runs at once
    gpu_budget_bytes: int | None = None  # memory the runs may share; None = CPU runs, bounded by slots only
    peaks: dict[tuple, int] = field(default_factory=dict)  # measured GPU peak per memory key

    def need(self, key: tuple) -> int | None:
        peak = self.peaks.get(key)
        return None if peak is None else peak + CUDA_CONTEXT_BYTES

    def admits(self, key: tuple, running: list[tuple]) -> bool:
        if not running:
            return True  # a run always starts on an idle device, even one it may not fit
        if len(running) >= self.slots:
            return False
        if self.gpu_budget_bytes is None:
            return True
        needs = [self.need(k) for k in [*running, key]]
        if None in needs:
            return False  # an unmeasured run runs alone until its peak is known
        return sum(needs) <= self.gpu_budget_bytes

    def learn(self, key: tuple, record: dict) -> None:
        peak = (record.get("resources") or {}).get("peak_gpu_reserved_bytes")
        if peak:
            self.peaks[key] = max(self.peaks.get(key, 0), int(peak))


def gpu_budget_bytes() -> int:
    """Free memory on the current CUDA device now, less the headroom."""
    import torch

    free, _total = torch.cuda.mem_get_info()
    return int(free * HEADROOM)
