"""``bench leaderboard``: build a published leaderboard — run its grid (resumable, packed), then write its
records, tables, plots, site and a browser screenshot into one folder (docs/leaderboard.md)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable

import click

from bench import api
from bench.cli import options
from bench.cli.options import executor_options
from bench.cli.protocol import run_protocol, run_until_decided, sequential_of, sequential_options
from bench.cli.report import build_report
from bench.cli.sweep import load_sweep
from bench.core.errors import BenchError
from bench.core.paths import results_dir, writable_dir
from bench.records import RecordStore, RunRecord, read_run
from bench.report.browser import screenshot
from bench.spec import RunSpec
from generators import GENERATORS

GRIDS = Path(__file__).resolve().parents[1] / "grids"
TOY_NOTE = ("Toy numbers show the mechanics of the harness — paired seeds, corrected verdicts, provenance — not a ranking of "
            "generators on real products: the toy products are procedural textures and the toy profiles are sized for a CPU.")


def grid_path(name_or_path: str) -> Path:
    """A shipped grid by name (``toy``, ``ds-mvtec``) or a grid file."""
    shipped = GRIDS / f"{name_or_path}.yaml"
    if shipped.is_file():
        return shipped
    path = Path(name_or_path)
    if not path.is_file():
        names = ", ".join(sorted(p.stem for p in GRIDS.glob("*.yaml")))
        raise BenchError(f"--grid {name_or_path} is neither a shipped leaderboard grid nor a file", f"use one of: {names}, or a grid file")
    return path


def layout(out: Path) -> dict[str, Path]:
    """Where a leaderboard folder keeps each part."""
    return {"records": out / "records", "tables": out, "site": out / "site", "screenshot": out / "site" / "screenshot.png"}


@click.command()
@click.option("--grid", "grid", default="toy", show_default=True,
              help="A shipped leaderboard grid (toy, real, ds-mvtec, ad-localization) or a grid file.")
@click.option("--out", default=None,
              help="The leaderboard folder [default: results/leaderboard for the real grid, else results/leaderboard-<grid>].")
@click.option("--data-root", "data_roots", multiple=True, metavar="[DATASET=]PATH",
              help="Root of a dataset release on disk, for grids on real data: DATASET=PATH for that dataset's blocks "
                   "(repeat for each release), or PATH for every block.")
@click.option("--rebuild", is_flag=True, help="Run nothing: rewrite the tables, plots and site from the folder's records.")
@click.option("--dry-run", is_flag=True, help="List the distinct runs the grid still needs and stop.")
@click.option("--screenshot/--no-screenshot", default=True, show_default=True,
              help="Photograph the site in headless Chromium (site/screenshot.png) and check that everything on it loads.")
@sequential_options
@options.strict
@executor_options
def leaderboard(grid, out, data_roots, rebuild, dry_run, screenshot, until_decided, max_seeds, seed_batch, margin, strict, executor, jobs,
                threads, address):
    """Build a published leaderboard: the grid's runs, then records, tables, plots and the site in one folder."""
    path = grid_path(grid)
    where = source_name(path)
    target = writable_dir(Path(out) if out else results_dir() / ("leaderboard" if where == "bench/grids/real.yaml" else f"leaderboard-{path.stem}"),
                          "--out")
    parts = layout(target)
    roots = roots_by_dataset(data_roots)
    plans = [api.plan(name, {**values, **root_of(values, roots)}, where, path.resolve().parent)
             for name, values in load_sweep(path)]  # all checked first
    if not (dry_run or rebuild):  # a dry run or a rebuild reads no release
        check_roots(plans)
    sequential = sequential_of(until_decided, max_seeds, seed_batch, margin)
    store = RecordStore(writable_dir(parts["records"], "--out"), strict=strict)
    if not rebuild:
        execution = dict(executor=executor, jobs=jobs, threads=threads, address=address)
        if sequential is not None and not dry_run:
            run_until_decided(plans, where, store, False, execution, sequential)
        else:
            for planned in plans:
                run_protocol(planned, where, store, False, dry_run, execution)
        if dry_run:
            return
    keep = asked_by(plans)
    own = [record for record in store if keep(read_run(record))]  # what a page counts as held is what it reports
    intro = " ".join(filter(None, [TOY_NOTE if where == "bench/grids/toy.yaml" else "", completeness(plans, own)]))
    written = build_report([parts["records"]], "markdown", parts["tables"], True, parts["site"], strict=strict, intro=intro,
                           side_root=target, margin=options.margin_fraction(margin), keep=keep)
    if screenshot:
        written.append(photograph(parts["site"] / "index.html", parts["screenshot"]))
    for p in written:
        click.echo(f"written: {p}", err=True)


def roots_by_dataset(values: tuple[str, ...]) -> dict[str | None, str]:
    """``--data-root`` values by the dataset they are for (None: every block's)."""
    roots: dict[str | None, str] = {}
    for value in values:
        if value.startswith("="):
            raise BenchError(f"--data-root {value}: no dataset before '='", "give DATASET=PATH, e.g. --data-root bsdata=~/BSData")
        dataset, _, root = value.rpartition("=")
        key = dataset or None
        if key in roots:
            raise BenchError(f"--data-root given twice for {key or 'every block'}", "give one root per dataset")
        roots[key] = root
    return roots


def root_of(values: dict, roots: dict[str | None, str]) -> dict:
    """A grid block's data root from ``--data-root``: its dataset's, else the one for every block, else its own."""
    root = roots.get(values.get("dataset"), roots.get(None))
    return {"data_root": root} if root else {}


def check_roots(plans: list[api.Plan]) -> None:
    """Every block on a release has one on disk, before the first block runs."""
    from bench.data.base import DATASETS  # deferred: the data layer loads numpy, which `--help` does without

    for _, grid in plans:
        if grid.data_root is None and DATASETS.get(grid.dataset).needs_root:
            raise BenchError(f"the grid's {grid.dataset} block needs the release on disk", f"give --data-root {grid.dataset}=PATH")


def source_name(path: Path) -> str:
    """How records name the grid that asked for them: a shipped grid by its place in the package, so a
    committed leaderboard names no folder of the machine that built it; any other file as given."""
    return f"bench/grids/{path.name}" if path.resolve().parent == GRIDS else str(path)


def completeness(plans, records: list[dict]) -> str:
    """What the page says of a build that lacks some of its grid's runs (one built in several sittings): how
    many it holds and which cells are still to come, so a partial leaderboard never passes for a whole one."""
    from bench.protocols.execute import distinct  # deferred: the grid driver loads the runner and torch

    wanted = [spec for protocol, grid in plans if protocol.specs is not None for spec in distinct(protocol.specs(grid))]
    have = {RunSpec.from_dict(record["spec"]) for record in records}
    missing = [spec for spec in wanted if spec not in have]
    if not missing:
        return ""
    cells: dict[str, set[str]] = {}
    for spec in missing:
        cells.setdefault(str(spec.generator) if spec.synthetic else "real only", set()).add(spec.category)
    todo = "; ".join(f"{name} on {', '.join(sorted(products))}" for name, products in cells.items())
    return (f"Of its grid's {len(wanted)} runs this build holds {len(wanted) - len(missing)}; still to run: {todo} "
            "(rerun the build command to add them).")


def asked_by(plans) -> Callable[[RunRecord], bool]:
    """Whether a run record is one its grid asks for: a setting of the grid at any seed (a sequential build adds
    seeds) by the generator's current version. A folder keeps the records of earlier builds (pooled batches,
    an older version of a generator) for resuming and history; the board reports only its own."""
    from bench.protocols.execute import distinct  # deferred: the grid driver loads the runner and torch

    settings = {replace(spec, seed=0) for protocol, grid in plans if protocol.specs is not None for spec in distinct(protocol.specs(grid))}
    return lambda record: (replace(record.spec, seed=0) in settings
                           and record.generator.version == GENERATORS.get(record.spec.generator.name).version)


def photograph(html: Path, png: Path) -> Path:
    """The screenshot for the README; anything on the page that failed to load is an error."""
    found = screenshot(html, png)
    if found.broken_images or found.errors:
        raise BenchError(f"the site {html} does not load cleanly: {', '.join(found.broken_images + found.errors)}",
                         "rebuild it with `bench leaderboard --rebuild`")
    return png


COMMANDS = [leaderboard]
