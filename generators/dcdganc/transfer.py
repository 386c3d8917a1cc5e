"""Defect transfer (paper section 3.6): learn contents from product A, blend them onto normals of product B.

``source="dataset/category[/split]"`` names product A; the GAN trains on the training defects of that
split (default ``ds-5shot``), while the backgrounds are the running task's normals (product B).
Generated pairs are labelled in product B's class map: a source class goes to the target class of the
same name, or to the one ``class_map="src=dst,..."`` names (the paper maps wood hole -> tile crack).
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.core.errors import BenchError
from bench.core.pairset import PairSet

DEFAULT_SPLIT = "ds-5shot"


@dataclass(frozen=True)
class TransferSource:
    dataset: str
    category: str
    split: str = DEFAULT_SPLIT

    @classmethod
    def parse(cls, text: str) -> "TransferSource":
        parts = str(text).split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise BenchError(f"dcdganc source {text!r} is not DATASET/CATEGORY[/SPLIT]", "pass e.g. source=toy/wood")
        return cls(*parts)

    def load(self) -> PairSet:
        """The training defects of the source product's split."""
        from bench.data.base import load_pool
        from bench.data.splits import make_split

        pool = load_pool(self.dataset, self.category)
        return pool.subset(make_split(pool, self.split).train)

    def __str__(self) -> str:
        return f"{self.dataset}/{self.category}/{self.split}"


def parse_class_map(text: str | None) -> dict[str, str]:
    """``"hole=crack,scratch=rough"`` -> {"hole": "crack", "scratch": "rough"}."""
    if not text:
        return {}
    mapping = {}
    for item in str(text).split(","):
        src, sep, dst = item.partition("=")
        if not sep or not src.strip() or not dst.strip():
            raise BenchError(f"dcdganc class_map entry {item!r} is not SOURCE=TARGET", "pass e.g. class_map=hole=crack,scratch=rough")
        mapping[src.strip()] = dst.strip()
    return mapping


def target_classes(learned: dict[int, str], task: dict[int, str], class_map: dict[str, str], source: TransferSource | None) -> list[int]:
    """For each learned class (in order), the id in the task's class map that its pairs are labelled with."""
    by_name = {name: class_id for class_id, name in task.items() if class_id != 0}
    unknown = sorted(set(class_map) - set(learned.values()))
    if unknown:
        raise BenchError(f"dcdganc class_map names {unknown}, not classes of the contents", f"source classes are: {', '.join(learned.values())}")
    labels = []
    for name in learned.values():
        target = class_map.get(name, name)
        if target not in by_name:
            where = f"source {source}" if source else "the task"
            raise BenchError(
                f"dcdganc: class '{name}' of {where} has no target '{target}' in the task's classes {sorted(by_name)}",
                "map it with class_map=SOURCE=TARGET,...",
            )
        labels.append(by_name[target])
    return labels
