"""The command line as users meet it: help, listings and one-line errors for bad input."""

from __future__ import annotations

import json

import pytest

from bench.cli import main


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_lists_command_groups(capsys):
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0
    for group in ("run", "report", "data", "generators", "segmenters"):
        assert f"  {group}" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--generator", "nope", "--ratio", "1"], "unknown generator 'nope'; choose one of: "),
        (["run", "--segmenter", "nope"], "unknown segmenter 'nope'; choose one of:"),
        (["run", "--generator", "copy-paste", "--ratio", "-1"], "--ratio must be >= 0"),
        (["run", "--generator", "none", "--ratio", "1"], "generator 'none' produces no pairs"),
        (["run", "--data-root", "/does/not/exist"], "data root /does/not/exist does not exist"),
        (["run", "--category", "glass"], "dataset 'toy' has no category 'glass'"),
        (["run", "--ratio", "abc"], "'abc' is not a valid float"),
        (["run", "--device", "tpu"], "unknown device 'tpu'"),
        (["report"], "no run records in"),
    ],
)
def test_bad_input_gives_one_error_line_and_nonzero_exit(capsys, args, message):
    code, out, err = run_cli(capsys, *args)
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and message in lines[0]


def test_listings_as_json(capsys):
    code, out, _ = run_cli(capsys, "generators", "list", "--json")
    assert code == 0
    names = {row["name"]: row for row in json.loads(out)}
    assert names["copy-paste"]["kind"] == "baseline"
    code, out, _ = run_cli(capsys, "segmenters", "list", "--json")
    assert "segformer" in {row["name"] for row in json.loads(out)}


def test_data_toy_writes_pair_sets(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "data", "toy", "--out", str(tmp_path / "toy"), "--size", "32", "--defects-per-class", "3", "--normals", "2")
    assert code == 0
    from bench.core.pairset import PairSet

    for category in ("wood", "fabric", "metal"):
        s = PairSet.open(tmp_path / "toy" / category)
        assert len(s) == 3 * 3 + 4
        s.validate()
