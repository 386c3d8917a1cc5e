"""How far a fresh run's seed-paired mean may move from the golden one before it counts as a change.

On the machine the golden file was made on, a rerun of the same code gives the same metrics bit for bit
(docs/design.md, "Determinism"). On another CPU it does not: segmenter training amplifies last-bit
differences, so the worst case is that each seed's fresh value is a new draw from that seed's spread,
independent of its golden value. For paired differences ``d_s = fresh_s - golden_s`` over ``n`` seeds,
with seed-to-seed standard deviation ``sigma``, that worst case gives ``Var(mean d) = 2 sigma^2 / n``
(any positive correlation between the two runs of a seed, as on the same machine, only shrinks it).
``sigma`` is estimated from the golden runs themselves, pooled over the points of the grid (all points
train the same kind of segmenter on the same tasks), so ``mean d / (s * sqrt(2 / n))`` is Student-t with
the pooled degrees of freedom, and

    tolerance = t(1 - alpha / (2 K), df) * s * sqrt(2 / n) + machine

flags an unchanged generator on another machine with probability at most ``alpha`` over the whole
file (Bonferroni over its ``K`` point x metric comparisons). ``machine`` is the determinism contract's
evaluation tolerance (masks agree on all but ``MASK_FLIPS`` of their pixels), kept as a floor so that a
metric with no seed spread at all (a constant such as the background-only mIoU) is not held to equality.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Iterable, Mapping, Sequence

from scipy import stats

ALPHA = 0.01  # false-alarm rate of a whole golden file under the worst case above
MASK_FLIPS = 0.01  # docs/design.md: predicted masks of one model agree across CPUs on all but 1 % of pixels
MACHINE = MASK_FLIPS  # the same bound for a metric in [0, 1] computed from those masks


@dataclass(frozen=True)
class Derivation:
    """What a derived tolerance is made of; stored in the golden file so a reader can recompute it."""

    spread: float  # pooled seed-to-seed sample standard deviation of the golden runs
    df: int  # its degrees of freedom: sum over points of (seeds - 1)
    comparisons: int  # K, the point x metric comparisons the false-alarm rate is shared among
    alpha: float = ALPHA
    machine: float = MACHINE

    def tolerance(self, seeds: int) -> float:
        """The bound for a mean over ``seeds`` paired seeds."""
        if seeds < 1:
            return math.nan
        if self.df < 1 or self.spread == 0:
            return self.machine
        t = float(stats.t.ppf(1 - self.alpha / (2 * self.comparisons), self.df))
        return t * self.spread * math.sqrt(2 / seeds) + self.machine

    def to_dict(self) -> dict:
        return asdict(self)


def pooled_spread(groups: Iterable[Sequence[float]]) -> tuple[float, int]:
    """Pooled sample standard deviation over groups (points), each about its own mean, and its df."""
    squares, df = 0.0, 0
    for values in groups:
        finite = [v for v in values if v is not None and math.isfinite(v)]
        if len(finite) < 2:
            continue
        mean = sum(finite) / len(finite)
        squares += sum((v - mean) ** 2 for v in finite)
        df += len(finite) - 1
    return (math.sqrt(squares / df) if df else 0.0), df


def derive(per_point: Mapping[str, Sequence[Sequence[float]]], comparisons: int, alpha: float = ALPHA) -> dict[str, Derivation]:
    """One derivation per metric from ``{metric: [values over seeds, per point]}``."""
    out = {}
    for metric, groups in per_point.items():
        spread, df = pooled_spread(groups)
        out[metric] = Derivation(spread, df, max(comparisons, 1), alpha)
    return out
