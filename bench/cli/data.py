from __future__ import annotations

import json
from pathlib import Path

import click
from tabulate import tabulate

from bench.cli import options
from bench.core.errors import BenchError
from bench.core.pairset import write_pairset
from bench.data.base import DATASETS, load_pool, resolve_root
from bench.data.splits import make_split


@click.group()
def data():
    """Datasets: write the embedded toy benchmark, inspect and import real ones."""


@data.command()
@click.option("--out", required=True, help="Folder to write one pair set per category into.")
@click.option("--seed", default=0, show_default=True, type=int, help="Data seed: same seed, same bytes.")
@click.option("--size", default=64, show_default=True, type=int, help="Image side in pixels.")
@click.option("--defects-per-class", default=12, show_default=True, type=int)
@click.option("--normals", default=10, show_default=True, type=int, help="Normal images per release split (train and test).")
@click.option("--category", "categories", multiple=True, help="Only these categories [default: all].")
def toy(out, seed, size, defects_per_class, normals, categories):
    """Write the procedural toy benchmark (wood, fabric, metal) as pair sets."""
    from bench.data import toy as toy_data  # deferred: the toy generator loads OpenCV

    if size < 32:
        raise BenchError(f"--size must be at least 32, got {size}")
    if defects_per_class < 2 or normals < 1:
        raise BenchError("--defects-per-class must be >= 2 and --normals >= 1")
    unknown = set(categories) - set(toy_data.CATEGORIES)
    if unknown:
        raise BenchError(f"unknown toy category {sorted(unknown)}", f"choose from {', '.join(toy_data.CATEGORIES)}")
    cfg = toy_data.ToyConfig(size=size, defects_per_class=defects_per_class, normals_train=normals, normals_test=normals, seed=seed)
    for category in categories or toy_data.CATEGORIES:
        target = Path(out) / category
        pairs = toy_data.category_pairs(category, cfg)
        source = {"dataset": "toy", "category": category, "config": cfg.__dict__}
        written = write_pairset(target, pairs, toy_data.classes(category), source, seed=seed, progress=True)
        click.echo(f"{category}: {len(written)} pairs, classes {', '.join(written.defect_classes.values())} -> {target}")


release_format = click.option(
    "--format", "dataset", required=True, help="Dataset adapter = the release layout on disk (see docs/datasets.md)."
)
categories_option = click.option("--category", "categories", multiple=True, help="Only these categories [default: all]; repeatable.")


def _categories(dataset: str, data_root: str | None, chosen: tuple[str, ...]) -> list[str]:
    adapter = DATASETS.get(dataset)
    available = adapter.categories(resolve_root(adapter, data_root))
    if not available:
        raise BenchError(f"no '{dataset}' categories found under {data_root}", "check --format and --data-root (see docs/datasets.md)")
    return list(chosen) or available


@data.command("import")
@release_format
@options.data_root
@categories_option
def import_(dataset, data_root, categories):
    """Normalize a release into pair sets in the cache (once; later imports of unchanged data are instant)."""
    for category in _categories(dataset, data_root, categories):
        pool = load_pool(dataset, category, data_root, progress=True)
        click.echo(f"{category}: {len(pool)} pairs, classes {', '.join(pool.defect_classes.values())} -> {pool.root}")


@data.command()
@release_format
@options.data_root
@categories_option
@options.split
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
def check(dataset, data_root, categories, split, as_json):
    """Validate a release and report, per category, images per split part, classes and normals."""
    from bench.data.stats import category_report  # deferred: the connected-component counts load OpenCV

    reports = []
    for category in _categories(dataset, data_root, categories):
        pool = load_pool(dataset, category, data_root, progress=True)
        reports.append(category_report(pool, make_split(pool, split), category))
    if as_json:
        click.echo(json.dumps(reports, indent=2))
        return
    parts = [
        {"category": r["category"], "images": r["images"], "normals": r["normals"], **r["parts"], "split": r["split"], "manifest": r["manifest_hash"][:12]}
        for r in reports
    ]
    classes = [{"category": r["category"], "class": name, **counts} for r in reports for name, counts in r["classes"].items()]
    click.echo(tabulate(parts, headers="keys", tablefmt="simple"))
    click.echo()
    click.echo(tabulate(classes, headers="keys", tablefmt="simple"))


COMMANDS = [data]
