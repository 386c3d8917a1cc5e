"""Run records: the typed, versioned schema (``bench.run/2``), readers for earlier versions, the store.

Reports read records only through ``load_runs``; runs and grids store and resume through ``RecordStore``.
Field reference: docs/records.md.
"""

from bench.records.migrate import read_run
from bench.records.quality import ANNOTATIONS_SCHEMA, CLASSIFICATION_SCHEMA, EFFICIENCY_SCHEMA
from bench.records.quality import SCHEMA as QUALITY_SCHEMA
from bench.records.schema import SCHEMA, GeneratorFacts, RecordError, Request, RunRecord, degenerate_note, json_schema
from bench.records.store import ANNOTATIONS, CLASSIFICATION, EFFICIENCY, QUALITY, RUNS, SEQUENTIAL, RecordStore, RunSet, load_runs

__all__ = [
    "ANNOTATIONS",
    "ANNOTATIONS_SCHEMA",
    "CLASSIFICATION",
    "CLASSIFICATION_SCHEMA",
    "EFFICIENCY",
    "EFFICIENCY_SCHEMA",
    "QUALITY",
    "QUALITY_SCHEMA",
    "RUNS",
    "SCHEMA",
    "SEQUENTIAL",
    "GeneratorFacts",
    "RecordError",
    "RecordStore",
    "Request",
    "RunRecord",
    "RunSet",
    "degenerate_note",
    "json_schema",
    "load_runs",
    "read_run",
]
