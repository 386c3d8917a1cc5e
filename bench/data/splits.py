"""Split presets: fixed, recorded choices of train / val / test ids from a category pool.

Every split is a pure function of the pool (sorted ids, groups, origins) and its parameters, so it is
the same on every machine; its manifest (ids + content hashes) is hashed into every run record.
Validation ids, when a preset carves any, come out of train: test data never selects checkpoints.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Callable

from bench.errors import BenchError
from bench.pairset import NORMAL_GROUP, PairSet, canonical_json, sha256_text
from bench.registry import Registry


@dataclass(frozen=True)
class Split:
    preset: str
    train: tuple[str, ...]
    val: tuple[str, ...]
    test: tuple[str, ...]
    normal_train: tuple[str, ...]
    normal_test: tuple[str, ...]

    def parts(self) -> dict[str, tuple[str, ...]]:
        return {
            "train": self.train,
            "val": self.val,
            "test": self.test,
            "normal_train": self.normal_train,
            "normal_test": self.normal_test,
        }

    def manifest(self, pool: PairSet) -> dict:
        return {
            "preset": self.preset,
            "pool": pool.content_hash(),
            "parts": {name: {i: pool.hash(i) for i in ids} for name, ids in self.parts().items()},
        }

    def manifest_hash(self, pool: PairSet) -> str:
        return sha256_text(canonical_json(self.manifest(pool)))


SplitFn = Callable[[PairSet], Split]
SPLITS: Registry[SplitFn] = Registry("split preset", "bench.splits")


def defects_by_group(pool: PairSet) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for pair_id in sorted(pool.ids):
        group = pool.group(pair_id)
        if group != NORMAL_GROUP:
            groups[group].append(pair_id)
    return dict(groups)


def normals_by_origin(pool: PairSet) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Release train normals for training, release test normals for testing; without origins, half each."""
    normals = sorted(i for i in pool.ids if pool.group(i) == NORMAL_GROUP)
    train = [i for i in normals if pool.origin(i) == "train"]
    test = [i for i in normals if pool.origin(i) == "test"]
    if not train and not test:
        half = len(normals) // 2
        train, test = normals[:half], normals[half:]
    return tuple(train), tuple(test)


def per_group_split(pool: PairSet, preset: str, n_train: Callable[[int], int]) -> Split:
    train: list[str] = []
    test: list[str] = []
    groups = defects_by_group(pool)
    if not groups:
        raise BenchError(f"pool {pool.root} has no defect images", "check the category's data")
    for group, ids in sorted(groups.items()):
        k = n_train(len(ids))
        train += ids[:k]
        test += ids[k:]
    normal_train, normal_test = normals_by_origin(pool)
    split = Split(preset, tuple(train), (), tuple(test), normal_train, normal_test)
    check_no_overlap(pool, split)
    return split


@SPLITS.register("ds-5shot")
def ds_5shot(pool: PairSet) -> Split:
    """Defect Spectrum: the first 5 images (sorted id) of every defect type train, the rest test."""
    return per_group_split(pool, "ds-5shot", lambda n: min(5, n - 1) if n > 1 else n)


def check_no_overlap(pool: PairSet, split: Split) -> None:
    """Training and test parts must not share a picture, compared by content hash."""
    train_side = {pool.hash(i): i for i in split.train + split.val + split.normal_train}
    for pair_id in split.test + split.normal_test:
        twin = train_side.get(pool.hash(pair_id))
        if twin is not None:
            raise BenchError(
                f"split '{split.preset}' puts the same picture in train ('{twin}') and test ('{pair_id}') of {pool.root}",
                "remove the duplicate from the data",
            )


def make_split(pool: PairSet, preset: str) -> Split:
    return SPLITS.get(preset)(pool)
