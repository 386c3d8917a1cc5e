"""Kinds of record. A kind names its folder (beside the run records), the schema version it writes
(``bench.<name>/<version>``) and how it reads any version of itself, so every record is checked on write and
on read the same way. Run records (``bench.run/2``, ``schema.py``) and sequential builds are the project's
own kinds; a protocol that records something other than a segmenter run declares its kind with its protocol
(``record_kind``): its spec fields with their types, and whatever else its records must hold."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable, Mapping

from bench.records.schema import RecordError, check_metrics


@dataclass(frozen=True)
class RecordKind:
    name: str  # its folder beside the run records, and the stem of its schema
    version: int  # the version it writes; a reader migrates older ones
    reader: Callable[[object], dict]  # parsed JSON of any known version -> a valid record of this version

    @property
    def schema(self) -> str:
        return f"bench.{self.name}/{self.version}"

    def read(self, raw) -> dict:
        return self.reader(raw)

    def owns(self, raw) -> bool:
        """Whether a parsed record is one of this kind, at any version."""
        return isinstance(raw, dict) and str(raw.get("schema", "")).startswith(f"bench.{self.name}/")


def _type_name(kinds) -> str:
    return " or ".join(k.__name__ for k in (kinds if isinstance(kinds, tuple) else (kinds,)))


def read_typed(raw, schema: str, spec: Mapping[str, type | tuple[type, ...]], check: Callable[[dict], None] | None = None) -> dict:
    """A record of a protocol's own kind: its schema, ``run_id``, ``variants``, numeric ``metrics`` and each
    ``spec`` field of its type (a bool is no number); ``check`` what else it must hold."""
    if not isinstance(raw, dict):
        raise RecordError(f"a record is a JSON object, got a JSON {type(raw).__name__}")
    if raw.get("schema") != schema:
        raise RecordError(f"schema is {raw.get('schema')!r}, expected {schema!r}")
    given = raw.get("spec")
    if not isinstance(given, dict):
        raise RecordError("'spec' (an object) is missing")
    missing = [k for k in spec if k not in given]
    if missing:
        raise RecordError(f"'spec' lacks {', '.join(missing)}")
    for key, kinds in spec.items():
        value = given[key]
        wanted = kinds if isinstance(kinds, tuple) else (kinds,)
        if not isinstance(value, wanted) or (isinstance(value, bool) and bool not in wanted):
            raise RecordError(f"'spec.{key}' must be {_type_name(kinds)}, got {value!r}")
    if not isinstance(raw.get("run_id"), str) or not isinstance(raw.get("variants"), dict):
        raise RecordError("'run_id' (a string) and 'variants' (an object) are required")
    check_metrics(raw.get("metrics"))
    if check is not None:
        check(raw)
    return raw


def record_kind(name: str, version: int, spec: Mapping[str, type | tuple[type, ...]],
                check: Callable[[dict], None] | None = None) -> RecordKind:
    """The kind of a protocol's own records: ``spec`` maps each spec field to its type(s); ``check`` raises a
    ``RecordError`` for anything else wrong with a record."""
    return RecordKind(name, version, partial(read_typed, schema=f"bench.{name}/{version}", spec=dict(spec), check=check))
