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
@options.image_size
def import_(dataset, data_root, categories, image_size):
    """Normalize a release into pair sets in the cache (once; later imports of unchanged data are instant)."""
    from bench.data.base import load_pool  # deferred: pair sets load numpy

    for category in _categories(dataset, data_root, categories):
        pool = load_pool(dataset, category, data_root, progress=True, image_size=image_size, one_size=True)
        size = f" at {image_size}" if image_size else ""
        click.echo(f"{category}: {len(pool)} pairs{size}, classes {', '.join(pool.defect_classes.values())} -> {pool.root}")


@data.command()
@release_dataset
@options.data_root
@categories_option
@options.split
@options.image_size
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
def check(dataset, data_root, categories, split, image_size, as_json):
    """Validate a release and report, per category, images per split part, classes and normals; for a layout
    file, what it matched (pairs, pictures without masks, masks without pictures, empty masks)."""
    # deferred: the connected-component counts load OpenCV, pair sets numpy
    from bench.data.stats import category_report
    from bench.data.tasks import load_task

    reports = []
    for category in _categories(dataset, data_root, categories):
        task = load_task(TaskRef(dataset, category, split, image_size), data_root, progress=True)  # a crop view reports its crops
        reports.append(category_report(task.pool, task.split, category, task.imported_meta))
    if as_json:
        click.echo(dumps(reports))
        return
    parts = [
        {"category": r["category"], "images": r["images"], "normals": r["normals"], **r["parts"], "split": r["split"],
         "size": r["image_size"] or "as released", "manifest": r["manifest_hash"][:12]}
        for r in reports
    ]
    classes = [{"category": r["category"], "class": name, **counts} for r in reports for name, counts in r["classes"].items()]
    click.echo(tabulate(parts, headers="keys", tablefmt="simple"))
    click.echo()
    click.echo(tabulate(classes, headers="keys", tablefmt="simple"))
    for r in reports:
        click.echo()
        click.echo(import_text(r))


def import_text(report: dict) -> str:
    """What the import met and did, in words: picture sizes and modes, and a layout file's matches."""
    sizes, modes = report["picture_sizes"], report["picture_modes"]
    common = sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = ", ".join(f"{size} x{n}" for size, n in common[:3]) + (", ..." if len(common) > 3 else "")
    lines = [f"{report['category']}: pictures of {len(sizes)} size{'s' if len(sizes) != 1 else ''} ({shown})"
             + (f", resized to {report['image_size']}" if report["image_size"] else ""),
             "  stored as " + ", ".join(f"{mode} x{n}" for mode, n in modes.items()) + f"; converted to RGB by {report['conversion']}"]
    if report["emptied_by_resize"]:
        lines.append(f"  defect pictures whose mask resizing emptied: {len(report['emptied_by_resize'])} (they count as normals)")
    layout = report.get("layout")
    if layout is None:
        return "\n".join(lines)
    per_class = layout.get("pairs_per_class")
    lines += [
        f"  layout {layout['file']} ({layout['mask']} masks" + (f", threshold {layout['threshold']}" if "threshold" in layout else "") + "):",
        f"    pictures: {layout['pictures']}; with a mask or annotation: {layout['pairs']}"
        + (" (" + ", ".join(f"{k} {v}" for k, v in per_class.items()) + ")" if per_class else ""),
        "    in normal folders: " + (", ".join(f"{k} {v}" for k, v in layout["normal_pictures"].items()) or "none"),
        f"    pictures without masks: {layout['without_mask']['count']} (unmatched: {layout['without_mask']['unmatched']})"
        + _examples(layout["without_mask"]),
        f"    masks without pictures: {layout['masks_without_pictures']['count']} (not read)" + _examples(layout["masks_without_pictures"]),
        f"    defect pictures whose mask is empty after {'thresholding' if layout['mask'] == 'binary' else 'reading'}: "
        f"{layout['empty_masks']} (they count as normals)",
    ]
    if layout.get("skipped_shapes"):
        lines.append("    shapes without area, skipped: " + ", ".join(f"{k} {v}" for k, v in layout["skipped_shapes"].items()))
    return "\n".join(lines)


def _examples(counted: dict) -> str:
    return f", e.g. {', '.join(counted['examples'])}" if counted["examples"] else ""


COMMANDS = [data]
