"""Golden files, tolerances and verdicts (pure), and ``bench regress`` on the toy-smoke subset against
bench's own golden numbers (tests/golden/toy-smoke.json), a perturbed generator and malformed files."""

from __future__ import annotations

import contextlib
import io
import json
import math
import shutil
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from scipy import stats

import generators.copy_paste as copy_paste
from bench.cli import main
from bench.core.errors import BenchError
from bench.core.pairset import Pair
from bench.regress import golden as goldens
from bench.regress import subset, subsets
from bench.regress.compare import GOLDEN_ONLY, IMPROVED, NEW, OK, REGRESSED, UNDEFINED, compare, failed
from bench.regress.tolerance import ALPHA, MACHINE, Derivation, pooled_spread

GOLDEN = Path(__file__).parent / "golden" / "toy-smoke.json"
GRID = {"source": "test", "blocks": [{"protocol": "synthetic-ratio", "values": {}}]}


def record(seed: int, generator: str = "copy-paste", **metrics) -> dict:
    """The fields of a run record that a golden file reads."""
    spec = {"generator": {"name": generator, "params": {}}, "ratio": 1.0, "segmenter": "segformer", "dataset": "toy",
            "category": "wood", "split": "ds-5shot", "schedule": "smoke", "seed": seed, "device": "cpu", "pretrained": False,
            "normal_ratio": 0.0, "fill_to": 0}
    return {"run_id": f"{generator}-{seed}", "spec": spec, "metrics": metrics, "generator": {"version": "1"},
            "data": {"manifest_hash": "m" * 64}, "provenance": {"device": "cpu", "packages": {"torch": "2"}}}


def runs(values: dict[str, list[float]], **metric_values) -> list[dict]:
    """One record per generator and seed: ``values[generator][seed]`` is its mIoU."""
    return [record(s, g, mIoU=v, **metric_values) for g, vs in values.items() for s, v in enumerate(vs)]


# -- tolerances ------------------------------------------------------------------------------------------------


def test_pooled_spread_is_the_residual_std_about_each_point_mean():
    groups = [[0.1, 0.3, 0.2], [0.5, 0.9], [0.7]]  # a single-seed point adds no degrees of freedom
    residuals = np.concatenate([np.asarray(g[:]) - np.mean(g) for g in groups[:2]])
    spread, df = pooled_spread(groups)
    assert df == 3
    assert spread == pytest.approx(math.sqrt((residuals**2).sum() / 3))
    assert pooled_spread([[0.2, 0.2], [None, 0.4]]) == (0.0, 1)


def test_tolerance_is_the_t_bound_on_a_mean_of_paired_differences_plus_the_machine_floor():
    d = Derivation(spread=0.05, df=8, comparisons=4)
    expected = stats.t.ppf(1 - ALPHA / 8, 8) * 0.05 * math.sqrt(2 / 5) + MACHINE
    assert d.tolerance(5) == pytest.approx(expected)
    assert d.tolerance(2) > d.tolerance(5), "fewer paired seeds, wider bound"
    assert Derivation(0.0, 8, 4).tolerance(5) == MACHINE and Derivation(0.1, 0, 1).tolerance(5) == MACHINE


def test_an_unchanged_generator_on_another_machine_is_flagged_at_most_alpha_of_the_time():
    """The worst case the bound is built for: every fresh seed an independent draw from the same spread."""
    rng = np.random.default_rng(0)
    trials, alarms, power = 1500, 0, 0
    for _ in range(trials):
        made = rng.normal(0.5, 0.05, (2, 5))
        fresh = rng.normal(0.5, 0.05, (2, 5))
        golden = goldens.build(GRID, runs({"a": list(made[0]), "b": list(made[1])}), ("mIoU",))
        alarms += failed(compare(golden, goldens.group_points(runs({"a": list(fresh[0]), "b": list(fresh[1])}), ("mIoU",))))
        shifted = runs({"a": list(fresh[0]), "b": list(fresh[1] - 0.25)})  # five spreads down
        power += failed(compare(golden, goldens.group_points(shifted, ("mIoU",))))
    assert alarms / trials <= ALPHA + 3 * math.sqrt(ALPHA / trials)
    assert power / trials > 0.8


# -- verdicts ----------------------------------------------------------------------------------------------------


def _golden(**tolerance_overrides):
    return goldens.build(GRID, runs({"copy-paste": [0.50, 0.52, 0.48], "none": [0.40, 0.41, 0.39]}), ("mIoU",), tolerance_overrides)


def test_verdicts_pair_by_seed_and_name_what_moved():
    golden = _golden(mIoU=0.02)
    same = compare(golden, goldens.group_points(runs({"copy-paste": [0.50, 0.52, 0.48], "none": [0.40, 0.41, 0.39]}), ("mIoU",)))
    assert [r.verdict for r in same] == [OK, OK] and all(r.note == "identical" for r in same) and not failed(same)
    moved = compare(golden, goldens.group_points(runs({"copy-paste": [0.40, 0.42, 0.38], "none": [0.43, 0.44, 0.42]}), ("mIoU",)))
    assert [(r.point, r.verdict) for r in moved] == [
        ("toy/wood segformer smoke copy-paste r=1", REGRESSED), ("toy/wood segformer smoke none r=1", IMPROVED)]
    assert moved[0].difference == pytest.approx(-0.10) and moved[0].tolerance == 0.02 and moved[0].golden == pytest.approx(0.50)
    assert failed(moved) and not failed([moved[1]]), "an improvement alone passes"


def test_points_and_seeds_on_one_side_only_are_reported():
    golden = _golden()
    fresh = runs({"copy-paste": [0.50, 0.52], "augment": [0.3, 0.3, 0.3]})
    rows = compare(golden, goldens.group_points(fresh, ("mIoU",)))
    by_point = {r.point.split()[3]: r for r in rows}
    assert by_point["copy-paste"].seeds == (0, 1) and "seeds only in golden: 2" in by_point["copy-paste"].note
    assert by_point["copy-paste"].tolerance == pytest.approx(golden.tolerances["mIoU"].for_seeds(2))
    assert by_point["none"].verdict == GOLDEN_ONLY and by_point["augment"].verdict == NEW and failed(rows)


def test_a_metric_that_became_undefined_fails():
    golden = _golden()
    fresh = runs({"copy-paste": [0.50, math.nan, 0.48], "none": [0.40, 0.41, 0.39]})
    row = compare(golden, goldens.group_points(fresh, ("mIoU",)))[0]
    assert row.verdict == UNDEFINED and "seed(s) 1" in row.note


def test_a_changed_generator_version_is_noted_beside_the_verdict():
    golden = _golden()
    fresh = runs({"copy-paste": [0.50, 0.52, 0.48], "none": [0.40, 0.41, 0.39]})
    for r in fresh:
        r["generator"]["version"] = "2" if r["spec"]["generator"]["name"] == "copy-paste" else "1"
    assert "generator version 1 -> 2" in compare(golden, goldens.group_points(fresh, ("mIoU",)))[0].note


# -- the file ------------------------------------------------------------------------------------------------------


def test_golden_file_round_trips_validates_and_keeps_overrides(tmp_path):
    golden = _golden(mIoU=0.03)
    path = tmp_path / "g.json"
    goldens.write(path, golden)
    doc = json.loads(path.read_text())
    jsonschema.Draft202012Validator(goldens.json_schema()).validate(doc)
    back = goldens.read(path)
    assert back.to_dict() == golden.to_dict()
    again = goldens.build(GRID, runs({"copy-paste": [0.1, 0.2, 0.3], "none": [0.4, 0.4, 0.4]}), ("mIoU",), keep=back.tolerances)
    assert again.tolerances["mIoU"].value == 0.03 and again.tolerances["mIoU"].derivation is None
    derived = goldens.build(GRID, runs({"copy-paste": [0.1, 0.2, 0.3], "none": [0.4, 0.4, 0.4]}), ("mIoU",))
    assert derived.tolerances["mIoU"].to_dict()["source"] == "derived"
    assert derived.tolerances["mIoU"].value == pytest.approx(derived.tolerances["mIoU"].derivation.tolerance(3))


def test_a_metric_the_records_lack_is_one_error():
    with pytest.raises(BenchError, match="metric 'pixel_AP' is not a number in run copy-paste-0"):
        goldens.build(GRID, runs({"copy-paste": [0.5, 0.5]}), ("mIoU", "pixel_AP"))


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.update(schema="bench.golden/9"), "has schema 'bench.golden/9'"),
    (lambda d: d.pop("points"), "the file has no 'points'"),
    (lambda d: d["tolerances"].pop("mIoU"), "tolerances has no entry for metric 'mIoU'"),
    (lambda d: d["tolerances"]["mIoU"].update(value=-1), "tolerances.mIoU.value is -1.0"),
    (lambda d: d["points"][0]["seeds"]["0"]["metrics"].update(mIoU="high"), "points[0].seeds.0.metrics.mIoU is str"),
    (lambda d: d["points"][1]["seeds"].update(x={}), "points[1].seeds has key 'x'"),
    (lambda d: d["points"].append(d["points"][0]), "the same point twice"),
    (lambda d: d.update(metrics=[]), "metrics must be a non-empty list"),
])
def test_a_malformed_golden_file_is_one_line_naming_the_field(edit, message):
    doc = _golden().to_dict()
    edit(doc)
    with pytest.raises(BenchError, match="malformed") as caught:
        goldens.parse(doc, "g.json")
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_subsets_are_package_files():
    assert "toy-smoke" in subsets() and subset("toy-smoke").is_file()
    with pytest.raises(BenchError, match="unknown subset 'nope'; choose one of: .*toy-smoke"):
        subset("nope")


# -- the command on the toy-smoke subset --------------------------------------------------------------------------

THREADS = ["--threads", "1"]  # the golden file's runs trained on one thread


def _regress(*args: str) -> tuple[int, dict]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["regress", *args, "--json", *THREADS])
    return code, json.loads(out.getvalue())


@pytest.fixture(scope="module")
def toy_smoke(tmp_path_factory):
    """One run of the toy-smoke subset (10 runs), shared by the tests below."""
    root = tmp_path_factory.mktemp("toy-smoke")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("BENCH_CACHE", str(root / "cache"))
        env.setenv("BENCH_RESULTS", str(root / "results"))
        code, out = _regress("--subset", "toy-smoke", "--golden", str(GOLDEN), "--records", str(root / "runs"))
    return code, out, root / "runs"


@pytest.mark.slow
def test_bench_reproduces_its_own_golden_numbers(toy_smoke):
    code, out, _ = toy_smoke
    failing = [r for r in out["rows"] if r["verdict"] != OK]
    assert code == 0 and not out["regressed"], failing
    golden = goldens.read(GOLDEN)
    assert len(out["rows"]) == len(golden.points) * len(golden.metrics) and all(len(r["seeds"]) == 5 for r in out["rows"])
    assert not failing, "an improvement is a change too: update tests/golden/toy-smoke.json on purpose"


@pytest.mark.slow
def test_update_writes_a_golden_file_that_the_same_runs_match_exactly(toy_smoke, tmp_path):
    _, _, records = toy_smoke
    target = tmp_path / "new.json"
    code, made = _regress("--subset", "toy-smoke", "--golden", str(target), "--records", str(records), "--update",
                          "--metrics", "mIoU,pixel_AUROC", "--tolerance", "mIoU=0.05")
    assert code == 0 and made["points"] == 2 and made["tolerances"]["mIoU"] == {"value": 0.05, "source": "override", "derivation": None}
    written = goldens.read(target)
    assert written.grid["source"] == "toy-smoke" and written.metrics == ("mIoU", "pixel_AUROC")
    assert {p.label for p in written.points} == {p.label for p in goldens.read(GOLDEN).points}
    code, out = _regress("--subset", "toy-smoke", "--golden", str(target), "--records", str(records))
    assert code == 0 and all(r["verdict"] == OK and r["note"] == "identical" for r in out["rows"])


def shifted_paste(original):
    """Copy-paste with a defect: every pasted mask lands 16 px off the defect it labels."""

    def paste(base, patch_image, patch_mask, top, left, new_id):
        pasted = original(base, patch_image, patch_mask, top, left, new_id)
        return Pair(pasted.id, pasted.image, np.roll(pasted.mask, (16, 16), axis=(0, 1)), group=pasted.group)

    return paste


@pytest.mark.slow
def test_a_broken_generator_regresses_and_is_named(toy_smoke, tmp_path, monkeypatch):
    _, _, records = toy_smoke
    kept = tmp_path / "runs"
    kept.mkdir()
    for path in records.glob("*.json"):  # the real-only baseline is reused; copy-paste reruns with the fault
        if json.loads(path.read_text())["spec"]["generator"]["name"] == "none":
            shutil.copy(path, kept / path.name)
    monkeypatch.setattr(copy_paste, "paste", shifted_paste(copy_paste.paste))
    code, out = _regress("--subset", "toy-smoke", "--golden", str(GOLDEN), "--records", str(kept))
    assert code == 1 and out["regressed"]
    bad = {r["point"] for r in out["rows"] if r["verdict"] == REGRESSED}
    assert bad == {"toy/wood segformer smoke copy-paste r=3 batches=paired"}
    assert all(r["verdict"] == OK for r in out["rows"] if "none" in r["point"])


@pytest.mark.parametrize("content, message", [
    ("{not json", "is not valid JSON"),
    ('{"schema": "bench.golden/1", "metrics": ["mIoU"], "tolerances": {}}', "tolerances has no entry for metric 'mIoU'"),
])
def test_a_malformed_golden_file_exits_2_with_one_line_before_any_run(content, message, tmp_path, capsys):
    bad = tmp_path / "golden.json"
    bad.write_text(content)
    assert main(["regress", "--subset", "toy-smoke", "--golden", str(bad), "--records", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: golden file {bad}") and message in err
    assert not (tmp_path / "runs").exists()


def test_bad_arguments_are_one_line(tmp_path, capsys):
    golden = str(tmp_path / "g.json")
    assert main(["regress", "--golden", golden]) == 2
    assert "give either GRID.yaml or --subset NAME" in capsys.readouterr().err
    assert main(["regress", "--subset", "toy-smoke", "--golden", golden, "--tolerance", "mIoU=x", "--update"]) == 2
    assert "--tolerance 'mIoU=x' is not METRIC=VALUE" in capsys.readouterr().err
    assert main(["regress", "--subset", "toy-smoke", "--golden", golden, "--metrics", "mIoU"]) == 2
    assert "add --update" in capsys.readouterr().err
    grid = tmp_path / "quality.yaml"
    grid.write_text("protocol: quality\n")
    goldens.write(tmp_path / "g.json", _golden())
    assert main(["regress", str(grid), "--golden", golden]) == 2
    assert "protocol quality" in capsys.readouterr().err
