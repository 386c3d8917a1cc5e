"""Run records as a frame, one row per run, and the keys that decide which runs may be averaged.

Runs are averaged over seeds only when everything else about them is equal: the whole spec minus the
seed, the data (split manifest) and the generator's version. ``GROUP`` is that key, and every table
groups by it (or by a coarser key only to aggregate comparisons that were each made within it).
"""

from __future__ import annotations

import logging
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from bench.core.specs import BASE_VERSION
from bench.metrics.benign import BenignRules, benign_from_areas
from bench.records import RunRecord
from bench.report.format import number

log = logging.getLogger("bench.report")

# The task a setting is compared within: a baseline must match it in every one of these.
TASK = ["dataset", "category", "split", "image_size", "labels", "segmenter", "schedule", "device", "pretrained", "data"]
# What a protocol varies: the training data a run adds to the real pairs.
SETTING = ["generator", "ratio", "fill_to", "normal_ratio", "synthetic_only", "source", "class_map"]
# How the segmenter trains on that data: compared with the same shared baseline, never averaged across.
TRAINING = ["batches"]
NOTHING_ADDED = "-"  # the batch mode of a run that adds no pairs: both modes draw its batches alike
GROUP = TASK + SETTING + TRAINING
# Metrics in the order tables show them; any other numeric metric a record has follows, by name.
METRIC_ORDER = ["mIoU", "mIoU_defect", "mDice", "mAcc", "aAcc", "pixel_AUROC", "pixel_AP", "pixel_F1max", "pixel_F1",
                "pixel_AUPRO", "image_AUROC", "image_AP", "image_F1max", "image_F1", "binary.mIoU", "binary.mIoU_defect"]
BENIGN = ["benign_recall", "benign_frr", "n_defective", "caught", "n_benign", "false_rejects"]
UNRECORDED = "unrecorded"  # the request of a record from before requests were recorded
DIRECT = "bench run"


def generator_label(name: str, params: dict, version: str = BASE_VERSION, deviations: Sequence[str] = ()) -> str:
    """``name(k=v,...)`` plus ``@version`` past the first: distinct generators never share a label; the run's
    departures from the method's published readings (``Generator.deviations``) follow in brackets."""
    label = name + ("(" + ",".join(f"{k}={v}" for k, v in sorted(params.items())) + ")" if params else "")
    label = label if version == BASE_VERSION else f"{label}@{version}"
    return label + (" [" + "; ".join(deviations) + "]" if deviations else "")


FITTED_ONCE = "fitted once"


def fitting(generator_seed: int | None) -> tuple[str, ...]:
    """A generator fitted once per task (``RunSpec.generator_seed``) is a different setting from one fitted per
    seed, and its label says so."""
    return () if generator_seed is None else (f"{FITTED_ONCE}, seed {generator_seed}",)


def refitted(group: pd.DataFrame) -> str:
    """A note when runs labelled as sharing one fitting carry the digests of several (a cell whose generator
    was fitted again, on another machine or after its cache was lost): empty otherwise."""
    states = set(group["fitted_state"]) - {""} if "fitted_state" in group else set()
    if len(states) < 2 or not group["generator"].str.contains(FITTED_ONCE, regex=False).any():
        return ""
    return f"{FITTED_ONCE} but its seeds come from {len(states)} fittings"


def mask_note(masks: dict | None) -> str:
    """The degenerate masks of a run's generated set in words (``generator.masks``), empty where it has none."""
    if not masks:
        return ""
    kinds = [(masks["whole"], "whole-picture"), (masks["large"], f"over {100 * masks['share']:g}%"), (masks["empty"], "empty")]
    found = [f"{n} {kind}" for n, kind in kinds if n]
    return f"{', '.join(found)} of {masks['pairs']} masks" if found else ""


def requested_by(record: RunRecord) -> str:
    if record.request.protocol:
        return record.request.protocol
    return DIRECT if record.request.source == DIRECT else UNRECORDED


def _benign(record: RunRecord, rules: BenignRules | None) -> dict:
    areas = record.class_areas
    if rules is None or not areas or record.spec.labels != "classes":  # the rules name defect classes
        return {k: np.nan for k in BENIGN}
    classes = {int(k): v for k, v in record.data["classes"].items()}
    out = benign_from_areas(areas["gt"], areas["pred"], classes, record.spec.category, rules, record.spec.dataset)
    return {
        "benign_recall": out["recall"],
        "benign_frr": out["false_reject_rate"],
        **{k: out[k] for k in ("n_defective", "caught", "n_benign", "false_rejects")},
    }


def metric_names(records: Sequence[RunRecord]) -> list[str]:
    found = {name for r in records for name in r.scalar_metrics()}
    return [m for m in METRIC_ORDER if m in found] + sorted(found - set(METRIC_ORDER))


def records_frame(records: Iterable[RunRecord], rules: BenignRules | None = None) -> pd.DataFrame:
    """One row per run: the group key, seed, run id, who asked for it, degenerate flag, every numeric
    metric and (with rules) the benign decisions. Two runs of one group and seed (records of an older
    identity, say) keep the newest, with a warning."""
    records = list(records)
    metrics = metric_names(records)
    rows = []
    for r in records:
        spec = r.spec
        rows.append({
            "dataset": spec.dataset, "category": spec.category, "split": spec.split, "image_size": spec.image_size, "labels": spec.labels,
            "segmenter": spec.segmenter,
            "schedule": spec.schedule, "device": spec.device, "pretrained": spec.pretrained,
            "data": str(r.data.get("manifest_hash", ""))[:8],
            "generator": generator_label(spec.generator.name, dict(spec.generator.params), r.generator.version,
                                         fitting(spec.generator_seed) + tuple((r.generator.resolved or {}).get("deviations", ()))),
            "ratio": float(spec.ratio), "fill_to": int(spec.fill_to), "normal_ratio": float(spec.normal_ratio),
            "synthetic_only": bool(spec.synthetic_only), "source": spec.source, "class_map": spec.class_map,
            "batches": spec.batches if spec.pairs_batches else NOTHING_ADDED,
            "seed": int(spec.seed), "run_id": r.run_id, "created": r.created, "requested_by": requested_by(r),
            "normal_effective": effective_normal_ratio(r), "fitted_state": r.generator.fitted_state or "",
            "generator_name": spec.generator.name,
            "masks": mask_note(r.generator.masks),
            "degenerate": r.degenerate or "",
            "image_score": str(r.metric_variants.get("image_score", "")),
            **{m: r.scalar_metrics().get(m, np.nan) for m in metrics},
            **_benign(r, rules),
        })
    columns = [*GROUP, "seed", "run_id", "created", "requested_by", "normal_effective", "fitted_state", "generator_name", "masks",
               "degenerate", "image_score", *metrics, *BENIGN]
    frame = pd.DataFrame(rows, columns=columns).astype({m: float for m in [*metrics, "benign_recall", "benign_frr"]})
    frame = frame.sort_values([*GROUP, "seed", "created", "run_id"], kind="stable")
    repeated = frame.duplicated([*GROUP, "seed"], keep="last")
    for _, row in frame[repeated].iterrows():
        log.warning("run %s repeats the setting and seed %d of a newer run; the newer one is used", row["run_id"], row["seed"])
    return frame[~repeated].reset_index(drop=True)


def effective_normal_ratio(record: RunRecord) -> float:
    """The normals a run added per real training pair: below the asked ratio when the split had fewer
    normals than ratio x |train| (``data.n_normal_added``); the asked ratio where the record does not say."""
    added, real = record.data.get("n_normal_added"), record.data.get("n_train_real")
    if added is None or not real:
        return float(record.spec.normal_ratio)
    return added / real


def metrics_of(frame: pd.DataFrame) -> list[str]:
    """The metric columns of a records frame."""
    start = list(frame.columns).index("degenerate") + 1
    return [c for c in frame.columns[start:] if c not in BENIGN]


def is_baseline(frame: pd.DataFrame) -> pd.Series:
    return ((frame["generator"] == "none") & (frame["ratio"] == 0) & (frame["fill_to"] == 0) & (frame["normal_ratio"] == 0)
            & ~frame["synthetic_only"].astype(bool) & (frame["source"] == ""))


def setting_label(row) -> str:
    """What a setting adds to the real pairs, in words; every distinct setting reads differently."""
    parts = []
    if row["source"]:
        mapped = f", {row['class_map']}" if row["class_map"] else ""
        normals = f" + {number(row['normal_ratio'])}x target normals" if row["normal_ratio"] else ""
        return f"{row['generator']} x{number(row['ratio'])} from {row['source']}{mapped}{normals}"
    if row["synthetic_only"]:
        how = f"fill to {int(row['fill_to'])}" if row["fill_to"] else f"x{number(row['ratio'])}"
        return f"{row['generator']} {how} only"
    if row["fill_to"]:
        parts.append(f"{row['generator']} fill to {int(row['fill_to'])}")
    elif row["ratio"]:
        parts.append(f"{row['generator']} x{number(row['ratio'])}")
    elif row["generator"] != "none":
        parts.append(f"{row['generator']} (no pairs)")
    if row["normal_ratio"]:
        parts.append(f"{number(row['normal_ratio'])}x normals")
    return "real + " + " + ".join(parts) if parts else "real only"


def needed_columns(frame: pd.DataFrame, shown: Sequence[str], candidates: Sequence[str] = GROUP) -> list[str]:
    """Key columns a table adds to the ``shown`` ones: every one that varies among its runs, so no two rows
    look alike and no condition hides, except the data hash where the shown columns already tell it
    (each category has its own manifest)."""
    rest = [c for c in candidates if c not in shown]
    if frame.empty or not rest:
        return []
    out = []
    for c in rest:
        if c == "data" and shown:
            if (frame.groupby(list(shown), dropna=False, sort=False)[c].nunique(dropna=False) > 1).any():
                out.append(c)
        elif frame[c].nunique(dropna=False) > 1:
            out.append(c)
    return out


def constants(frame: pd.DataFrame, columns: Sequence[str] = ("dataset", "split", "schedule", "device", "pretrained")) -> str:
    """The key values every row of a table shares, for its caption."""
    parts = []
    for column in columns:
        values = sorted({str(v) for v in frame[column]}) if column in frame else []
        if len(values) == 1:
            value = {"True": "yes", "False": "no"}.get(values[0], values[0]) if column == "pretrained" else values[0]
            parts.append(f"{column}: {value}")
    return "; ".join(parts)
