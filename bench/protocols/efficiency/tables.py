"""The efficiency protocol's tables: Defect Spectrum Table 2 and DefectSynth Table IV forms."""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from bench.report.format import plain_mean_std, seeds_text
from bench.report.tables import Reading, Table


def _timing(records: Sequence[dict], part: str, metrics: Sequence[str]) -> pd.DataFrame:
    """Mean ± std over seeds of one part's timings, per name, category and device."""
    rows = [{"name": r["spec"]["name"], "category": r["spec"]["category"], "dataset": r["spec"]["dataset"],
             "device": r.get("device_name", r["spec"]["device"]), "seed": r["spec"]["seed"],
             **{m: r["metrics"].get(m) for m in metrics}} for r in records if r["spec"]["part"] == part]
    frame = pd.DataFrame(rows, columns=["name", "category", "dataset", "device", "seed", *metrics])
    return frame.astype({m: float for m in metrics})


def efficiency_tables(reading: Reading) -> list[Table]:
    """Defect Spectrum Table 2 form (segmenters: ms per image at batch 1, images/s, parameters) and DefectSynth
    Table IV form (generators: training time, pairs/s), each row with the device it was measured on."""
    records = reading.records
    tables = []
    key = ["name", "dataset", "category", "device"]
    for part, metrics, title, what in (
        ("segmenter", {"latency_ms": ("inf. time (ms), batch 1", 1), "throughput_img_s": ("throughput (img/s)", 1),
                       "params": ("params (M)", 1e-6)},
         "Segmenter speed", "**Segmenter speed** (Defect Spectrum Table 2 form): median ms per image at batch 1 and "
                            "images/s at a larger batch on the task's image size, random weights; mean ± std over seeds."),
        ("generator", {"train_s": ("training time (s)", 1), "pairs_per_s": ("pairs/s", 1), "end_to_end_s": ("fit + sample (s)", 1)},
         "Generator cost", "**Generator cost** (DefectSynth Table IV form): training time from a cold cache and pairs/s "
                           "of sampling, measured end to end on the trained generator; mean ± std over seeds."),
    ):
        frame = _timing(records, part, list(metrics))
        if frame.empty:
            continue
        rows = []
        for k, group in frame.groupby(key, sort=True):
            row = dict(zip(key, k))
            row.update({label: plain_mean_std(group[m].mean() * scale, group[m].std() * scale) for m, (label, scale) in metrics.items()})
            row["seeds"] = seeds_text(group["seed"])
            rows.append(row)
        out = pd.DataFrame(rows).rename(columns={"name": part})
        devices = ", ".join(sorted(set(frame["device"])))
        tables.append(Table(f"efficiency_{part}s", title, f"{what} Protocol: efficiency; device: {devices}.", out))
    return tables
