"""Report tables from hand-made records: grouping by the whole spec minus the seed in every table form,
paired comparisons with Holm-corrected verdicts, category-mean rows, degenerate runs, files."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from bench.metrics.benign import load_rules
from bench.protocols.quality.tables import quality_tables
from bench.protocols.report import report_tables
from bench.protocols.synthetic_ratio import adds_synthetic
from bench.report import stats
from bench.report.frames import records_frame
from bench.report.render import render
from bench.report.tables import Reading, category_mean_deltas, category_segmenter_table, deltas, generator_leaderboard, run_table
from tests.helpers.records import run_record

SEEDS = (0, 1, 2)
NOISE = (0.0, 0.01, -0.01)  # baseline seeds
NOISE_SETTING = (0.002, 0.008, -0.01)  # settings: mean 0, so a delta is exactly the level difference


def runs(generator="none", ratio=0.0, level=0.5, seeds=SEEDS, noise=None, **fields):
    """Runs of one setting, as the protocol whose point it is records them."""
    noise = noise or (NOISE if generator == "none" and not ratio and not fields.get("fill_to") and not fields.get("normal_ratio") else NOISE_SETTING)
    protocol = "upsample" if fields.get("fill_to") else "normal-data" if fields.get("normal_ratio") else "synthetic-ratio"
    return [run_record(generator, ratio, seed, level + n, protocol=protocol, **fields) for seed, n in zip(seeds, noise)]


def tables(records, side=None, rules=None, **how):
    """Every table of the records, as `bench report` builds them (without rules: no benign table)."""
    return report_tables(records_frame(records, rules), side or {}, rules or load_rules(), **how)


def quality_table(records):
    (table,) = quality_tables(Reading(None, records=tuple(records)))
    return table


def grid_records():
    """copy-paste clearly helps, flat is the same as the baseline, on two segmenters; normal data hurts."""
    out = []
    for seg in ("segformer", "unet"):
        out += runs(level=0.50, segmenter=seg) + runs(level=0.40, segmenter=seg, normal_ratio=1.0)
        for ratio in (0.5, 1.0):
            out += runs("copy-paste", ratio, 0.60, segmenter=seg) + runs("flat", ratio, 0.50, segmenter=seg)
    return out


def test_deltas_pair_by_seed_with_a_t_interval_and_holm_corrected_verdicts():
    frame = records_frame(grid_records())
    d = deltas(frame)
    cp = d[d["generator"] == "copy-paste"]
    assert len(cp) == 4 and (cp["verdict"] == "win").all()
    assert cp["delta"].to_numpy() == pytest.approx([0.1] * 4)
    assert (d.loc[d["generator"] == "flat", "verdict"] == "inconclusive").all(), "three seeds cannot show a difference is small"
    normal = d[d["normal_ratio"] > 0]
    assert len(normal) == 2 and (normal["verdict"] == "loss").all()

    a = 0.60 + np.array(NOISE_SETTING)
    b = 0.50 + np.array(NOISE)
    reference = scipy_stats.ttest_rel(a, b)
    low, high = reference.confidence_interval()
    row = cp.iloc[0]
    assert (row["ci_low"], row["ci_high"], row["p"]) == pytest.approx((low, high, reference.pvalue))
    assert d["p_holm"].to_numpy() == pytest.approx(stats.holm(d["p"].to_numpy())), "one family: Holm across all"
    synthetic = deltas(frame, settings=adds_synthetic(frame), family="synthetic")
    assert synthetic["p_holm"].to_numpy() == pytest.approx(stats.holm(synthetic["p"].to_numpy()))
    board = generator_leaderboard(synthetic)
    assert board["generator"].tolist() == ["copy-paste", "flat"]
    counts = ["win", "equivalent", "inconclusive", "loss", "n/a"]
    assert board.loc[0, counts].tolist() == [4, 0, 0, 0, 0] and board.loc[1, counts].tolist() == [0, 0, 4, 0, 0]


def test_fewer_than_three_paired_seeds_give_no_verdict_and_unpaired_seeds_are_reported():
    records = runs() + runs("copy-paste", 1.0, 0.9, seeds=(0, 1, 5))
    (row,) = deltas(records_frame(records)).to_dict("records")
    assert row["verdict"] == "n/a (2 seeds; 3 needed)" and row["seeds"] == "0, 1" and row["unpaired"] == "2, 5"
    assert row["delta"] == pytest.approx(0.4 + np.mean(NOISE_SETTING[:2]) - np.mean(NOISE[:2]))
    assert np.isnan(row["ci_low"]) and np.isnan(row["p_holm"])
    one = deltas(records_frame(runs(seeds=(0,)) + runs("copy-paste", 1.0, 0.9, seeds=(0,))))
    assert one["verdict"].tolist() == ["n/a (1 seed; 3 needed)"], "never a win from one seed"


def test_benign_columns_follow_the_rules_from_class_areas():
    # wood: any scratch rejects; image a has a 10 px scratch (reject), b is clean; prediction: 5 px and 1 px scratch
    frame = records_frame([run_record()], load_rules())
    assert frame.loc[0, "benign_recall"] == 1.0 and frame.loc[0, "benign_frr"] == 1.0
    assert np.isnan(records_frame([run_record()]).loc[0, "benign_recall"]), "no rules, no benign columns"


QUALITY = [{"spec": {"generator": {"name": "copy-paste", "params": {}}, "dataset": "toy", "category": "wood", "split": "ds-5shot",
                     "seed": s, "n_generated": 50, "ic_lpips": "bench", "region": "image"},
            "metrics": {"FID": 10.0 + s, "KID_mean": 0.01, "KID_std": 0.001, "IS_mean": 1.5, "LPIPS": 0.3, "IC_LPIPS": 0.2},
            "variants": {"ic_lpips": "bench"}} for s in (0, 1)]


def test_every_table_form_with_captions():
    built = tables(grid_records(), {"quality": QUALITY}, load_rules(), records_note="Records: 42 run records.")
    names = [t.name for t in built]
    assert names == ["runs", "category_segmenter", "with_without", "generators", "normal_data", "benign", "quality"]
    for t in built:
        assert "seeds: 0, 1" in t.caption and "split: ds-5shot" in t.caption and "Protocol: " in t.caption
    by_name = {t.name: t for t in built}
    assert "Records: 42 run records." in by_name["runs"].caption
    for name in ("with_without", "generators", "normal_data"):
        assert "Holm-corrected" in by_name[name].caption and "t-interval" in by_name[name].caption
    assert "(3 per row)" in by_name["with_without"].caption
    assert set(by_name["category_segmenter"].frame.columns) >= {"segformer", "unet"}
    assert "60.00 ± 0.92" in by_name["category_segmenter"].frame.to_string()
    overall = by_name["benign"].frame[by_name["benign"].frame["product"].str.startswith("overall")]
    assert len(overall) == 2 * 6  # per segmenter: real only, two ratios of each of two generators, normals
    assert "\\caption{" in render(by_name["with_without"], "latex")
    assert '<table class="sortable">' in render(by_name["generators"], "html")
    assert render(by_name["quality"], "markdown").startswith("Image quality")
    csv = pd.read_csv(pd.io.common.StringIO(render(by_name["with_without"], "csv")))
    assert list(csv["verdict"]).count("win") == 4


# --- nothing that differs in anything but the seed is averaged together ------------------------------

A_BASE, A_SET, B_BASE, B_SET = 0.41, 0.52, 0.73, 0.95
MERGED = ("57.00", "73.50", "+16.50", "+32.50")  # what averaging A with B would print

TASK_VARIANTS = {
    "dataset": {"dataset": "ksdd2"}, "category": {"category": "pill"}, "split": {"split": "third"},
    "segmenter": {"segmenter": "unet"}, "schedule": {"schedule": "paper"}, "device": {"device": "cuda"},
    "pretrained": {"pretrained": True}, "data": {"manifest": "another-manifest"},
}
SETTING_VARIANTS = {  # (setting A, setting B): keyword arguments of runs()
    "generator": (dict(generator="copy-paste", ratio=1.0), dict(generator="augment", ratio=1.0)),
    "generator params": (dict(generator="copy-paste", ratio=1.0), dict(generator="copy-paste", ratio=1.0, params={"max_defects": 2})),
    "generator version": (dict(generator="copy-paste", ratio=1.0), dict(generator="copy-paste", ratio=1.0, version="2")),
    "ratio": (dict(generator="copy-paste", ratio=1.0), dict(generator="copy-paste", ratio=2.0)),
    "fill_to": (dict(generator="copy-paste", fill_to=40), dict(generator="copy-paste", fill_to=60)),
    "normal_ratio": (dict(normal_ratio=1.0), dict(normal_ratio=2.0)),
}


def _variant_records(field: str) -> list:
    if field in TASK_VARIANTS:
        b = TASK_VARIANTS[field]
        return (runs(level=A_BASE) + runs("copy-paste", 1.0, A_SET)
                + runs(level=B_BASE, **b) + runs("copy-paste", 1.0, B_SET, **b))
    a, b = SETTING_VARIANTS[field]
    return runs(level=A_BASE) + runs(level=A_SET, **a) + runs(level=B_SET, **b)


def _point_rows(table) -> pd.DataFrame:
    frame = table.frame
    if "category" in frame:
        return frame[~frame["category"].astype(str).str.startswith("mean")]
    return frame


@pytest.mark.parametrize("field", [*TASK_VARIANTS, *SETTING_VARIANTS])
def test_runs_that_differ_in_one_field_land_in_separate_rows_of_every_table_form(field):
    by_name = {t.name: t for t in tables(_variant_records(field), rules=load_rules())}
    task = field in TASK_VARIANTS
    tasks = 2 if task else 1
    rows = {name: _point_rows(t) for name, t in by_name.items()}
    for name, frame in rows.items():
        text = frame.to_string()
        if name != "generators":  # its mean Δ aggregates comparisons, each made within its own group
            assert not any(m in text for m in MERGED), f"{name} averaged A with B:\n{text}"
    assert len(rows["runs"]) == 2 * tasks + (0 if task else 1)
    assert "95.00" in rows["runs"].to_string() and "95.00" in rows["category_segmenter"].to_string()
    cells = rows["category_segmenter"].drop(columns=["category", "setting"]).to_numpy().ravel()
    assert sum("95.00" in str(c) for c in cells) == 1 and sum("52.00" in str(c) for c in cells) == 1
    comparison = "normal_data" if field == "normal_ratio" else "with_without"
    assert len(rows[comparison]) == 2 and "+11.00" in rows[comparison].to_string()
    assert ("+22.00" if task else "+54.00") in rows[comparison].to_string()
    assert len(deltas(records_frame(_variant_records(field)))) == 2
    overall = rows["benign"][rows["benign"]["product"].str.startswith("overall")]
    assert len(overall) == (3 if not task else 2 if field == "category" else 4)
    if comparison == "with_without":
        board = rows["generators"]
        split = field in ("dataset", "split", "schedule", "device", "pretrained", "generator", "generator params", "generator version")
        assert len(board) == (2 if split else 1) and board["points"].sum() == 2


@pytest.mark.parametrize("key, value", [("generator", {"name": "augment", "params": {}}), ("dataset", "mvtec-ad"),
                                        ("category", "pill"), ("split", "third"), ("n_generated", 100),
                                        ("ic_lpips", "seas"), ("region", "defect"), ("lpips", "to-real")])
def test_quality_records_that_differ_in_one_field_land_in_separate_rows(key, value):
    other = [{**r, "spec": {**r["spec"], key: value}, "metrics": {**r["metrics"], "FID": 50.0}} for r in QUALITY]
    table = quality_table(QUALITY + other)
    points = table.frame[~table.frame["category"].str.startswith("mean")]
    assert len(points) == 2 and {"10.5 ± 0.71", "50 ± 0"} <= set(points["FID"])


def test_the_quality_table_names_the_lpips_variant_the_size_and_the_generators_deviations():
    records = [{**r, "spec": {**r["spec"], "lpips": "to-real"}, "generator": {"version": "2", "resolved": {"deviations": ["64 px, not 512"]}},
                "variants": {**r["variants"], "lpips_variant": "to-real", "n_generated": "50 (small; the papers generate 1,000)"}}
               for r in QUALITY]
    table = quality_table(records)
    assert list(table.frame["generator"]) == ["copy-paste@2 [64 px, not 512]"]
    assert "lpips: to-real" in table.caption and "LPIPS: to-real (diversity: within the generated set" in table.caption
    assert "generated per point: 50 (small; the papers generate 1,000)" in table.caption
    assert "LPIPS: diversity" in quality_table(QUALITY).caption, "records from before the variants measured diversity"


def test_the_protocol_that_asked_is_provenance_not_a_separate_row():
    """A run is the same experiment whichever protocol asked for it (the ratio-0 baseline serves them all):
    seeds asked for by different protocols average, and the row names every protocol."""
    records = runs()
    records[2] = dataclasses.replace(records[2], request=dataclasses.replace(records[2].request, protocol="upsample"))
    table = run_table(records_frame(records))
    assert len(table.frame) == 1 and table.frame.loc[0, "requested by"] == "synthetic-ratio, upsample"
    assert table.frame.loc[0, "seeds"] == 3 and "Protocol: synthetic-ratio, upsample" in table.caption


# --- category means ----------------------------------------------------------------------------------


def test_category_mean_rows_average_category_means_with_the_std_of_the_per_seed_mean():
    records = []
    for category, base, gain in (("wood", 0.40, 0.10), ("pill", 0.60, 0.02), ("zipper", 0.50, 0.05)):
        records += runs(level=base, category=category) + runs("copy-paste", 1.0, base + gain, category=category)
    frame = records_frame(records)
    table = category_segmenter_table(frame)
    mean_row = table.frame[(table.frame["category"] == "mean (3 categories)") & (table.frame["setting"] == "real + copy-paste x1")]
    per_seed = [np.mean([b + g + n for b, g in ((0.40, 0.10), (0.60, 0.02), (0.50, 0.05))]) for n in NOISE_SETTING]
    assert mean_row["segformer"].item() == f"{100 * np.mean(per_seed):.2f} ± {100 * np.std(per_seed, ddof=1):.2f}"

    means = category_mean_deltas(frame)
    (row,) = means.to_dict("records")
    diffs = [np.mean([g + s - b for g in (0.10, 0.02, 0.05)]) for s, b in zip(NOISE_SETTING, NOISE)]
    reference = scipy_stats.ttest_1samp(diffs, 0.0)
    assert row["category"] == "mean (3 categories)" and row["delta"] == pytest.approx(np.mean(diffs))
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(tuple(reference.confidence_interval()))
    with_without = {t.name: t for t in tables(records)}["with_without"].frame
    assert with_without["category"].tolist()[-1] == "mean (3 categories)"


# --- degenerate runs ---------------------------------------------------------------------------------


def test_degenerate_runs_are_flagged_in_the_leaderboard_and_every_caption():
    background_only = [[190, 0, 0], [10, 0, 0], [5, 0, 0]]
    records = [dataclasses.replace(r, degenerate="predicts background only") if r.spec.seed < 2 else r
               for r in runs(confusion=background_only)] + runs("copy-paste", 1.0, 0.6)
    frame = records_frame(records)
    table = run_table(frame)
    assert table.frame["note"].tolist() == ["degenerate: predicts background only (2 of 3 seeds)", ""]
    for t in tables(records):
        assert "2 of 6 runs are degenerate (predicts background only)" in t.caption


def test_degenerate_generated_masks_are_noted_per_setting_and_in_every_caption():
    masks = {"pairs": 15, "empty": 1, "whole": 2, "large": 0, "share": 0.5}
    flagged = [dataclasses.replace(r, generator=dataclasses.replace(r.generator, masks=masks)) if r.spec.seed == 0 else r
               for r in runs("defectdiffu", 1.0, 0.6)]
    clean = [dataclasses.replace(r, generator=dataclasses.replace(r.generator, masks={**masks, "empty": 0, "whole": 0}))
             for r in runs("copy-paste", 1.0, 0.6)]
    records = runs() + flagged + clean
    table = run_table(records_frame(records))
    assert table.frame["note"].tolist() == ["", "", "degenerate masks in 1 of 3 seeds' sets (2 whole-picture, 1 empty of 15 masks)"]
    for t in tables(records):
        assert "1 of 9 runs trained on generated sets with degenerate masks" in t.caption and "defectdiffu" in t.caption
    assert "degenerate masks" not in run_table(records_frame(runs() + clean)).caption, "no finding, no note"


def test_any_metric_a_record_carries_can_be_compared():
    records = [dataclasses.replace(r, metrics={**r.metrics, "AUPRO": r.metrics["mIoU"] / 2}) for r in runs() + runs("copy-paste", 1.0, 0.7)]
    frame = records_frame(records)
    (row,) = deltas(frame, "AUPRO").to_dict("records")
    assert row["delta"] == pytest.approx(0.1)
    assert "AUPRO (%)" in run_table(frame, "AUPRO").frame.columns


def test_report_all_writes_tables_plots_and_page(isolated_dirs):
    from bench import api
    from bench.cli.report import write_report

    target = isolated_dirs / "out"
    written = write_report(api.report(grid_records()), "mIoU", target)
    assert (target / "report.md").is_file() and (target / "report.tex").is_file() and (target / "csv" / "benign.csv").is_file()
    pngs = sorted((target / "plots").glob("*.png"))
    assert len(pngs) == 2 and pngs[0].read_bytes()[:4] == b"\x89PNG"
    page = (target / "index.html").read_text()
    assert "plots/" + pngs[0].name in page and page.count("<table ") == 6
    assert len(written) == 2 + 6 + 2 + 1


# --- the command ---------------------------------------------------------------------------------------


def test_bench_report_skips_unreadable_records_merges_folders_and_says_what_it_left_out(isolated_dirs, capsys, caplog):
    import logging

    from bench.cli import main
    from bench.records import RecordStore

    first, second = isolated_dirs / "machine-a", isolated_dirs / "machine-b"
    for record in runs() + runs("copy-paste", 1.0, 0.7):
        RecordStore(first).write(record.to_dict())
    newer = dataclasses.replace(runs()[0], created="2025-06-01T00:00:00+00:00", metrics={"mIoU": 0.99, "mIoU_defect": 0.5})
    RecordStore(second).write(newer.to_dict())
    (second / "broken.json").write_text('{"schema": "bench.run/2", "run_id": ')
    args = ["report", "--records", str(first), "--records", str(second), "--out", "-"]
    with caplog.at_level(logging.WARNING):
        assert main(args) == 0
    out = capsys.readouterr().out
    assert "6 run records; 1 older duplicate(s) of 1 run id(s) left out (newest record wins); 1 unreadable file(s) skipped" in out
    assert str(second / "broken.json") in caplog.text and "kept the newest" in caplog.text
    assert main([*args, "--strict"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unreadable record") and str(second / "broken.json") in err and len(err.splitlines()) == 1
    assert main([*args, "--metric", "AUPRO"]) == 2
    assert "--metric AUPRO is in none of the records" in capsys.readouterr().err


def test_a_normal_data_row_is_labelled_with_the_effective_ratio_when_a_category_has_fewer_normals():
    short = [dataclasses.replace(r, data={**r.data, "n_train_real": 5, "n_normal_added": 6}) for r in runs(level=0.4, normal_ratio=2.0)]
    full = [dataclasses.replace(r, data={**r.data, "n_train_real": 5, "n_normal_added": 5}) for r in runs(level=0.4, normal_ratio=1.0)]
    table = {t.name: t for t in tables(runs() + short + full)}["normal_data"]
    labels = list(table.frame["normals per real pair"])
    assert labels == ["1", "2 (effective 1.2)"], "a full row keeps its nominal p, a short one says what it ran at"
    assert "effective p" in table.caption


# --- which protocol's tables a run goes to: the one its record names -------------------------------------


def _names(records) -> list[str]:
    return [t.name for t in tables(records)]


def test_a_run_goes_to_the_tables_of_the_protocol_its_record_names_not_of_its_shape():
    """Normals added to real pairs: the normal-data table when normal-data asked for them; in a protocol whose forms
    do not compare normals, no comparison table at all, whatever the spec looks like."""
    normals = runs(normal_ratio=1.0, level=0.4)
    asked = [dataclasses.replace(r, request=dataclasses.replace(r.request, protocol="synthetic-only")) for r in normals]
    assert "normal_data" in _names(runs() + normals)
    assert _names(runs() + asked) == ["runs", "category_segmenter"]


def test_a_run_that_names_no_protocol_belongs_to_those_bench_run_can_stand_for():
    """``bench run`` (and records from before requests were recorded) name no protocol: they belong to
    synthetic-ratio, upsample and normal-data, and each of those forms shows the settings it compares."""
    direct = [dataclasses.replace(r, request=dataclasses.replace(r.request, protocol=None, source=source))
              for source, r in zip(("bench run", None) * 9, runs() + runs("copy-paste", 1.0, 0.6) + runs(normal_ratio=1.0, level=0.4))]
    by_name = {t.name: t for t in tables(direct)}
    assert list(by_name) == ["runs", "category_segmenter", "with_without", "generators", "normal_data"]
    assert "Protocol: bench run, unrecorded" in by_name["with_without"].caption
    assert len(by_name["with_without"].frame) == 1 and len(by_name["normal_data"].frame) == 1


def test_a_split_preset_does_not_choose_the_table_the_protocol_does():
    """Binary runs on crops asked for by localization go to its table, not to DCDGANc's crop table."""
    binary = dict(labels="binary", split="ratio:0.65+crop:256+stride:128", segmenter="unet")
    records = [dataclasses.replace(r, request=dataclasses.replace(r.request, protocol="localization"),
                                   metrics={**r.metrics, "pixel_F1": 0.5, "pixel_F1max": 0.6})
               for r in runs(**binary) + runs("copy-paste", 1.0, 0.6, **binary)]
    names = _names(records)
    assert "localization" in names and "raw_augment_enlarge" not in names
    crop = [dataclasses.replace(r, request=dataclasses.replace(r.request, protocol="raw-augment-enlarge")) for r in records]
    assert "raw_augment_enlarge" in _names(crop) and "localization" not in _names(crop)


def test_runs_of_a_protocol_that_is_not_installed_show_in_the_shared_tables_only(caplog):
    import logging

    gone = [dataclasses.replace(r, request=dataclasses.replace(r.request, protocol="retired")) for r in runs("copy-paste", 1.0, 0.6)]
    with caplog.at_level(logging.WARNING, logger="bench.report"):
        assert _names(runs() + gone) == ["runs", "category_segmenter"]
    assert "retired, which are not installed, show in the shared tables only" in caplog.text
