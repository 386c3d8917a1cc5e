"""A task's picture size, applied as a pool is imported: every picture area-resized and every mask resized
by nearest neighbour to the one size the user chose (``--image-size``, grid key ``image_size``), and the
one-size rule for a task imported without it.

Area resampling (OpenCV ``INTER_AREA``) averages the source pixels under each target pixel when shrinking,
so thin structures fade instead of aliasing; masks keep class ids (OpenCV ``INTER_NEAREST_EXACT``, which
samples pixel centres like Pillow's NEAREST and so stays aligned with the area-resized picture). The aspect
ratio is not kept: a ``WxH`` size close to the release's own ratio avoids stretching. A defect that nearest
neighbour samples away entirely leaves an empty mask: that picture counts as a normal, and the pool's meta
lists it (``emptied_by_resize``) so ``bench data check`` says how many.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Iterable, Iterator

import cv2
import numpy as np

from bench.core.errors import BenchError
from bench.core.pairset import NORMAL_GROUP, Pair
from bench.core.specs import image_size_pixels

RESIZE = {"picture": "area (OpenCV INTER_AREA)", "mask": "nearest (OpenCV INTER_NEAREST_EXACT)", "aspect": "not kept"}
SIZE_FLAG = ("pass --image-size S or WxH (e.g. 256 or 384x160; grid key image_size) to resize every picture at import, "
             "or train on crops with a +crop:S split")


def size_text(shape: tuple[int, ...]) -> str:
    """``WxH`` of an H x W[ x C] array shape."""
    return f"{shape[1]}x{shape[0]}"


def resize_pair(pair: Pair, size: str) -> Pair:
    """``pair`` at ``size`` (canonical ``WxH``); a defect mask emptied by resizing makes the pair a normal."""
    width, height = image_size_pixels(size)
    if pair.image.shape[:2] == (height, width):
        return pair
    image = cv2.resize(pair.image, (width, height), interpolation=cv2.INTER_AREA)
    mask = cv2.resize(pair.mask, (width, height), interpolation=cv2.INTER_NEAREST_EXACT)
    emptied = pair.group != NORMAL_GROUP and not _defective(mask) and _defective(pair.mask)
    return replace(pair, image=image, mask=mask, group=NORMAL_GROUP if emptied else pair.group)


def _defective(mask: np.ndarray) -> bool:
    return bool(((mask > 0) & (mask != 255)).any())


class Sizing:
    """Passes an import's pairs through, resized to ``size`` when one is given, and tallies what the pool's
    meta records: the release's own picture sizes and modes, and the pairs whose defects resizing removed.
    With ``one_size`` (a task without a size, whole pictures) the second picture size met stops the import
    with one line naming two sizes and the flag, before anything is kept."""

    def __init__(self, size: str = "", one_size: bool = False, what: str = "the category"):
        self.size, self.one_size, self.what = size, one_size, what
        self.sizes: Counter[str] = Counter()
        self.modes: Counter[str] = Counter()
        self.emptied: list[str] = []
        self._first: dict[str, str] = {}  # size -> the first pair id of that size

    def __call__(self, pairs: Iterable[Pair]) -> Iterator[Pair]:
        for pair in pairs:
            own = size_text(pair.image.shape)
            self.sizes[own] += 1
            self._first.setdefault(own, pair.id)
            if pair.mode:
                self.modes[pair.mode] += 1
            if self.one_size and not self.size and len(self.sizes) > 1:
                first = next(iter(self._first))
                raise different_sizes(self.what, (self._first[first], first), (pair.id, own))
            if self.size:
                resized = resize_pair(pair, self.size)
                if resized.group != pair.group:
                    self.emptied.append(pair.id)
                pair = resized
            yield pair

    def notes(self) -> dict:
        """What the pool's meta records of the import."""
        return {"picture_sizes": dict(sorted(self.sizes.items())), "picture_modes": dict(sorted(self.modes.items())),
                "emptied_by_resize": sorted(self.emptied)}


def different_sizes(what: str, first: tuple[str, str], second: tuple[str, str]) -> BenchError:
    """The one line a task of several picture sizes stops with: two pictures and their sizes, and the flag."""
    return BenchError(f"pictures of {what} differ in size: '{first[0]}' is {first[1]}, '{second[0]}' is {second[1]}",
                      SIZE_FLAG)


def check_one_size(sizes: dict[str, int], what: str) -> None:
    """A cached pool of several picture sizes, asked for as a task without a size: the same one line."""
    if len(sizes) > 1:
        first, second = sorted(sizes, key=lambda s: (-sizes[s], s))[:2]
        more = f" ({len(sizes)} sizes in all)" if len(sizes) > 2 else ""
        raise BenchError(f"pictures of {what} differ in size: {sizes[first]} are {first}, {sizes[second]} are {second}{more}",
                         SIZE_FLAG)
