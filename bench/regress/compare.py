"""A fresh grid against its golden file, point by point and paired by seed: pure, so the tests can feed it."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from bench.regress.golden import Golden, Point

# Verdicts: "regressed" and a point on one side only fail the check; "improved" passes with a hint to update.
OK, REGRESSED, IMPROVED, UNDEFINED, GOLDEN_ONLY, NEW = "ok", "regressed", "improved", "undefined", "golden only", "new"
FAILING = (REGRESSED, UNDEFINED, GOLDEN_ONLY, NEW)


@dataclass(frozen=True)
class Row:
    point: str  # the point's label
    metric: str | None  # None for a point on one side only
    value: float | None  # fresh mean over the paired seeds
    golden: float | None  # golden mean over the same seeds
    difference: float | None  # mean of the per-seed differences, fresh - golden
    tolerance: float | None
    seeds: tuple[int, ...]  # paired seeds
    verdict: str
    note: str = ""  # seeds on one side only, a changed generator version or data

    def to_dict(self) -> dict:
        return {**asdict(self), "seeds": list(self.seeds)}


def _notes(golden: Point, fresh: Point) -> list[str]:
    notes = []
    only_golden = sorted(set(golden.seeds) - set(fresh.seeds))
    only_fresh = sorted(set(fresh.seeds) - set(golden.seeds))
    if only_golden:
        notes.append(f"seeds only in golden: {', '.join(map(str, only_golden))}")
    if only_fresh:
        notes.append(f"seeds not in golden: {', '.join(map(str, only_fresh))}")
    if golden.generator_version != fresh.generator_version:
        notes.append(f"generator version {golden.generator_version} -> {fresh.generator_version}")
    if golden.manifest_hash and golden.manifest_hash != fresh.manifest_hash:
        notes.append("split data changed")
    return notes


def compare_metric(golden: Point, fresh: Point, metric: str, tolerance) -> Row:
    """Mean of per-seed differences over the seeds both sides have, against the tolerance for that many seeds."""
    seeds = tuple(sorted(set(golden.seeds) & set(fresh.seeds)))
    pairs = [(fresh.seeds[s][metric], golden.seeds[s][metric]) for s in seeds]
    defined = [(f, g) for f, g in pairs if f is not None and g is not None and math.isfinite(f) and math.isfinite(g)]
    lost = [s for s, (f, g) in zip(seeds, pairs) if g is not None and (f is None or not math.isfinite(f))]
    notes = _notes(golden, fresh)
    if lost:
        notes.append(f"undefined in seed(s) {', '.join(map(str, lost))}")
        return Row(golden.label, metric, None, None, None, None, seeds, UNDEFINED, "; ".join(notes))
    if not defined:
        verdict = OK if seeds else GOLDEN_ONLY
        return Row(golden.label, metric, None, None, None, None, seeds, verdict, "; ".join(notes or ["undefined on both sides"]))
    value = sum(f for f, _ in defined) / len(defined)
    reference = sum(g for _, g in defined) / len(defined)
    difference = sum(f - g for f, g in defined) / len(defined)
    bound = tolerance.for_seeds(len(defined))
    verdict = OK if abs(difference) <= bound else (REGRESSED if difference < 0 else IMPROVED)
    if verdict == OK and all(f == g for f, g in defined):
        notes.insert(0, "identical")
    return Row(golden.label, metric, value, reference, difference, bound, seeds, verdict, "; ".join(notes))


def compare(golden: Golden, fresh: list[Point]) -> list[Row]:
    """Every golden point x metric in golden order, then points the golden file does not know."""
    by_key = {p.key: p for p in fresh}
    rows = []
    for point in golden.points:
        other = by_key.get(point.key)
        if other is None:
            rows.append(Row(point.label, None, None, None, None, None, (), GOLDEN_ONLY, "not in the grid that ran"))
            continue
        rows.extend(compare_metric(point, other, m, golden.tolerances[m]) for m in golden.metrics)
    known = {p.key for p in golden.points}
    rows.extend(Row(p.label, None, None, None, None, None, (), NEW, "not in the golden file") for p in fresh if p.key not in known)
    return rows


def failed(rows: list[Row]) -> bool:
    return any(r.verdict in FAILING for r in rows)
