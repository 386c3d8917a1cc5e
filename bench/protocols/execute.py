"""Run a protocol's grid through the runner: distinct runs once, finished ones skipped, progress shown."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from bench.runner import RunOutcome, execute
from bench.spec import RunSpec
from bench.store import RecordStore


@dataclass(frozen=True)
class GridOutcome:
    points: int  # grid points asked for
    outcomes: tuple[RunOutcome, ...]  # one per distinct run

    @property
    def done(self) -> int:
        return sum(not o.skipped for o in self.outcomes)

    @property
    def skipped(self) -> int:
        return sum(o.skipped for o in self.outcomes)


def distinct(specs: list[RunSpec]) -> list[RunSpec]:
    """Grid points that are the same run (ratio 0 of every generator, say) collapse to one, in order."""
    seen: dict[RunSpec, None] = {}
    for spec in specs:
        seen.setdefault(spec.normalized(), None)
    return list(seen)


def run_specs(
    specs: list[RunSpec], store: RecordStore, data_root: str | Path | None = None, force: bool = False, progress: bool = True, label: str = "runs"
) -> GridOutcome:
    runs = distinct(specs)
    outcomes = []
    bar = tqdm(runs, desc=label, unit="run", disable=not progress)
    for spec in bar:
        bar.set_postfix_str(f"{spec.generator} r={spec.ratio:g} {spec.segmenter} {spec.category} s{spec.seed}")
        outcomes.append(execute(spec, store, data_root=data_root, force=force, progress=progress))
    return GridOutcome(len(specs), tuple(outcomes))
