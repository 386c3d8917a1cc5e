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
