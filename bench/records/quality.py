"""The quality protocol's record, ``bench.quality/1``: checked on read like run records, never migrated yet."""

from __future__ import annotations

from bench.records.schema import RecordError, check_metrics

SCHEMA = "bench.quality/1"
SPEC_KEYS = ("generator", "dataset", "category", "split", "seed", "n_generated", "ic_lpips", "region")


def read_quality(raw) -> dict:
    if not isinstance(raw, dict):
        raise RecordError(f"a record is a JSON object, got a JSON {type(raw).__name__}")
    if raw.get("schema") != SCHEMA:
        raise RecordError(f"schema is {raw.get('schema')!r}, expected {SCHEMA!r}")
    spec = raw.get("spec")
    if not isinstance(spec, dict) or not isinstance(spec.get("generator"), dict):
        raise RecordError("'spec' with a 'generator' object is missing")
    missing = [k for k in SPEC_KEYS if k not in spec]
    if missing:
        raise RecordError(f"'spec' lacks {', '.join(missing)}")
    if not isinstance(raw.get("run_id"), str) or not isinstance(raw.get("variants"), dict):
        raise RecordError("'run_id' (a string) and 'variants' (an object) are required")
    check_metrics(raw.get("metrics"))
    return raw
