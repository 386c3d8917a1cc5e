"""Records: the typed, versioned run record (``bench.run/2``), readers for earlier versions, the kinds of
record (each with its own version: runs, sequential builds, and the kinds protocols declare), the store.

Reports read run records only through ``load_runs``; runs and grids store and resume through ``RecordStore``.
Field reference: docs/records.md.
"""

from bench.records.kinds import RecordKind, record_kind
from bench.records.migrate import read_run
from bench.records.schema import SCHEMA, GeneratorFacts, RecordError, Request, RunRecord, degenerate_note, json_schema
from bench.records.store import RUNS, SEQUENTIAL, RecordStore, RunSet, load_runs

__all__ = [
    "RUNS",
    "SCHEMA",
    "SEQUENTIAL",
    "GeneratorFacts",
    "RecordError",
    "RecordKind",
    "RecordStore",
    "Request",
    "RunRecord",
    "RunSet",
    "degenerate_note",
    "json_schema",
    "load_runs",
    "read_run",
    "record_kind",
]
