"""A task's data in one object: the category pool, its split and the split's manifest hash, loaded once."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.core.pairset import PairSet
from bench.core.specs import TaskRef
from bench.data.base import load_pool
from bench.data.crops import CropView, crop_split
from bench.data.splits import Preset, Split, make_split, write_manifest


@dataclass(frozen=True)
class TaskData:
    pool: PairSet
    split: Split
    manifest_hash: str  # ids and pixel hashes of every part: with the spec, it makes the run id
    seconds: float = 0.0  # loading and splitting took this long (once, however many runs share it)
    test_pictures: PairSet | None = None  # a crop view: the pictures its test crops were cut from
    imported_meta: dict = field(default_factory=dict)  # the meta of the pool as imported (before any crop view)

    @property
    def imported(self) -> dict:
        """How the release became the pool, as the run record keeps it (``import_facts``)."""
        return import_facts(self.imported_meta)

    @property
    def train(self) -> PairSet:
        return self.pool.subset(self.split.train)

    @property
    def normals(self) -> PairSet:
        """The defect-free training images."""
        return self.pool.subset(self.split.normal_train)

    @property
    def test(self) -> PairSet:
        """Test defects, then test normals."""
        return self.pool.subset(self.split.test + self.split.normal_test)

    def on_disk(self) -> bool:
        """Whether this machine sees the pool (a worker on another node has a cache of its own)."""
        return (self.pool.root / "meta.json").is_file()


def load_task(task: TaskRef, data_root: str | Path | None = None, progress: bool = False) -> TaskData:
    """The pool of the task's category at the task's picture size (imported into the cache on first use), split
    by its preset; a preset with a crop view gives the crops of the split's pictures instead (``bench.data.crops``).
    Whole pictures without a size must be of one size: a release of several stops here, before any work."""
    start = time.perf_counter()
    preset = Preset.parse(task.split)  # a malformed preset fails before the pool is imported
    pool = load_pool(task.dataset, task.category, data_root, progress=progress, image_size=task.image_size,
                     one_size=not preset.crop)
    split = make_split(pool, task.split)
    pictures, imported = None, pool.meta
    if preset.crop:
        pictures = pool.subset(split.test)
        pool, split = crop_split(pool, split, CropView(preset.crop, preset.stride), progress)
        write_manifest(pool, split)
    return TaskData(pool, split, split.manifest_hash(pool), time.perf_counter() - start, pictures, imported)


def import_facts(meta: dict) -> dict:
    """How a release became a pool (its meta), as a run record keeps it: the picture size and resampling, the
    colour conversion and the modes it met, and the layout file (its name, file and content hash)."""
    source = meta.get("source", {})
    layout = source.get("layout")
    return {
        "image_size": source.get("image_size") or None,
        **({"resize": source["resize"]} if source.get("resize") else {}),
        "conversion": source.get("conversion"),
        "picture_modes": meta.get("picture_modes", {}),
        **({"layout": {k: layout[k] for k in ("name", "file", "hash")}} if layout else {}),
    }


class Tasks:
    """Task data loaded once per task and data root, for as long as this object lives: a run, a grid, a command."""

    def __init__(self, progress: bool = False):
        self.progress = progress
        self._loaded: dict[tuple[TaskRef, str | None], TaskData] = {}

    def load(self, task: TaskRef, data_root: str | Path | None = None) -> TaskData:
        key = (task, None if data_root is None else str(data_root))
        if key not in self._loaded:
            self._loaded[key] = load_task(task, data_root, self.progress)
        return self._loaded[key]
