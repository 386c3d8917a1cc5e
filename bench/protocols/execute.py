"""Run a protocol's grid: distinct runs once, finished ones skipped, the rest on an executor, each record
written the moment it arrives (so an interrupted grid resumes), failures reported without stopping the others."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.core.progress import progress as progress_bar
from bench.data.tasks import Tasks
from bench.executors import EXECUTORS, Executor, Finished, RunTask
from bench.executors.base import ExecutorOptions
from bench.records import RecordStore, Request
from bench.runner import ResolvedRun, RunOutcome, effective_spec, settle
from bench.spec import RunSpec


@dataclass(frozen=True)
class GridOutcome:
    points: int  # grid points asked for
    outcomes: tuple[RunOutcome, ...]  # one per distinct run that has a record, in grid order
    failures: tuple[Finished, ...] = ()  # runs that failed every attempt

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
    """``protocol`` and ``source`` (the grid file or "command line") are recorded with each computed run."""
    executor = executor or make_executor("inline", ExecutorOptions())
    loaded = Tasks(progress)  # one pool load and split per category, however many runs share it
    runs: dict[str, ResolvedRun] = {}
    asked: dict[str, list[RunSpec]] = {}
    for spec, points in points_by_run(specs).items():  # each point made effective once, here
        run = settle(spec, data_root, loaded)  # a typo or a missing weights file fails the grid before any run starts
        runs.setdefault(run.run_id, run)
        asked.setdefault(run.run_id, []).extend(points)
    by_id: dict[str, RunOutcome] = {}
    tasks = []
    for run in runs.values():
        existing = None if force else store.get(run.run_id)
        if existing is not None:
            by_id[run.run_id] = RunOutcome(existing, store.path(run.run_id), True, run.spec)
        else:
            request = Request(protocol, source, tuple(p.to_dict() for p in asked[run.run_id]))
            tasks.append(RunTask(run, None if data_root is None else str(data_root), request))
    tasks = executor.order(tasks)
    failures = []
    bar = progress_bar(total=len(tasks), desc=f"{label} ({executor.name})", unit="run", enabled=progress)
    with bar:
        for finished in executor.run(tasks, progress=progress and executor.name == "inline"):
            if finished.record is None:
                failures.append(finished)
                bar.write(f"failed after {finished.attempts} attempt(s): {finished.error}")
            else:
                by_id[finished.task.run_id] = RunOutcome(finished.record, store.write(finished.record), False, finished.task.spec)
            bar.update()
    return GridOutcome(len(specs), tuple(by_id[i] for i in runs if i in by_id), tuple(failures))
