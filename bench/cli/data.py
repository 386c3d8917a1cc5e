from __future__ import annotations

from pathlib import Path

import click

from bench.cli import options
from bench.cli.output import tabulate
from bench.core.errors import BenchError
from bench.core.jsonfile import dumps
from bench.core.paths import writable_dir
from bench.core.specs import TaskRef


@click.group()
def data():
    """Datasets: write the embedded toy benchmark, inspect and import real ones."""


categories_option = options.multi("--category", "categories", help="Only these categories [default: all].")


@data.command()
@click.option("--out", required=True, help="Folder to write one pair set per category into.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0), help="Data seed: same seed, same bytes.")
@click.option("--size", default=64, show_default=True, type=click.IntRange(32, 4096), help="Image side in pixels.")
@click.option("--defects-per-class", default=12, show_default=True, type=click.IntRange(2, 10_000))
@click.option("--normals", default=10, show_default=True, type=click.IntRange(1, 10_000), help="Normal images per release split (train and test).")
@categories_option
def toy(out, seed, size, defects_per_class, normals, categories):
    """Write the procedural toy benchmark (wood, fabric, metal) as pair sets."""
    # deferred: the toy generator loads OpenCV, pair sets numpy
    from bench.core.pairset import write_pairset
    from bench.data import toy as toy_data

    unknown = set(categories or ()) - set(toy_data.CATEGORIES)
    if unknown:
        raise BenchError(f"unknown toy category {sorted(unknown)}", f"choose from {', '.join(toy_data.CATEGORIES)}")
    out = writable_dir(out, "--out")
    cfg = toy_data.ToyConfig(size=size, defects_per_class=defects_per_class, normals_train=normals, normals_test=normals, seed=seed)
    for category in categories or toy_data.CATEGORIES:
        target = Path(out) / category
        pairs = toy_data.category_pairs(category, cfg)
        source = {"dataset": "toy", "category": category, "config": cfg.__dict__}
        written = write_pairset(target, pairs, toy_data.classes(category), source, seed=seed, progress=True)
        click.echo(f"{category}: {len(written)} pairs, classes {', '.join(written.defect_classes.values())} -> {target}")


release_dataset = click.option(
    "--dataset", required=True, help="Dataset adapter = the release layout on disk (see docs/datasets.md)."
)


def _categories(dataset: str, data_root: str | None, chosen: tuple[str, ...]) -> list[str]:
    from bench.data.base import DATASETS, resolve_root  # deferred: pair sets load numpy, which `bench --help` does without

    adapter = DATASETS.get(dataset)
    available = adapter.categories(resolve_root(adapter, data_root))
    if not available:
        raise BenchError(f"no '{dataset}' categories found under {data_root}", "check --dataset and --data-root (see docs/datasets.md)")
    return list(chosen or ()) or available


@data.command("import")
@release_dataset
@options.data_root
@categories_option
def import_(dataset, data_root, categories):
    """Normalize a release into pair sets in the cache (once; later imports of unchanged data are instant)."""
    from bench.data.base import load_pool  # deferred: pair sets load numpy

    for category in _categories(dataset, data_root, categories):
        pool = load_pool(dataset, category, data_root, progress=True)
        click.echo(f"{category}: {len(pool)} pairs, classes {', '.join(pool.defect_classes.values())} -> {pool.root}")


@data.command()
@release_dataset
@options.data_root
@categories_option
@options.split
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
def check(dataset, data_root, categories, split, as_json):
    """Validate a release and report, per category, images per split part, classes and normals."""
    # deferred: the connected-component counts load OpenCV, pair sets numpy
    from bench.data.stats import category_report
    from bench.data.tasks import load_task

    reports = []
    for category in _categories(dataset, data_root, categories):
        task = load_task(TaskRef(dataset, category, split), data_root, progress=True)  # a crop view reports its crops
        reports.append(category_report(task.pool, task.split, category))
    if as_json:
        click.echo(dumps(reports))
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
