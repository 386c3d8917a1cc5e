"""The record of a group-sequential build, ``bench.sequential/1``: its design (how seeds are added and when a
comparison stops) and, for each look taken, the seeds it added and the runs it used. The report reads it to
test the build's comparisons look by look (docs/metrics.md, "Seeds where a verdict is open")."""

from __future__ import annotations

from typing import Sequence

from bench.core.hashing import canonical_json, sha256_text
from bench.records.schema import RecordError

SCHEMA = "bench.sequential/1"
DESIGN_KEYS = ("spending", "alpha", "margin", "metric", "max_seeds", "seed_batch", "seeds", "source")


def design_id(design: dict) -> str:
    """A build's identity: its whole design, so the same command resumes the same record and a changed one is another."""
    return sha256_text(canonical_json(design))[:16]


def sequential_record(design: dict, looks: Sequence[dict], created: str) -> dict:
    return {"schema": SCHEMA, "run_id": design_id(design), "created": created, "design": dict(design), "looks": list(looks)}


def read_sequential(raw) -> dict:
    if not isinstance(raw, dict):
        raise RecordError(f"a record is a JSON object, got a JSON {type(raw).__name__}")
    if raw.get("schema") != SCHEMA:
        raise RecordError(f"schema is {raw.get('schema')!r}, expected {SCHEMA!r}")
    design = raw.get("design")
    if not isinstance(design, dict) or any(k not in design for k in DESIGN_KEYS):
        raise RecordError(f"'design' must be an object with {', '.join(DESIGN_KEYS)}")
    if not isinstance(design["max_seeds"], int) or design["max_seeds"] < 1:
        raise RecordError("'design.max_seeds' must be a whole number >= 1")
    looks = raw.get("looks")
    if not isinstance(looks, list) or not all(
            isinstance(look, dict) and isinstance(look.get("seeds"), list) and isinstance(look.get("runs"), list)
            and all(isinstance(s, int) for s in look["seeds"]) and all(isinstance(r, str) for r in look["runs"]) for look in looks):
        raise RecordError("'looks' must be a list of objects with 'seeds' (whole numbers) and 'runs' (run ids)")
    if raw.get("run_id") != design_id(design):
        raise RecordError("'run_id' is not the id of its design")
    return raw
