"""The run record, ``bench.run/2``, as typed data: what a run was asked for, what ran, what it measured.

``RunRecord.from_dict`` is the one way a record comes in (it validates, so an unreadable record is a
``RecordError`` naming what is wrong, never a crash later in a report); ``to_dict`` is what is written.
Every field is described in docs/records.md; ``run-2.schema.json`` beside this file is the same contract
as a JSON Schema for readers outside bench.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, NoReturn

from bench.core.errors import BenchError
from bench.core.hashing import canonical_json, sha256_text
from bench.spec import RunSpec

SCHEMA = "bench.run/2"
JSON_SCHEMA_FILE = "run-2.schema.json"


class RecordError(BenchError):
    """A record that cannot be read: reports and resume skip it with a warning (or stop, when strict)."""


def _fail(what: str) -> NoReturn:
    raise RecordError(what)


def _block(raw: Mapping, key: str, required: bool = True) -> dict | None:
    value = raw.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, dict):
        _fail(f"'{key}' must be an object, got {type(value).__name__}")
    return value


def _text(raw: Mapping, key: str, required: bool = True) -> str | None:
    value = raw.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        _fail(f"'{key}' must be a non-empty string, got {value!r}")
    return value


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_metrics(metrics: Mapping, where: str = "metrics") -> dict:
    """Metrics are numbers or null (undefined), possibly nested in objects or lists; anything else is an error."""

    def check(value, path: str) -> None:
        if value is None:
            return
        if _is_number(value):
            if not math.isfinite(value):
                _fail(f"{path} is {value}, not a finite number (undefined metrics are stored as null)")
            return
        if isinstance(value, dict):
            for k, v in value.items():
                check(v, f"{path}.{k}")
            return
        if isinstance(value, list):
            for i, v in enumerate(value):
                check(v, f"{path}[{i}]")
            return
        _fail(f"{path} is {value!r}, not a number")

    if not isinstance(metrics, dict):
        _fail(f"'{where}' must be an object, got {type(metrics).__name__}")
    check(metrics, where)
    return dict(metrics)


@dataclass(frozen=True)
class Request:
    """Who asked for the run: a protocol grid (and which of its points) or a direct ``bench run``.

    Provenance only: the same run serves every protocol and point that asks for it (the ratio-0 baseline
    of every generator, say) and is computed once, so the request is not part of the run id. ``points``
    are the specs as requested, before normalization, that collapsed into this run."""

    protocol: str | None = None  # None: a direct `bench run`, or a record from before requests were recorded
    source: str | None = None  # the grid file or "command line"; None when not recorded
    points: tuple[dict, ...] = ()

    @classmethod
    def from_dict(cls, raw: Mapping) -> "Request":
        points = raw.get("points") or []
        if not isinstance(points, list) or not all(isinstance(p, dict) for p in points):
            _fail("'request.points' must be a list of objects")
        return cls(_text(raw, "protocol", False), _text(raw, "source", False), tuple(points))

    def to_dict(self) -> dict:
        return {"protocol": self.protocol, "source": self.source, "points": list(self.points)}


@dataclass(frozen=True)
class GeneratorFacts:
    """The generator as it ran: its code version and every parameter after defaults and profile."""

    name: str
    version: str  # the backend's ``version``: a changed algorithm is a new version, a new run id, a new cache key
    params: dict  # as requested in the spec
    effective: dict | None  # every declared parameter after defaults; None where not recorded (migrated)
    cache_key: str | None = None  # the generated set's cache key; None without synthetic pairs
    cache_hit: bool | None = None
    resolved: dict | None = None  # what the backend resolves beyond its parameters (profile, reading, sizes): Generator.settings()
    fitted_state: str | None = None  # digest of the networks that made the pairs (generators.state); None: nothing learned
    masks: dict | None = None  # degenerate masks of the generated set (generators.sanity.degenerate_masks); None: no pairs

    @classmethod
    def from_dict(cls, raw: Mapping) -> "GeneratorFacts":
        params, effective = _block(raw, "params"), _block(raw, "effective", False)
        cache_hit = raw.get("cache_hit")
        if cache_hit is not None and not isinstance(cache_hit, bool):
            _fail(f"'generator.cache_hit' must be true, false or null, got {cache_hit!r}")
        return cls(_text(raw, "name"), _text(raw, "version"), params, effective, _text(raw, "cache_key", False), cache_hit,
                   _block(raw, "resolved", False), _text(raw, "fitted_state", False), _block(raw, "masks", False))

    def to_dict(self) -> dict:
        out = {"name": self.name, "version": self.version, "params": self.params, "effective": self.effective,
               "cache_key": self.cache_key, "cache_hit": self.cache_hit, "resolved": self.resolved}
        if self.fitted_state is not None:
            out["fitted_state"] = self.fitted_state
        return out if self.masks is None else {**out, "masks": self.masks}


def portable_config(node):
    """A resolved config as JSON data, with local checkpoint paths cut to their file names, so the same
    config hashes the same on every machine."""
    if isinstance(node, dict):
        return {k: Path(v).name if k == "checkpoint" and isinstance(v, str) else portable_config(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [portable_config(v) for v in node]
    return node


def config_hash(config: Mapping) -> str:
    """SHA-256 of a portable resolved segmenter config's canonical JSON: equal hashes, equal configs."""
    return sha256_text(canonical_json(config))


def check_matrix(value) -> list | None:
    """A confusion matrix: a square list of lists of non-negative integers (null when not recorded)."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(row, list) and len(row) == len(value) for row in value):
        _fail("'confusion_matrix' must be a square list of lists")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for row in value for v in row):
        _fail("'confusion_matrix' must hold non-negative integer pixel counts")
    return value


def degenerate_note(confusion: list[list[int]] | None, classes: Mapping[str, str]) -> str | None:
    """``"predicts background only"`` (or another class) when every test pixel got one predicted class.

    Such a segmenter learned nothing to compare: its mIoU is the background's share and its defect mIoU 0,
    whatever the training data, so tables flag it rather than rank it."""
    if not confusion:
        return None
    predicted = [j for j in range(len(confusion)) if any(row[j] for row in confusion)]
    if len(predicted) != 1:
        return None
    name = classes.get(str(predicted[0]), str(predicted[0]))
    return f"predicts {name} only"


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    created: str  # ISO 8601, UTC, seconds: the newest copy of a run id wins
    spec: RunSpec  # the effective (normalized) spec; every field, defaults included
    request: Request
    generator: GeneratorFacts
    segmenter: dict  # name, config file, config_hash, config (resolved), schedule, parameters, losses, ...
    data: dict  # manifest and pool hashes, classes, counts
    metrics: dict
    degenerate: str | None = None  # e.g. "predicts background only"; None for a segmenter that separates classes
    confusion_matrix: list | None = None
    class_areas: dict | None = None
    # The shipped rules' decisions at run time, in records written before reports took them from class_areas
    # alone (with the rules a report is given); kept as read, never written anew.
    benign: dict | None = None
    metric_variants: dict = field(default_factory=dict)
    units: str = "fractions in [0, 1]"
    timings: dict = field(default_factory=dict)
    resources: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)
    migrated_from: str | None = None  # the schema it was read as, when it was not written as bench.run/2
    schema: str = SCHEMA

    @classmethod
    def from_dict(cls, raw) -> "RunRecord":
        """A ``bench.run/2`` object, validated; ``RecordError`` says the first thing wrong with it."""
        if not isinstance(raw, dict):
            _fail(f"a record is a JSON object, got a JSON {type(raw).__name__}")
        if raw.get("schema") != SCHEMA:
            _fail(f"schema is {raw.get('schema')!r}, expected {SCHEMA!r}")
        try:
            spec = RunSpec.from_dict(_block(raw, "spec"))
        except BenchError as exc:
            _fail(f"'spec' is not a valid run spec ({exc})")
        except (KeyError, TypeError, AttributeError) as exc:
            _fail(f"'spec' is not a valid run spec (missing or unexpected {exc})")
        segmenter = _block(raw, "segmenter")
        _text(segmenter, "name")
        if not {"config_hash", "config_resolved"} <= set(segmenter):
            _fail("'segmenter' lacks 'config_hash' or 'config_resolved' (null where not recorded)")
        classes = _block(_block(raw, "data"), "classes")
        if not all(isinstance(v, str) for v in classes.values()):
            _fail("'data.classes' must map class ids to names")
        return cls(
            run_id=_text(raw, "run_id"),
            created=_text(raw, "created"),
            spec=spec,
            request=Request.from_dict(_block(raw, "request")),
            generator=GeneratorFacts.from_dict(_block(raw, "generator")),
            segmenter=segmenter,
            data=raw["data"],
            metrics=check_metrics(raw.get("metrics")),
            degenerate=_text(raw, "degenerate", False),
            confusion_matrix=check_matrix(raw.get("confusion_matrix")),
            class_areas=_block(raw, "class_areas", False),
            benign=_block(raw, "benign", False),
            metric_variants=_block(raw, "metric_variants", False) or {},
            units=_text(raw, "units", False) or "fractions in [0, 1]",
            timings=_block(raw, "timings", False) or {},
            resources=_block(raw, "resources", False) or {},
            provenance=_block(raw, "provenance", False) or {},
            migrated_from=_text(raw, "migrated_from", False),
        )

    def to_dict(self) -> dict:
        return {
            "schema": self.schema,
            "run_id": self.run_id,
            "created": self.created,
            "spec": self.spec.to_dict(),
            "request": self.request.to_dict(),
            "generator": self.generator.to_dict(),
            "segmenter": self.segmenter,
            "data": self.data,
            "metrics": self.metrics,
            "degenerate": self.degenerate,
            "confusion_matrix": self.confusion_matrix,
            "class_areas": self.class_areas,
            **({} if self.benign is None else {"benign": self.benign}),
            "metric_variants": self.metric_variants,
            "units": self.units,
            "timings": self.timings,
            "resources": self.resources,
            "provenance": self.provenance,
            "migrated_from": self.migrated_from,
        }

    def scalar_metrics(self) -> dict[str, float]:
        """Every numeric metric (undefined ones as NaN), nested blocks by dotted name (``binary.mIoU``,
        ``per_class.scratch.IoU``, ``image_by_score.max-avgpool21.AUROC``): what tables can average over seeds."""
        return _flatten_numbers(self.metrics)


def _flatten_numbers(block: dict, prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in block.items():
        if isinstance(value, dict):
            out.update(_flatten_numbers(value, f"{prefix}{key}."))
        elif value is None or _is_number(value):
            out[f"{prefix}{key}"] = math.nan if value is None else float(value)
    return out


def json_schema() -> dict:
    """The shipped JSON Schema of ``bench.run/2`` (package data)."""
    import json
    from importlib.resources import files

    return json.loads(files("bench.records").joinpath(JSON_SCHEMA_FILE).read_text())
