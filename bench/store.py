"""Run records on disk: one JSON file per run id, written atomically, read back for reports."""

from __future__ import annotations

import json
import math
import os
import uuid
from pathlib import Path
from typing import Iterator

from bench.errors import BenchError

SCHEMA = "bench.run/1"


def _json_safe(value):
    """NaN/inf are not JSON: an undefined metric is stored as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def write_json_atomic(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text(json.dumps(_json_safe(obj), indent=2, sort_keys=True, allow_nan=False))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class RecordStore:
    def __init__(self, root: Path):
        self.root = Path(root)

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

    @staticmethod
    def _load(path: Path) -> dict:
        try:
            record = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise BenchError(f"corrupt run record {path}: {exc}", "delete it and re-run that run") from None
        if record.get("schema") != SCHEMA:
            raise BenchError(f"{path} is not a {SCHEMA} record", "move it out of the records folder")
        return record
