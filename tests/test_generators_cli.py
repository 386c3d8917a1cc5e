"""`bench generate` and `bench generators list` as users meet them: sets on disk, cache hits, sanity report, errors."""

from __future__ import annotations

import json
import logging

import pytest

from bench.cli import main
from bench.core.pairset import PairSet
from tests.helpers.imports import seas_output


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_generators_list_shows_kind_training_weights_and_params(capsys):
    code, out, _ = run_cli(capsys, "generators", "list", "--json")
    assert code == 0
    rows = {row["name"]: row for row in json.loads(out)}
    for name in ("none", "augment", "copy-paste", "cutpaste", "perlin", "poisson", "hmi", "import:seas", "import:generic"):
        assert {"kind", "needs_training", "needs_weights", "params"} <= set(rows[name])
    assert rows["perlin"]["params"]["threshold"] == 0.5
    assert rows["import:dfmgan"]["kind"] == "import"
    code, out, _ = run_cli(capsys, "generators", "list")
    assert code == 0 and "import:defectdiffu" in out and "tile=256" in out


def test_generate_writes_a_set_and_a_repeat_hits_the_cache(capsys, caplog, tmp_path):
    caplog.set_level(logging.INFO, logger="bench.generate")
    args = ["generate", "-g", "poisson", "--n", "16", "--category", "metal", "--seed", "3", "--json"]
    code, out, err = run_cli(capsys, *args, "--out", str(tmp_path / "a"))
    assert code == 0, err
    first = json.loads(out)
    assert first["cache_hit"] is False and first["n"] == 16
    written = PairSet.open(tmp_path / "a")
    written.validate()
    assert len(written) == 16 and (tmp_path / "a" / "sanity.json").is_file()
    assert first["sanity"]["empty_masks"] == 0 and "l1-thumb64" in first["sanity"]["memorization"]["variant"]

    caplog.clear()
    code, out, _ = run_cli(capsys, *args, "--out", str(tmp_path / "b"))
    second = json.loads(out)
    assert second["cache_hit"] is True
    assert any("generator cache hit" in r.getMessage() for r in caplog.records)
    assert PairSet.open(tmp_path / "b").manifest() == written.manifest()

    caplog.clear()
    code, out, _ = run_cli(capsys, *args, "--gen-param", "band=3", "--out", str(tmp_path / "c"))
    assert json.loads(out)["cache_hit"] is False
    assert not any("generator cache hit" in r.getMessage() for r in caplog.records)


def test_generate_check_prints_the_sanity_report(capsys, tmp_path):
    code, out, err = run_cli(capsys, "generate", "-g", "augment", "--n", "5", "--category", "wood", "--out", str(tmp_path / "s"), "--check")
    assert code == 0, err
    assert "generated: 5 pairs of augment on toy/wood/ds-5shot" in out
    for line in ("empty masks: 0", "size mismatches (vs training sizes 64x64): 0", "class histogram: ", "memorization rate: "):
        assert line in out


def test_generate_imports_a_folder_given_by_path(capsys, tmp_path):
    out_dir = tmp_path / "seas_out"
    seas_output(out_dir, 4, size=64)  # the size of the toy task's images
    code, out, err = run_cli(
        capsys, "generate", "-g", "import:seas", "--path", str(out_dir), "--gen-param", "defect_class=crack",
        "--n", "4", "--out", str(tmp_path / "imported"), "--json",
    )
    assert code == 0, err
    report = json.loads(out)["sanity"]
    assert report["class_histogram"]["crack"]["pairs"] == 4 and report["class_histogram"]["stain"]["pairs"] == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["generate", "-g", "nope", "--n", "2"], "unknown generator 'nope'"),
        (["generate", "-g", "import:seas", "--n", "2"], "needs the folder of the tool's output"),
        (["generate", "-g", "cutpaste", "--n", "2", "--gen-param", "defect_class=rust"], "defect_class 'rust' is not a defect class"),
        (["generate", "-g", "augment", "--n", "0"], "0 is not in the range 1<=x<=1000000"),
    ],
)
def test_bad_input_is_one_error_line(capsys, tmp_path, args, message):
    code, _, err = run_cli(capsys, *args, "--out", str(tmp_path / "x"))
    assert code == 2
    lines = err.strip().splitlines()  # progress bars of data loading may come first
    assert [line for line in lines if "error" in line] == [lines[-1]], err
    assert lines[-1].startswith("error: ") and message in lines[-1], err


def test_out_folder_that_is_not_a_pair_set_is_left_alone(capsys, tmp_path):
    keep = tmp_path / "mine"
    keep.mkdir()
    (keep / "notes.txt").write_text("precious")
    code, _, err = run_cli(capsys, "generate", "-g", "augment", "--n", "2", "--out", str(keep))
    assert code == 2 and "exists and is not a pair set" in err
    assert (keep / "notes.txt").read_text() == "precious"
