"""The records of protocols that are not segmenter runs, checked on read like run records, never migrated
yet: ``bench.quality/1`` (image quality), ``bench.efficiency/1`` (generator and segmenter timings),
``bench.classification/1`` (defect-type classifiers) and ``bench.annotations/1`` (original vs re-annotated
masks)."""

from __future__ import annotations

from functools import partial

from bench.records.schema import RecordError, check_metrics

SCHEMA = "bench.quality/1"
SPEC_KEYS = ("generator", "dataset", "category", "split", "seed", "n_generated", "ic_lpips", "region")
EFFICIENCY_SCHEMA = "bench.efficiency/1"
EFFICIENCY_KEYS = ("part", "name", "device")  # part: "generator" or "segmenter"
CLASSIFICATION_SCHEMA = "bench.classification/1"
CLASSIFICATION_KEYS = ("generator", "ratio", "dataset", "category", "split", "seed", "schedule")
ANNOTATIONS_SCHEMA = "bench.annotations/1"
ANNOTATIONS_KEYS = ("segmenter", "category", "split", "seed", "schedule")


def read_spec_record(raw, schema: str = SCHEMA, spec_keys: tuple[str, ...] = SPEC_KEYS) -> dict:
    if not isinstance(raw, dict):
        raise RecordError(f"a record is a JSON object, got a JSON {type(raw).__name__}")
    if raw.get("schema") != schema:
        raise RecordError(f"schema is {raw.get('schema')!r}, expected {schema!r}")
    spec = raw.get("spec")
    if not isinstance(spec, dict):
        raise RecordError("'spec' (an object) is missing")
    missing = [k for k in spec_keys if k not in spec]
    if missing:
        raise RecordError(f"'spec' lacks {', '.join(missing)}")
    if not isinstance(raw.get("run_id"), str) or not isinstance(raw.get("variants"), dict):
        raise RecordError("'run_id' (a string) and 'variants' (an object) are required")
    check_metrics(raw.get("metrics"))
    return raw


def read_quality(raw) -> dict:
    if isinstance(raw, dict) and isinstance(raw.get("spec"), dict) and not isinstance(raw["spec"].get("generator"), dict):
        raise RecordError("'spec' with a 'generator' object is missing")
    return read_spec_record(raw)


read_efficiency = partial(read_spec_record, schema=EFFICIENCY_SCHEMA, spec_keys=EFFICIENCY_KEYS)
read_classification = partial(read_spec_record, schema=CLASSIFICATION_SCHEMA, spec_keys=CLASSIFICATION_KEYS)


def read_annotations(raw) -> dict:
    record = read_spec_record(raw, ANNOTATIONS_SCHEMA, ANNOTATIONS_KEYS)
    arms, reference = record.get("arms"), (record.get("data") or {}).get("reference")
    if not isinstance(arms, dict) or len(arms) != 2 or reference not in arms:
        raise RecordError("'arms' (two trained arms) with the 'data.reference' arm among them is required")
    for name, arm in arms.items():
        areas = arm.get("class_areas") if isinstance(arm, dict) else None
        if not isinstance(areas, dict) or not isinstance(arm.get("classes"), dict) or any(
                not isinstance(areas.get(k), list) for k in ("ids", "gt", "pred")):
            raise RecordError(f"arm '{name}' lacks 'classes' or 'class_areas' with ids, gt and pred")
    lengths = {len(arm["class_areas"][k]) for arm in arms.values() for k in ("ids", "gt", "pred")}
    if len(lengths) != 1:
        raise RecordError("the arms' class areas must cover the same test images, one entry per image")
    return record
