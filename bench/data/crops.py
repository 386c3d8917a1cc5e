"""The crop view of a task (DCDGANc Tables 3, 4 and 6): square windows of the split's pictures, so that a
protocol trains and tests on crops as the paper does, 256 px crops of 1024 px MVTec AD pictures.

The split is made on whole pictures first and each side is cropped after, so crops of one picture never
sit on both sides. A defect picture gives every window (size x size, every ``stride`` pixels, the last
one flush with the edge) that holds a defect pixel: overlapping windows show each defect at several
positions, which is how a dozen pictures give the paper's hundred crops. A defect-free training picture
gives its non-overlapping tiles (backgrounds for generators, normal data). Defect-free test pictures
are left out: the paper's test sets count defect crops only (7 pictures -> 51 crops for carpet color).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from PIL import Image

from bench.core.errors import BenchError
from bench.core.hashing import canonical_json, sha256_text
from bench.core.pairset import Pair, PairSet, write_pairset
from bench.core.paths import cache_dir
from bench.data.splits import Split, describe_pool

IGNORE = 255  # the masks' ignore label: not a defect pixel when choosing windows


@dataclass(frozen=True)
class CropView:
    size: int  # window side in pixels
    stride: int  # step between windows of a defect picture (defect-free pictures are tiled at ``size``); the preset checks both


def starts(length: int, size: int, stride: int) -> list[int]:
    """Window starts along one axis: every ``stride`` pixels, plus one flush with the far edge if the last
    step falls short of it, so every pixel lies in some window."""
    out = list(range(0, length - size + 1, stride))
    if out[-1] + size < length:
        out.append(length - size)
    return out


def windows(shape: tuple[int, int], size: int, stride: int) -> list[tuple[int, int]]:
    """(top, left) of every window of a picture of ``shape`` (H, W), row by row."""
    return [(top, left) for top in starts(shape[0], size, stride) for left in starts(shape[1], size, stride)]


def crop_id(pair_id: str, top: int, left: int) -> str:
    return f"{pair_id}@{top}-{left}"


def crops_of(pair: Pair, view: CropView, defects_only: bool) -> Iterator[Pair]:
    """The windows of one picture: those holding a defect pixel (``defects_only``), or its tiles."""
    stride = view.stride if defects_only else view.size
    defect = (pair.mask > 0) & (pair.mask != IGNORE)
    for top, left in windows(pair.mask.shape, view.size, stride):
        window = (slice(top, top + view.size), slice(left, left + view.size))
        if defects_only and not defect[window].any():
            continue
        yield Pair(crop_id(pair.id, top, left), pair.image[window].copy(), pair.mask[window].copy(), pair.group, pair.origin)


def check_sizes(pool: PairSet, ids, view: CropView, where: str) -> None:
    """Every picture at least one window wide and high, read from the PNG headers before the first crop is cut."""
    for pair_id in ids:
        with Image.open(pool.image_path(pair_id)) as image:
            width, height = image.size
        if width < view.size or height < view.size:
            raise BenchError(f"crop {view.size} px is larger than picture '{pair_id}' ({width}x{height}) of {where}",
                             f"choose a crop of at most {min(width, height)} px, e.g. +crop:{min(width, height) // 2}")


def cropped_pool(pool: PairSet, defect_ids, normal_ids, view: CropView, progress: bool = False) -> PairSet:
    """The crops of the given pictures as a pair set, cached beside the pools (once per pool, pictures and view)."""
    key = sha256_text(canonical_json({"pool": pool.content_hash(), "defects": sorted(defect_ids), "normals": sorted(normal_ids),
                                      "size": view.size, "stride": view.stride}))[:16]
    root = cache_dir() / "crops" / key
    if (root / "meta.json").is_file():
        return PairSet.open(root)
    check_sizes(pool, [*defect_ids, *normal_ids], view, describe_pool(pool))

    def pairs() -> Iterator[Pair]:
        for pair_id in sorted(defect_ids):
            yield from crops_of(pool.pair(pair_id), view, defects_only=True)
        for pair_id in sorted(normal_ids):
            yield from crops_of(pool.pair(pair_id), view, defects_only=False)

    source = {**pool.meta.get("source", {}), "cropped": pool.root.name, "crop": view.size, "stride": view.stride}
    return write_pairset(root, pairs(), pool.classes, source, progress=progress)


def crops_by_picture(cropped: PairSet) -> dict[str, list[str]]:
    """Picture id -> its crop ids, in the order they were cut."""
    out: dict[str, list[str]] = {}
    for crop in cropped.ids:
        out.setdefault(crop.rpartition("@")[0], []).append(crop)
    return out


def crop_split(pool: PairSet, split: Split, view: CropView, progress: bool = False) -> tuple[PairSet, Split]:
    """The cropped pool of a split's pictures and the split of its crops: each part holds the crops of that
    part's pictures (test normals none, see the module's docstring)."""
    defects = split.train + split.val + split.test
    cropped = cropped_pool(pool, defects, split.normal_train, view, progress)
    by_picture = crops_by_picture(cropped)

    def of(ids) -> tuple[str, ...]:
        return tuple(crop for pair_id in ids for crop in by_picture.get(pair_id, ()))

    return cropped, Split(split.preset, of(split.train), of(split.val), of(split.test), of(split.normal_train), ())
