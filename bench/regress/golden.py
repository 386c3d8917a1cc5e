"""The golden file (``bench.golden/1``, docs/regression.md): a grid's per-seed metrics, the machine they
were made on and the tolerances a fresh run is held to. Read with one-line errors, written atomically."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from bench.core.errors import BenchError
from bench.core.hashing import canonical_json
from bench.core.jsonfile import write_json_atomic
from bench.regress.tolerance import ALPHA, Derivation, derive
from bench.spec import identity_of

SCHEMA = "bench.golden/1"
# Scores where higher is better, each a fraction in [0, 1]; a golden file may name any numeric metric.
DEFAULT_METRICS = ("mIoU", "mIoU_defect", "pixel_AP", "image_AUROC")


@dataclass(frozen=True)
class Point:
    """One grid point: the effective run spec without its seed, and each seed's run."""

    spec: Mapping[str, Any]  # effective spec, seed removed: the point's identity
    seeds: Mapping[int, Mapping[str, float | None]]  # seed -> metric -> value (None: undefined)
    run_ids: Mapping[int, str] = field(default_factory=dict)
    generator_version: str | None = None
    manifest_hash: str | None = None

    @property
    def key(self) -> str:
        return canonical_json(dict(self.spec))

    @property
    def label(self) -> str:
        s = self.spec
        generator = s["generator"]["name"]
        params = s["generator"].get("params") or {}
        if params:
            generator += "(" + ",".join(f"{k}={v}" for k, v in sorted(params.items())) + ")"
        words = [f"{s['dataset']}/{s['category']}", s["segmenter"], s["schedule"], generator, f"r={s['ratio']:g}"]
        if s.get("fill_to"):
            words.append(f"fill_to={s['fill_to']}")
        if s.get("normal_ratio"):
            words.append(f"normal={s['normal_ratio']:g}")
        if s.get("batches", "pooled") != "pooled":  # a training choice hashed into the point only off its default
            words.append(f"batches={s['batches']}")
        return " ".join(words)


@dataclass(frozen=True)
class Tolerance:
    value: float  # for the golden file's own seed count
    derivation: Derivation | None  # None: set by hand (an override)

    def for_seeds(self, seeds: int) -> float:
        """A derived bound widens when fewer seeds pair; an override is what it says."""
        return self.value if self.derivation is None else self.derivation.tolerance(seeds)

    def to_dict(self) -> dict:
        return {"value": self.value, "source": "derived" if self.derivation else "override",
                "derivation": None if self.derivation is None else self.derivation.to_dict()}


@dataclass(frozen=True)
class Golden:
    grid: Mapping[str, Any]  # {"source": file or subset name, "blocks": [{"protocol": NAME, "values": {...}}]}
    metrics: tuple[str, ...]
    points: tuple[Point, ...]
    tolerances: Mapping[str, Tolerance]
    environment: Mapping[str, Any]
    alpha: float = ALPHA
    created: str = ""

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "created": self.created,
            "grid": dict(self.grid),
            "metrics": list(self.metrics),
            "alpha": self.alpha,
            "tolerances": {m: self.tolerances[m].to_dict() for m in self.metrics},
            "environment": dict(self.environment),
            "points": [
                {"label": p.label, "spec": dict(p.spec), "generator_version": p.generator_version, "manifest_hash": p.manifest_hash,
                 "seeds": {str(s): {"run_id": p.run_ids.get(s), "metrics": dict(p.seeds[s])} for s in sorted(p.seeds)}}
                for p in self.points
            ],
        }


def point_from_records(records: list[dict], metrics: tuple[str, ...]) -> Point:
    """The records of one point (same spec but the seed) as a Point; a metric a record lacks is an error."""
    first = records[0]
    # the identity run ids hash: fields added to the spec later count only off their defaults
    spec = {k: v for k, v in identity_of(first["spec"]).items() if k != "seed"}
    seeds, run_ids = {}, {}
    for record in records:
        values = {}
        for metric in metrics:
            value = record["metrics"].get(metric, "missing")
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise BenchError(f"metric '{metric}' is not a number in run {record['run_id']}",
                                 "name top-level numeric metrics of the run records (docs/metrics.md)")
            values[metric] = value
        seeds[int(record["spec"]["seed"])] = values
        run_ids[int(record["spec"]["seed"])] = record["run_id"]
    return Point(spec, seeds, run_ids, first["generator"]["version"], first["data"]["manifest_hash"])


def group_points(records: list[dict], metrics: tuple[str, ...]) -> list[Point]:
    """Records grouped by their spec without the seed, in the order first seen."""
    groups: dict[str, list[dict]] = {}
    for record in records:
        spec = {k: v for k, v in record["spec"].items() if k != "seed"}
        groups.setdefault(canonical_json(spec), []).append(record)
    return [point_from_records(group, metrics) for group in groups.values()]


def build(grid: Mapping[str, Any], records: list[dict], metrics: tuple[str, ...], overrides: Mapping[str, float] | None = None,
          alpha: float = ALPHA, keep: Mapping[str, Tolerance] | None = None) -> Golden:
    """A golden file from a grid's records. Tolerances: ``overrides`` first, then the overrides of the
    file being replaced (``keep``), else derived from these runs' spread."""
    points = tuple(group_points(records, metrics))
    seeds = min(len(p.seeds) for p in points)
    derived = derive({m: [[p.seeds[s][m] for s in p.seeds] for p in points] for m in metrics}, len(points) * len(metrics), alpha)
    tolerances = {}
    for metric in metrics:
        if overrides and metric in overrides:
            tolerances[metric] = Tolerance(float(overrides[metric]), None)
        elif keep and metric in keep and keep[metric].derivation is None:
            tolerances[metric] = keep[metric]
        else:
            tolerances[metric] = Tolerance(derived[metric].tolerance(seeds), derived[metric])
    environment = dict(records[0]["provenance"])
    environment["packages"] = {k: v for k, v in sorted(environment.get("packages", {}).items())}
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return Golden(dict(grid), tuple(metrics), points, tolerances, environment, alpha, created)


def write(path: Path, golden: Golden) -> None:
    write_json_atomic(path, golden.to_dict())


# -- reading -------------------------------------------------------------------------------------------------


class _Bad(Exception):
    pass


def _need(doc: Mapping, key: str, kind, where: str):
    if not isinstance(doc, Mapping) or key not in doc:
        raise _Bad(f"{where} has no '{key}'")
    value = doc[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):  # True is an int to Python
        names = " or ".join(k.__name__ for k in kinds)
        raise _Bad(f"{where}.{key} is {type(value).__name__}, not {names}")
    return value


def _number(value, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Bad(f"{where} is {type(value).__name__}, not a number or null")
    return float(value)


def _tolerance(doc, where: str) -> Tolerance:
    value = _number(_need(doc, "value", (int, float), where), f"{where}.value")
    if not math.isfinite(value) or value < 0:
        raise _Bad(f"{where}.value is {value}, not a finite number >= 0")
    source = _need(doc, "source", str, where)
    if source not in ("derived", "override"):
        raise _Bad(f"{where}.source is {source!r}, not 'derived' or 'override'")
    if source == "override":
        return Tolerance(value, None)
    d = _need(doc, "derivation", dict, where)
    w = f"{where}.derivation"
    derivation = Derivation(_number(_need(d, "spread", (int, float), w), w), int(_need(d, "df", int, w)),
                            int(_need(d, "comparisons", int, w)), _number(_need(d, "alpha", (int, float), w), w),
                            _number(_need(d, "machine", (int, float), w), w))
    if not 0 < derivation.alpha < 1 or derivation.comparisons < 1 or derivation.df < 0 or derivation.spread < 0:
        raise _Bad(f"{w} is out of range (0 < alpha < 1, comparisons >= 1, df >= 0, spread >= 0)")
    return Tolerance(value, derivation)


def _point(doc, metrics: tuple[str, ...], where: str) -> Point:
    spec = _need(doc, "spec", dict, where)
    for key in ("generator", "segmenter", "dataset", "category", "schedule", "ratio"):
        _need(spec, key, (dict, str, int, float), f"{where}.spec")
    seeds_doc = _need(doc, "seeds", dict, where)
    if not seeds_doc:
        raise _Bad(f"{where}.seeds is empty")
    seeds, run_ids = {}, {}
    for name, entry in seeds_doc.items():
        if not name.isdigit():
            raise _Bad(f"{where}.seeds has key {name!r}, not a seed number")
        w = f"{where}.seeds.{name}"
        values = _need(entry, "metrics", dict, w)
        missing = [m for m in metrics if m not in values]
        if missing:
            raise _Bad(f"{w}.metrics lacks {', '.join(missing)}")
        seeds[int(name)] = {m: _number(values[m], f"{w}.metrics.{m}") for m in metrics}
        if isinstance(entry.get("run_id"), str):
            run_ids[int(name)] = entry["run_id"]
    return Point(spec, seeds, run_ids, doc.get("generator_version"), doc.get("manifest_hash"))


def parse(doc: Any, where: str) -> Golden:
    """A golden file's JSON as a Golden; anything malformed is one BenchError line naming the field."""
    try:
        if not isinstance(doc, dict):
            raise _Bad(f"holds a {type(doc).__name__}, not an object")
        schema = doc.get("schema")
        if schema != SCHEMA:
            raise _Bad(f"has schema {schema!r}, not {SCHEMA!r}")
        metrics = tuple(_need(doc, "metrics", list, "the file"))
        if not metrics or not all(isinstance(m, str) for m in metrics):
            raise _Bad("metrics must be a non-empty list of metric names")
        tolerances_doc = _need(doc, "tolerances", dict, "the file")
        tolerances = {}
        for metric in metrics:
            if metric not in tolerances_doc:
                raise _Bad(f"tolerances has no entry for metric '{metric}'")
            tolerances[metric] = _tolerance(tolerances_doc[metric], f"tolerances.{metric}")
        points_doc = _need(doc, "points", list, "the file")
        if not points_doc:
            raise _Bad("points is empty")
        points = tuple(_point(p, metrics, f"points[{i}]") for i, p in enumerate(points_doc))
        keys = [p.key for p in points]
        if len(set(keys)) != len(keys):
            raise _Bad("points holds the same point twice")
        grid = _need(doc, "grid", dict, "the file")
        blocks = _need(grid, "blocks", list, "grid")
        for i, block in enumerate(blocks):
            _need(block, "protocol", str, f"grid.blocks[{i}]")
            _need(block, "values", dict, f"grid.blocks[{i}]")
        alpha = _number(_need(doc, "alpha", (int, float), "the file"), "alpha")
        environment = _need(doc, "environment", dict, "the file")
    except _Bad as exc:
        raise BenchError(f"golden file {where} is malformed: {exc}", "regenerate it with bench regress --update") from None
    return Golden(grid, metrics, points, tolerances, environment, alpha, str(doc.get("created", "")))


def read(path: Path) -> Golden:
    if path.is_dir():
        raise BenchError(f"golden file {path} is a folder", "pass the path of a JSON file")
    if not path.is_file():
        raise BenchError(f"golden file {path} not found", "pass --golden FILE, or create it with --update")
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BenchError(f"golden file {path} is not valid JSON ({str(exc).splitlines()[0]})",
                         "restore it from version control or regenerate it with bench regress --update") from None
    return parse(doc, str(path))


def json_schema() -> dict:
    """The format as JSON Schema (draft 2020-12), for readers outside bench."""
    return json.loads((Path(__file__).parent / "golden-1.schema.json").read_text())
