"""The executor contract: pending jobs in, finished records or one-line failures out, as they complete.

A job is one record to compute, settled before any work (its data loaded, its run id known): a segmenter run
(``RunTask``) or a point of a protocol that records something else (a generated set's quality, a timing).
Executors only compute records; the grid driver (bench.protocols.execute) decides what is pending and
writes each record to its store as it arrives, so an interrupted grid keeps every finished job and a
re-run resumes, whichever executor ran it.
"""

from __future__ import annotations

import traceback
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Hashable, Iterator, Sequence

from bench.core.errors import BenchError
from bench.core.registry import Registry
from bench.executors.packing import memory_key
from bench.records import Request
from bench.spec import RunSpec

if TYPE_CHECKING:  # the runner loads torch and the model stack; listing executors needs neither
    from bench.runner import ResolvedRun

ATTEMPTS = 2  # a failed run is retried once: a lost worker or a transient error should not cost a grid cell


class Job(ABC):
    """One record to compute; executors ship it to their workers (so it pickles) and call ``compute`` there."""

    run_id: str  # the id of the record it computes: a job whose record exists is skipped
    point: Any  # what names it: a frozen dataclass with a ``seed`` (a run spec, a protocol's point)
    alone: bool = False  # a measurement of time: nothing may run beside it

    @property
    def cell(self) -> Hashable:
        """Everything that names the job but its seed: the seeds of one cell run one after another."""
        return replace(self.point, seed=0)

    @property
    def seed(self) -> int:
        return self.point.seed

    @property
    def fitting(self) -> tuple | None:
        """The trained generator it shares with other jobs (executors do not start two that would wait on one
        another's training), or None."""
        return None

    @property
    @abstractmethod
    def memory(self) -> tuple:
        """Jobs that hold the same memory (packing learns one peak per key)."""

    @abstractmethod
    def compute(self, progress: bool) -> dict:
        """The record, computed in this process."""


@dataclass(frozen=True)
class RunTask(Job):
    """A segmenter run."""

    run: ResolvedRun  # settled by the grid driver: effective spec, data, run id
    data_root: str | None = None  # where a worker that cannot see the run's pair sets loads them again
    request: Request | None = None  # the protocol and grid points that asked for the run (provenance)

    @property
    def spec(self) -> RunSpec:
        return self.run.spec

    point = spec

    @property
    def run_id(self) -> str:
        return self.run.run_id

    @property
    def fitting(self) -> tuple | None:
        return self.run.fitting

    @property
    def memory(self) -> tuple:
        return memory_key(self.spec)

    def compute(self, progress: bool) -> dict:
        """A worker that does not see the driver's pair sets (another Ray node) settles the spec again from the
        data root, and must arrive at the same run id."""
        from bench.runner import compute_record, settle  # deferred: torch and the model stack load in workers only

        run = self.run if self.run.on_disk() else settle(self.spec, self.data_root)  # the spec is effective already
        return compute_record(run, progress=progress, request=self.request)

    def __str__(self) -> str:
        spec = self.spec
        return f"{spec.segmenter}/{spec.generator}/{spec.category}/seed {spec.seed}"


@dataclass(frozen=True)
class Finished:
    task: Job
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
    def run(self, tasks: Sequence[Job], progress: bool) -> Iterator[Finished]:
        """Yield one ``Finished`` per job, in completion order."""

    def order(self, tasks: Sequence[Job]) -> list[Job]:
        """The order jobs start in: cell-major, the paired seeds of one grid cell one after another, so an
        interrupted grid leaves whole cells (a generator's every seed, from one fitting) rather than a
        seed or two of every cell."""
        first: dict[Hashable, int] = {}
        for task in tasks:
            first.setdefault(task.cell, len(first))
        return sorted(tasks, key=lambda task: (first[task.cell], task.seed))


EXECUTORS: Registry[type[Executor]] = Registry("executor", "bench.executors", Executor, classes=True, discover="bench.executors")


def error_line(exc: BaseException) -> str:
    if isinstance(exc, (BenchError, RunFailed)):
        return str(exc)
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" at {last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno}" if last else ""
    return f"{type(exc).__name__}: {exc}{where}".splitlines()[0]


def compute(task: Job, threads: int | None = None, progress: bool = False) -> dict:
    """Compute one job in this process (the body every executor ships to its workers), with ``threads``
    torch threads for its duration; a record of another id than the job's (a worker that sees other data)
    is a failure."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads or before)
    try:
        record = task.compute(progress)
    except Exception as exc:  # noqa: BLE001 - every failure becomes one reportable line
        raise RunFailed(f"{task}: {error_line(exc)}") from None
    finally:
        torch.set_num_threads(before)
    if record["run_id"] != task.run_id:
        raise RunFailed(f"run {task.run_id}: the worker sees different data (run id {record['run_id']})")
    return record
