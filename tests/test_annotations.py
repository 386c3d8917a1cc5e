"""The annotations protocol: the same pictures trained with MVTec AD's and DS-MVTec's masks, matched by pixels,
decided by the benign rules under either judge, and its table."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench import api
from bench.core.errors import BenchError
from bench.data.base import load_pool
from bench.data.matching import match_images
from bench.metrics.benign import load_rules
from bench.protocols import PROTOCOLS
from bench.protocols.annotations import ANNOTATIONS
from bench.protocols.annotations.tables import annotations_table, decisions
from bench.records import RecordError, RecordStore
from tests.helpers.releases import annotated_twins

WOOD_LIMITS = {"scratch": 0, "hole": 0, "color": 249, "liquid": 999}  # the page's wood standard, written out again


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    root = tmp_path_factory.mktemp("twins")
    return annotated_twins(root / "mvtec", root / "DS-MVTec")


@pytest.fixture(scope="module")
def outcome(twins, tmp_path_factory):
    mvtec, ds = twins
    root = tmp_path_factory.mktemp("annotations")
    mp = pytest.MonkeyPatch()
    mp.setenv("BENCH_CACHE", str(root / "cache"))
    try:
        grid = PROTOCOLS.get("annotations").grid(
            {"categories": ["wood"], "segmenters": ["segformer"], "seeds": [0], "split": "third", "schedule": "smoke",
             "device": "cpu", "data_root": str(ds), "original_root": str(mvtec)}, "test")
        first = api.run_protocol("annotations", grid, records=root / "results" / "runs", progress=False).outcomes
        again = api.run_protocol("annotations", grid, records=root / "results" / "runs", progress=False).outcomes
    finally:
        mp.undo()
    return first, again, root


def test_images_are_matched_by_pixels_and_the_rest_reported(twins, tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    mvtec, ds = twins
    refined, original = load_pool("ds-mvtec", "wood", ds), load_pool("mvtec-ad", "wood", mvtec)
    matching = match_images(refined, original)
    assert matching.only_a == ("scratch_900",)
    assert set(matching.only_b) == {"good_train_000", "good_train_001", "good_train_002", "good_train_003", "hole_900"}
    for a, b in matching.pairs:
        assert np.array_equal(refined.image(a), original.image(b))
    assert dict(matching.pairs)["good_000"] == "good_test_000"


def test_both_arms_train_and_test_on_the_same_pictures_and_a_rerun_skips(outcome):
    first, again, _ = outcome
    (done,) = first
    record = done.record
    assert not done.skipped and [o.skipped for o in again] == [True]
    assert set(record["arms"]) == {"mvtec-ad", "ds-mvtec"} and record["data"]["reference"] == "ds-mvtec"
    assert record["data"]["unmatched"] == {"ds-mvtec": 1, "mvtec-ad": 5}
    ids = {arm: a["class_areas"]["ids"] for arm, a in record["arms"].items()}
    assert [i.replace("good_test_", "good_") for i in ids["mvtec-ad"]] == ids["ds-mvtec"]
    assert record["data"]["n_train"] == 4 and record["data"]["n_test"] == 8 + 2  # a third of each type trains; half the normals test
    assert ANNOTATIONS.read(json.loads(json.dumps(record))) == record


def _slow_decisions(record, arm, judge):
    """Recall and FPR by hand: an image is rejected when any defect class covers more pixels than its limit."""
    truth = record["arms"]["ds-mvtec" if judge == "refined" else arm]
    own = record["arms"][arm]

    def rejected(areas, classes):
        return any(areas[int(k)] > WOOD_LIMITS.get(name, 0) for k, name in classes.items() if int(k) > 0)

    should = [rejected(a, truth["classes"]) for a in truth["class_areas"]["gt"]]
    got = [rejected(a, own["classes"]) for a in own["class_areas"]["pred"]]
    caught = sum(s and g for s, g in zip(should, got))
    false = sum(g and not s for s, g in zip(should, got))
    return caught / sum(should), false / (len(should) - sum(should)) if len(should) > sum(should) else float("nan")


def test_decisions_follow_the_rules_under_both_judges(outcome):
    (done,) = outcome[0]
    record = done.record
    rules = load_rules()
    for arm in record["arms"]:
        for judge in ("refined", "own"):
            got = decisions(record, arm, judge, rules)
            recall, fpr = _slow_decisions(record, arm, judge)
            assert got["recall"] == pytest.approx(recall) and got["false_reject_rate"] == pytest.approx(fpr, nan_ok=True)
    # the coarse colour masks (256 px) are over the 249 px limit, the fine ones (9 px) under it: by its own masks the
    # original arm's two colour test images are defective, by the refined masks they are benign products (liquid
    # stains pass either way, under 999 px; holes and scratches reject at any pixel)
    own, refined = decisions(record, "mvtec-ad", "own", rules), decisions(record, "mvtec-ad", "refined", rules)
    assert (own["n_defective"], own["n_benign"]) == (6, 4) and (refined["n_defective"], refined["n_benign"]) == (4, 6)


def _record(seed, category, recall_hits):
    """A hand-made record: 4 test images (2 defective by the refined masks), predictions chosen per arm."""
    classes = {"0": "background", "1": "color", "2": "crack", "3": "scratch", "4": "hole", "5": "liquid"}
    gt = [[0, 0, 0, 5, 0, 0], [0, 0, 0, 0, 5, 0], [100, 0, 0, 0, 0, 0], [100, 0, 0, 0, 0, 0]]
    arms = {}
    for arm, hits in recall_hits.items():
        pred = [[0, 0, 0, 5 if hits[0] else 0, 0, 0], [0, 0, 0, 0, 5 if hits[1] else 0, 0],
                [0, 0, 0, 5 if hits[2] else 0, 0, 0], [100, 0, 0, 0, 0, 0]]
        arms[arm] = {"classes": classes, "class_areas": {"ids": ["a", "b", "c", "d"], "gt": gt, "pred": pred}}
    return {"schema": "bench.annotations/1", "run_id": f"{category}-{seed}",
            "spec": {"segmenter": "segformer", "category": category, "split": "ds-5shot", "seed": seed, "schedule": "short"},
            "data": {"reference": "ds-mvtec", "unmatched": {"ds-mvtec": 0, "mvtec-ad": 2}}, "arms": arms, "variants": {}, "metrics": {}}


def test_the_table_pairs_seeds_and_pools_products():
    records = [_record(s, c, {"mvtec-ad": (True, False, True), "ds-mvtec": (True, True, False)})
               for s in range(3) for c in ("wood", "pill")]
    table = annotations_table(records, load_rules())
    frame = table.frame
    assert list(frame["product"]) == ["pill", "wood", "all 2 products, pooled"] * 2
    row = frame.iloc[2]
    assert row["mvtec-ad recall (%) ↑"] == "50.00 ± 0.00" and row["ds-mvtec recall (%) ↑"] == "100.00 ± 0.00"
    assert row["mvtec-ad FPR (%) ↓"] == "50.00 ± 0.00" and row["ds-mvtec FPR (%) ↓"] == "0.00 ± 0.00"
    assert row["recall Δ"] == "+50.00" and row["recall verdict"] == "win" and row["FPR verdict"] == "win", "a lower FPR wins"
    assert row["FPR Δ"] == "-50.00" and row["recall corrected CI"] == "[+50.00, +50.00]" and row["recall MDE (80% power)"] == "0.00"
    assert "segmenter" not in frame and "unmatched per release: ds-mvtec 0; mvtec-ad 2" in table.caption


def test_bad_input_is_one_line_before_training(twins, tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    mvtec, ds = twins
    protocol = PROTOCOLS.get("annotations")
    base = {"categories": ["wood"], "seeds": [0], "split": "third", "schedule": "smoke", "device": "cpu"}
    with pytest.raises(BenchError, match="compares ds-mvtec with mvtec-ad"):
        api.run_protocol("annotations", protocol.grid({**base, "dataset": "toy"}, "test"), records=tmp_path / "runs", progress=False)
    with pytest.raises(BenchError, match="no image of ds-mvtec/wood has the same pixels"):
        other = annotated_twins(tmp_path / "other-mvtec", tmp_path / "other-ds", seed=1)[0]
        api.run_protocol("annotations", protocol.grid({**base, "data_root": str(ds), "original_root": str(other)}, "test"),
                         records=tmp_path / "runs", progress=False)
    with pytest.raises(BenchError, match="needs --data-root"):
        api.run_protocol("annotations", protocol.grid(base, "test"), records=tmp_path / "runs", progress=False)
    assert not list(RecordStore(tmp_path / "annotations", ANNOTATIONS))


def test_a_record_whose_arms_disagree_on_the_images_is_refused():
    record = _record(0, "wood", {"mvtec-ad": (True, True, True), "ds-mvtec": (True, True, True)})
    record["arms"]["mvtec-ad"]["class_areas"]["pred"].pop()
    with pytest.raises(RecordError, match="same test images"):
        ANNOTATIONS.read(record)


def test_the_command_takes_both_release_roots_and_prints_each_arm(twins, outcome, capsys, monkeypatch):
    from bench.cli import main

    mvtec, ds = twins
    monkeypatch.setenv("BENCH_CACHE", str(outcome[2] / "cache"))  # the fixture's cache and records: every point is skipped
    monkeypatch.setenv("BENCH_RESULTS", str(outcome[2] / "results"))
    code = main(["protocol", "annotations", "--categories", "wood", "--segmenters", "segformer", "--seeds", "0", "--split", "third",
                 "--schedule", "smoke", "--device", "cpu", "--data-root", str(ds), "--original-root", str(mvtec)])
    out, err = capsys.readouterr()
    assert code == 0 and "recall mvtec-ad" in out and "FPR ds-mvtec" in out and "1 skipped" in out
    code = main(["protocol", "annotations", "--dataset", "toy", "--data-root", str(ds)])
    err = capsys.readouterr().err
    assert code == 2 and "compares ds-mvtec with mvtec-ad" in err and len(err.strip().splitlines()) == 1


def test_the_report_shows_the_annotation_table_beside_the_runs(tmp_path):
    from bench.cli.report import build_report
    from bench.core.jsonfile import write_json_atomic
    from tests.helpers.records import run_record

    runs = tmp_path / "runs"
    write_json_atomic(runs / "r0.json", run_record(seed=0).to_dict())
    for seed in range(3):
        write_json_atomic(tmp_path / "annotations" / f"a{seed}.json",
                          _record(seed, "wood", {"mvtec-ad": (True, False, True), "ds-mvtec": (True, True, False)}))
    build_report([runs], "markdown", tmp_path / "report", True, None, side_root=tmp_path)
    text = (tmp_path / "report" / "report.md").read_text()
    assert "Annotation quality" in text and "ds-mvtec recall (%) ↑" in text
    assert (tmp_path / "report" / "csv" / "annotations.csv").is_file()
    # without run records the side tables alone are printed and written
    (tmp_path / "no-runs").mkdir()
    written = build_report([tmp_path / "no-runs"], "markdown", tmp_path / "alone", True, None, side_root=tmp_path)
    assert "Annotation quality" in (tmp_path / "alone" / "report.md").read_text() and not (tmp_path / "alone" / "plots").exists()
    assert tmp_path / "alone" / "index.html" in written
