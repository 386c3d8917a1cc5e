"""Seeds where a verdict is still open (``--until-decided``): a protocol grid run as a group-sequential design.

The first look runs the grid's own seeds. After each look the report's own comparisons (those of the comparing
forms of the build's protocols, ``bench.protocols.report.comparisons``, over the build's runs, with the build's
design) decide which comparisons are still open: inconclusive, or
without a verdict, and below the cap of seeds. The next look adds the next batch of seeds to those settings and
their baselines only, until none is open or every open one has the cap. The design and each look's runs are
recorded (``bench.sequential/1``) beside the records folder, so the report tests these comparisons look by look
at the boundaries of the design's alpha-spending (docs/metrics.md). A rerun of the same command replays the
looks from the records, resuming where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from bench.core.errors import BenchError
from bench.protocols.execute import effective_spec
from bench.protocols.report import comparisons, forms_of, protocols
from bench.records import SEQUENTIAL, RecordStore, RunRecord
from bench.records.sequential import design_id, sequential_record
from bench.report import stats
from bench.report.compare import designs_of
from bench.report.frames import GROUP, records_frame
from bench.report.tables import DELTA_COLUMNS
from bench.spec import NO_GENERATOR, RunSpec

METRIC = "mIoU"  # the metric whose verdicts decide when a comparison stops


@dataclass(frozen=True)
class Sequential:
    """The options of a sequential build."""

    max_seeds: int = 20  # seeds per comparison at most (the design's cap: information fraction 1)
    seed_batch: int | None = None  # seeds each look adds [default: as many as the first look's]
    margin: float = stats.MARGIN
    alpha: float = stats.ALPHA
    spending: str = stats.DEFAULT_SPENDING


def planned_looks(first: Sequence[int], max_seeds: int, batch: int | None = None) -> tuple[tuple[int, ...], ...]:
    """The seeds of each look: the grid's own, then the next unused whole numbers, ``batch`` at a time, to the cap."""
    first = tuple(sorted(set(first)))
    batch = batch or len(first)
    if max_seeds < len(first):
        raise BenchError(f"--max-seeds {max_seeds} is below the {len(first)} seeds of the first look", "raise --max-seeds or give fewer --seeds")
    if len(first) < stats.MIN_SEEDS:
        raise BenchError(f"a sequential build needs at least {stats.MIN_SEEDS} seeds in its first look, got {len(first)}", "give more --seeds")
    looks, seed = [first], max(first) + 1
    while sum(map(len, looks)) < max_seeds:
        look = tuple(range(seed, seed + min(batch, max_seeds - sum(map(len, looks)))))
        looks.append(look)
        seed += len(look)
    return tuple(looks)


def baseline_of(spec: RunSpec) -> RunSpec:
    """The real-only run a setting is compared with (seed 0 stands for every seed)."""
    bare = replace(spec, generator=NO_GENERATOR, ratio=0.0, fill_to=0, normal_ratio=0.0, synthetic_only=False, source="", class_map="",
                   generator_seed=None, seed=0)
    return bare.normalized()


def setting_of(spec: RunSpec) -> RunSpec:
    return replace(effective_spec(spec), seed=0)


def check_design(plans, options: Sequential, folder: Path, source: str) -> dict:
    """The design of a sequential build of ``plans``, checked before any work: one set of seeds for every block,
    comparisons to decide, and no other design already recorded for the same grid in ``folder``."""
    seeds = {tuple(sorted(grid.seeds)) for protocol, grid in plans}
    if any(protocol.specs is None for protocol, _ in plans):
        raise BenchError("--until-decided decides comparisons with the real-only baseline", "use it with a run protocol (synthetic-ratio, "
                         "upsample, normal-data, synthetic-only, benign, localization)")
    if len(seeds) != 1:
        raise BenchError("--until-decided needs one list of seeds for every block of the grid", "give every block the same seeds")
    looks = planned_looks(next(iter(seeds)), options.max_seeds, options.seed_batch)
    specs = [setting_of(s) for protocol, grid in plans for s in protocol.specs(grid.replace(seeds=looks[0][:1]))]
    if not any(s != baseline_of(s) for s in specs) or not any(s == baseline_of(s) for s in specs):
        raise BenchError("--until-decided needs settings and their real-only baseline in the grid", "add ratio 0 (or the protocol's baseline)")
    design = {"spending": options.spending, "alpha": options.alpha, "margin": options.margin, "metric": METRIC,
              "max_seeds": options.max_seeds, "seed_batch": options.seed_batch or len(looks[0]),
              "seeds": [s for look in looks for s in look], "source": source, "protocols": [p.name for p, _ in plans]}
    for other in RecordStore(folder, SEQUENTIAL):
        if other["design"]["source"] == source and other["run_id"] != design_id(design):
            raise BenchError(f"{folder} holds a sequential build of {source} with another design ({_describe(other['design'])}); a design "
                             "changed after its verdicts were seen loses its error guarantee",
                             "repeat the options of that build, or build into a new folder")
    return design


def _describe(design: dict) -> str:
    return f"--max-seeds {design['max_seeds']}, seeds per look {design['seed_batch']}, margin {100 * design['margin']:g} points"


def open_settings(store: RecordStore, run_ids: Sequence[str], record: dict) -> set[RunSpec]:
    """The settings whose comparison is still open after the looks so far, by what the report says of them:
    no win, loss or equivalence yet, and fewer seeds than the cap."""
    records = [RunRecord.from_dict(r) for r in (store.get(i) for i in dict.fromkeys(run_ids)) if r is not None]
    frame = records_frame(records)
    design = record["design"]
    forms = forms_of(name for name in design["protocols"] if name in protocols())
    how = dict(metric=design["metric"], alpha=design["alpha"], margin=design["margin"], designs=designs_of([record]))
    found = [comparisons(frame, form, **how)[0] for form in forms if form.compares is not None]
    d = pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=DELTA_COLUMNS)
    runs_of = {key: list(group["run_id"]) for key, group in frame.groupby(GROUP, sort=False, dropna=False)}
    spec_of = {r.run_id: r.spec for r in records}
    still = d[~stats.decided(d["verdict"]) & (d["n"] < design["max_seeds"])]
    return {replace(spec_of[i], seed=0) for _, row in still.iterrows() for i in runs_of[tuple(row[c] for c in GROUP)]}


def run_until_decided(plans, where: str, store: RecordStore, folder: Path, options: Sequential,
                      execute: Callable[[list[RunSpec], tuple], list[str]], say: Callable[[str], None]) -> dict:
    """Look after look: run the open settings' next seeds and their baselines (``execute(specs, planned)`` runs
    the specs of one planned block into ``store`` and returns their run ids), record the look in ``folder``,
    decide again. Returns the build's record."""
    design = check_design(plans, options, folder, where)
    looks = planned_looks(tuple(plans[0][1].seeds), options.max_seeds, options.seed_batch)
    sequential = RecordStore(folder, SEQUENTIAL)
    taken: list[dict] = []
    still: set[RunSpec] | None = None  # None: every setting of the grid (the first look)
    record = sequential_record(design, [], _now())
    for number, seeds in enumerate(looks, 1):
        runs: list[str] = []
        for planned in plans:
            protocol, grid = planned
            specs = protocol.specs(grid.replace(seeds=seeds))
            if still is not None:
                wanted = still | {baseline_of(s) for s in still}
                specs = [s for s in specs if setting_of(s) in wanted]
            if specs:
                runs += execute(specs, planned)
        if not runs:
            break
        taken.append({"look": number, "seeds": list(seeds), "runs": sorted(set(runs))})
        still = open_settings(store, [r for look in taken for r in look["runs"]], sequential_record(design, taken, _now()))
        taken[-1]["open"] = len(still)
        record = sequential_record(design, taken, _now())
        sequential.write(record)
        say(f"look {number} (seeds {', '.join(map(str, seeds))}): {len(set(runs))} runs; {len(still)} setting(s) still open")
        if not still:
            break
    return record


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
