"""bench as a library: the calls the command line makes, so a notebook or another tool runs the same code.

``run(spec)`` trains and records one run (``bench run``), ``run_protocol(name, grid)`` runs a protocol's grid
(``bench protocol``, ``bench sweep``), ``load(folders)`` reads records and ``report(records)`` builds every table
they support (``bench report``). Runs and points whose records exist are skipped; errors are ``BenchError``s
with one line saying what and how to fix, raised before any work (docs/design.md, "Library use").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, NamedTuple, Sequence

from bench.core.device import resolve_device
from bench.core.errors import BenchError
from bench.core.paths import results_dir
from bench.core.specs import GeneratorSpec
from bench.data.base import dataset_categories
from bench.executors.base import ExecutorOptions
from bench.executors.packing import peaks_from_records
from bench.protocols import PROTOCOLS, Grid, Protocol
from bench.records import RUNS, SEQUENTIAL, RecordKind, RecordStore, RunRecord, RunSet, load_runs, read_run
from bench.spec import RunSpec
from generators import GENERATORS
from generators.registry import build
from segmenters import SCHEDULES, SEGMENTERS

if TYPE_CHECKING:  # running loads torch, reporting pandas; importing the library needs neither
    import pandas as pd

    from bench.protocols.execute import GridOutcome, Outcome
    from bench.report.tables import Table

LIBRARY = "library call"  # where a grid given in code comes from, in errors and in its records
DIRECT = "bench run"  # the source a single run records


class Plan(NamedTuple):
    """A protocol and its grid, every name, value and device checked."""

    protocol: Protocol
    grid: Grid


def checked_generator(spec: GeneratorSpec, where: str, relative_to: Path) -> GeneratorSpec:
    """A spec with its canonical name, its parameters checked against the backend's declaration and by the
    backend itself, and an import's ``path`` made absolute (relative to ``relative_to``)."""
    try:
        name = GENERATORS.canonical(spec.name)
        backend = GENERATORS.get(name)
        params = dict(spec.params)
        if backend.kind == "import" and isinstance(params.get("path"), str):
            params["path"] = str((relative_to / Path(params["path"]).expanduser()).resolve())
        spec = GeneratorSpec.of(name, **params)
        build(spec)  # declared parameters, then the backend's own checks (a value it cannot use, an import's folder); cheap
    except BenchError as exc:
        raise BenchError(f"grid key 'generators' in {where}: {exc}") from None
    return spec


def plan(name: str, values: Mapping[str, Any] | Grid | None = None, where: str = LIBRARY, relative_to: Path | None = None) -> Plan:
    """Protocol ``name`` and its grid from ``values`` (grid keys, over the protocol's defaults; or a grid of it),
    checked before any work: canonical generator and segmenter names, declared generator parameters, the
    schedule, the device (``auto`` settled here). Relative import paths are read from ``relative_to`` (a grid
    file's folder; the working directory by default)."""
    protocol = PROTOCOLS.get(name)
    grid = values if isinstance(values, Grid) else protocol.grid(dict(values or {}), where)
    relative_to = relative_to or Path.cwd()
    grid = grid.replace(device=resolve_device(grid.device).type,
                        generators=tuple(checked_generator(g, where, relative_to) for g in grid.generators),
                        segmenters=tuple(SEGMENTERS.canonical(s) for s in grid.segmenters))
    for segmenter in grid.segmenters:
        SEGMENTERS.get(segmenter)
    SCHEDULES.get(grid.schedule)
    check_release(grid, where)
    if protocol.specs is not None:
        from bench.runner import check_transfer  # deferred: the runner loads torch, which a bad grid value need not wait for

        try:
            for spec in protocol.specs(grid):  # a grid its protocol cannot expand (transfer without sources) fails here
                if spec.source:
                    check_transfer(spec.generator)
        except BenchError as exc:
            raise BenchError(f"{where}: {exc}") from None
    return Plan(protocol, grid)


def check_release(grid: Grid, where: str) -> None:
    """A grid's data root holds a release of its dataset with every category it names, before the first run
    needs them (without a data root, bench's cache or embedded data serves, as each run finds)."""
    if grid.data_root is None:
        return
    try:
        known = dataset_categories(grid.dataset, grid.data_root)
    except BenchError as exc:
        raise BenchError(f"{where}: {exc}") from None
    missing = [c for c in grid.categories if c not in known]
    if missing:
        raise BenchError(f"{where}: dataset '{grid.dataset}' has no category {', '.join(missing)}", f"choose from: {', '.join(known)}")


def store_of(kind: RecordKind, records: Path | str | None = None, strict: bool = False) -> RecordStore:
    """Where records of ``kind`` live: run records in ``records`` [default: results/runs], any other kind in the
    folder named after it beside them (results/quality, <leaderboard>/efficiency). ``strict``: an unreadable
    record is an error, not a warning and a rerun."""
    runs = Path(records) if records is not None else results_dir() / "runs"
    return RecordStore(runs if kind is RUNS else runs.parent / kind.name, kind, strict)


def run(spec: RunSpec, *, records: Path | str | None = None, data_root: Path | str | None = None, force: bool = False,
        progress: bool = True, strict: bool = False) -> Outcome:
    """One run, or its record when ``records`` holds it (``force``: run again)."""
    from bench.protocols.execute import run_specs  # deferred: the runner loads torch and the model stack

    outcome = run_specs([spec], store_of(RUNS, records, strict), data_root, force, progress, label="run", source=DIRECT)
    if outcome.failures:
        raise BenchError(outcome.failures[0].error, "fix the cause and run it again")
    return outcome.outcomes[0]


def run_protocol(name: str | Plan, grid: Mapping[str, Any] | Grid | None = None, *, records: Path | str | None = None,
                 force: bool = False, executor: str = "inline", jobs: int | None = None, threads: int | None = None,
                 address: str | None = None, progress: bool = True, where: str = LIBRARY,
                 specs: Sequence[RunSpec] | None = None, strict: bool = False) -> GridOutcome:
    """A protocol's grid (``name`` with grid keys, or a ``Plan``) through the executor ``executor`` and the one
    resume loop; records go to ``records`` [default: results/runs] or, for a protocol of its own kind, beside
    it. ``specs``: these of the grid's runs only (a look of a sequential build) [default: all]."""
    # deferred: running loads torch and the model stack
    from bench.data.tasks import Tasks
    from bench.protocols.execute import make_executor, run_jobs, run_specs

    planned = name if isinstance(name, Plan) else plan(name, grid, where)
    protocol, grid = planned.protocol, planned.grid
    if address and executor != "ray":
        raise BenchError(f"--address is for --executor ray, not {executor}", "add --executor ray or drop --address")
    store = store_of(protocol.kind, records, strict)
    peaks = peaks_from_records(store) if grid.device == "cuda" and protocol.specs is not None else {}
    runner = make_executor(executor, ExecutorOptions(device=grid.device, jobs=jobs, threads=threads, address=address, peaks=peaks))
    if protocol.specs is not None:
        specs = protocol.specs(grid) if specs is None else list(specs)
        return run_specs(specs, store, grid.data_root, force, progress, protocol.name, runner, protocol.name, where)
    return run_jobs(protocol.jobs(grid, Tasks(progress)), store, runner, force, progress, protocol.name)


@dataclass(frozen=True)
class Records:
    """What a report reads: run records (one per run id), the records of each protocol's own kind (by kind
    name) and sequential builds."""

    runs: RunSet
    side: Mapping[str, Sequence[dict]] = field(default_factory=dict)
    sequential: Sequence[dict] = ()

    @classmethod
    def of(cls, items: Iterable[RunRecord | dict]) -> "Records":
        """Records of any kind, each sorted by its schema."""
        kinds = {p.kind.name: p.kind for p in (PROTOCOLS.get(n) for n in PROTOCOLS.names()) if p.kind is not RUNS}
        runs, side, sequential = [], {}, []
        for item in items:
            if isinstance(item, RunRecord) or RUNS.owns(item):
                runs.append(item if isinstance(item, RunRecord) else read_run(item))
            elif SEQUENTIAL.owns(item):
                sequential.append(SEQUENTIAL.read(item))
            else:
                kind = next((k for k in kinds.values() if k.owns(item)), None)
                if kind is None:
                    raise BenchError(f"a record of schema {item.get('schema') if isinstance(item, dict) else type(item).__name__!r} "
                                     "is of no kind this bench reads", "pass run records or records of an installed protocol")
                side.setdefault(kind.name, []).append(kind.read(item))
        return cls(RunSet(tuple(runs), len(runs), (), ()), side, sequential)


def load(folders: Sequence[Path | str] | Path | str = (), *, side: Path | str | None = None, strict: bool = False) -> Records:
    """The run records in ``folders`` [default: results/runs], newest per run id; the records of every protocol's
    own kind from ``side``/<kind> [default: beside the first folder]; the sequential builds beside each folder
    and in ``side``. ``strict``: an unreadable record is an error, not a warning."""
    roots = [Path(folders)] if isinstance(folders, (str, Path)) else [Path(f) for f in folders] or [results_dir() / "runs"]
    beside = Path(side) if side is not None else roots[0].parent
    kinds = {p.kind for p in (PROTOCOLS.get(n) for n in PROTOCOLS.names()) if p.kind is not RUNS}
    found = {kind.name: list(RecordStore(beside / kind.name, kind, strict)) for kind in sorted(kinds, key=lambda k: k.name)}
    sequential = {r["run_id"]: r for folder in dict.fromkeys(f.resolve() for f in [beside, *(root.parent for root in roots)])
                  for r in RecordStore(folder / SEQUENTIAL.name, SEQUENTIAL, strict)}
    return Records(load_runs(roots, strict), found, tuple(sequential.values()))


@dataclass(frozen=True)
class Report:
    """Every table the records support, in reading order, with what they were built from."""

    records: Records
    frame: pd.DataFrame | None  # one row per run record; None without run records
    tables: tuple[Table, ...]
    note: str  # what was read, as the leaderboard's caption says it

    def table(self, name: str) -> Table:
        found = [t for t in self.tables if t.name == name]
        if not found:
            raise BenchError(f"the report has no table {name!r}", f"its tables: {', '.join(t.name for t in self.tables)}")
        return found[0]


def report(records: Records | Iterable[RunRecord | dict], *, rules: str = "defect-spectrum", metric: str = "mIoU",
           margin: float | None = None) -> Report:
    """Every table of ``records`` (``load``'s, or records of any kind), by the protocol each names. ``rules``: the
    benign rules, a shipped name or a YAML file; ``metric``: of the comparisons; ``margin``: the equivalence margin
    as a fraction [default: the statistics' own]."""
    # deferred: tables load pandas, the benign rules numpy
    from bench.metrics.benign import load_rules
    from bench.protocols.report import report_tables
    from bench.report.compare import designs_of
    from bench.report.frames import metrics_of, records_frame
    from bench.report.stats import MARGIN

    records = records if isinstance(records, Records) else Records.of(records)
    benign = load_rules(rules)
    frame = records_frame(records.runs.records, benign) if records.runs.records else None
    if frame is not None and metric not in metrics_of(frame):
        raise BenchError(f"--metric {metric} is in none of the records", f"choose one of: {', '.join(metrics_of(frame))}")
    note = f"Records: {records.runs.summary()}" if frame is not None else ""
    tables = report_tables(frame, records.side, benign, metric, margin=MARGIN if margin is None else margin,
                           designs=designs_of(records.sequential), records_note=note)
    return Report(records, frame, tuple(tables), note)
