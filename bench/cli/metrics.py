"""``bench metrics``: the benchmark's metrics on users' own predictions."""

from __future__ import annotations

import json
from pathlib import Path

import click
from tabulate import tabulate

from bench.core.errors import BenchError
from bench.core.jsonfile import json_safe
from bench.metrics.benign import benign_decisions, load_rules, pooled_summary
from bench.metrics.evaluate import METRIC_VARIANTS
from bench.metrics.files import load_predictions
from bench.metrics.scores import pixel_and_image_scores
from bench.metrics.segmentation import confusion_matrix, segmentation_summary


@click.group()
def metrics():
    """Score your own predictions with the benchmark's metrics."""


@metrics.command("seg")
@click.option("--pred", "pred_dir", required=True, help="Folder of <id>.png class masks or <id>.npy labels / C x H x W probabilities.")
@click.option("--gt", "gt_dir", required=True, help="A pair set or a folder of <id>.png class-index masks.")
@click.option("--num-classes", type=int, default=None, help="Classes incl. background, when --gt is not a pair set.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def seg(pred_dir, gt_dir, num_classes, as_json):
    """mIoU (all classes and defect classes), per-class IoU, pixel and image AUROC / AP / F1-max."""
    p = load_predictions(Path(pred_dir), Path(gt_dir), num_classes)
    n = max(p.classes) + 1
    try:
        cm = sum(confusion_matrix(g, lab, n) for g, lab in zip(p.gt, p.labels))
    except ValueError as exc:
        raise BenchError(f"predictions in {pred_dir}: {exc}", "pass --num-classes or fix the class ids") from None
    summary = {**segmentation_summary(cm, p.classes), **pixel_and_image_scores(p.gt, p.defect_prob)}
    if as_json:
        click.echo(json.dumps({"n_images": len(p.ids), "metrics": json_safe(summary), "metric_variants": METRIC_VARIANTS}, indent=2))
        return
    rows = [[k, _pct(v)] for k, v in summary.items() if k != "per_class"]
    rows += [[f"IoU {name}", _pct(v["IoU"])] for name, v in summary["per_class"].items()]
    click.echo(tabulate(rows, headers=["metric", "value (%)"], tablefmt="simple", disable_numparse=True))
    click.echo(f"{len(p.ids)} images")


@metrics.command("benign")
@click.option("--rules", default="defect-spectrum", show_default=True, help="A shipped rule set or a YAML file.")
@click.option("--pred", "pred_dir", required=True, help="Predictions; with product subfolders when --gt has them.")
@click.option("--gt", "gt_dir", required=True, help="A pair set / mask folder, or one such subfolder per product.")
@click.option("--product", default=None, help="Product of a flat --gt folder [default: the folder's name].")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def benign(rules, pred_dir, gt_dir, product, as_json):
    """Accept/reject each image by the product's benign rule: recall of defective products, false-reject rate."""
    rule_set = load_rules(rules)
    gt_root, pred_root = Path(gt_dir), Path(pred_dir)
    if not gt_root.is_dir():
        raise BenchError(f"ground-truth folder {gt_root} does not exist", "pass --gt a pair set, a mask folder or product subfolders")
    subdirs = sorted(d for d in gt_root.iterdir() if d.is_dir() and d.name not in ("masks", "images"))
    if product or (gt_root / "meta.json").is_file() or any(gt_root.glob("*.png")) or not subdirs:
        jobs = [(product or gt_root.name, pred_root, gt_root)]
    else:
        jobs = [(d.name, pred_root / d.name, d) for d in subdirs]
    results = []
    for name, pred, gt in jobs:
        p = load_predictions(pred, gt)
        results.append(benign_decisions(p.gt, p.labels, p.classes, name, rule_set))
    overall = {"product": "overall", "rules": rule_set.name, **pooled_summary(results)}
    rows = results + ([overall] if len(results) > 1 else [])
    if as_json:
        click.echo(json.dumps(json_safe(rows), indent=2))
        return
    click.echo(tabulate(
        [[r["product"], r["n_defective"], r["n_benign"], _pct(r["recall"]), _pct(r["false_reject_rate"])] for r in rows],
        headers=["product", "defective", "benign", "recall (%)", "false-reject rate (%)"], tablefmt="simple", disable_numparse=True))
    click.echo(f"rules: {rule_set.name}")


def _pct(value) -> str:
    return "n/a" if value is None or value != value else f"{100 * value:.2f}"


COMMANDS = [metrics]
