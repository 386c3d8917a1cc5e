"""Single pairs for tests of the pair-set format and what reads it."""

from __future__ import annotations

import numpy as np

from bench.core.pairset import Pair


def make_pair(pair_id: str, size: int = 16, class_id: int = 1, seed: int = 0, group: str = "scratch") -> Pair:
    """A random picture with a 4 x 6 defect of ``class_id`` (none when it is 0)."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    mask = np.zeros((size, size), np.uint8)
    if class_id:
        mask[2:6, 3:9] = class_id
    return Pair(pair_id, image, mask, group)


def pair_set(root, per_type: dict[str, int], size: int = 16):
    """A pair set at ``root`` with ``per_type[name]`` pairs of each defect type, class ids 1.. in the order given
    (a generator's deviations read the pictures' types, counts and size from it)."""
    from bench.core.pairset import write_pairset

    pairs = [make_pair(f"{name}_{i:03d}", size, class_id, seed=i, group=name)
             for class_id, (name, count) in enumerate(per_type.items(), start=1) for i in range(count)]
    return write_pairset(root, pairs, dict(enumerate(per_type, start=1)), {"test": "pair_set"})
