"""Defect transfer (paper section 3.6): learn contents from product A, blend them onto normals of product B.

``source="dataset/category[/split]"`` names product A; the GAN trains on the training defects of that
split (default ``ds-5shot``), handed over by whoever runs the generator, while the backgrounds are the
running task's normals (product B).
Generated pairs are labelled in product B's class map: a source class goes to the target class of the
same name, or to the one ``class_map="src=dst+..."`` names (the paper maps wood hole -> tile crack), or is not
learned at all (``src=-``: wood's color, combined and liquid in the paper's wood -> tile).
"""

from __future__ import annotations

import re

from bench.core.errors import BenchError
from bench.core.params import Task
from bench.core.specs import TaskRef

SOURCE = Task(default_split="ds-5shot")  # the ``source`` parameter: the product contents are learned from
NOT_LEARNED = "-"  # the class-map target of a source class the GAN leaves out


def parse_class_map(text: str | None) -> dict[str, str]:
    """``"hole=crack+scratch=rough"`` (``+`` or ``,`` between entries) -> {"hole": "crack", "scratch": "rough"}."""
    if not text:
        return {}
    mapping = {}
    for item in re.split(r"[+,]", str(text)):
        src, sep, dst = item.partition("=")
        if not sep or not src.strip() or not dst.strip():
            raise BenchError(f"dcdganc class_map entry {item!r} is not SOURCE=TARGET", "pass e.g. class_map=hole=crack+scratch=rough")
        mapping[src.strip()] = dst.strip()
    return mapping


def target_classes(learned: dict[int, str], task: dict[int, str], class_map: dict[str, str], source: TaskRef | None) -> list[int]:
    """For each learned class (in order), the id in the task's class map that its pairs are labelled with."""
    by_name = {name: class_id for class_id, name in task.items() if class_id != 0}
    unknown = sorted({name for name, target in class_map.items() if target != NOT_LEARNED} - set(learned.values()))
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
