"""The toy tasks of every product (wood, metal, fabric) with a split, and copy-paste pairs generated from one."""

from __future__ import annotations

from typing import NamedTuple


class ToySets(NamedTuple):
    """A toy task's pool, the split's training pairs and its defect-free training pictures."""

    pool: object  # bench.core.pairset.PairSet
    train: object
    normals: object


def toy_task(category: str = "wood", split: str = "ds-5shot"):
    """(pool, split) of toy/CATEGORY/SPLIT."""
    from bench.data.base import load_pool
    from bench.data.splits import make_split

    pool = load_pool("toy", category)
    return pool, make_split(pool, split)


def toy_sets(category: str = "metal", split: str = "ds-5shot") -> ToySets:
    """The pairs a generator learns from on toy/CATEGORY/SPLIT (metal: classes 1 scratch, 2 stain, 3 hole)."""
    pool, chosen = toy_task(category, split)
    return ToySets(pool, pool.subset(chosen.train), pool.subset(chosen.normal_train))


def copy_paste_pairs(pool, split, n: int, seed: int = 0):
    """``n`` copy-paste pairs made from the split's training pairs and normals."""
    from bench.core.specs import GeneratorSpec
    from generators.synthesize import synthesize

    generated, _ = synthesize(GeneratorSpec("copy-paste"), pool.subset(split.train), pool.subset(split.normal_train), n, seed)
    return generated
