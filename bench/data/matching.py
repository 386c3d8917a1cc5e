"""Which images two releases share, by decoded pixels: the annotation comparison trains on the same
pictures with either release's masks, so a picture counts as shared only when its pixels are identical."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from bench.core.hashing import image_hash
from bench.core.pairset import PairSet


@dataclass(frozen=True)
class Matching:
    pairs: tuple[tuple[str, str], ...]  # (id in a, id in b) of the same picture, in a's id order
    only_a: tuple[str, ...]  # ids of a with no twin in b (or with several: a duplicated picture is not matched)
    only_b: tuple[str, ...]


def _by_pixels(pool: PairSet) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for pair_id in pool.ids:
        out[image_hash(pool.image(pair_id))].append(pair_id)
    return out


def match_images(a: PairSet, b: PairSet) -> Matching:
    """Pair every image of ``a`` with the image of ``b`` that has the same pixels; a picture held more than once
    by either side is left unmatched rather than paired by guess."""
    in_a, in_b = _by_pixels(a), _by_pixels(b)
    twin = {ids[0]: in_b[h][0] for h, ids in in_a.items() if len(ids) == 1 and len(in_b.get(h, ())) == 1}
    matched_b = set(twin.values())
    return Matching(
        tuple((i, twin[i]) for i in a.ids if i in twin),
        tuple(i for i in a.ids if i not in twin),
        tuple(i for i in b.ids if i not in matched_b),
    )
