"""The noise benchmarks: the variance decomposition moves one stream at a time from a shared reference, the pairing
benchmark compares pooled and paired batches against one shared baseline; both resume from their folders."""

from __future__ import annotations

import json

import click
import numpy as np
import pytest

from bench.perf import pairing, variance
from bench.perf.variance import cells, grid, shares
from tests.helpers.records import run_record


def test_each_source_moves_one_stream_from_the_shared_reference():
    specs = grid(["wood"], ["copy-paste", "dcdganc"], 1.0, "segformer", "short", 0, 0, "paired")
    plan = cells(specs, 3, 0)
    by = {}
    for c in plan:
        by.setdefault((c["setting"], c["source"]), []).append(c)
    assert {s for setting, s in by if setting == "real only"} == {"initialisation", "dropout", "batches", "nothing", "seed"}
    assert ("copy-paste x1", "fitting") not in by and ("dcdganc(profile=toy) x1", "fitting") in by, "only learned generators fit"
    assert ("copy-paste x1", "added slots") in by and ("copy-paste x1", "sampling") in by
    for (setting, source), group in by.items():
        if source != "seed":
            assert len({c["key"] for c in group}) == 3 and group[0]["key"] == by[(setting, "nothing")][0]["key"], "repeat 0 is the reference"
    moved = [c["config"] for c in by[("dcdganc(profile=toy) x1", "fitting")]]
    assert [c["spec"]["generator_seed"] for c in moved] == [0, 1, 2] and len({json.dumps(c["streams"]) for c in moved}) == 1
    init = [c["config"]["streams"] for c in by[("real only", "initialisation")]]
    assert [s["init"] for s in init] == [0, 1, 2] and {s["batches"] for s in init} == {0}
    seed = [c["config"] for c in by[("real only", "seed")]]
    assert [c["spec"]["seed"] for c in seed] == [0, 1, 2] and seed[1]["streams"]["dropout"] is None, "as a run's seed moves them"
    assert len({c["key"] for c in plan}) == 1 + 4 * 2 + 3 + 1 + 6 * 2 + 3 + 1 + 7 * 2 + 3


def test_only_moves_the_named_sources_of_a_generators_settings():
    specs = grid(["wood"], ["copy-paste", "dcdganc"], 1.0, "segformer", "short", 0, 0, "paired")
    plan = cells(specs, 3, 0, variance.parse_only(("dcdganc=fitting,seed",)))
    sources = {(c["setting"], c["source"]) for c in plan}
    assert {s for setting, s in sources if setting == "dcdganc(profile=toy) x1"} == {"fitting", "seed"}
    assert {s for setting, s in sources if setting == "copy-paste x1"} >= {"sampling", "added slots", "batches"}, "others keep every source"
    with pytest.raises(click.BadParameter, match="sources from initialisation"):
        variance.parse_only(("dcdganc=fiting",))


def test_the_shares_are_each_sources_variance_over_the_seeds():
    rows = [{"category": "wood", "setting": "s", "source": name, "mIoU_var": v} for name, v in (("seed", 4.0), ("batches", 2.0), ("nothing", 0.0))]
    assert shares(rows, "mIoU") == {"batches": 0.5, "nothing": 0.0}


def test_pairing_pairs_each_mode_with_the_shared_baseline():
    rng = np.random.default_rng(0)
    seed_effect = rng.normal(0, 0.05, 8)
    records = [run_record(seed=s, miou=0.5 + seed_effect[s]).to_dict() for s in range(8)]
    for mode, own in (("pooled", 0.05), ("paired", 0.01)):  # paired: the setting follows its baseline's seed more closely
        noise = rng.normal(0, own, 8)
        records += [run_record("copy-paste", 1.0, s, 0.52 + (seed_effect[s] if mode == "paired" else 0) + noise[s], batches=mode).to_dict()
                    for s in range(8)]
    rows = pairing.pairing(records, "mIoU")
    by = {r["batches"]: r for r in rows}
    assert by["paired"]["correlation"] > 0.9 > by["pooled"]["correlation"] and by["paired"]["seeds"] == list(range(8))
    a = 100 * np.array([r["metrics"]["mIoU"] for r in records[8:16]])
    b = 100 * np.array([r["metrics"]["mIoU"] for r in records[:8]])
    assert by["pooled"]["sd_difference"] == pytest.approx((a - b).std(ddof=1))
    middle = {m["batches"]: m for m in pairing.medians(rows)}
    assert middle["paired"]["correlation"] == by["paired"]["correlation"] and middle["pooled"]["sd_difference"] == by["pooled"]["sd_difference"]
    (ratio,) = pairing.ratios(rows)
    assert ratio["ratio"] == pytest.approx(by["paired"]["sd_difference"] / by["pooled"]["sd_difference"]) and ratio["ratio"] < 0.5


@pytest.mark.slow
def test_both_benchmarks_run_resume_and_write_their_results(isolated_dirs):
    out, work = isolated_dirs / "perf", isolated_dirs / "work"
    args = ["--categories", "wood", "--schedule", "smoke", "--out", str(out)]
    variance.main([*args, "--generators", "", "--repeats", "2", "--work", str(work / "variance")], standalone_mode=False)
    result = json.loads((out / "variance.json").read_text())
    assert result["runs"] == 7 and {r["source"] for r in result["rows"]} == {"initialisation", "dropout", "batches", "nothing", "seed"}
    assert next(r for r in result["rows"] if r["source"] == "nothing")["mIoU_var"] == 0.0, "the same run again scores the same"
    assert result["device"] and "| wood | real only | initialisation | 2 |" in (out / "variance.md").read_text()
    before = {f: f.stat().st_mtime_ns for f in (work / "variance").glob("*.json")}
    variance.main([*args, "--generators", "", "--repeats", "2", "--work", str(work / "variance")], standalone_mode=False)
    assert {f: f.stat().st_mtime_ns for f in (work / "variance").glob("*.json")} == before, "a rerun trains nothing again"
    pairing.main([*args, "--generators", "copy-paste", "--seeds", "3", "--work", str(work / "pairing")], standalone_mode=False)
    result = json.loads((out / "pairing.json").read_text())
    assert result["runs"] == 9 and {r["batches"] for r in result["rows"]} == {"pooled", "paired"}
