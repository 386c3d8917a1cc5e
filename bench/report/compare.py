"""A table's comparisons as a family: corrected, sized and decided with ``stats``, and shown the same way in
every table form (``columns`` for a comparison per row, ``cell`` for one per cell, ``family_text`` for the
caption). The table forms only say which comparisons they hold and how they group into families.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from bench.core.errors import BenchError
from bench.report import stats
from bench.report.format import interval, p_value, percent, seeds_text
from bench.report.frames import is_baseline

# What a comparison row holds before its family is corrected (``row_of``), and what correcting adds.
RAW = ["seeds", "n", "unpaired", "baseline", "value", "delta", "ci_low", "ci_high", "p", "sd", "looks", "fractions",
       "p_sequential", "spending", "cap", "stages"]
CORRECTED = ["m", "p_holm", "level", "low", "high", "mde", "correction", "verdict"]
SPENDING_NAMES = {"obrien-fleming": "O'Brien-Fleming-type"}


def row_of(c: stats.Comparison) -> dict:
    """A comparison as the columns of a table's comparison frame."""
    return {"seeds": seeds_text(c.seeds) if c.seeds else "none", "n": c.n, "unpaired": seeds_text(c.unpaired) if c.unpaired else "",
            "baseline": c.baseline, "value": c.value, "delta": c.delta, "ci_low": c.ci_low, "ci_high": c.ci_high, "p": c.p,
            "sd": c.sd, "looks": c.looks, "fractions": c.fractions, "p_sequential": c.p_sequential, "spending": c.spending, "cap": c.cap,
            "stages": c.stages}


def correct(rows: pd.DataFrame, alpha: float = stats.ALPHA, margin: float = stats.MARGIN, family: str = "family") -> pd.DataFrame:
    """Within each family (column ``family``): Holm over the comparisons' p-values (repeated p-values where a
    design added seeds), and for each comparison the level it faces at Holm's first step (alpha / m, at its
    last look), its interval and minimum detectable effect at that level, and its verdict."""
    rows = rows.copy()
    for column in CORRECTED:
        rows[column] = np.nan if column not in ("correction", "verdict") else ""
    rows["m"] = 0
    for _, index in rows.groupby(family).groups.items():
        part = rows.loc[index]
        tested = part["p_sequential"].notna().to_numpy()
        m = int(tested.sum())
        p_holm = stats.holm(part["p_sequential"].to_numpy(float))
        level = np.array([stats.faced_level(f, m, alpha, s or stats.DEFAULT_SPENDING) if ok else np.nan
                          for f, s, ok in zip(part["fractions"], part["spending"], tested)])
        n, delta, sd = (part[c].to_numpy(float) for c in ("n", "delta", "sd"))
        low, high = stats.t_interval(delta, sd, n, level)
        for i, stages in enumerate(part["stages"]):  # under a design: the repeated confidence interval of its looks
            if stages and tested[i]:
                low[i], high[i] = stats.combination_interval([np.array(s) for s in stages], part["fractions"].iloc[i], level[i])
        rows.loc[index, "m"] = m
        rows.loc[index, "p_holm"] = p_holm
        rows.loc[index, "level"] = level
        rows.loc[index, "low"], rows.loc[index, "high"] = low, high
        rows.loc[index, "mde"] = stats.mde(sd, n, level)
        rows.loc[index, "correction"] = [correction_text(m, looks, s) if ok else "" for looks, s, ok in
                                         zip(part["looks"], part["spending"], tested)]
        rows.loc[index, "verdict"] = stats.decide(n, delta, p_holm, low, high, margin, alpha)
    return rows


def correction_text(m: int, looks: Sequence[int], spending: str) -> str:
    """How a comparison's verdict was corrected: Holm over its family, and its look under a sequential design."""
    text = f"{stats.CORRECTION} over {m}"
    return f"{text}, look {len(looks)} ({looks[-1]} seeds)" if spending else text


COLUMN_NAMES = {"delta": "Δ", "interval": "corrected CI", "p": "p", "p_holm": f"p ({stats.CORRECTION})",
                "mde": f"MDE ({100 * stats.POWER:g}% power)", "correction": "correction", "verdict": "verdict"}


def columns(d: pd.DataFrame, prefix: str = "") -> dict[str, list[str]]:
    """The columns every comparison table shows: Δ, its corrected interval, the p-value, the corrected p-value,
    the minimum detectable effect, the correction and the verdict (headers after ``prefix``)."""
    shown = {"delta": [percent(v, True) for v in d["delta"]],
             "interval": [interval(lo, hi) for lo, hi in zip(d["low"], d["high"])],
             "p": [p_value(p) for p in d["p_sequential"]],
             "p_holm": [p_value(p) for p in d["p_holm"]],
             "mde": [percent(v) for v in d["mde"]],
             "correction": list(d["correction"]),
             "verdict": list(d["verdict"])}
    return {prefix + COLUMN_NAMES[k]: v for k, v in shown.items()}


def cell(row) -> str:
    """One comparison in one table cell: Δ [corrected CI] verdict (corrected p; MDE)."""
    text = f"{percent(row['delta'], True)} {interval(row['low'], row['high'])} {row['verdict']}"
    return text if np.isnan(row["p_holm"]) else f"{text} (p {p_value(row['p_holm'])}; MDE {percent(row['mde'])})"


def family_text(d: pd.DataFrame, alpha: float, margin: float, used: pd.DataFrame | None = None, what: str = "the table's") -> str:
    """The caption's statistics: what Δ, the interval, p, MDE and the verdicts are, the family's size, the margin,
    any sequential design, and (``used``: the runs behind the table) how many runs the verdicts took."""
    tested = int(d["p_sequential"].notna().sum()) if len(d) else 0
    text = (f"Δ: mean of per-seed differences (paired by seed); corrected CI: its t-interval at level {alpha:g}/m, m the "
            f"comparisons of its family (with the others, it holds at once with probability {1 - alpha:g}); p: two-sided "
            f"paired t-test; verdicts {stats.CORRECTION}-corrected across {what} {tested} tested comparison"
            f"{'s' if tested != 1 else ''} (family-wise error {alpha:g}): win or loss when p ({stats.CORRECTION}) < {alpha:g}, "
            f"equivalent when the corrected CI lies inside ±{percent(margin)} points, inconclusive otherwise; MDE: the true Δ "
            f"that the test at level {alpha:g}/m finds with {100 * stats.POWER:g}% power at the comparison's seeds and spread; "
            f"fewer than {stats.MIN_SEEDS} paired seeds give no verdict.")
    sequential = d[d["spending"] != ""] if len(d) else d
    if len(sequential):
        spent = ", ".join(sorted({SPENDING_NAMES.get(s, s) for s in sequential["spending"]}))
        caps = sorted({int(c) for c in sequential["cap"]})
        text += (f" {len(sequential)} comparison{'s' if len(sequential) != 1 else ''} came from a group-sequential build "
                 f"(seeds added until decided, {spent} alpha-spending, cap {', '.join(map(str, caps))} seeds): their p is the "
                 "repeated p-value over their looks and their CI the repeated confidence interval.")
    if used is not None:
        text += " " + runs_text(used, d)
    return text


def runs_text(used: pd.DataFrame, d: pd.DataFrame) -> str:
    """How many runs the verdicts took, and how many seeds each comparison had."""
    baseline = int(is_baseline(used).sum())
    counts = sorted(int(n) for n in d["n"]) if len(d) else [0]
    seeds = f"{counts[0]}" if counts[0] == counts[-1] else f"{counts[0]}-{counts[-1]}"
    return (f"The verdicts took {len(used)} runs ({baseline} real-only, {len(used) - baseline} with the settings' data; "
            f"{seeds} paired seeds per comparison).")


def designs_of(sequential_records: Iterable[dict]) -> dict[str, stats.Design]:
    """Each run of a sequential build (``bench.sequential/1`` records) with its build's design; a run that two
    designs claim is an error, since its comparison cannot follow both."""
    out: dict[str, stats.Design] = {}
    for record in sequential_records:
        design = record["design"]
        made = stats.Design(tuple(tuple(look["seeds"]) for look in record["looks"]), int(design["max_seeds"]), design["spending"])
        for look in record["looks"]:
            for run_id in look["runs"]:
                if out.get(run_id, made) != made:
                    raise BenchError(f"run {run_id} belongs to two sequential builds", "report each build's records folder on its own")
                out[run_id] = made
    return out


def design_of(run_ids: Iterable[str], designs: Mapping[str, stats.Design]) -> stats.Design | None:
    """The sequential design the runs of one setting came from, None when they came from a fixed grid."""
    found = {designs[r] for r in run_ids if r in designs}
    if len(found) > 1:
        raise BenchError("the runs of one setting come from two sequential builds", "report each build's records folder on its own")
    return next(iter(found), None)
