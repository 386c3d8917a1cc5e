"""``bench metrics``: the benchmark's metrics on users' own predictions."""

from __future__ import annotations

from pathlib import Path

import click

from bench.cli import options
from bench.cli.output import tabulate
from bench.core.device import resolve_device
from bench.core.errors import BenchError
from bench.core.jsonfile import dumps
from bench.core.specs import TaskRef
from bench.report.format import percent
from bench.spec import DEFAULT_SCHEDULE
from segmenters import SCHEDULES

LOW_REFERENCE_IOU = 0.1  # `align`: below this the measuring segmenter has not learned the real defects


@click.group()
def metrics():
    """Score your own predictions with the benchmark's metrics."""


@metrics.command("seg")
@click.option("--pred", "pred_dir", required=True, help="Folder of <id>.png class masks or <id>.npy labels / C x H x W probabilities.")
@click.option("--gt", "gt_dir", required=True, help="A pair set or a folder of <id>.png class-index masks.")
@click.option("--num-classes", type=int, default=None, help="Classes incl. background, when --gt is not a pair set.")
@click.option("--image-score", default=None, help="Image score behind image_* (docs/metrics.md; every one is under image_by_score) [default: max].")
@click.option("--f1-threshold", type=float, default=None, help="Score at or above which pixel_F1/image_F1 count a defect [default: 0.5].")
@click.option("--aupro-fpr-limit", type=float, default=None, help="FPR up to which pixel_AUPRO integrates [default: 0.3].")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def seg(pred_dir, gt_dir, num_classes, image_score, f1_threshold, aupro_fpr_limit, as_json):
    """mIoU (all classes, defect classes, defect vs background), per-class IoU, pixel AUROC / AP / F1-max /
    F1 / AUPRO and image AUROC / AP / F1-max / F1 under each image score."""
    # deferred: AUPRO's connected components load OpenCV and the predictions numpy, which `bench --help` does without
    from bench.metrics.evaluate import MetricSettings, accumulate_confusion, detection_metrics, metric_variants, segmentation_metrics
    from bench.metrics.files import load_predictions

    given = dict(image_score=image_score, f1_threshold=f1_threshold, aupro_fpr_limit=aupro_fpr_limit)
    settings = MetricSettings(**{k: v for k, v in given.items() if v is not None}).validated()
    p = load_predictions(Path(pred_dir), Path(gt_dir), num_classes)
    try:
        cm = accumulate_confusion(p.gt, p.labels, max(p.classes) + 1)
    except ValueError as exc:
        raise BenchError(f"predictions in {pred_dir}: {exc}", "pass --num-classes or fix the class ids") from None
    summary = {**segmentation_metrics(cm, p.classes), **detection_metrics(p.gt, p.defect_prob, settings)}
    if as_json:
        click.echo(dumps({"n_images": len(p.ids), "metrics": summary, "metric_variants": metric_variants(settings)}))
        return
    nested = ("per_class", "binary", "image_by_score")
    rows = [[k, percent(v)] for k, v in summary.items() if k not in nested]
    rows += [[f"IoU {name}", percent(v["IoU"])] for name, v in summary["per_class"].items()]
    rows += [[f"binary {k}", percent(v)] for k, v in summary["binary"].items() if k != "per_class"]
    rows += [[f"image_{k} [{name}]", percent(v)] for name, block in summary["image_by_score"].items()
             if name != settings.image_score for k, v in block.items()]
    click.echo(tabulate(rows, headers=["metric", "value (%)"], tablefmt="simple", disable_numparse=True))
    click.echo(f"{len(p.ids)} images; image score {settings.image_score}, F1 at score >= {settings.f1_threshold:g}, "
               f"AUPRO up to FPR {settings.aupro_fpr_limit:g}")


@metrics.command("benign")
@click.option("--rules", default="defect-spectrum", show_default=True, help="A shipped rule set or a YAML file.")
@click.option("--pred", "pred_dir", required=True, help="Predictions; with product subfolders when --gt has them.")
@click.option("--gt", "gt_dir", required=True, help="A pair set / mask folder, or one such subfolder per product.")
@click.option("--product", default=None, help="Product of a flat --gt folder [default: the folder's name].")
@click.option("--dataset", default=None, help="Dataset whose class names the masks use (picks DATASET/PRODUCT rules) [default: any].")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def benign(rules, pred_dir, gt_dir, product, dataset, as_json):
    """Accept/reject each image by the product's benign rule: recall of defective products, false-reject rate."""
    # deferred: the rules and predictions load numpy
    from bench.metrics.benign import benign_decisions, load_rules, pooled_summary
    from bench.metrics.files import load_predictions

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
        results.append(benign_decisions(p.gt, p.labels, p.classes, name, rule_set, dataset))
    overall = {"product": "overall", "rules": rule_set.name, **pooled_summary(results)}
    rows = results + ([overall] if len(results) > 1 else [])
    if as_json:
        click.echo(dumps(rows))
        return
    click.echo(tabulate(
        [[r["product"], r["n_defective"], r["n_benign"], percent(r["recall"]), percent(r["false_reject_rate"])] for r in rows],
        headers=["product", "defective", "benign", "recall (%)", "false-reject rate (%)"], tablefmt="simple", disable_numparse=True))
    click.echo(f"rules: {rule_set.name}")


@metrics.command("align")
@click.option("--pairs", "pairs_dir", required=True, help="The generated pair set to check (e.g. written by `bench generate --out`).")
@options.task
@click.option("--segmenter", default="segformer", show_default=True, help="The segmenter that measures alignment.")
@click.option("--schedule", default=DEFAULT_SCHEDULE, show_default=True, help="Its training schedule.")
@options.seed
@options.device
@click.option("--pretrained/--from-scratch", default=False, show_default=True, help="Start from local ImageNet weights.")
@options.as_json
def align(pairs_dir, dataset, data_root, category, split, image_size, segmenter, schedule, seed, device, pretrained, as_json):
    """Do the masks mark what the images show? Mask alignment (a segmenter trained on the task's real
    training pairs predicts the pairs; IoU with their masks, beside the same on the real test defects)
    and defect contrast, as part of the pair set's sanity report."""
    # deferred: the measuring segmenter and the runner load torch, the sanity report OpenCV, pair sets numpy
    from bench.alignment import AlignmentSetup, mask_alignment
    from bench.core.pairset import PairSet
    from bench.data.tasks import load_task
    from generators.sanity import sanity_report

    setup = AlignmentSetup(segmenter, SCHEDULES.get(schedule), seed, resolve_device(device).type, pretrained)
    setup.check()
    generated = PairSet.open(Path(pairs_dir))
    task = load_task(TaskRef(dataset, category, split, image_size), data_root, progress=not as_json)
    report = {**sanity_report(generated, task.train, progress=not as_json),
              "alignment": mask_alignment(generated, task.train, setup, task.pool.subset(task.split.test), progress=not as_json)}
    if as_json:
        click.echo(dumps(report))
        return
    alignment, contrast = report["alignment"], report["contrast"]
    names = list(alignment["generated"]["per_class"])
    rows = [["IoU % defect (classes merged)", percent(alignment["generated"]["IoU_defect"]), percent(alignment["reference"]["IoU_defect"])]]
    rows += [[f"IoU % {n}", percent(alignment["generated"]["per_class"][n]), percent(alignment["reference"]["per_class"][n])] for n in names]
    rows += [["contrast (median)", _num(contrast["generated"]["median"]), _num(contrast["train"]["median"])]]
    rows += [[f"contrast {n}", _num(contrast["generated"]["per_class"][n]["median"]), _num(contrast["train"]["per_class"][n]["median"])]
             for n in names]
    click.echo(tabulate(rows, headers=["", "generated", "real"], tablefmt="simple", disable_numparse=True))
    click.echo(f"generated: {pairs_dir}; real: IoU on the task's test defects, contrast of its training pairs")
    low = alignment["generated"]
    listed = ", ".join(low["low_iou_ids"]) + (", ..." if low["low_iou_pairs"] > len(low["low_iou_ids"]) else "")
    click.echo(f"{low['low_iou_pairs']} of {low['pairs']} pairs with IoU < {low['low_iou_threshold']}" + (f" ({listed})" if listed else ""))
    click.echo(f"measured by {segmenter} ({schedule} schedule, seed {seed}) trained on {dataset}/{category}/{split} real training pairs")
    real = alignment["reference"]["IoU_defect"]
    if real is None or real < LOW_REFERENCE_IOU:
        click.echo(f"note: the measuring segmenter finds the real test defects at IoU {percent(real)}%: the alignment says little; "
                   "train it longer (--schedule) or choose another --segmenter", err=True)


def _num(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"


COMMANDS = [metrics]
