"""The executor contract: pending runs in, finished records or one-line failures out, as they complete.

Executors only compute records; the grid driver (bench.protocols.execute) decides what is pending and
writes each record to the store as it arrives, so an interrupted grid keeps every finished run and a
re-run resumes, whichever executor ran it.
"""

from __future__ import annotations

import traceback
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Iterator, Sequence

from bench.core.errors import BenchError
from bench.core.registry import Registry
from bench.records import Request
from bench.spec import RunSpec

if TYPE_CHECKING:  # the runner loads torch and the model stack; listing executors needs neither
    from bench.runner import ResolvedRun

ATTEMPTS = 2  # a failed run is retried once: a lost worker or a transient error should not cost a grid cell


@dataclass(frozen=True)
class RunTask:
    run: ResolvedRun  # settled by the grid driver: effective spec, data, run id
    data_root: str | None = None  # where a worker that cannot see the run's pair sets loads them again
    request: Request | None = None  # the protocol and grid points that asked for the run (provenance)

    @property
    def spec(self) -> RunSpec:
        return self.run.spec

    @property
    def run_id(self) -> str:
        return self.run.run_id

    @property
    def fitting(self) -> tuple | None:
        return self.run.fitting


@dataclass(frozen=True)
class Finished:
    task: RunTask
    record: dict | None  # None when every attempt failed
    error: str | None = None  # one line: what went wrong in the last attempt
    attempts: int = 1  # tries used; Ray retries internally, so its successes count as 1


@dataclass(frozen=True)
class ExecutorOptions:
    device: str = "cpu"  # the grid's device: cpu or cuda
    jobs: int | None = None  # runs at once; None = as many as cores (CPU) or memory (GPU) allow
    threads: int | None = None  # torch threads per run; None = the cores divided among the runs
    address: str | None = None  # ray: the cluster to join; None starts a local one
    peaks: dict = field(default_factory=dict, hash=False)  # measured GPU peaks per memory key (packing)


class RunFailed(RuntimeError):
    """A run's error as one picklable line (tracebacks of worker processes stay in their logs)."""


class Executor(ABC):
    name: str

    def __init__(self, options: ExecutorOptions):
        self.options = options

    @abstractmethod
    def run(self, tasks: Sequence[RunTask], progress: bool) -> Iterator[Finished]:
        """Yield one ``Finished`` per task, in completion order."""

    def order(self, tasks: Sequence[RunTask]) -> list[RunTask]:
        """The order runs start in: cell-major, the paired seeds of one grid cell one after another, so an
        interrupted grid leaves whole cells (a generator's every seed, from one fitting) rather than a
        seed or two of every cell."""
        first: dict[RunSpec, int] = {}
        for task in tasks:
            first.setdefault(replace(task.spec, seed=0), len(first))
        return sorted(tasks, key=lambda task: (first[replace(task.spec, seed=0)], task.spec.seed))


EXECUTORS: Registry[type[Executor]] = Registry("executor", "bench.executors", Executor, classes=True, discover="bench.executors")


def error_line(exc: BaseException) -> str:
    if isinstance(exc, (BenchError, RunFailed)):
        return str(exc)
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" at {last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno}" if last else ""
    return f"{type(exc).__name__}: {exc}{where}".splitlines()[0]


def compute(task: RunTask, threads: int | None = None, progress: bool = False) -> dict:
    """Run one task in this process (the body every executor ships to its workers), with ``threads``
    torch threads for its duration. A worker on a node that does not see the driver's pair sets resolves
    the spec again from the data root, and must arrive at the same run id."""
    import torch

    from bench.runner import compute_record, settle  # deferred: torch and the model stack load in workers only

    before = torch.get_num_threads()
    torch.set_num_threads(threads or before)
    try:
        run = task.run if task.run.on_disk() else settle(task.spec, task.data_root)  # the spec is effective already
        record = compute_record(run, progress=progress, request=task.request)
    except Exception as exc:  # noqa: BLE001 - every failure becomes one reportable line
        raise RunFailed(f"{task.spec.segmenter}/{task.spec.generator}/{task.spec.category}/seed {task.spec.seed}: {error_line(exc)}") from None
    finally:
        torch.set_num_threads(before)
    if record["run_id"] != task.run_id:
        raise RunFailed(f"run {task.run_id}: the worker sees different data (run id {record['run_id']})")
    return record
