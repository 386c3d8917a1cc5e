"""Readers for every run-record version: each earlier layout is migrated to ``bench.run/2`` when read.

A migrated record says so (``migrated_from``) and carries ``null`` for what its version did not record
(the request, effective generator parameters, the resolved segmenter config); nothing is guessed.
"""

from __future__ import annotations

from typing import Callable

from bench.core.specs import BASE_VERSION
from bench.records.schema import SCHEMA, RecordError, RunRecord, check_matrix, degenerate_note


def from_v1(raw: dict) -> dict:
    """``bench.run/1``: the generator's cache hit sat in ``data``, and there were no request, generator,
    config-hash or degenerate fields. Every generator was at its first version then."""
    spec, data = raw.get("spec"), raw.get("data")
    if not isinstance(spec, dict) or not isinstance(spec.get("generator"), dict):
        raise RecordError("'spec' with a 'generator' object is missing")
    if not isinstance(data, dict):
        raise RecordError("'data' must be an object")
    data = dict(data)
    cache_hit = data.pop("generator_cache_hit", None)
    generator, classes = spec["generator"], data.get("classes")
    segmenter = raw.get("segmenter") if isinstance(raw.get("segmenter"), dict) else {"name": spec.get("segmenter")}
    return {
        **raw,
        "schema": SCHEMA,
        "migrated_from": raw["schema"],
        "data": data,
        "request": {"protocol": None, "source": None, "points": []},
        "generator": {"name": generator.get("name"), "version": BASE_VERSION, "params": generator.get("params") or {},
                      "effective": None, "cache_key": None, "cache_hit": cache_hit},
        "segmenter": {"config_hash": None, "config_resolved": None, **segmenter},
        "degenerate": degenerate_note(check_matrix(raw.get("confusion_matrix")), classes if isinstance(classes, dict) else {}),
    }


READERS: dict[str, Callable[[dict], dict]] = {
    "bench.run/1": from_v1,
    SCHEMA: dict,
}


def read_run(raw) -> RunRecord:
    """A run record of any known version as a validated ``bench.run/2`` record."""
    if not isinstance(raw, dict):
        raise RecordError(f"a record is a JSON object, got a JSON {type(raw).__name__}")
    reader = READERS.get(raw.get("schema"))
    if reader is None:
        raise RecordError(f"unknown record schema {raw.get('schema')!r}; this bench reads {', '.join(READERS)}")
    return RunRecord.from_dict(reader(raw))
