"""The protocols the papers' other tables need, end to end on the toy data at the smoke schedule:
synthetic-only (DefectSynth Table IX) and defect transfer (DCDGANc Table 8), with their report tables."""

from __future__ import annotations

import json

from bench.cli import main
from bench.records import RecordStore

GRID = """sweeps:
  - protocol: synthetic-only
    generators: [copy-paste]
    ratios: [0, 1]
    seeds: [0]
    schedule: smoke
    device: cpu
  - protocol: transfer
    generators: [copy-paste]
    categories: [fabric]
    sources: [toy/wood]
    class_map: crack=thread
    normal_ratios: [0, 1]
    seeds: [0]
    schedule: smoke
    device: cpu
"""


def test_synthetic_only_and_transfer_run_resume_and_report(tmp_path, capsys, isolated_dirs):
    path = tmp_path / "grid.yaml"
    path.write_text(GRID)
    assert main(["sweep", str(path), "--json"]) == 0
    blocks = json.loads(capsys.readouterr().out)
    assert [len(b["runs"]) for b in blocks] == [2, 2]
    records = {r["run_id"]: r for r in RecordStore(isolated_dirs / "results" / "runs")}
    only = [r for r in records.values() if r["spec"].get("synthetic_only") and not r["spec"].get("source")]
    (only,) = only
    assert only["data"]["n_train_real"] == 0 and only["data"]["n_synthetic"] > 0, "no real defect pair trains"
    moved = [r for r in records.values() if r["spec"].get("source") == "toy/wood"]
    assert len(moved) == 2 and all(r["spec"]["split"] == "zero-shot" and r["data"]["n_train_real"] == 0 for r in moved)
    assert {r["data"]["n_normal_added"] > 0 for r in moved} == {True, False}, "alone and with target normals"
    assert all(r["data"]["n_test"] - r["data"]["n_test_normal"] == 3 * 12 for r in moved), \
        "every real fabric defect image tests (toy: 12 per class, 3 classes)"

    assert main(["sweep", str(path)]) == 0
    assert "0 run(s) done, 2 skipped" in capsys.readouterr().out, "a finished grid is skipped"

    assert main(["report", "--all"]) == 0
    report = (isolated_dirs / "results" / "report" / "report.md").read_text()
    assert "trained on synthetic pairs alone" in report and "DefectSynth Table IX form" in report
    assert "Defect transfer" in report and "toy/wood -> fabric" in report and "transferred + 1x target normals" in report


def test_transfer_errors_come_before_any_work(tmp_path, capsys, isolated_dirs):
    path = tmp_path / "grid.yaml"
    path.write_text("protocol: transfer\ncategories: [fabric]\nseeds: [0]\nschedule: smoke\n")
    assert main(["sweep", str(path)]) == 2
    assert f"{path}: protocol transfer needs grid key 'sources'" in capsys.readouterr().err
    path.write_text("protocol: transfer\ncategories: [fabric]\nsources: [toy/wood]\nseeds: [0]\nschedule: smoke\n")
    assert main(["sweep", str(path)]) == 2
    err = capsys.readouterr().err
    assert "source class(es) crack->crack have no class in the target's map" in err and "\n" not in err.strip()
    assert not (isolated_dirs / "results" / "runs").exists() or not list((isolated_dirs / "results" / "runs").iterdir())


def test_efficiency_times_segmenters_and_generators_on_the_named_device(tmp_path, capsys, isolated_dirs):
    from bench.protocols.efficiency import EFFICIENCY
    from bench.protocols.efficiency.tables import efficiency_tables
    from bench.provenance import device_name
    from bench.report.tables import Reading

    args = ["protocol", "efficiency", "--generators", "copy-paste,perlin", "--seeds", "0", "--n-generated", "4",
            "--schedule", "smoke", "--device", "cpu"]
    assert main(args) == 0
    assert "3 done, 0 skipped" in capsys.readouterr().out
    records = list(RecordStore(isolated_dirs / "results" / "efficiency", EFFICIENCY))
    assert {(r["spec"]["part"], r["spec"]["name"]) for r in records} == {("segmenter", "segformer"), ("generator", "copy-paste"),
                                                                          ("generator", "perlin")}
    import torch

    assert {r["device_name"] for r in records} == {device_name(torch.device("cpu"))}
    for r in records:
        m = r["metrics"]
        if r["spec"]["part"] == "generator":
            assert m["train_s"] >= 0 and m["pairs_per_s"] > 0 and m["end_to_end_s"] == m["train_s"] + m["sample_s"]
        else:
            assert m["latency_ms"] > 0 and m["throughput_img_s"] > 0 and m["params"] > 0
    segmenters, generators = efficiency_tables(Reading(None, records=tuple(records)))
    assert list(generators.frame["generator"]) == ["copy-paste", "perlin"] and "device: " in generators.caption
    assert "inf. time (ms), batch 1" in segmenters.frame.columns
    assert main(args) == 0 and "0 done, 3 skipped" in capsys.readouterr().out


def test_dcdganc_transfer_moves_the_mapped_types_and_scores_each_on_its_own_crops(capsys, isolated_dirs):
    """DCDGANc section 3.6 on toy data: wood crack -> fabric thread and hole -> hole, stain left out on both sides;
    a fixed count of grey transferred pairs (Table 7) on crops, binary labels, each transferred type scored alone."""
    args = ["protocol", "dcdganc-transfer", "--dataset", "toy", "--categories", "fabric", "--sources", "toy/wood",
            "--class-map", "crack=thread,stain=-", "--split", "zero-shot+crop:32", "--segmenters", "segformer",
            "--generators", "dcdganc(profile=smoke,grayscale=true,class_counts=crack=4+hole=2)", "--fill-to", "6",
            "--seeds", "0", "--schedule", "smoke", "--device", "cpu"]
    assert main(args) == 0
    (record,) = list(RecordStore(isolated_dirs / "results" / "runs"))
    spec, data, metrics = record["spec"], record["data"], record["metrics"]
    assert (spec["labels"], spec["fill_to"], spec["ratio"], spec["split"]) == ("binary", 6, 0.0, "zero-shot+crop:32")
    assert data["n_synthetic"] == 6 and data["n_train_real"] == 0 and data["untested_types"] == ["stain"]
    assert data["n_source_train"] == 10, "the wood pictures of the two moved types (ds-5shot: 5 each), not stain's"
    assert set(metrics["by_type"]) == {"hole", "thread"}
    assert sum(block["n_images"] for block in metrics["by_type"].values()) == data["n_test"], "only hole and thread crops test"
    assert record["generator"]["resolved"]["raw_mask"]["grayscale"] is True

    assert main(["report", "--all"]) == 0
    report = (isolated_dirs / "results" / "report" / "report.md").read_text()
    transfer = report.split("**Defect transfer**")[1].split("\n\n**")[0]
    assert "each type is also scored on its own pictures" in transfer and "Raw / Augment / Enlarge" not in report
    tested = [line.split("|")[1].strip() for line in transfer.splitlines() if line.startswith("| ") and "tested on" not in line]
    by_type = record["metrics"]["by_type"]
    assert tested == ["every transferred type", f"hole ({by_type['hole']['n_images']} images)",
                      f"thread ({by_type['thread']['n_images']} images)"]
