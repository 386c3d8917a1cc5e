"""The quality protocol's table: DefectDiffu Table 1 / DefectSynth Table II form, with the weight-free
distances beside it where the records hold them.

A metric of a network whose weights a record lacked (left out) or whose file is not the published one (kept
apart under ``unverified_metrics``) is never read: its cell says "left out" and the caption says why."""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from bench.core.hashing import canonical_json
from bench.core.specs import BASE_VERSION
from bench.protocols.quality import UNNAMED_LPIPS
from bench.report.format import plain_mean_std, seeds_text
from bench.report.frames import generator_label, needed_columns
from bench.report.tables import Reading, Table, category_mean, per_row

QUALITY_METRICS = ("FID", "KID_mean", "IS_mean", "LPIPS", "IC_LPIPS")  # need feature-network weights
# Need none (bench/metrics/pixel_stats.py, generators/sanity.py, generators/contrast.py, bench/alignment.py).
WEIGHT_FREE = ("grey_W1", "defect_grey_W1", "edge_W1", "area_KS", "memorization", "contrast_gap", "alignment_IoU")
QUALITY_KEY = ["generator", "dataset", "category", "split", "image_size", "n_generated", "lpips", "ic_lpips", "region"]
LEFT_OUT = "left out"


def _hidden(record: dict) -> dict[str, str]:
    """The metrics of a record that measured nothing worth showing, each with its network's status."""
    networks = (record.get("networks") or {}).values()
    return {m: check["status"] for check in networks if check["status"] != "published" for m in check["metrics"]}


def _measured(records: Iterable[dict]) -> list[dict]:
    """One record per point and seed: a point measured again once its weights were there replaces the one that
    left them out (otherwise the newest)."""
    best: dict[str, dict] = {}
    for r in records:
        spec = r["spec"]
        key = canonical_json({**{k: v for k, v in spec.items() if k != "left_out"}, "version": (r.get("generator") or {}).get("version")})
        rank = (-len(spec.get("left_out") or ()), r.get("created", ""))
        if key not in best or rank >= (-len(best[key]["spec"].get("left_out") or ()), best[key].get("created", "")):
            best[key] = r
    return list(best.values())


def quality_frame(records: Iterable[dict]) -> pd.DataFrame:
    """One row per point and seed: its key, the metrics (NaN where not measured), ``hidden``, the metrics its
    networks' weights kept out (name -> missing or unverified), and ``checked``, whether it checked them at all
    (records from before the check did not)."""
    rows = []
    for r in _measured(records):
        spec, m = r["spec"], r["metrics"]
        generator, backend = spec["generator"], r.get("generator") or {}
        rows.append({"generator": generator_label(generator["name"], generator.get("params") or {}, backend.get("version", BASE_VERSION),
                                                  (backend.get("resolved") or {}).get("deviations", ())),
                     **{k: spec[k] for k in QUALITY_KEY if k not in ("generator", "lpips", "image_size")},
                     "lpips": spec.get("lpips", UNNAMED_LPIPS), "image_size": spec.get("image_size", ""), "seed": spec["seed"],
                     "requested_by": "quality", "degenerate": "", "hidden": _hidden(r), "checked": "networks" in r,
                     **{k: np.nan if m.get(k) is None else float(m[k]) for k in (*QUALITY_METRICS, *WEIGHT_FREE)}})
    return pd.DataFrame(rows, columns=[*QUALITY_KEY, "seed", "requested_by", "degenerate", "hidden", "checked", *QUALITY_METRICS,
                                       *WEIGHT_FREE])


def _cell(group: pd.DataFrame, metric: str) -> str:
    if group[metric].isna().all() and all(metric in h for h in group["hidden"]):
        return LEFT_OUT
    return plain_mean_std(group[metric].mean(), group[metric].std())


def hidden_text(frame: pd.DataFrame) -> str:
    """Which metrics how many records left out, and why."""
    counts: dict[tuple[str, str], int] = {}
    for hidden in frame["hidden"]:
        for status in set(hidden.values()):
            names = ", ".join(m for m, s in hidden.items() if s == status)
            counts[(names, status)] = counts.get((names, status), 0) + 1
    why = {"missing": "their network's weights were missing", "unverified": "their network's weights file is not the published one "
           "(its SHA-256 does not begin with the digest its name carries: a random initialisation, say), so they measured nothing known"}
    return " ".join(f"{LEFT_OUT.capitalize()} in {n} of {len(frame)} records: {names} ({why[status]})."
                    for (names, status), n in sorted(counts.items()))


def quality_tables(reading: Reading) -> list[Table]:
    """From ``bench.quality/1`` records: one row per quality setting (everything but the seed), then the mean
    over categories."""
    records = reading.records
    if not records:
        return []
    frame = quality_frame(records)
    shown = [*QUALITY_METRICS, *(m for m in WEIGHT_FREE if frame[m].notna().any())]
    extras = needed_columns(frame, ["generator", "category"], QUALITY_KEY)
    index = ["generator", "category", *extras]
    rows = []
    for key, group in frame.groupby(QUALITY_KEY, sort=True, dropna=False):
        row = dict(zip(QUALITY_KEY, key))
        rows.append([*(row[c] for c in index), *(_cell(group, m) for m in shown)])
    rest = [c for c in QUALITY_KEY if c != "category"]
    for key, group in frame.groupby(rest, sort=True, dropna=False):
        if group["category"].nunique() < 2:
            continue
        row = {**dict(zip(rest, key)), "category": f"mean ({group['category'].nunique()} categories)"}
        cells = []
        for m in shown:
            mean, std, _ = category_mean(group.assign(data=""), m)
            cells.append(LEFT_OUT if np.isnan(mean) and all(m in h for h in group["hidden"]) else plain_mean_std(mean, std))
        rows.append([*(row[c] for c in index), *cells])
    out = pd.DataFrame(rows, columns=[*index, *shown])
    variants = ", ".join(sorted({r["variants"]["ic_lpips"] for r in records}))
    shared = "; ".join(f"{c}: {frame[c].iloc[0]}" for c in ("dataset", "split", "n_generated", "lpips", "ic_lpips", "region")
                       if frame[c].nunique() == 1)
    sizes = ", ".join(sorted({r["variants"]["n_generated"] for r in records if "n_generated" in r["variants"]}))
    lpips = ", ".join(sorted({r["variants"].get("lpips_variant", UNNAMED_LPIPS) for r in records}))
    counts = frame.groupby(QUALITY_KEY, dropna=False)["seed"].nunique()
    free = [m for m in shown if m in WEIGHT_FREE]
    text = (f"Image quality (DefectDiffu Table 1 / DefectSynth Table II form). Protocol: quality; {shared}; seeds: "
            f"{seeds_text(frame['seed'])} ({per_row(counts)} per row); IC-LPIPS variant: {variants}; LPIPS: {lpips} "
            "(diversity: within the generated set, DefectDiffu's; to-real: generated vs real test defects, DefectSynth's); "
            + (f"generated per point: {sizes}; " if sizes else "")
            + (f"without weights: {', '.join(free)} (grey, defect grey and edge W1 and area KS: distances of the generated pairs to "
               "the real test defects, lower is nearer; memorization: share of generated pictures that near-duplicate a training "
               "picture; contrast gap: distance of the median defect contrast to the real test defects'; alignment IoU: docs/metrics.md); "
               if free else "")
            + "mean ± std over seeds; mean rows: mean over categories of the category means."
            + (" " + hidden_text(frame) if any(frame["hidden"]) else ""))
    return [Table("quality", "Image quality", text, out)]
