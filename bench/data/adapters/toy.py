"""The ``toy`` dataset adapter: generated on the fly, or read from a set written by ``bench data toy``."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from bench.core.pairset import Pair, PairSet
from bench.data import toy
from bench.data.base import DATASETS, DatasetAdapter


class ToyDataset(DatasetAdapter):
    name = "toy"
    needs_root = False

    def __init__(self, config: toy.ToyConfig = toy.ToyConfig()):
        self.config = config

    def categories(self, root: Path | None) -> list[str]:
        if root is not None:
            return sorted(p.name for p in root.iterdir() if (p / "meta.json").is_file())
        return list(toy.CATEGORIES)

    def classes(self, root: Path | None, category: str) -> dict[int, str]:
        if root is not None:
            return PairSet.open(root / category).classes
        return toy.classes(category)

    def pairs(self, root: Path | None, category: str) -> Iterable[Pair]:
        if root is not None:
            return iter(PairSet.open(root / category))
        return toy.category_pairs(category, self.config)

    def fingerprint(self, root: Path | None, category: str) -> str:
        if root is not None:
            return super().fingerprint(root, category)
        return repr(self.config)


DATASETS.register(ToyDataset())
