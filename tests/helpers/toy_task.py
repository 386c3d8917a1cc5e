"""The toy wood task with its ds-5shot split, and copy-paste pairs generated from it."""

from __future__ import annotations


def toy_task():
    """(pool, split) of toy/wood/ds-5shot."""
    from bench.data.base import load_pool
    from bench.data.splits import make_split

    pool = load_pool("toy", "wood")
    return pool, make_split(pool, "ds-5shot")


def copy_paste_pairs(pool, split, n: int, seed: int = 0):
    """``n`` copy-paste pairs made from the split's training pairs and normals."""
    from bench.core.specs import GeneratorSpec
    from generators.synthesize import synthesize

    generated, _ = synthesize(GeneratorSpec("copy-paste"), pool.subset(split.train), pool.subset(split.normal_train), n, seed)
    return generated
