from __future__ import annotations

from typing import Iterator

from bench.core.errors import BenchError
from bench.core.pairset import Pair
from generators import GENERATORS
from generators.base import Generator


@GENERATORS.register
class NoGenerator(Generator):
    """No synthetic data: the real-only baseline every protocol compares against."""

    name = "none"
    kind = "baseline"

    def sample(self, n: int, seed: int) -> Iterator[Pair]:
        if n:
            raise BenchError("generator 'none' produces no pairs", "use --ratio 0 or choose another generator")
        return iter(())
