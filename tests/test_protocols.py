"""Protocol grids: which runs a grid expands to, shared baselines, grid files and their errors (no training)."""

from __future__ import annotations

import json

import pytest

from bench.cli import main
from bench.core.errors import BenchError
from bench.core.specs import GeneratorSpec
from bench.protocols import PROTOCOLS
from bench.protocols.execute import distinct
from bench.spec import RunSpec


def test_synthetic_ratio_shares_the_ratio_zero_baseline():
    protocol = PROTOCOLS.get("synthetic-ratio")
    grid = protocol.grid({"generators": "copy-paste,augment", "segmenters": ("segformer", "unet"), "ratios": (0, 0.5, 1), "seeds": (0, 1)}, "t")
    specs = protocol.specs(grid)
    assert len(specs) == 24 and len(distinct(specs)) == 20
    baselines = [s for s in distinct(specs) if s.ratio == 0]
    assert len(baselines) == 4 and all(s.generator.name == "none" for s in baselines)


def test_other_protocols_expand_to_their_values():
    normal_data, upsample = PROTOCOLS.get("normal-data"), PROTOCOLS.get("upsample")
    normal = normal_data.specs(normal_data.grid({"seeds": (0,), "normal_ratios": (0, 1, 2)}, "t"))
    assert [s.normal_ratio for s in normal] == [0, 1, 2] and {s.generator.name for s in normal} == {"none"}
    upsample = upsample.specs(upsample.grid({"seeds": (0,), "fill_to": 40}, "t"))
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
    grid = PROTOCOLS.get("synthetic-ratio").grid({"generators": "a, b", "seeds": [3, "4"], "ratios": "0,0.5", "pretrained": True}, "x")
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


# --- a protocol's options: declared once, a flag of its command and a key of its grids ----------------------


def _flags(name: str) -> dict:
    """The flags of `bench protocol NAME`, by option name."""
    from bench.cli.protocol import protocol_command

    return {p.name: p for p in protocol_command(PROTOCOLS.get(name)).params}


@pytest.mark.parametrize("name", ["upsample", "normal-data", "transfer", "localization", "quality", "efficiency", "annotations"])
def test_every_option_is_a_flag_with_its_help_and_the_protocols_default(name):
    protocol = PROTOCOLS.get(name)
    flags, defaults = _flags(name), protocol.grid({}, "t")
    for option in protocol.grid_options:
        flag = flags[option.name]
        assert option.flag in flag.opts and flag.help.startswith(option.help), option.name
        assert flag.help.endswith(f"[default: {option.shown(getattr(defaults, option.name))}]"), option.name
        assert flag.multiple == option.many and (flag.is_bool_flag if option.type is bool else not flag.is_flag)
    own = {o.name for o in protocol.options}
    others = {o.name for p in map(PROTOCOLS.get, PROTOCOLS.names()) for o in p.options} - own - {o.name for o in protocol.grid_options}
    assert not others & set(flags), "another protocol's option is no flag of this one"


@pytest.mark.parametrize("name, flag, key, value", [
    ("upsample", ["--fill-to", "40"], "fill_to", 40),
    ("normal-data", ["--normal-ratios", "0,1.5"], "normal_ratios", [0, 1.5]),
    ("dcdganc-transfer", ["--fill-to", "12"], "fill_to", 12),
    ("localization", ["--synthetic-only"], "synthetic_only", True),
    ("quality", ["--lpips-region", "defect"], "lpips_region", "defect"),
])
def test_a_flag_and_a_grid_key_give_the_same_grid(name, flag, key, value, tmp_path, capsys):
    """The same option written as a flag of `bench protocol` and as a key of a grid file: the same runs (or, for a
    protocol of its own records, the same grid)."""
    assert main(["protocol", name, *flag, "--seeds", "0", "--dry-run", "--json"]) == 0
    by_flag = capsys.readouterr()
    path = tmp_path / "grid.yaml"
    path.write_text(f"protocol: {name}\nseeds: [0]\n{key}: {json.dumps(value)}\n")
    assert main(["sweep", str(path), "--dry-run", "--json"]) == 0
    by_key = capsys.readouterr()
    (block,) = json.loads(by_key.out)
    assert json.loads(by_flag.out) == block["runs"]
    if PROTOCOLS.get(name).specs is None:  # no runs to list: the grid it would run, as the command shows it
        assert f"{key}={value!r}" in by_flag.err and by_flag.err.split(": ", 1)[1] == by_key.err.split(": ", 1)[1]
    else:
        assert block["runs"] and any(row.get(key.removesuffix("s")) == (value[-1] if isinstance(value, list) else value)
                                     for row in block["runs"])


def test_an_option_a_protocol_does_not_have_is_refused_as_flag_and_as_grid_key(tmp_path, capsys):
    assert main(["protocol", "synthetic-ratio", "--fill-to", "40", "--dry-run"]) == 2
    assert "No such option '--fill-to'" in capsys.readouterr().err
    path = tmp_path / "grid.yaml"
    path.write_text("protocol: synthetic-ratio\nfill_to: 40\n")
    assert main(["sweep", str(path), "--dry-run"]) == 2
    assert f"unknown grid key(s) fill_to in {path}" in capsys.readouterr().err
    assert main(["protocol", "upsample", "--fill-to", "-1", "--dry-run"]) == 2
    assert "grid key 'fill_to' in command-line options has a value out of range: -1" in capsys.readouterr().err
