"""A third party extends bench without forking it: the example plugin package (examples/bench-example-plugin,
docs/extending.md) is built into a wheel and installed here, and its generator, dataset, segmenter and
protocol work through the command line in a fresh interpreter: the protocol's own option is a flag of
`bench protocol` and a grid key, and its own table is in `bench report`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bench.records import RecordStore
from tests.helpers.records import run_record

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "bench-example-plugin"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The example built with its own build backend (no network, no build isolation) and its wheel unpacked
    into a target folder, as ``pip install --target`` does for a pure-Python wheel; beside it, a second
    installed distribution whose generator takes a built-in name."""
    work = tmp_path_factory.mktemp("plugin")
    source = shutil.copytree(EXAMPLE, work / "source")
    build = "from setuptools import build_meta; print(build_meta.build_wheel('dist'))"
    subprocess.run([sys.executable, "-c", build], cwd=source, check=True, capture_output=True, timeout=300)
    (wheel,) = (source / "dist").glob("bench_example_plugin-*.whl")
    target = work / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    clash = target / "clashing_plugin-0.1.dist-info"
    clash.mkdir()
    (clash / "METADATA").write_text("Metadata-Version: 2.1\nName: clashing-plugin\nVersion: 0.1\n")
    (clash / "entry_points.txt").write_text("[bench.generators]\ncopy-paste = bench_example_plugin.generator:Stripes\n")
    return target


def bench(site: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    command = "import sys; from bench.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", command, *args], env=env, capture_output=True, text=True, timeout=900)


def test_the_wheel_declares_one_entry_point_per_extension_kind(site):
    (entry_points,) = site.glob("bench_example_plugin-*.dist-info/entry_points.txt")
    text = entry_points.read_text()
    for group in ("bench.generators", "bench.datasets", "bench.segmenters", "bench.protocols"):
        assert f"[{group}]" in text


def test_a_plugin_generator_is_listed_and_a_clashing_one_refused_loudly(site):
    listed = bench(site, "generators", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["stripes"]["params"] == {"width": 2, "defect_class": None}
    assert "width (int, [1, 16], default 2)" == rows["stripes"]["param_types"]["width"]
    assert rows["copy-paste"]["summary"].startswith("Crop real defects"), "the built-in keeps its name"
    assert "generator plugin 'copy-paste' (bench_example_plugin.generator:Stripes, from clashing-plugin) is ignored" in listed.stderr


def test_a_plugin_protocols_own_option_is_a_flag_of_its_command_and_no_other(site):
    shown = bench(site, "protocol", "one-to-one", "--help")
    assert shown.returncode == 0, shown.stderr
    text = " ".join(shown.stdout.split())
    assert "--pairs-per-real FLOAT Synthetic pairs added per real training pair. [default: 1]" in text
    listed = bench(site, "protocol", "--help")
    assert "one-to-one" in listed.stdout and "real only against real + N synthetic" in listed.stdout
    dry = bench(site, "protocol", "one-to-one", "--generators", "stripes", "--seeds", "0", "--pairs-per-real", "2", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert [row["ratio"] for row in json.loads(dry.stdout)] == [0.0, 2.0]
    refused = bench(site, "protocol", "one-to-one", "--pairs-per-real", "0", "--dry-run")
    assert refused.returncode == 2 and "grid key 'pairs_per_real' in command-line options has a value out of range: 0.0" in refused.stderr
    other = bench(site, "protocol", "synthetic-ratio", "--pairs-per-real", "2", "--dry-run")
    assert other.returncode == 2 and "No such option '--pairs-per-real'" in other.stderr, "the option is the plugin protocol's own"


def test_the_report_shows_a_plugin_protocols_table_for_the_runs_it_asked_for(site, tmp_path):
    runs = tmp_path / "runs"
    for seed, noise in enumerate((0.0, 0.01, -0.01)):
        for ratio, level in ((0.0, 0.5), (2.0, 0.6)):
            record = run_record("stripes" if ratio else "none", ratio, seed, level + noise, protocol="one-to-one")
            RecordStore(runs).write(record.to_dict())
    done = bench(site, "report", "--all", "--records", str(runs), "--out", str(tmp_path / "report"))
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "report" / "report.md").read_text()
    table = text.split("**Gain per generator** (bench-example-plugin)")[1].split("\n\n**")[0]
    row = next(line for line in table.splitlines() if line.startswith("| wood"))
    assert "Protocol: one-to-one" in table and [c.strip() for c in row.split("|")[1:7]] == ["wood", "stripes", "2", "50.00", "60.00", "+10.00"]
    csv = tmp_path / "report" / "csv"
    assert (csv / "one_to_one.csv").is_file() and (csv / "with_without.csv").is_file(), "its own table and the shared comparison"


@pytest.mark.slow
def test_plugin_dataset_segmenter_and_protocol_run_a_grid(site, isolated_dirs):
    checked = bench(site, "data", "check", "--dataset", "tiles", "--split", "half", "--json")
    assert checked.returncode == 0, checked.stderr
    (report,) = json.loads(checked.stdout)
    assert report["category"] == "tile" and report["images"] == 24 and report["normals"] == 12
    assert report["parts"]["train"] == 6 and report["parts"]["normal_train"] == 6

    grid = ["protocol", "one-to-one", "--generators", "stripes", "--segmenters", "tiny-unet", "--dataset", "tiles",
            "--categories", "tile", "--seeds", "0", "--split", "half", "--schedule", "smoke", "--device", "cpu"]
    ran = bench(site, *grid)
    assert ran.returncode == 0, ran.stderr
    assert "protocol one-to-one: 2 grid points, 2 distinct runs" in ran.stdout and "2 run(s) done" in ran.stdout
    records = {r["spec"]["ratio"]: r for r in RecordStore(isolated_dirs / "results" / "runs")}
    assert set(records) == {0.0, 1.0}
    synthetic = records[1.0]
    assert synthetic["spec"]["generator"]["name"] == "stripes" and synthetic["data"]["n_synthetic"] == 6
    assert synthetic["segmenter"]["name"] == "tiny-unet" and synthetic["segmenter"]["num_classes"] == 2
    assert synthetic["segmenter"]["config"].endswith("bench_example_plugin/tiny_unet.py")
    assert 0.0 <= synthetic["metrics"]["mIoU"] <= 1.0
    reported = bench(site, "report", "--all")
    assert reported.returncode == 0, reported.stderr
    assert "**Gain per generator** (bench-example-plugin)" in (isolated_dirs / "results" / "report" / "report.md").read_text()
