"""Annotation quality (the Defect Spectrum project page's simulation, "Original 85.33 / 49.60 vs Defect
Spectrum 96.07 / 16.50"): the same MVTec AD images, one segmenter trained with the release's original masks
(``mvtec-ad``) and one with the Defect Spectrum re-annotation (``ds-mvtec``), same seed, same schedule; each
accepts or rejects every test image by the benign-product rules, scored by the recall of defective products
and the false-reject rate of benign ones.

The two releases' images are matched by decoded pixels (``bench.data.matching``); the split is the
preset's split of the DS-MVTec pool, less the images the original release lacks, so both segmenters train
and are tested on exactly the same pictures. Unmatched images are counted in the record and the table.

Which masks say whether a product truly is benign (the page does not say) is a reading of the report, not
of the run: each record keeps both masks' class areas per test image and both segmenters' predicted
areas, so ``refined`` (the default: every decision judged against the DS-MVTec masks, the finer of the two,
so only the training masks differ between the arms) and ``own`` (each arm against its own release's masks)
are both computed from the same records, and any rules file can be applied later.

This module is the protocol; ``measure`` matches the releases and trains the arms, ``tables`` holds its table.
"""

from __future__ import annotations

from bench.core.errors import BenchError
from bench.protocols.base import PROTOCOLS, Form, Grid, Protocol
from bench.protocols.options import Option
from bench.records import RecordError, record_kind

ORIGINAL = "mvtec-ad"  # the release's own masks: binary, one defect type per folder
REFINED = "ds-mvtec"  # the Defect Spectrum re-annotation of the same images: per-pixel classes
ARMS = (ORIGINAL, REFINED)


def check_arms(record: dict) -> None:
    """Two trained arms, the reference among them, each with its class areas of the same test images."""
    arms, reference = record.get("arms"), (record.get("data") or {}).get("reference")
    if not isinstance(arms, dict) or len(arms) != 2 or reference not in arms:
        raise RecordError("'arms' (two trained arms) with the 'data.reference' arm among them is required")
    for name, arm in arms.items():
        areas = arm.get("class_areas") if isinstance(arm, dict) else None
        if not isinstance(areas, dict) or not isinstance(arm.get("classes"), dict) or any(
                not isinstance(areas.get(k), list) for k in ("ids", "gt", "pred")):
            raise RecordError(f"arm '{name}' lacks 'classes' or 'class_areas' with ids, gt and pred")
    lengths = {len(arm["class_areas"][k]) for arm in arms.values() for k in ("ids", "gt", "pred")}
    if len(lengths) != 1:
        raise RecordError("the arms' class areas must cover the same test images, one entry per image")


ANNOTATIONS = record_kind("annotations", 1, {"segmenter": str, "category": str, "split": str, "seed": int, "schedule": str}, check_arms)


def check_grid(grid: Grid) -> None:
    """The two releases of one size per category, the DS-MVTec one under the grid's data root."""
    if grid.image_size:
        raise BenchError(f"protocol annotations compares {REFINED} with {ORIGINAL} at their own picture size, not {grid.image_size}",
                         "remove image_size (both releases have one size per category)")
    if grid.dataset != REFINED:
        raise BenchError(f"protocol annotations compares {REFINED} with {ORIGINAL}, not dataset {grid.dataset!r}",
                         f"leave --dataset out: --data-root is the {REFINED} release, --original-root the {ORIGINAL} one")


def annotation_jobs(grid: Grid, tasks) -> list:
    from bench.protocols.annotations.measure import annotation_jobs as settle  # deferred: the jobs record provenance, which loads torch

    return settle(grid, tasks)


ORIGINAL_ROOT = Option("original_root", str, None, "The MVTec AD release DS-MVTec re-annotates.", unset="--data-root")


def annotations_row(record: dict) -> dict:
    """What the command prints per record: each arm's recall and false-reject rate, judged by the DS-MVTec masks."""
    # deferred: tables load pandas, the rules numpy
    from bench.metrics.benign import load_rules
    from bench.protocols.annotations.tables import decisions

    spec, rules = record["spec"], load_rules(record["variants"]["rules"])
    row = {"segmenter": spec["segmenter"], "category": spec["category"], "seed": spec["seed"]}
    for arm in ARMS:
        summary = decisions(record, arm, "refined", rules)
        row[f"recall {arm}"], row[f"FPR {arm}"] = summary["recall"], summary["false_reject_rate"]
    return row


def annotations_tables(reading) -> list:
    from bench.protocols.annotations.tables import annotations_tables as tables  # deferred: tables load pandas

    return tables(reading)


PROTOCOLS.register(Protocol(
    "annotations",
    "the same MVTec AD images trained with the original masks vs the Defect Spectrum masks: benign recall and false-reject rate",
    options=(ORIGINAL_ROOT,), kind=ANNOTATIONS, jobs=annotation_jobs, row=annotations_row, check=check_grid,
    defaults={"dataset": REFINED, "categories": ("zipper", "pill", "wood")},
    tables=(Form("annotations", annotations_tables, place=120),),
))
