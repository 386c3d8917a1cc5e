"""Shared machinery of file-based release layouts: find image/mask files, pair them, decode and validate.

An adapter for a release on disk lists its *sources* (image file, mask file or none, defect type,
release split) and says how to decode them; ``FileLayoutAdapter`` turns sources into pairs, naming
the offending file in every error: image without mask, mask without image, duplicate ids, size
mismatch, unreadable files, colour masks and class ids outside the class map.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Mapping

import numpy as np

from bench.core.errors import BenchError
from bench.core.hashing import files_fingerprint
from bench.core.images import read_picture
from bench.core.pairset import NORMAL_GROUP, Pair
from bench.data.base import DatasetAdapter
from bench.data.masks import binary_mask, index_mask

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


@dataclass(frozen=True)
class Source:
    """One picture of a release as found on disk, before decoding."""

    id: str
    image: Path
    mask: Path | None  # None: a defect-free image with no mask file, read as all background
    group: str | None = None  # defect type; None: named after the class covering most mask pixels
    origin: str = ""  # the release's own split, "train"/"test", where it has one
    binary_class: int | None = None  # set for 0/255 masks: the class id their defect pixels get
    # A mask reader of its own (a layout's thresholded masks, LabelMe or COCO shapes): (mask file, picture H x W)
    # -> class-index mask. None: the adapter's encoding (binary_class, else an index mask).
    reader: Callable[[Path | None, tuple[int, int]], np.ndarray] | None = None


def image_files(folder: Path) -> dict[str, Path]:
    """Image files of one folder by stem; two files with one stem (a.png, a.jpg) are an error."""
    found: dict[str, Path] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.suffix.lower() not in IMAGE_SUFFIXES or path.name.startswith("."):
            continue
        if path.stem in found:
            raise BenchError(
                f"duplicate id '{path.stem}': both {found[path.stem]} and {path} exist",
                "keep one file per picture",
            )
        found[path.stem] = path
    return found


def masks_by_stem(folder: Path, suffix: str, prefix: str = "") -> dict[str, Path]:
    """Mask files named ``<prefix><stem><suffix>`` (e.g. ``000_mask.png``) by the stem of their image."""
    found: dict[str, Path] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.iterdir()):
        name = path.name
        if path.is_file() and name.startswith(prefix) and name.endswith(suffix) and not name.startswith("."):
            found[name[len(prefix) : len(name) - len(suffix)]] = path
    return found


def match_masks(
    images: Mapping[str, Path],
    masks: Mapping[str, Path],
    mask_folder: Path,
    mask_suffix: str,
    masks_required: bool = True,
    mask_prefix: str = "",
) -> dict[str, Path | None]:
    """Image stem -> its mask; an image without a mask (when required) or a mask without an image is an error."""
    for stem, mask in masks.items():
        if stem not in images:
            raise BenchError(f"mask without image: {mask}", "restore the image or remove the mask")
    matched: dict[str, Path | None] = {}
    for stem, image in images.items():
        mask = masks.get(stem)
        if mask is None and masks_required:
            expected = mask_folder / (mask_prefix + stem + mask_suffix)
            other = sorted(p for p in mask_folder.glob(f"{Path(expected.name).stem}.*") if p != expected) if mask_folder.is_dir() else []
            if other:
                raise BenchError(
                    f"mask {other[0]} of image {image} is not {expected.name}: masks must be lossless PNG "
                    "(JPEG compression changes class ids at edges)",
                    f"convert it to {expected} or re-export the masks as PNG",
                )
            raise BenchError(f"image without mask: {image} (expected {expected})", "restore the mask or remove the image")
        matched[stem] = mask
    return matched


def subdirs(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def dominant_group(mask: np.ndarray, classes: Mapping[int, str]) -> str:
    """The class name covering most pixels (ties: lowest id); ``good`` for an all-background mask."""
    counts = np.bincount(mask.ravel(), minlength=max(classes) + 1)
    counts[0] = 0
    if not counts.any():
        return NORMAL_GROUP
    return classes[int(np.argmax(counts))]


def load_source(source: Source, classes: Mapping[int, str]) -> Pair:
    image, mode = read_picture(source.image)
    if source.reader is not None:
        mask = source.reader(source.mask, image.shape[:2])
    elif source.mask is None:
        mask = np.zeros(image.shape[:2], np.uint8)
    elif source.binary_class is not None:
        mask = binary_mask(source.mask, source.binary_class)
    else:
        mask = index_mask(source.mask, classes)
    if mask.shape != image.shape[:2]:
        raise BenchError(
            f"size mismatch: mask {source.mask} is {mask.shape[1]}x{mask.shape[0]} but image {source.image} "
            f"is {image.shape[1]}x{image.shape[0]}",
            "masks must have the size of their image",
        )
    group = source.group if source.group is not None else dominant_group(mask, classes)
    return Pair(source.id, image, mask, group, source.origin, mode)


def check_unique_ids(sources: list[Source]) -> None:
    seen: dict[str, Source] = {}
    for source in sources:
        if source.id in seen:
            raise BenchError(
                f"duplicate id '{source.id}': {seen[source.id].image} and {source.image}",
                "each picture must appear once in a category",
            )
        seen[source.id] = source


class FileLayoutAdapter(DatasetAdapter):
    """An adapter over files on disk: subclasses list sources and the class map, this class does the rest."""

    @abstractmethod
    def sources(self, root: Path, category: str) -> list[Source]:
        """Every picture of one category, in a stable order."""

    def extra_files(self, root: Path, category: str) -> list[Path]:
        """Files besides images and masks whose content defines the category (split CSVs, class lists)."""
        return []

    def pairs(self, root: Path | None, category: str) -> Iterator[Pair]:
        classes = self.classes(root, category)
        sources = self.sources(root, category)
        check_unique_ids(sources)
        return (load_source(s, classes) for s in sources)

    def fingerprint(self, root: Path | None, category: str) -> str:
        """Names, sizes and mtimes of exactly the files this category is read from."""
        files: list[Path] = list(self.extra_files(root, category))
        for source in self.sources(root, category):
            files.append(source.image)
            if source.mask is not None:
                files.append(source.mask)
        return files_fingerprint(root, files)


def flat_sources(
    folder: Path, image_dir: str, mask_dir: str, mask_suffix: str, image_prefix: str = "", mask_prefix: str = ""
) -> list[Source]:
    """``<folder>/<image_dir>/<image_prefix><key>.<ext>`` with ``<folder>/<mask_dir>/<mask_prefix><key><mask_suffix>``;
    pair ids are the keys, groups come from mask content."""
    images = {
        stem[len(image_prefix) :]: path for stem, path in image_files(folder / image_dir).items() if stem.startswith(image_prefix)
    }
    masks = masks_by_stem(folder / mask_dir, mask_suffix, prefix=mask_prefix)
    matched = match_masks(images, masks, folder / mask_dir, mask_suffix, mask_prefix=mask_prefix)
    return [Source(key, images[key], mask) for key, mask in matched.items()]

