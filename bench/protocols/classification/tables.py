"""The classification protocol's table: DefectSynth Table VIII form."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.core.specs import BASE_VERSION
from bench.report.format import mean_std, number, percent, seeds_text
from bench.report.frames import generator_label
from bench.report.tables import Reading, Table

CLASSIFICATION_KEY = ["generator", "ratio", "n_generated", "dataset", "category", "schedule", "device", "pretrained"]


def classification_tables(reading: Reading) -> list[Table]:
    """DefectSynth Table VIII form, from ``bench.classification/1`` records: per category and training data,
    accuracy and macro F1 (mean ± std over partitions) and the accuracy's mean paired difference to the real
    images alone (same partitions); then the mean over categories."""
    records = reading.records
    if not records:
        return []
    rows = []
    for r in records:
        spec, g, backend = r["spec"], r["spec"]["generator"], r.get("generator") or {}
        rows.append({"generator": generator_label(g["name"], g.get("params") or {}, backend.get("version", BASE_VERSION),
                                                  (backend.get("resolved") or {}).get("deviations", ())),
                     **{k: spec.get(k, 0) if k == "n_generated" else spec[k] for k in CLASSIFICATION_KEY[1:]},
                     "seed": spec["seed"], "accuracy": r["metrics"]["accuracy"], "F1": r["metrics"]["F1"]})
    frame = pd.DataFrame(rows)
    task = [c for c in CLASSIFICATION_KEY if c not in ("generator", "ratio", "n_generated")]
    keys = [(*(row[c] for c in task), row["seed"]) for _, row in frame.iterrows()]
    alone = (frame["ratio"] == 0) & (frame["n_generated"] == 0)
    real = {k: a for k, a, r in zip(keys, frame["accuracy"], alone) if r}
    frame["delta"] = [a - real[k] if k in real else np.nan for k, a in zip(keys, frame["accuracy"])]
    out_rows = []
    for key, group in frame.groupby(CLASSIFICATION_KEY, sort=True):
        row = dict(zip(CLASSIFICATION_KEY, key))
        added = f"{row['n_generated']} {row['generator']}" if row["n_generated"] else f"{row['generator']} x{number(row['ratio'])}"
        real_only = row["ratio"] == 0 and not row["n_generated"]
        out_rows.append({"category": row["category"], "trained on": "real only (w/o augmentation)" if real_only else f"real + {added}",
                         "accuracy (%)": mean_std(group["accuracy"].mean(), group["accuracy"].std()),
                         "F1 (%)": mean_std(group["F1"].mean(), group["F1"].std()),
                         "Δ accuracy (%)": "" if real_only else percent(group["delta"].mean(), True),
                         "partitions": seeds_text(group["seed"])})
    shared = "; ".join(f"{c}: {frame[c].iloc[0]}" for c in ("dataset", "schedule", "device", "pretrained") if frame[c].nunique() == 1)
    # the generated arms' size (records before sizes added r x real): the paper's 1,000 per category or small
    sizes = sorted({r["variants"].get("size", "small:").split(":")[0] for r in records if r["spec"]["generator"]["name"] != "none"})
    size = (" Generated images: 1,000 per category, as Table VIII." if sizes == ["paper"] else
            " Generated images: r x the real training images (size small), not Table VIII's 1,000 per category." if sizes == ["small"] else
            " Generated images: 1,000 per category (as Table VIII) in rows 'real + 1000 ...', r x the real training images "
            "in rows 'x r'." if sizes else "")
    text = ("**Defect-type classification** (DefectSynth Table VIII form) — a ResNet-34 trained on the real training images "
            "of a partition, alone or with a generator's pairs, tested on the partition's real defect images; accuracy and "
            "macro F1, mean ± sample std over partitions (seed K = partition random:K), percent; Δ accuracy: the mean over "
            f"partitions of the paired difference to real only. Protocol: classification; {shared}.{size}")
    return [Table("classification", "Defect-type classification", text, pd.DataFrame(out_rows))]
