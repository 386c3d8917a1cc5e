"""The one resume loop: a grid's jobs (segmenter runs, or the points of a protocol of its own record kind) each
computed once, finished ones skipped, the rest on an executor, each record written the moment it arrives (so an
interrupted grid resumes), failures reported without stopping the others."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from bench.core.errors import BenchError
from bench.core.progress import progress as progress_bar
from bench.data.tasks import Tasks
from bench.executors import EXECUTORS, Executor, Finished, Job, RunTask
from bench.executors.base import ExecutorOptions
from bench.records import RecordStore, Request
from bench.runner import ResolvedRun, effective_spec, settle
from bench.spec import RunSpec


@dataclass(frozen=True)
class Outcome:
    record: dict
    path: Path
    skipped: bool  # its record existed


@dataclass(frozen=True)
class GridOutcome:
    points: int  # grid points asked for
    outcomes: tuple[Outcome, ...]  # one per distinct job that has a record, in grid order
    failures: tuple[Finished, ...] = ()  # jobs that failed every attempt

    @property
    def done(self) -> int:
        return sum(not o.skipped for o in self.outcomes)

    @property
    def skipped(self) -> int:
        return sum(o.skipped for o in self.outcomes)


def distinct(specs: list[RunSpec]) -> list[RunSpec]:
    """Grid points that are the same run (ratio 0 of every generator, say) collapse to one, in order."""
    return list(points_by_run(specs))


def points_by_run(specs: list[RunSpec]) -> dict[RunSpec, list[RunSpec]]:
    """Each distinct run (effective spec) with the grid points, as asked, that it answers."""
    runs: dict[RunSpec, list[RunSpec]] = {}
    for spec in specs:
        runs.setdefault(effective_spec(spec), []).append(spec)
    return runs


def make_executor(name: str, options: ExecutorOptions) -> Executor:
    return EXECUTORS.get(name)(options)


def run_jobs(jobs: Sequence[Job], store: RecordStore, executor: Executor | None = None, force: bool = False, progress: bool = True,
             label: str = "runs", points: int | None = None) -> GridOutcome:
    """Every job whose record ``store`` lacks (all of them with ``force``) computed on ``executor`` [default:
    inline], each record written to ``store`` as it arrives; jobs of one run id are one job. ``points``: the
    grid points the jobs answer [default: one each]."""
    executor = executor or make_executor("inline", ExecutorOptions())
    unique: dict[str, Job] = {}
    for job in jobs:
        unique.setdefault(job.run_id, job)
    alone = next((job for job in unique.values() if job.alone), None)
    if alone is not None and executor.name != "inline":
        raise BenchError(f"{alone} is a timing: nothing may run beside it, and executor {executor.name} runs jobs side by side",
                         "use --executor inline")
    by_id: dict[str, Outcome] = {}
    pending = []
    for job in unique.values():
        existing = None if force else store.get(job.run_id)
        if existing is not None:
            by_id[job.run_id] = Outcome(existing, store.path(job.run_id), True)
        else:
            pending.append(job)
    pending = executor.order(pending)
    failures = []
    bar = progress_bar(total=len(pending), desc=f"{label} ({executor.name})", unit="run", enabled=progress)
    with bar:
        for finished in executor.run(pending, progress=progress and executor.name == "inline"):
            if finished.record is None:
                failures.append(finished)
                bar.write(f"failed after {finished.attempts} attempt(s): {finished.error}")
            else:
                by_id[finished.task.run_id] = Outcome(finished.record, store.write(finished.record), False)
            bar.update()
    return GridOutcome(len(jobs) if points is None else points, tuple(by_id[i] for i in unique if i in by_id), tuple(failures))


def run_specs(
    specs: list[RunSpec],
    store: RecordStore,
    data_root: str | Path | None = None,
    force: bool = False,
    progress: bool = True,
    label: str = "runs",
    executor: Executor | None = None,
    protocol: str | None = None,
    source: str | None = None,
) -> GridOutcome:
    """Segmenter runs through ``run_jobs``: each distinct run settled first (a typo or a missing weights file
    fails the grid before any run starts, each category's pool is loaded once), points that are one run (ratio 0
    of every generator, say) answered by one, then computed. ``protocol`` and ``source`` (the grid file,
    "command-line options", "bench run") are recorded with each computed run."""
    loaded = Tasks(progress)
    runs: dict[str, ResolvedRun] = {}
    asked: dict[str, list[RunSpec]] = {}
    for spec, points in points_by_run(specs).items():  # each point made effective once, here
        run = settle(spec, data_root, loaded)
        runs.setdefault(run.run_id, run)
        asked.setdefault(run.run_id, []).extend(points)
    root = None if data_root is None else str(data_root)
    tasks = [RunTask(run, root, Request(protocol, source, tuple(p.to_dict() for p in asked[run_id]))) for run_id, run in runs.items()]
    return run_jobs(tasks, store, executor, force, progress, label, points=len(specs))
