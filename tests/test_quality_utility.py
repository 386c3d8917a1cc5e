"""Quality without weights and the quality <-> utility table: a toy quality run with no weights records the
weight-free metrics and says what it left out; weights that are not the published ones are labelled and never
shown; `bench report` builds the correlation table, its plots and the board's paragraph from a folder holding
run and quality records (a coefficient checked against scipy.stats)."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pytest
from scipy import stats

from bench import api
from bench.cli import main
from bench.metrics import quality as q
from bench.protocols import PROTOCOLS
from bench.protocols.quality import QUALITY
from bench.protocols.quality.tables import quality_tables
from bench.records import RecordStore
from bench.report.tables import Reading
from tests.helpers.records import quality_record, run_record

NOISE = (0.0, 0.01, -0.01)  # per seed, the same for a generator's runs and their baseline: each Δ is exact


def test_a_quality_run_without_weights_records_the_weight_free_metrics_and_what_it_left_out(isolated_dirs, capsys, caplog):
    from bench.core.specs import GeneratorSpec
    from bench.data.base import load_pool
    from bench.data.splits import make_split
    from bench.metrics.pixel_stats import pixel_stats
    from bench.protocols.quality.measure import quality_specs
    from generators.sanity import memorization, thumbnail
    from generators.synthesize import synthesize

    assert main(["protocol", "quality", "--generators", "copy-paste", "--seeds", "0", "--n-generated", "6", "--schedule", "smoke",
                 "--no-alignment"]) == 0
    assert "protocol quality: 1 done" in capsys.readouterr().out
    assert "inception metrics left out" in caplog.text and "lpips-alex metrics left out" in caplog.text
    (record,) = RecordStore(isolated_dirs / "results" / "quality", QUALITY)
    m = record["metrics"]
    assert record["spec"]["left_out"] == ["inception", "lpips-alex"] and record["weights"] == {} and record["unverified_metrics"] == {}
    assert not set(m) & {"FID", "KID_mean", "IS_mean", "LPIPS", "IC_LPIPS"}
    assert record["left_out"]["inception"]["metrics"] == ["FID", "KID_mean", "KID_std", "IS_mean", "IS_std"]
    assert q.INCEPTION_FILE in record["left_out"]["inception"]["why"] and "missing" in record["left_out"]["inception"]["why"]
    assert record["left_out"]["lpips-alex"]["metrics"] == ["LPIPS", "IC_LPIPS"] and record["networks"]["lpips-alex"]["status"] == "missing"

    pool = load_pool("toy", "wood")
    split = make_split(pool, "ds-5shot")
    train, test = pool.subset(split.train), pool.subset(split.test)
    generated, hit = synthesize(GeneratorSpec("copy-paste"), train, pool.subset(split.normal_train), 6, 0)
    assert hit, "the protocol's generated set, from the cache"

    def arrays(pairs):
        return np.stack([pairs.image(i) for i in pairs.ids]), np.stack([pairs.mask(i) for i in pairs.ids])

    expected = pixel_stats(*arrays(generated), *arrays(test))
    assert {k: m[k] for k in expected} == pytest.approx(expected) and m["grey_W1"] > 0
    thumbs = lambda pairs: np.stack([thumbnail(pairs.image(i)) for i in pairs.ids])  # noqa: E731
    assert m["memorization"] == memorization(thumbs(generated), thumbs(train))["rate"]
    assert m["contrast_gap"] == pytest.approx(abs(m["contrast"] - m["contrast_real"]))
    assert "W1 over 256 integer levels" in record["variants"]["pixel_stats"]

    grid = PROTOCOLS.get("quality").grid({"generators": "copy-paste", "seeds": 0, "n_generated": 6, "schedule": "smoke",
                                          "alignment": False}, "t")
    (spec,) = quality_specs(grid)
    manifest = record["data"]["manifest_hash"]
    assert spec.left_out == () and spec.run_id(manifest) != record["run_id"], "measured with weights, the point is another one"
    from dataclasses import replace

    assert replace(spec, left_out=("inception", "lpips-alex")).run_id(manifest) == record["run_id"]

    (table,) = quality_tables(Reading(None, records=(record,)))
    row = table.frame.iloc[0]
    assert row["FID"] == row["IC_LPIPS"] == "left out" and row["grey_W1"] == f"{m['grey_W1']:.4g}"
    assert ("Left out in 1 of 1 records: FID, KID_mean, KID_std, IS_mean, IS_std, LPIPS, IC_LPIPS (their network's weights were "
            "missing).") in table.caption


def test_weights_are_published_only_when_their_digest_is_the_one_their_name_carries(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_WEIGHTS", str(tmp_path))
    (tmp_path / "checkpoints").mkdir()
    content = b"the published bytes"
    published = f"net-{hashlib.sha256(content).hexdigest()[:8]}.pth"
    (tmp_path / "checkpoints" / published).write_bytes(content)
    (tmp_path / "checkpoints" / "other-0badc0de.pth").write_bytes(b"random initialisation")
    assert q.check_weights(published)["status"] == "published"
    assert q.check_weights(published)["sha256"] == hashlib.sha256(content).hexdigest()
    other = q.check_weights("other-0badc0de.pth")
    assert other["status"] == "unverified" and "(0badc0de)" in q.weights_note(other) and "shown nowhere" in q.weights_note(other)
    missing = q.check_weights("absent-12345678.pth")
    assert missing["status"] == "missing" and missing["sha256"] is None and "absent-12345678.pth" in q.weights_note(missing)
    assert q.weights_note(q.check_weights(published)) == ""


def test_the_quality_table_shows_no_unverified_metric_and_prefers_a_point_measured_with_weights():
    measured = quality_record("copy-paste", seed=0, metrics={"FID": 12.0, "grey_W1": 3.0})
    before = quality_record("copy-paste", seed=0, metrics={"grey_W1": 3.0}, networks="missing", left_out=("inception", "lpips-alex"),
                            created="2026-01-01T00:00:00+00:00")
    unverified = quality_record("perlin", seed=0, metrics={"grey_W1": 5.0}, networks="unverified")
    (table,) = quality_tables(Reading(None, records=(before, measured, unverified)))
    rows = table.frame.set_index("generator")
    assert rows.loc["copy-paste", "FID"] == "12", "the newer record that left FID out does not replace the one that measured it"
    assert rows.loc["perlin", "FID"] == "left out" and rows.loc["perlin", "grey_W1"] == "5"
    assert "Left out in 1 of 2 records: FID, KID_mean, KID_std, IS_mean, IS_std, LPIPS, IC_LPIPS (their network's weights file is not " \
           "the published one" in table.caption


# --- the quality <-> utility table ---------------------------------------------------------------------

GENERATORS = ("copy-paste", "perlin", "cutpaste", "poisson")
PRODUCTS = ("wood", "fabric")
LEVEL = {("copy-paste", "wood"): 0.62, ("perlin", "wood"): 0.55, ("cutpaste", "wood"): 0.47, ("poisson", "wood"): 0.58,
         ("copy-paste", "fabric"): 0.60, ("perlin", "fabric"): 0.44, ("cutpaste", "fabric"): 0.52, ("poisson", "fabric"): 0.50}
GREY = {("copy-paste", "wood"): 1.0, ("perlin", "wood"): 2.5, ("cutpaste", "wood"): 2.0, ("poisson", "wood"): 1.5,
        ("copy-paste", "fabric"): 1.2, ("perlin", "fabric"): 3.0, ("cutpaste", "fabric"): 1.8, ("poisson", "fabric"): 2.2}
AREA = {key: (i * 0.37) % 1 for i, key in enumerate(GREY)}


def board_records(points=tuple(LEVEL)):
    """Runs: a baseline and each generator at ratio 1 (and copy-paste at 0.5) on two products, three seeds; quality:
    two seeds per point, with FID from records that never checked their weights."""
    runs = []
    for product in PRODUCTS:
        for seed, noise in enumerate(NOISE):
            runs.append(run_record("none", 0.0, seed, 0.5 + noise, category=product))
            runs.append(run_record("copy-paste", 0.5, seed, 0.9 + noise, category=product))
            runs += [run_record(g, 1.0, seed, LEVEL[g, product] + noise, category=product) for g in GENERATORS]
    quality = [quality_record(g, product, seed, {"grey_W1": GREY[g, product] + (0.1 if seed else -0.1), "area_KS": AREA[g, product]})
               for g, product in points for seed in (0, 1)]
    quality += [quality_record(g, product, 2, {"grey_W1": GREY[g, product], "area_KS": AREA[g, product], "FID": 40 * GREY[g, product]},
                               networks=None) for g, product in points]
    return runs, quality


def test_report_builds_the_correlation_table_its_plots_and_the_boards_paragraph(tmp_path, capsys):
    runs, quality = board_records()
    for record in runs:
        RecordStore(tmp_path / "runs").write(record.to_dict())
    for record in quality:
        RecordStore(tmp_path / "quality", QUALITY).write(record)
    out, site = tmp_path / "report", tmp_path / "site"
    assert main(["report", "--all", "--records", str(tmp_path / "runs"), "--out", str(out), "--site", str(site)]) == 0
    capsys.readouterr()
    report = (out / "report.md").read_text()

    keys = list(LEVEL)
    delta = np.array([(LEVEL[k] - 0.5) / 2 for k in keys])  # Δ defect mIoU: the records' defect mIoU is half their mIoU
    grey = np.array([GREY[k] for k in keys])
    rho, tau = stats.spearmanr(-grey, delta).statistic, stats.kendalltau(-grey, delta).statistic
    line = next(row for row in report.splitlines() if row.startswith("| grey_W1 "))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[:3] == ["grey_W1", "lower", "8"]
    assert cells[3].startswith(f"{rho:+.2f} [") and cells[4].startswith(f"{tau:+.2f} [")
    low, high = map(float, re.findall(r"\[([^,]+), ([^\]]+)\]", cells[3])[0])
    assert low <= rho <= high
    assert not any(row.startswith("| FID ") for row in report.splitlines()), "FID of records that never checked weights is not read"
    assert "Not read from 8 of 24 quality records: FID, KID_mean, IS_mean, LPIPS, IC_LPIPS (the record is from before weights" in report
    assert "against Δ mIoU defect at ratio 1 (synthetic pairs per real pair)" in report

    paragraph = next(row for row in report.splitlines() if row.startswith("Over 2 products (fabric, wood), 4 generators"))
    assert "The strongest quality predictor of Δ mIoU defect at ratio 1 was" in paragraph
    assert "over 8 (generator, product) points" in paragraph

    for folder in (out, site):
        png = folder / "plots" / "utility_grey_W1.png"
        assert png.read_bytes()[:4] == b"\x89PNG" and (folder / "plots" / "utility_area_KS.png").is_file()
    page = (site / "index.html").read_text()
    section = page[page.index('id="quality-utility"'):]
    assert 'src="plots/utility_grey_W1.png"' in section[:section.index("</section>")]
    assert '<p class="summary">Over 2 products' in page

    built = api.report(api.Records.of([*runs, *quality[:4]]))  # two points: no coefficient
    table = built.table("quality_utility")
    assert set(table.frame["Spearman [95% CI]"]) == {"n/a (2 points; 5 needed)"} and "Fewer than 5 points" in table.caption
    assert "Too few (generator, product) points hold both a quality record and Δ mIoU defect at ratio 1 (2; 5 needed)" in \
        built.table("generators").note


def test_a_folder_without_quality_records_has_no_quality_section():
    runs, _ = board_records()
    built = api.report(api.Records.of(runs))
    assert "quality_utility" not in [t.name for t in built.tables]
    note = built.table("generators").note
    assert note.startswith("Over 2 products (fabric, wood), 4 generators") and "quality" not in note
