from __future__ import annotations

from pathlib import Path

import click

from bench.errors import BenchError


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
    from bench.data import toy as toy_data
    from bench.pairset import write_pairset

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


COMMANDS = [data]
