"""The published leaderboard: its grids are valid, its folder is rebuilt byte for byte from its records,
the committed one matches its records, and its site works in a real browser (headless Chromium)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bench import api
from bench.cli import main
from bench.cli.leaderboard import GRIDS, layout
from bench.cli.report import sample_name
from bench.cli.sweep import load_sweep
from bench.core.pairset import write_pairset
from bench.core.paths import cache_dir
from bench.protocols.execute import distinct
from bench.records import RecordStore
from bench.report.browser import check, chromium, open_page
from bench.spec import RunSpec
from generators import GENERATORS
from tests.helpers.pairs import make_pair
from tests.helpers.records import run_record
from tests.helpers.releases import class_folder_release

ROOT = Path(__file__).resolve().parent.parent
BOARDS = {"real": ROOT / "results" / "leaderboard", "toy": ROOT / "results" / "leaderboard-toy"}  # committed builds by grid
TEXT_SUFFIXES = (".md", ".tex", ".csv")


def toy_settings() -> dict[str, RunSpec]:
    """The toy grid's effective settings at seed 0, by generator name (none: the real-only baseline)."""
    (name, values), = load_sweep(GRIDS / "toy.yaml")
    protocol, grid = api.plan(name, values, "toy.yaml")
    return {s.generator.name: s for s in distinct(protocol.specs(grid)) if s.seed == 0 and s.category == "wood"}


def grid_record(spec: RunSpec, seed: int, miou: float, category: str, **changes):
    """A hand-made record of one of the grid's runs, by the generator's current version."""
    spec = dataclasses.replace(spec, seed=seed, category=category, **changes)
    fields = {k: v for k, v in dataclasses.asdict(spec).items() if k not in ("generator", "ratio", "seed")}
    return run_record(spec.generator.name, spec.ratio, seed, miou, params=dict(spec.generator.params),
                      version=GENERATORS.get(spec.generator.name).version, **fields)


def write_records(folder: Path) -> None:
    """Two products, the toy grid's baseline and two of its generators at ratio 1, three seeds; copy-paste's pairs
    in the cache. Beside them two records the grid does not ask for: pooled batches, an older generator version."""
    store = RecordStore(folder)
    settings = toy_settings()
    for category in ("wood", "fabric"):
        for seed, noise in enumerate((0.0, 0.01, -0.01)):
            store.write(grid_record(settings["none"], seed, 0.5 + noise, category).to_dict())
            store.write(grid_record(settings["perlin"], seed, 0.5 - noise, category).to_dict())
            record = grid_record(settings["copy-paste"], seed, 0.6 + noise, category)
            key = f"{category}{seed}"
            write_pairset(cache_dir() / "generated" / "copy-paste" / key, [make_pair(f"{key}-{i}", size=32, seed=i) for i in range(4)],
                          {1: "scratch", 2: "stain"}, {"generator": "copy-paste"})
            record = dataclasses.replace(record, generator=dataclasses.replace(record.generator, cache_key=key),
                                         provenance={"git": "abc1234", "bench_version": "0.1.0", "device": "test CPU",
                                                     "packages": {"torch": "2.x"}})
            store.write(record.to_dict())
    store.write(grid_record(settings["copy-paste"], 0, 0.9, "wood", batches="pooled").to_dict())
    old = grid_record(settings["perlin"], 0, 0.9, "wood")
    store.write(dataclasses.replace(old, run_id="0" * 16, generator=dataclasses.replace(old.generator, version="0")).to_dict())


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and "records" not in p.parts and p.name != "screenshot.png"}


def test_shipped_grids_plan_before_any_work(capsys, isolated_dirs):
    code = main(["leaderboard", "--dry-run", "--out", str(isolated_dirs / "lb")])
    out = capsys.readouterr().out
    assert code == 0 and "220 grid points, 120 distinct runs (bench/grids/toy.yaml)" in out  # no folder of this machine
    (name, values), = load_sweep(GRIDS / "ds-mvtec.yaml")
    protocol, grid = api.plan(name, {**values, "device": "cpu"}, "ds-mvtec.yaml")
    specs = protocol.specs(grid)
    assert len(distinct(specs)) == 15 * 8 * 5 * (1 + 5)
    assert grid.schedule == "paper" and grid.pretrained
    (name, values), = load_sweep(GRIDS / "ad-localization.yaml")
    protocol, grid = api.plan(name, {**values, "device": "cpu"}, "ad-localization.yaml")
    specs = distinct(protocol.specs(grid))
    assert len(specs) == 15 * 2 * 5 * (1 + 5) and {(s.labels, s.split) for s in specs} == {("binary", "third")}


def test_a_bad_grid_is_one_line_before_any_run(capsys, isolated_dirs):
    assert main(["leaderboard", "--grid", "nope"]) == 2
    assert "neither a shipped leaderboard grid nor a file" in capsys.readouterr().err


def test_rebuild_writes_the_same_bytes_from_the_same_records(capsys, isolated_dirs):
    folders = [isolated_dirs / "a", isolated_dirs / "b"]
    for folder in folders:
        write_records(layout(folder)["records"])
        assert main(["leaderboard", "--rebuild", "--no-screenshot", "--out", str(folder)]) == 0
    capsys.readouterr()
    a, b = (files_of(f) for f in folders)
    assert a == b
    assert {"leaderboard.md", "report.md", "report.tex", "site/index.html", "csv/generators.csv"} <= set(a)
    assert any(k.startswith("site/plots/") for k in a) and f"site/samples/{sample_name('copy-paste', 'toy', 'wood')}" in a
    page = a["site/index.html"].decode()
    assert "Toy numbers show the mechanics" in page and "Provenance of the 18 runs: commit abc1234 (6), unrecorded (12)" in page
    assert "Of its grid's 120 runs this build holds" in page and "still to run: real only on fabric, wood; copy-paste on fabric, wood" in page
    assert "18 run records; 2 record(s) of runs its grid does not ask for left out" in page  # pooled, older version


def test_a_partial_build_says_what_it_still_lacks():
    from bench.cli.leaderboard import completeness

    values = {"generators": ["copy-paste", "perlin"], "ratios": [0, 1], "seeds": [0, 1], "categories": ["wood", "fabric"],
              "schedule": "smoke", "device": "cpu"}
    plans = [api.plan("synthetic-ratio", values, "test")]
    records = [{"spec": spec.to_dict()} for spec in distinct(plans[0][0].specs(plans[0][1]))]
    assert len(records) == 12 and completeness(plans, records) == ""
    partial = [r for r in records if not (r["spec"]["generator"]["name"] == "perlin" and r["spec"]["category"] == "fabric")]
    partial = [r for r in partial if not (r["spec"]["ratio"] == 0 and r["spec"]["seed"] == 1 and r["spec"]["category"] == "wood")]
    assert completeness(plans, partial) == ("Of its grid's 12 runs this build holds 9; still to run: real only on wood; perlin on "
                                            "fabric (rerun the build command to add them).")


@pytest.mark.parametrize("grid", sorted(BOARDS))
def test_the_committed_tables_are_what_the_committed_records_give(grid, capsys, isolated_dirs):
    committed = BOARDS[grid]
    if not (committed / "records").is_dir():
        pytest.skip(f"no {grid} leaderboard committed under {committed.relative_to(ROOT)} yet")
    out = isolated_dirs / "lb"
    for part in ("records", "quality"):
        if (committed / part).is_dir():
            (out / part).mkdir(parents=True)
            for path in (committed / part).glob("*.json"):
                (out / part / path.name).write_bytes(path.read_bytes())
    assert main(["leaderboard", "--grid", grid, "--rebuild", "--no-screenshot", "--out", str(out)]) == 0
    capsys.readouterr()
    rebuilt, expected = files_of(out), files_of(committed)
    for name in expected:
        if name.endswith(TEXT_SUFFIXES):
            assert rebuilt.get(name) == expected[name], f"{committed.relative_to(ROOT)}/{name} differs from what its records give"


@pytest.mark.skipif(chromium() is None or not (BOARDS["real"] / "site" / "index.html").is_file(),
                    reason="no Chromium (make test installs Debian's chromium package) or no real board committed")
def test_the_committed_real_board_leads_its_site_with_real_defects():
    with open_page(BOARDS["real"] / "site" / "index.html") as (page, errors):
        found = check(page, errors)
        assert not found.broken_images and not found.errors
        first = page.locator("section.table").first
        assert first.is_visible() and "magnetic-tile" in first.inner_text() and "bsdata" in first.inner_text()


@pytest.mark.skipif(chromium() is None, reason="no Chromium (make test installs Debian's chromium package)")
def test_the_site_in_a_real_browser(capsys, isolated_dirs):
    folder = isolated_dirs / "lb"
    write_records(layout(folder)["records"])
    assert main(["leaderboard", "--rebuild", "--out", str(folder)]) == 0, capsys.readouterr().err
    site = layout(folder)["site"]
    assert layout(folder)["screenshot"].read_bytes()[:4] == b"\x89PNG"
    with open_page(site / "index.html") as (page, errors):
        found = check(page, errors)
        assert found.tables == page.locator("section.table").count() >= 4
        assert found.images >= 3 and not found.broken_images and not found.errors
        assert page.locator("img[src^='samples/']").count() == 2 and page.locator("img[src^='plots/']").count() == 1
        table = page.locator("#with-without table")
        column = [h.strip() for h in table.locator("th").all_inner_texts()].index("Δ")

        def deltas():
            return [float(c) for c in table.locator(f"tbody tr td:nth-child({column + 1})").all_inner_texts()]

        table.locator("th").nth(column).click()
        assert deltas() == sorted(deltas()) and len(set(deltas())) > 1
        table.locator("th").nth(column).click()
        assert deltas() == sorted(deltas(), reverse=True)


def test_the_real_grid_takes_a_root_per_release_and_refuses_before_any_run(tmp_path, capsys, isolated_dirs):
    out = isolated_dirs / "real"
    assert main(["leaderboard", "--grid", "real", "--dry-run", "--out", str(out)]) == 0
    out_text = capsys.readouterr().out
    assert out_text.count("9 grid points, 9 distinct runs (bench/grids/real.yaml)") == 1  # magnetic tile: copy-paste, 3 seeds
    assert out_text.count("6 grid points, 6 distinct runs (bench/grids/real.yaml)") == 2  # BSData's, 2 seeds; cutpaste on tile
    assert out_text.count("protocol quality") == 2
    tile = class_folder_release(tmp_path / "mt", classes=("Blowhole", "Break", "Crack", "Fray", "Uneven"), per_class=1, normals=1)
    (tile / "layout.yaml").unlink()  # read by the shipped magnetic-tile layout
    for roots, message in (
        ([f"magnetic-tile={tile}"], "the grid's bsdata block needs the release on disk; give --data-root bsdata=PATH"),
        ([f"magnetic-tile={tile}", f"bsdata={tmp_path / 'nope'}"], f"data root {tmp_path / 'nope'} does not exist"),
        ([f"magnetic-tile={tile}", f"magnetic-tile={tile}"], "--data-root given twice for magnetic-tile"),
        ([f"={tile}"], "no dataset before '='"),
    ):
        assert main(["leaderboard", "--grid", "real", "--no-screenshot", "--out", str(out),
                     *[a for root in roots for a in ("--data-root", root)]]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
    assert not (out / "records").exists() or not list((out / "records").iterdir()), "nothing ran"
