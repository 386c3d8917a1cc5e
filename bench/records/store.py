"""Records on disk: one JSON file per run id, written atomically through the project's one JSON writer.

Reading never trusts a file: a record that cannot be read (not JSON, truncated by an interrupted write,
not an object, no metrics, a metric that is not a number, an unknown schema) is skipped with one warning
naming the file, or stops the command in strict mode. A run whose record is unreadable counts as not
done, so resuming a grid reruns it and replaces the file.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from bench.core.jsonfile import dumps, write_json_atomic
from bench.records.kinds import RecordKind
from bench.records.migrate import read_run
from bench.records.schema import RecordError, RunRecord
from bench.records.sequential import read_sequential

log = logging.getLogger("bench.records")


def _read_run(raw) -> dict:
    return read_run(raw).to_dict()


RUNS = RecordKind("run", 2, _read_run)
SEQUENTIAL = RecordKind("sequential", 1, read_sequential)


@dataclass(frozen=True)
class Problem:
    path: Path
    reason: str

    def __str__(self) -> str:
        return f"unreadable record {self.path}: {self.reason}"


class RecordStore:
    """The records of one kind in one folder. ``strict``: an unreadable record is an error, not a warning."""

    def __init__(self, root: Path | str, kind: RecordKind = RUNS, strict: bool = False):
        self.root = Path(root)
        self.kind = kind
        self.strict = strict

    def path(self, run_id: str) -> Path:
        return self.root / f"{run_id}.json"

    def get(self, run_id: str) -> dict | None:
        """The run's record, current schema; None when there is none or it cannot be read (so it reruns)."""
        path = self.path(run_id)
        if not path.is_file():
            return None
        record = self._load(path)
        if isinstance(record, Problem):
            self._report(record, "it will be rerun")
            return None
        if record["run_id"] != run_id:
            self._report(Problem(path, f"it holds run {record['run_id']}, not {run_id}"), "it will be rerun")
            return None
        return record

    def write(self, record: dict) -> Path:
        """Validate (a record that could not be read back is never written), then write atomically."""
        self.kind.read(json.loads(dumps(record)))
        path = self.path(record["run_id"])
        write_json_atomic(path, record)
        return path

    def scan(self) -> tuple[list[tuple[Path, dict]], list[Problem]]:
        """Every readable record with its file, and every unreadable file (each already warned about)."""
        good, bad = [], []
        for path in sorted(self.root.glob("*.json")) if self.root.is_dir() else []:
            record = self._load(path)
            if isinstance(record, Problem):
                self._report(record, "skipped")
                bad.append(record)
            else:
                good.append((path, record))
        return good, bad

    def __iter__(self) -> Iterator[dict]:
        return iter([record for _, record in self.scan()[0]])

    def _load(self, path: Path) -> dict | Problem:
        try:
            raw = json.loads(path.read_bytes().decode("utf-8"))
        except UnicodeDecodeError:
            return Problem(path, "not text (binary data)")
        except json.JSONDecodeError as exc:
            return Problem(path, f"not valid JSON, truncated by an interrupted write? ({exc})")
        except OSError as exc:
            return Problem(path, f"cannot be read ({exc.strerror})")
        try:
            return self.kind.read(raw)
        except RecordError as exc:
            return Problem(path, str(exc))

    def _report(self, problem: Problem, action: str) -> None:
        if self.strict:
            raise RecordError(str(problem), "fix or remove the file, or leave out --strict to skip it")
        log.warning("%s; %s", problem, action)


@dataclass(frozen=True)
class Duplicate:
    run_id: str
    kept: Path
    dropped: tuple[Path, ...]

    def __str__(self) -> str:
        return (f"run {self.run_id} has {1 + len(self.dropped)} records: kept the newest, {self.kept}, "
                f"over {', '.join(map(str, self.dropped))}")


@dataclass(frozen=True)
class RunSet:
    """What a report reads: one record per run id, and what was set aside on the way."""

    records: tuple[RunRecord, ...]
    files: int  # readable files read
    duplicates: tuple[Duplicate, ...]
    problems: tuple[Problem, ...]
    outside: int = 0  # records a leaderboard left out because its grid does not ask for them

    def summary(self) -> str:
        """One sentence for report captions: how many records, and which were dropped."""
        text = f"{len(self.records)} run records"
        if self.duplicates:
            extra = sum(len(d.dropped) for d in self.duplicates)
            text += f"; {extra} older duplicate(s) of {len(self.duplicates)} run id(s) left out (newest record wins)"
        if self.problems:
            text += f"; {len(self.problems)} unreadable file(s) skipped"
        if self.outside:
            text += f"; {self.outside} record(s) of runs its grid does not ask for left out (another setting, batch mode or generator version)"
        return text + "."


def load_runs(roots: Iterable[Path | str], strict: bool = False) -> RunSet:
    """Every run record under ``roots``, de-duplicated by run id: the newest ``created`` wins (ties: the
    last file in path order), and each replacement is logged."""
    by_id: dict[str, list[tuple[str, Path, dict]]] = {}
    files, problems = 0, []
    for root in roots:
        good, bad = RecordStore(root, RUNS, strict).scan()
        files += len(good)
        problems += bad
        for path, record in good:
            by_id.setdefault(record["run_id"], []).append((record["created"], path, record))
    records, duplicates = [], []
    for run_id, copies in sorted(by_id.items()):
        copies.sort(key=lambda c: (c[0], str(c[1])))
        records.append(RunRecord.from_dict(copies[-1][2]))
        if len(copies) > 1:
            duplicate = Duplicate(run_id, copies[-1][1], tuple(c[1] for c in copies[:-1]))
            log.warning("%s", duplicate)
            duplicates.append(duplicate)
    return RunSet(tuple(records), files, tuple(duplicates), tuple(problems))
