"""Report tables from hand-made records: deltas with bootstrap intervals, win/tie/loss, every table form, files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench.metrics.benign import load_rules
from bench.report import bootstrap_delta, build_tables, deltas, generator_leaderboard, records_frame, render, verdict

CLASSES = {"0": "background", "1": "scratch", "2": "stain"}


def record(generator="none", ratio=0.0, seed=0, miou=0.5, segmenter="segformer", category="wood", normal_ratio=0.0, areas=None):
    gt, pred = areas or ([[90, 10, 0], [100, 0, 0]], [[95, 5, 0], [99, 1, 0]])
    return {
        "spec": {"dataset": "toy", "category": category, "split": "ds-5shot", "generator": {"name": generator, "params": {}},
                 "ratio": ratio, "fill_to": 0, "normal_ratio": normal_ratio, "segmenter": segmenter, "schedule": "smoke", "seed": seed},
        "metrics": {"mIoU": miou, "mIoU_defect": miou / 2, "pixel_AUROC": 0.9, "image_AUROC": None},
        "data": {"classes": CLASSES},
        "class_areas": {"ids": ["a", "b"], "gt": gt, "pred": pred},
    }


def grid_records():
    """copy-paste clearly helps, flat is the same as the baseline, on two segmenters; plus normal data."""
    out = []
    for seg in ("segformer", "unet"):
        for seed, noise in enumerate((0.0, 0.01, -0.01)):
            out.append(record(seed=seed, miou=0.50 + noise, segmenter=seg))
            for ratio in (0.5, 1.0):
                out.append(record("copy-paste", ratio, seed, 0.60 + noise, seg))
                out.append(record("flat", ratio, seed, 0.50 - noise, seg))
            out.append(record(seed=seed, miou=0.40 + noise, segmenter=seg, normal_ratio=1.0))
    return out


def test_bootstrap_interval_is_seeded_and_brackets_the_delta():
    a, b = np.array([0.6, 0.62, 0.58]), np.array([0.5, 0.51, 0.49])
    delta, lo, hi = bootstrap_delta(a, b, seed=0)
    assert delta == pytest.approx(0.1) and lo <= delta <= hi and lo > 0
    assert bootstrap_delta(a, b, seed=0) == (delta, lo, hi)
    assert verdict(lo, hi) == "win" and verdict(-0.1, 0.1) == "tie" and verdict(-0.2, -0.1) == "loss"
    assert np.isnan(bootstrap_delta(a, np.array([np.nan]))[0])


def test_deltas_use_the_shared_real_only_baseline_and_count_wins():
    frame = records_frame(grid_records())
    d = deltas(frame)
    cp = d[(d["generator"] == "copy-paste")]
    assert len(cp) == 4 and (cp["verdict"] == "win").all()
    assert cp["delta"].to_numpy() == pytest.approx([0.1] * 4)
    assert (d.loc[d["generator"] == "flat", "verdict"] == "tie").all()
    normal = d[d["protocol"] == "normal-data"]
    assert len(normal) == 2 and (normal["verdict"] == "loss").all()
    board = generator_leaderboard(d)
    assert board["generator"].tolist() == ["copy-paste", "flat"]
    assert board.loc[0, ["win", "tie", "loss"]].tolist() == [4, 0, 0] and board.loc[1, ["win", "tie", "loss"]].tolist() == [0, 4, 0]


def test_benign_columns_follow_the_rules_from_class_areas():
    # wood: any scratch rejects; image a has a 10 px scratch (reject), b is clean; prediction: 5 px and 1 px scratch
    frame = records_frame([record()], load_rules())
    assert frame.loc[0, "benign_recall"] == 1.0 and frame.loc[0, "benign_frr"] == 1.0
    assert np.isnan(records_frame([record()]).loc[0, "benign_recall"]), "no rules, no benign columns"


def test_every_table_form_with_captions():
    quality = [{"spec": {"generator": {"name": "copy-paste", "params": {}}, "category": "wood", "split": "ds-5shot", "seed": s},
                "metrics": {"FID": 10.0 + s, "KID_mean": 0.01, "KID_std": 0.001, "IS_mean": 1.5, "LPIPS": 0.3, "IC_LPIPS": 0.2},
                "variants": {"ic_lpips": "bench"}} for s in (0, 1)]
    tables = build_tables(records_frame(grid_records(), load_rules()), "defect-spectrum", quality)
    names = [t.name for t in tables]
    assert names == ["runs", "category_segmenter", "with_without", "generators", "normal_data", "benign", "quality"]
    for t in tables:
        assert "seeds: 0, 1" in t.caption and "split: ds-5shot" in t.caption and "rotocol" in t.caption
    by_name = {t.name: t for t in tables}
    assert set(by_name["category_segmenter"].frame.columns) >= {"segformer", "unet"}
    assert "60.00 ± 1.00" in by_name["category_segmenter"].frame.to_string()
    overall = by_name["benign"].frame.query("product == 'overall'")
    assert len(overall) == 2 * 6  # per segmenter: real only, two ratios of each of two generators, normals
    assert "\\caption{" in render(by_name["with_without"], "latex")
    assert "<table>" in render(by_name["generators"], "html")
    assert render(by_name["quality"], "markdown").startswith("Image quality")
    csv = pd.read_csv(pd.io.common.StringIO(render(by_name["with_without"], "csv")))
    assert list(csv["verdict"]).count("win") == 4


def test_report_all_writes_tables_plots_and_page(isolated_dirs):
    from bench.cli.report import write_report

    target = isolated_dirs / "out"
    written = write_report(records_frame(grid_records(), load_rules()), "defect-spectrum", [], "mIoU", 0, target)
    assert (target / "report.md").is_file() and (target / "report.tex").is_file() and (target / "csv" / "benign.csv").is_file()
    pngs = sorted((target / "plots").glob("*.png"))
    assert len(pngs) == 2 and pngs[0].read_bytes()[:4] == b"\x89PNG"
    page = (target / "index.html").read_text()
    assert "plots/" + pngs[0].name in page and page.count("<table>") == 6
    assert len(written) == 2 + 6 + 2 + 1
