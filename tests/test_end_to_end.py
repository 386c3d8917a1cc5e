"""A real CPU run through data, generator, MMSegmentation training, metrics, record and report."""

from __future__ import annotations

import json
import math

import pytest

from bench.cli import main
from bench.report import format_leaderboard, leaderboard, records_frame
from bench.store import RecordStore

COMMON = ["--dataset", "toy", "--category", "wood", "--schedule", "smoke", "--device", "cpu"]


def _records(tmp_path):
    return list(RecordStore(tmp_path / "results" / "runs"))


def test_run_writes_a_complete_record_and_skips_when_done(capsys, isolated_dirs):
    tmp_path = isolated_dirs
    assert main(["run", "--generator", "copy-paste", "--ratio", "1.0", *COMMON]) == 0
    out = capsys.readouterr().out
    assert out.startswith("done: ")
    (record,) = _records(tmp_path)
    assert record["schema"] == "bench.run/1"
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


def test_report_aggregates_seeds(capsys, isolated_dirs):
    for seed in ("0", "1"):
        assert main(["run", "--generator", "none", "--ratio", "0", "--seed", seed, *COMMON]) == 0
    capsys.readouterr()
    assert main(["report", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    table = [line for line in out.splitlines() if line.startswith("| toy")]
    assert len(table) == 1 and "| none " in table[0] and " ± " in table[0]
    written = (isolated_dirs / "results" / "leaderboard.md").read_text()
    assert written == out


def test_leaderboard_mean_and_std_are_computed_over_seeds():
    def record(seed, miou):
        return {
            "spec": {"dataset": "toy", "category": "wood", "split": "ds-5shot", "generator": {"name": "none", "params": {}},
                     "ratio": 0.0, "segmenter": "segformer", "schedule": "smoke", "seed": seed},
            "metrics": {"mIoU": miou, "mIoU_defect": None},
        }

    table = leaderboard(records_frame([record(0, 0.5), record(1, 0.7), record(2, 0.6)]))
    assert table.loc[0, "seeds"] == 3
    assert table.loc[0, "mIoU_mean"] == pytest.approx(0.6)
    assert table.loc[0, "mIoU_std"] == pytest.approx(0.1)
    text = format_leaderboard(table, "markdown")
    assert "60.00 ± 10.00" in text and "n/a" in text
    assert json.loads(json.dumps(format_leaderboard(table, "csv")))
