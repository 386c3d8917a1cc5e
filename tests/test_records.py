"""Run records: the bench.run/2 schema and its JSON Schema, migration of bench.run/1, generator versions,
the request a run came from, de-duplication, and records that cannot be read (skipped, or fatal with --strict)."""

from __future__ import annotations

import dataclasses
import json
import logging

import jsonschema
import pytest

from bench.core.jsonfile import write_json_atomic
from bench.core.specs import GeneratorSpec
from bench.records import RecordError, RecordStore, RunRecord, degenerate_note, json_schema, load_runs, read_run
from bench.spec import RunSpec
from tests.helpers.records import manifest_of, run_record, v1_record

VALIDATOR = jsonschema.Draft202012Validator(json_schema())


def _written(record: RunRecord) -> dict:
    """The record as it lands on disk (through the one JSON writer) and is parsed back."""
    from bench.core.jsonfile import dumps

    return json.loads(dumps(record.to_dict()))


def test_a_new_record_validates_against_the_shipped_json_schema_and_round_trips():
    VALIDATOR.check_schema(json_schema())
    raw = _written(run_record("copy-paste", 1.0, seed=2, params={"max_defects": 2}))
    VALIDATOR.validate(raw)
    record = read_run(raw)
    assert record.to_dict() == raw
    assert record.spec.generator == GeneratorSpec.of("copy-paste", max_defects=2) and record.spec.seed == 2
    assert "benign" not in raw, "benign decisions are the report's, from class_areas and the rules it is given"


def test_a_record_written_with_benign_decisions_still_reads_and_keeps_them():
    decisions = {"rules": "defect-spectrum", "recall": 0.5, "false_reject_rate": 0.25}
    raw = {**_written(run_record("copy-paste", 1.0)), "benign": decisions}
    VALIDATOR.validate(raw)
    assert read_run(raw).benign == decisions and read_run(raw).to_dict() == raw


def test_a_v1_record_as_written_before_versioning_migrates_and_keeps_its_run_id():
    spec = RunSpec(generator=GeneratorSpec.of("copy-paste"), ratio=1.0, seed=1)
    manifest = manifest_of("toy", "wood", "ds-5shot")
    raw = v1_record(spec, manifest)
    record = read_run(raw)
    assert record.migrated_from == "bench.run/1" and record.schema == "bench.run/2"
    assert record.run_id == raw["run_id"] == spec.run_id(manifest), "today's run ids keep matching"
    assert record.generator.version == "1" and record.generator.effective is None
    assert record.request.protocol is None and record.segmenter["config_hash"] is None
    assert record.degenerate == "predicts background only", "every pixel of the v1 confusion matrix is predicted background"
    assert record.metrics["per_class"]["background"]["IoU"] == 0.9
    VALIDATOR.validate(_written(record))


def test_a_v1_record_from_before_normal_ratio_and_fill_to_still_reads():
    spec = RunSpec()
    raw = v1_record(spec, "m")
    for key in ("normal_ratio", "fill_to"):
        del raw["spec"][key]
    record = read_run(raw)
    assert record.spec.normal_ratio == 0 and record.spec.fill_to == 0
    assert record.run_id == raw["run_id"], "the stored id is kept; such a run is not found by resume and reruns"


def test_degenerate_names_the_one_predicted_class():
    classes = {"0": "background", "1": "scratch"}
    assert degenerate_note([[5, 0], [3, 0]], classes) == "predicts background only"
    assert degenerate_note([[0, 5], [0, 3]], classes) == "predicts scratch only"
    assert degenerate_note([[5, 1], [3, 2]], classes) is None and degenerate_note(None, classes) is None


def _truncated(path):
    text = json.dumps(_written(run_record(seed=9)))
    path.write_text(text[: len(text) // 2])


BAD = {
    "list": lambda p: p.write_text("[1, 2, 3]"),
    "garbage": lambda p: p.write_bytes(b"\x89\xff\x00\xfe binary"),
    "no-metrics": lambda p: write_json_atomic(p, {k: v for k, v in _written(run_record(seed=7)).items() if k != "metrics"}),
    "string-metric": lambda p: write_json_atomic(p, {**_written(run_record(seed=8)), "metrics": {"mIoU": "high"}}),
    "truncated": _truncated,
    "unknown-schema": lambda p: write_json_atomic(p, {**_written(run_record(seed=6)), "schema": "bench.run/9"}),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_unreadable_records_are_skipped_with_one_warning_each_or_fatal_when_strict(kind, tmp_path, caplog):
    store = RecordStore(tmp_path)
    good = store.write(_written(run_record()))
    bad = tmp_path / f"{kind}.json"
    BAD[kind](bad)
    with caplog.at_level(logging.WARNING, logger="bench.records"):
        records, problems = store.scan()
    assert [p for p, _ in records] == [good]
    assert [p.path for p in problems] == [bad]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and str(bad) in warnings[0] and "\n" not in warnings[0]
    with pytest.raises(RecordError, match=str(bad)):
        RecordStore(tmp_path, strict=True).scan()
    try:
        raw = json.loads(bad.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError):
        return
    assert not VALIDATOR.is_valid(raw), "the shipped JSON Schema rejects it too"


def test_a_truncated_record_counts_as_not_done_so_resume_reruns_it(tmp_path, monkeypatch, caplog):
    import bench.runner
    from bench.protocols.execute import run_specs

    spec = RunSpec(segmenter="bisenetv2", device="cpu")
    run_id = bench.runner.resolve(spec).run_id
    computed = []

    def fake_compute(run, progress=True, request=None):
        computed.append(request)
        record = run_record(segmenter="bisenetv2", device="cpu", protocol=request.protocol)
        return dataclasses.replace(record, run_id=run.run_id, request=request).to_dict()

    monkeypatch.setattr(bench.runner, "compute_record", fake_compute)
    store = RecordStore(tmp_path)
    _truncated(store.path(run_id))
    with caplog.at_level(logging.WARNING, logger="bench.records"):
        outcome = run_specs([spec, dataclasses.replace(spec, generator=GeneratorSpec("copy-paste"))], store, progress=False,
                            protocol="synthetic-ratio", source="grid.yaml")
    assert outcome.done == 1 and len(computed) == 1
    assert "it will be rerun" in caplog.text and str(store.path(run_id)) in caplog.text
    record = store.get(run_id)
    assert record["request"]["protocol"] == "synthetic-ratio" and record["request"]["source"] == "grid.yaml"
    assert [p["generator"]["name"] for p in record["request"]["points"]] == ["none", "copy-paste"], \
        "the baseline records every grid point it answers"
    assert run_specs([spec], store, progress=False).skipped == 1


def test_duplicates_of_a_run_id_keep_the_newest_and_say_so(tmp_path, caplog):
    old = run_record(miou=0.4, created="2025-01-01T00:00:00+00:00")
    new = dataclasses.replace(old, created="2025-03-01T00:00:00+00:00", metrics={**old.metrics, "mIoU": 0.6})
    RecordStore(tmp_path / "a").write(new.to_dict())
    RecordStore(tmp_path / "b").write(old.to_dict())
    (tmp_path / "b" / "copy.json").write_text(json.dumps(_written(old)))
    with caplog.at_level(logging.WARNING, logger="bench.records"):
        runs = load_runs([tmp_path / "b", tmp_path / "a"])
    (record,) = runs.records
    assert record.metrics["mIoU"] == 0.6 and runs.files == 3
    assert "newest record wins" in runs.summary() and "2 older duplicate(s) of 1 run id(s)" in runs.summary()
    assert old.run_id in caplog.text and "kept the newest" in caplog.text


def test_the_store_refuses_to_write_a_record_it_could_not_read_back(tmp_path):
    with pytest.raises(RecordError, match="not a number"):
        RecordStore(tmp_path).write({**run_record().to_dict(), "metrics": {"mIoU": "0.5"}})
    assert not list(tmp_path.iterdir())
