"""A real CPU run through data, generator, MMSegmentation training, metrics, record and report."""

from __future__ import annotations

import csv
import io
import math

import jsonschema
import pytest

from bench.cli import main
from bench.records import RecordStore, json_schema, read_run
from bench.records.schema import config_hash
from bench.report.frames import records_frame
from bench.report.render import render
from bench.report.tables import run_table
from generators import GENERATORS
from tests.helpers.records import run_record

COMMON = ["--dataset", "toy", "--category", "wood", "--schedule", "smoke", "--device", "cpu"]


def _records(tmp_path):
    return list(RecordStore(tmp_path / "results" / "runs"))


def test_run_writes_a_complete_record_and_skips_when_done(capsys, isolated_dirs):
    tmp_path = isolated_dirs
    assert main(["run", "--generator", "copy-paste", "--ratio", "1.0", *COMMON]) == 0
    out = capsys.readouterr().out
    assert out.startswith("done: ")
    (record,) = _records(tmp_path)
    assert record["schema"] == "bench.run/2"
    jsonschema.Draft202012Validator(json_schema()).validate(record)
    spec = record["spec"]
    assert spec["generator"] == {"name": "copy-paste", "params": {}}
    assert spec["ratio"] == 1.0 and spec["seed"] == 0 and spec["segmenter"] == "segformer"
    data = record["data"]
    assert data["n_train_real"] == 15 and data["n_synthetic"] == 15 and data["n_test"] == 31
    assert len(data["manifest_hash"]) == 64
    metrics = record["metrics"]
    assert 0.0 <= metrics["mIoU"] <= 1.0 and math.isfinite(metrics["mIoU"])
    assert set(metrics["per_class"]) == {"background", "crack", "stain", "hole"}
    assert record["segmenter"]["num_classes"] == 4
    assert record["provenance"]["packages"]["onedl-mmsegmentation"]
    assert {"train_s", "eval_s", "generate_s"} <= set(record["timings"])
    assert record["request"] == {"protocol": None, "source": "bench run", "points": [spec]}
    generator = record["generator"]
    assert generator["version"] == "1" and generator["effective"] == {"max_defects": 1} and generator["cache_hit"] is False
    assert len(generator["cache_key"]) == 20
    segmenter = record["segmenter"]
    assert segmenter["config_resolved"]["model"]["decode_head"]["num_classes"] == 4
    assert segmenter["config_hash"] == config_hash(segmenter["config_resolved"])
    assert record["degenerate"] in (None, "predicts background only")
    mtime = (tmp_path / "results" / "runs" / f"{record['run_id']}.json").stat().st_mtime

    assert main(["run", "--generator", "copy-paste", "--ratio", "1.0", *COMMON]) == 0
    assert capsys.readouterr().out.startswith("skipped")
    assert (tmp_path / "results" / "runs" / f"{record['run_id']}.json").stat().st_mtime == mtime


def test_ratio_zero_is_the_shared_real_only_baseline(capsys, isolated_dirs):
    assert main(["run", "--generator", "none", "--ratio", "0", *COMMON]) == 0
    capsys.readouterr()
    assert main(["run", "--generator", "copy-paste", "--ratio", "0", *COMMON]) == 0
    assert capsys.readouterr().out.startswith("skipped"), "ratio 0 does not depend on the generator"
    (record,) = _records(isolated_dirs)
    assert record["data"]["n_synthetic"] == 0 and record["spec"]["generator"]["name"] == "none"
    assert record["generator"]["cache_key"] is None and record["request"]["points"][0]["generator"]["name"] == "none"


def test_leaderboard_mean_and_std_are_computed_over_seeds():
    records = [run_record(seed=s, metrics={"mIoU": m, "mIoU_defect": None}) for s, m in ((0, 0.5), (1, 0.7), (2, 0.6))]
    table = run_table(records_frame(records))
    assert table.frame.loc[0, "seeds"] == 3
    text = render(table, "markdown")
    assert "60.00 ± 10.00" in text and "n/a" in text
    (row,) = csv.DictReader(io.StringIO(render(table, "csv")))
    assert row["mIoU (%)"] == "60.00 ± 10.00" and row["mIoU defect (%)"] == "n/a" and row["seeds"] == "3"


@pytest.mark.slow
def test_synthetic_ratio_sweep_runs_once_skips_then_reports(capsys, isolated_dirs):
    """2 generators x 2 segmenters x 2 ratios x 2 seeds from one file; ratio 0 is shared, so 12 distinct runs."""
    generators, segmenters = ["copy-paste", "augment"], ["segformer", "hrnet"]
    assert not any(GENERATORS.get(g).needs_training or GENERATORS.get(g).needs_weights for g in generators)
    grid = isolated_dirs / "grid.yaml"
    grid.write_text(
        "protocol: synthetic-ratio\n"
        f"generators: [{', '.join(generators)}]\nsegmenters: [{', '.join(segmenters)}]\n"
        "categories: [wood]\nratios: [0, 1]\nseeds: [0, 1]\nschedule: smoke\ndevice: cpu\n"
    )
    assert main(["sweep", str(grid)]) == 0
    out = capsys.readouterr().out
    assert "16 grid points, 12 distinct runs" in out and "12 run(s) done, 0 skipped" in out
    records = _records(isolated_dirs)
    assert len(records) == 12
    mtimes = sorted(p.stat().st_mtime for p in (isolated_dirs / "results" / "runs").glob("*.json"))

    args = ["protocol", "synthetic-ratio", "--generators", ",".join(generators), "--segmenters", ",".join(segmenters),
            "--ratios", "0,1", "--seeds", "0,1", "--schedule", "smoke", "--device", "cpu"]
    assert main(args) == 0
    assert "0 run(s) done, 12 skipped" in capsys.readouterr().out
    assert sorted(p.stat().st_mtime for p in (isolated_dirs / "results" / "runs").glob("*.json")) == mtimes

    for record in records:
        assert read_run(record).request.protocol == "synthetic-ratio" and record["request"]["source"].endswith("grid.yaml")
        m = record["metrics"]
        assert {"pixel_AUROC", "pixel_AP", "pixel_F1max", "image_AUROC", "image_AP", "image_F1max"} <= set(m)
        assert "benign" not in record and len(record["class_areas"]["gt"]) == record["data"]["n_test"], "reports decide from the areas"

    assert main(["report", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert (isolated_dirs / "results" / "report" / "leaderboard.md").read_text() == out
    rows = [line for line in out.splitlines() if line.startswith(("| segformer", "| hrnet"))]  # shared columns: in the caption
    assert len(rows) == 2 * 3 and all(" ± " in row for row in rows), "per segmenter: real only + 2 generators at ratio 1"

    assert main(["report", "--all"]) == 0
    capsys.readouterr()
    target = isolated_dirs / "results" / "report"
    text = (target / "report.md").read_text()
    for caption in ("per category x segmenter", "without and with synthetic", "Generator leaderboard", "Benign-product"):
        assert caption in text
    assert "seeds: 0, 1" in text and "Protocol: synthetic-ratio" in text and "n/a (2 seeds; 3 needed)" in text
    assert len(list((target / "plots").glob("ratio_*.png"))) == 2
    assert (target / "report.tex").read_text().count("\\caption{") == text.count("Protocol:")
    assert (target / "index.html").is_file() and (target / "csv" / "generators.csv").is_file()
