"""The annotations protocol's table (the project page's "Method | Recall | FPR" form) from
``bench.annotations/1`` records: every decision is made again from the recorded class areas, under the
report's rules file and either judge, so neither is fixed at training time."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from bench.metrics.benign import BenignRules, benign_summary, pooled_summary, rejects_areas
from bench.report import compare, stats
from bench.report.format import mean_std, seeds_text
from bench.report.tables import Reading, Table

JUDGES = ("refined", "own")  # refined: against the re-annotated masks (the default); own: each arm against its own masks
SUMMARY_KEYS = ("n_defective", "caught", "n_benign", "false_rejects")


def _classes(arm: dict) -> dict[int, str]:
    return {int(k): v for k, v in arm["classes"].items()}


def decisions(record: dict, arm: str, judge: str, rules: BenignRules) -> dict:
    """Recall and false-reject rate of one arm's segmenter: its predicted areas decide, the judge's masks say
    which test images truly are defective (the arms' test images are index-aligned: the same pictures)."""
    if judge not in JUDGES:
        raise ValueError(f"judge must be one of {JUDGES}, got {judge!r}")
    product = record["spec"]["category"]
    truth_arm = record["data"]["reference"] if judge == "refined" else arm
    truth, own = record["arms"][truth_arm], record["arms"][arm]
    should = [rejects_areas(a, _classes(truth), product, rules, truth_arm) for a in truth["class_areas"]["gt"]]
    got = [rejects_areas(a, _classes(own), product, rules, arm) for a in own["class_areas"]["pred"]]
    return benign_summary(np.array(should, dtype=bool), np.array(got, dtype=bool))


def _rates(summaries: dict[int, dict]) -> tuple[dict[int, float], dict[int, float]]:
    return ({s: v["recall"] for s, v in summaries.items()}, {s: v["false_reject_rate"] for s, v in summaries.items()})


def _over_seeds(values: dict[int, float]) -> str:
    """Mean ± sample std over seeds (no std from one seed)."""
    series = pd.Series(list(values.values()), dtype=float)
    return mean_std(series.mean(), series.std())


def annotations_tables(reading: Reading) -> list[Table]:
    records = list(reading.records)
    return [annotations_table(records, reading.rules, reading.alpha, reading.margin)] if records else []


def annotations_table(records: Sequence[dict], rules: BenignRules, alpha: float = stats.ALPHA,
                      margin: float = stats.MARGIN) -> Table:
    """Per product (and all products pooled per seed), each arm's recall and false-reject rate, mean ± std over
    seeds, and the paired difference refined − original decided as every comparison is (``compare``), Holm over
    every comparison in the table. Both judges, one row each."""
    arms = list(records[0]["arms"])
    reference = records[0]["data"]["reference"]
    original = next(a for a in arms if a != reference)
    segmenters = sorted({r["spec"]["segmenter"] for r in records})
    rows, tests = [], []
    for segmenter in segmenters:
        mine = [r for r in records if r["spec"]["segmenter"] == segmenter]
        products = sorted({r["spec"]["category"] for r in mine})
        for judge in JUDGES:
            per = {arm: {p: {r["spec"]["seed"]: decisions(r, arm, judge, rules) for r in mine if r["spec"]["category"] == p}
                         for p in products} for arm in arms}
            groups = [(p, {arm: per[arm][p] for arm in arms}) for p in products]
            if len(products) > 1:
                seeds = sorted(set.intersection(*(set(per[reference][p]) for p in products)))
                pooled = {arm: {s: pooled_summary([per[arm][p][s] for p in products]) for s in seeds} for arm in arms}
                groups.append((f"all {len(products)} products, pooled", pooled))
            for product, by_arm in groups:
                row = {"segmenter": segmenter, "product": product, "judged by": f"{reference if judge == 'refined' else 'own'} masks"}
                for arm in (original, reference):
                    recall, frr = _rates(by_arm[arm])
                    row[f"{arm} recall (%) ↑"], row[f"{arm} FPR (%) ↓"] = _over_seeds(recall), _over_seeds(frr)
                for name, index in (("recall", 0), ("FPR", 1)):
                    c = stats.compare(_rates(by_arm[reference])[index], _rates(by_arm[original])[index])
                    tests.append({"row": len(rows), "name": name, "family": "table", **compare.row_of(c)})
                row["seeds"] = seeds_text(by_arm[reference])
                rows.append(row)
    decided = compare.correct(pd.DataFrame(tests, columns=["row", "name", "family", *compare.RAW]), alpha, margin)
    fpr = decided["name"] == "FPR"  # fewer false rejects is better: a lower FPR wins
    decided.loc[fpr, "verdict"] = decided.loc[fpr, "verdict"].replace({"win": "loss", "loss": "win"})
    for name in ("recall", "FPR"):
        mine = decided[decided["name"] == name]
        for column, values in compare.columns(mine, prefix=f"{name} ").items():
            for index, value in zip(mine["row"], values):
                rows[index][column] = value
    frame = pd.DataFrame(rows)
    if len(segmenters) == 1:
        frame = frame.drop(columns="segmenter")
    text = (f"**Annotation quality** (Defect Spectrum project page form: Original 85.33 / 49.60 vs DS 96.07 / 16.50) — the same "
            f"pictures, a segmenter trained with the {original} masks and one with the {reference} masks (same seed, same "
            f"schedule), each accepting or rejecting every test image by the benign rules '{rules.name}'; recall of defective "
            "products and false-reject rate of benign ones, mean ± std over seeds, percent. Which images truly are defective "
            f"is judged by the {reference} masks (both arms against the same truth) or by each arm's own masks. "
            f"Δ: {reference} − {original}; verdicts for {reference} (a lower FPR wins). "
            + compare.family_text(decided, alpha, margin) + f" Protocol: annotations; segmenter: {', '.join(segmenters)}; split: "
            f"{', '.join(sorted({r['spec']['split'] for r in records}))}; images matched by pixels, unmatched per release: "
            + "; ".join(f"{arm} {max(r['data']['unmatched'][arm] for r in records)}" for arm in sorted(arms)) + ".")
    return Table("annotations", "Annotation quality: original vs Defect Spectrum masks", text, frame,
                 tuple(sorted(r["run_id"] for r in records)))
