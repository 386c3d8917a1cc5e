"""Image quality of generated sets (DefectDiffu Table 1, DefectSynth Table II): FID / KID / IS against the
real test defects, LPIPS (the generated set's diversity, or its distance to the real test defects) and
IC-LPIPS around the real training defects, optionally inside the defect region only, where local weights
exist; the distances that need none (bench/metrics/pixel_stats.py: grey levels, defect grey levels, edges,
defect areas, each against the real test defects), memorization of the training pictures, and whether the
masks mark what the images show (bench/metrics/alignment.py): the defect contrast and the mask alignment,
each beside the same score of the real test defects. One ``bench.quality/1`` record per generator x
category x seed, skipped when done. The size ``paper`` generates the papers' 1,000 pictures per point,
``small`` 50.

This module is the protocol (its options, record kind, row and tables); ``measure`` generates and scores,
``tables`` holds its table form, ``utility`` the quality <-> utility table that reads its records beside
the synthetic-ratio runs.
"""

from __future__ import annotations

from bench.core.params import OneOf, Range
from bench.core.specs import GeneratorSpec
from bench.protocols.base import PROTOCOLS, SIZE, Form, Grid, Protocol
from bench.protocols.options import Option
from bench.records import record_kind

UNNAMED_LPIPS = "diversity"  # the LPIPS variant, and what a record from before the variants measured
QUALITY = record_kind("quality", 1, {"generator": dict, "dataset": str, "category": str, "split": str, "seed": int, "n_generated": int,
                                     "ic_lpips": str, "region": str})

OPTIONS = (
    SIZE,
    Option("n_generated", int, None, "Images generated per point.", admits=Range(1), unset="by --size: 1000 or 50"),
    Option("ic_lpips", str, "bench", "IC-LPIPS variant: bench, dfmgan, seas or anomalydiffusion."),
    Option("lpips", str, UNNAMED_LPIPS, "LPIPS variant: diversity (within the generated set, DefectDiffu's) or to-real (generated vs "
           "real test defects, DefectSynth's)."),
    Option("lpips_region", str, "image", "LPIPS on whole images or on the defect region only.", admits=OneOf("image", "defect")),
    Option("alignment", bool, True, "Measure mask alignment with the first segmenter, trained on the real training pairs."),
)


def quality_jobs(grid: Grid, tasks) -> list:
    from bench.protocols.quality.measure import quality_jobs as settle  # deferred: measuring loads torch and the quality networks

    return settle(grid, tasks)


SHOWN = ("FID", "KID_mean", "IS_mean", "LPIPS", "IC_LPIPS", "grey_W1", "defect_grey_W1", "edge_W1", "area_KS", "memorization")


def quality_row(record: dict) -> dict:
    """A record's point and metrics; a network's metrics it left out or kept apart read None, and ``weights`` says why."""
    spec = record["spec"]
    apart = sorted(f"{name} {check['status']}" for name, check in (record.get("networks") or {}).items() if check["status"] != "published")
    return {"generator": str(GeneratorSpec.from_dict(spec["generator"])), "category": spec["category"], "seed": spec["seed"],
            "n": spec["n_generated"], "lpips": spec.get("lpips", UNNAMED_LPIPS), **{k: record["metrics"].get(k) for k in SHOWN},
            "weights": ", ".join(apart) or "published"}


def quality_tables(reading) -> list:
    from bench.protocols.quality.tables import quality_tables as tables  # deferred: tables load pandas

    return tables(reading)


def utility_tables(reading) -> list:
    from bench.protocols.quality.utility import utility_tables as tables  # deferred: tables load pandas

    return tables(reading)


PROTOCOLS.register(Protocol(
    "quality", "FID, KID, IS, LPIPS (diversity or to real), IC-LPIPS where local weights exist; pixel-statistics distances, "
    "memorization, defect contrast and mask alignment of each generator's pairs",
    options=OPTIONS, kind=QUALITY, jobs=quality_jobs, row=quality_row,
    tables=(Form("quality", quality_tables, place=90), Form("quality_utility", utility_tables, place=95)),
))
