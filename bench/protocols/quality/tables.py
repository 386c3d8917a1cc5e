"""The quality protocol's table: DefectDiffu Table 1 / DefectSynth Table II form."""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from bench.core.specs import BASE_VERSION
from bench.protocols.quality import UNNAMED_LPIPS
from bench.report.format import plain_mean_std, seeds_text
from bench.report.frames import generator_label, needed_columns
from bench.report.tables import Reading, Table, category_mean, per_row

QUALITY_METRICS = ("FID", "KID_mean", "IS_mean", "LPIPS", "IC_LPIPS")
QUALITY_KEY = ["generator", "dataset", "category", "split", "n_generated", "lpips", "ic_lpips", "region"]


def quality_frame(records: Iterable[dict]) -> pd.DataFrame:
    rows = []
    for r in records:
        spec, m = r["spec"], r["metrics"]
        generator, backend = spec["generator"], r.get("generator") or {}
        rows.append({"generator": generator_label(generator["name"], generator.get("params") or {}, backend.get("version", BASE_VERSION),
                                                  (backend.get("resolved") or {}).get("deviations", ())),
                     **{k: spec[k] for k in QUALITY_KEY if k not in ("generator", "lpips")},
                     "lpips": spec.get("lpips", UNNAMED_LPIPS), "seed": spec["seed"],
                     "requested_by": "quality", "degenerate": "",
                     **{k: np.nan if m.get(k) is None else float(m[k]) for k in QUALITY_METRICS}})
    return pd.DataFrame(rows, columns=[*QUALITY_KEY, "seed", "requested_by", "degenerate", *QUALITY_METRICS])


def quality_tables(reading: Reading) -> list[Table]:
    """From ``bench.quality/1`` records: one row per quality setting (everything but the seed), then the mean
    over categories."""
    records = reading.records
    if not records:
        return []
    frame = quality_frame(records)
    extras = needed_columns(frame, ["generator", "category"], QUALITY_KEY)
    index = ["generator", "category", *extras]
    rows = []
    for key, group in frame.groupby(QUALITY_KEY, sort=True, dropna=False):
        row = dict(zip(QUALITY_KEY, key))
        rows.append([*(row[c] for c in index), *(plain_mean_std(group[m].mean(), group[m].std()) for m in QUALITY_METRICS)])
    rest = [c for c in QUALITY_KEY if c != "category"]
    for key, group in frame.groupby(rest, sort=True, dropna=False):
        if group["category"].nunique() < 2:
            continue
        row = {**dict(zip(rest, key)), "category": f"mean ({group['category'].nunique()} categories)"}
        cells = []
        for m in QUALITY_METRICS:
            mean, std, _ = category_mean(group.assign(data=""), m)
            cells.append(plain_mean_std(mean, std))
        rows.append([*(row[c] for c in index), *cells])
    out = pd.DataFrame(rows, columns=[*index, *QUALITY_METRICS])
    variants = ", ".join(sorted({r["variants"]["ic_lpips"] for r in records}))
    shared = "; ".join(f"{c}: {frame[c].iloc[0]}" for c in ("dataset", "split", "n_generated", "lpips", "ic_lpips", "region")
                       if frame[c].nunique() == 1)
    sizes = ", ".join(sorted({r["variants"]["n_generated"] for r in records if "n_generated" in r["variants"]}))
    lpips = ", ".join(sorted({r["variants"].get("lpips_variant", UNNAMED_LPIPS) for r in records}))
    counts = frame.groupby(QUALITY_KEY, dropna=False)["seed"].nunique()
    text = (f"Image quality (DefectDiffu Table 1 / DefectSynth Table II form). Protocol: quality; {shared}; seeds: "
            f"{seeds_text(frame['seed'])} ({per_row(counts)} per row); IC-LPIPS variant: {variants}; LPIPS: {lpips} "
            "(diversity: within the generated set, DefectDiffu's; to-real: generated vs real test defects, DefectSynth's); "
            + (f"generated per point: {sizes}; " if sizes else "")
            + "mean ± std over seeds; mean rows: mean over categories of the category means.")
    return [Table("quality", "Image quality", text, out)]
