"""The command line as users meet it: help and listings (bad input: tests/test_bad_input.py)."""

from __future__ import annotations

import json

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


def test_no_records_is_one_error_line(capsys):
    code, out, err = run_cli(capsys, "report")
    assert code == 2 and err.startswith("error: no run records in") and len(err.strip().splitlines()) == 1


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
