"""Generator specs everywhere: the written form NAME(key=value,...), the YAML mapping form, grids that sweep
parameters and imports, checked before any work with the file and key named (no training)."""

from __future__ import annotations

import json

import pytest

from bench.cli import main
from bench.core.errors import BenchError
from bench.core.hashing import canonical_json, sha256_text
from bench.core.specs import GeneratorSpec, generator_from_value, parse_generator
from bench.protocols import PROTOCOLS, Grid
from tests.helpers.imports import generic_output


def test_the_written_form_parses_values_as_json_where_they_parse():
    spec = parse_generator("defectgen(u=100, receptive_field=large)")
    assert spec == GeneratorSpec.of("defectgen", u=100, receptive_field="large")
    assert dict(parse_generator("x(shape=[1,2],on=true,a=null,s=1.5)").params) == {"shape": [1, 2], "on": True, "a": None, "s": 1.5}
    assert parse_generator("import:generic(path=/a/b)") == GeneratorSpec.of("import:generic", path="/a/b")
    assert parse_generator("copy-paste") == GeneratorSpec("copy-paste") and parse_generator("copy-paste()") == GeneratorSpec("copy-paste")
    assert str(parse_generator(str(spec))) == str(spec), "a spec prints in the form it is written"


@pytest.mark.parametrize("text, message", [("a(b)", "is not key=value"), ("a(b=1", "is not a generator spec"),
                                           ("a(b=1,b=2)", "sets b twice"), ("", "is not a generator spec")])
def test_malformed_written_specs_are_one_line_errors(text, message):
    with pytest.raises(BenchError, match=message):
        parse_generator(text)


def test_the_yaml_mapping_form_is_the_same_spec():
    assert generator_from_value({"name": "defectgen", "params": {"u": 100}}) == parse_generator("defectgen(u=100)")
    assert generator_from_value({"name": "augment"}) == GeneratorSpec("augment")
    with pytest.raises(BenchError, match="is not a generator spec"):
        generator_from_value({"name": "x", "parms": {}})
    grid = Grid.from_mapping({"generators": ["defectgen(u=100)", {"name": "augment", "params": {}}]}, "g.yaml")
    assert grid.generators == (GeneratorSpec.of("defectgen", u=100), GeneratorSpec("augment"))
    assert Grid.from_mapping({"generators": "a, b(x=1,y=2)"}, "x").generators == (GeneratorSpec("a"), GeneratorSpec.of("b", x=1, y=2))


def _write(tmp_path, text: str):
    path = tmp_path / "grid.yaml"
    path.write_text(text)
    return path


def test_a_grid_sweeps_generator_parameters_and_an_import_with_its_path(tmp_path, capsys):
    generic_output(tmp_path / "tool")
    path = _write(tmp_path, "protocol: synthetic-ratio\nratios: [0, 1]\nseeds: [0]\nschedule: smoke\ngenerators:\n"
                            "  - defectgen(u=100,receptive_field=large)\n  - {name: defectgen, params: {u: 50}}\n"
                            "  - {name: import:generic, params: {path: tool}}\n")
    assert main(["sweep", str(path), "--dry-run", "--json"]) == 0
    (block,) = json.loads(capsys.readouterr().out)
    labels = {r["generator"] for r in block["runs"]}
    assert "defectgen(profile=smoke,receptive_field=large,u=100)" in labels and "defectgen(profile=smoke,u=50)" in labels
    assert f"import:generic(path={(tmp_path / 'tool').resolve()})" in labels, "a relative path is read from the grid file's folder"
    assert len(block["runs"]) == 4, "three generators at ratio 1 and the shared baseline"


@pytest.mark.parametrize(
    "generators, message",
    [
        ("[defectgen(nope=1)]", "unknown parameter(s) nope"),
        ("[defectgen(u=abc)]", "parameter u='abc' has the wrong type"),
        ("[import:generic]", "needs the folder of the tool's output"),
        ("['import:generic(path=missing)']", "is not a directory"),
        ("[defectgen(u=1]", "is not a generator spec"),
    ],
)
def test_bad_specs_in_a_grid_file_name_the_file_and_key(tmp_path, capsys, generators, message):
    path = _write(tmp_path, f"sweeps:\n  - protocol: normal-data\n    seeds: [0]\n  - protocol: quality\n    generators: {generators}\n")
    assert main(["sweep", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: grid key 'generators' in {path}") and message in err and "\n" not in err
    assert not (tmp_path / "results" / "runs").exists() or not any((tmp_path / "results" / "runs").iterdir()), "no block ran"


def test_generators_option_takes_several_specs(capsys):
    assert main(["protocol", "upsample", "--generators", "copy-paste(max_defects=2),augment", "--generators", "perlin",
                 "--seeds", "0", "--schedule", "smoke", "--dry-run", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["generator"] for r in rows] == ["none", "copy-paste(max_defects=2)", "augment", "perlin"]


def test_run_takes_the_written_form_and_refuses_a_key_given_twice(capsys):
    assert main(["run", "--generator", "copy-paste(max_defects=2)", "--gen-param", "max_defects=3", "--ratio", "1"]) == 2
    assert "given in --generator and --gen-param" in capsys.readouterr().err
    assert main(["run", "--generator", "copy-paste(nope=2)", "--ratio", "1"]) == 2
    assert "unknown parameter(s) nope" in capsys.readouterr().err


def test_quality_honours_specs_and_the_grids_schedule():
    from bench.protocols.quality import quality_specs

    grid = PROTOCOLS.get("quality").grid({"generators": "defectgen(u=100),copy-paste", "seeds": "0", "schedule": "smoke"}, "t")
    learned, baseline = quality_specs(grid)
    assert learned.generator == GeneratorSpec.of("defectgen", u=100, profile="smoke"), "the schedule's profile, not paper"
    assert learned.to_dict()["generator"] == {"name": "defectgen", "params": {"profile": "smoke", "u": 100}}
    other = quality_specs(PROTOCOLS.get("quality").grid({"generators": "defectgen(u=50)", "seeds": "0", "schedule": "smoke"}, "t"))[0]
    assert other.run_id("m") != learned.run_id("m")
    # how ids were keyed when generators were bare names (and before the LPIPS variant, hashed off its default only)
    before = {**{k: v for k, v in baseline.to_dict().items() if k not in ("lpips", "image_size")}, "generator": "copy-paste"}
    assert baseline.run_id("m") == sha256_text(canonical_json({"spec": before, "data": "m"}))[:16]
