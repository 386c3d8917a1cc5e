"""Protocol grids: which runs a grid expands to, shared baselines, grid files and their errors (no training)."""

from __future__ import annotations

import json

import pytest

from bench.cli import main
from bench.core.errors import BenchError
from bench.core.specs import GeneratorSpec
from bench.protocols import PROTOCOLS, Grid
from bench.protocols.execute import distinct
from bench.spec import RunSpec


def test_synthetic_ratio_shares_the_ratio_zero_baseline():
    grid = Grid(generators=("copy-paste", "augment"), segmenters=("segformer", "unet"), ratios=(0, 0.5, 1), seeds=(0, 1))
    specs = PROTOCOLS.get("synthetic-ratio").specs(grid)
    assert len(specs) == 24 and len(distinct(specs)) == 20
    baselines = [s for s in distinct(specs) if s.ratio == 0]
    assert len(baselines) == 4 and all(s.generator.name == "none" for s in baselines)


def test_other_protocols_expand_to_their_values():
    grid = Grid(seeds=(0,), normal_ratios=(0, 1, 2), fill_to=40)
    normal = PROTOCOLS.get("normal-data").specs(grid)
    assert [s.normal_ratio for s in normal] == [0, 1, 2] and {s.generator.name for s in normal} == {"none"}
    upsample = PROTOCOLS.get("upsample").specs(grid)
    assert [(s.generator.name, s.fill_to) for s in upsample] == [("none", 0), ("copy-paste", 40)]
    benign = PROTOCOLS.get("benign")
    assert [s.ratio for s in benign.specs(benign.grid({"seeds": "0"}, "test"))] == [0.0, 1.0]


def test_run_spec_rules_for_the_new_fields():
    with pytest.raises(BenchError, match="produces no pairs"):
        RunSpec(fill_to=100)
    with pytest.raises(BenchError, match="instead of --ratio"):
        RunSpec(generator=GeneratorSpec("copy-paste"), ratio=1, fill_to=100)
    assert RunSpec(generator=GeneratorSpec("copy-paste"), fill_to=100).normalized().generator.name == "copy-paste"
    spec = RunSpec(normal_ratio=1.0)
    assert spec.run_id("m") != RunSpec().run_id("m")
    assert RunSpec.from_dict({**spec.to_dict(), "protocol": "synthetic-ratio"}) == spec, "older records still load"


def test_grid_values_from_strings_and_lists():
    grid = Grid.from_mapping({"generators": "a, b", "seeds": [3, "4"], "ratios": "0,0.5", "pretrained": True}, "x")
    assert grid.generators == (GeneratorSpec("a"), GeneratorSpec("b")) and grid.seeds == (3, 4) and grid.ratios == (0.0, 0.5) and grid.pretrained


@pytest.mark.parametrize(
    "text, message",
    [
        ("protocol: synthetic-ratio\nratio: [0, 1]\n", "unknown grid key(s) ratio in"),
        ("protocol: synthetic-ratio\nseeds: [a]\n", "grid key 'seeds' in"),
        ("generators: [copy-paste]\n", "has no 'protocol' key"),
        ("protocol: nope\n", "unknown protocol 'nope'"),
        ("protocol: synthetic-ratio\ngenerators: [nope]\n", "unknown generator 'nope'"),
        ("protocol: [\n", "is not valid YAML"),
    ],
)
def test_bad_grid_files_give_one_error_line(tmp_path, capsys, text, message):
    path = tmp_path / "grid.yaml"
    path.write_text(text)
    assert main(["sweep", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err


def test_the_protocol_command_takes_the_generator_seed_and_the_synthetic_only_reading(capsys):
    assert main(["protocol", "localization", "--generators", "copy-paste", "--seeds", "0,1", "--ratios", "1",
                 "--generator-seed", "3", "--synthetic-only", "--dry-run", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 4 and all(r["synthetic_only"] and r["generator_seed"] == 3 for r in rows)  # unet + draem x 2 seeds


def test_dry_run_lists_distinct_runs(tmp_path, capsys):
    path = tmp_path / "grid.yaml"
    path.write_text("sweeps:\n  - protocol: synthetic-ratio\n    ratios: [0, 1]\n    seeds: [0]\n"
                    "  - protocol: normal-data\n    normal_ratios: [0, 1]\n    seeds: [0]\n")
    assert main(["sweep", str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "protocol synthetic-ratio: 2 grid points, 2 distinct runs" in out
    assert "protocol normal-data: 2 grid points, 2 distinct runs" in out
    assert main(["sweep", str(path), "--dry-run", "--json"]) == 0
    ratio, normal = json.loads(capsys.readouterr().out)
    assert [r["ratio"] for r in ratio["runs"]] == [0.0, 1.0] and [r["normal_ratio"] for r in normal["runs"]] == [0.0, 1.0]
