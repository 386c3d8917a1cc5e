"""Run records on disk: one JSON file per run id, written atomically, read back for reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from bench.core.errors import BenchError
from bench.core.jsonfile import write_json_atomic

SCHEMA = "bench.run/1"


class RecordStore:
    """Records of one schema: ``bench.run/1`` for runs, ``bench.quality/1`` for the quality protocol."""

    def __init__(self, root: Path, schema: str = SCHEMA):
        self.root = Path(root)
        self.schema = schema

    def path(self, run_id: str) -> Path:
        return self.root / f"{run_id}.json"

    def has(self, run_id: str) -> bool:
        return self.path(run_id).is_file()

    def read(self, run_id: str) -> dict:
        return self._load(self.path(run_id))

    def write(self, record: dict) -> Path:
        path = self.path(record["run_id"])
        write_json_atomic(path, record)
        return path

    def __iter__(self) -> Iterator[dict]:
        if not self.root.is_dir():
            return iter(())
        return (self._load(p) for p in sorted(self.root.glob("*.json")))

    def _load(self, path: Path) -> dict:
        try:
            record = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise BenchError(f"corrupt run record {path}: {exc}", "delete it and re-run that run") from None
        if record.get("schema") != self.schema:
            raise BenchError(f"{path} is not a {self.schema} record", "move it out of the records folder")
        return record
