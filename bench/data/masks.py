"""Mask decoding at the edge: every release encoding becomes a single-channel uint8 class-index mask here.

Two encodings arrive from releases:

* *binary* masks (MVTec AD, VisA, KolektorSDD2): one defect region per file, 0/255 (or 0/1); every
  non-zero pixel becomes the class id of the defect type the file belongs to;
* *index* masks (Defect Spectrum, Defect-Gen, ``folder``): pixel value = class id. Palette-mode PNGs
  are read by their palette indices (the VOC / MMSegmentation convention). Index masks that were
  saved as RGB are accepted when they are unambiguous: grey RGB (R = G = B) is read as the index, and
  masks drawn only in the Defect-Gen palette (``semantic_mask_to_rgb``) are mapped back to ids. Any
  other colour mask is refused, because its colours carry no recoverable class ids.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

from bench.core.errors import BenchError
from bench.core.images import read_mask_pixels

# Defect-Gen's palette (RGB as written to disk), index = class id.
DEFECT_GEN_PALETTE: tuple[tuple[int, int, int], ...] = (
    (0, 0, 0),
    (0, 0, 255),
    (0, 255, 0),
    (255, 0, 0),
    (0, 255, 255),
    (255, 0, 255),
    (255, 255, 0),
    (128, 0, 0),
    (0, 128, 0),
    (0, 0, 128),
    (128, 128, 128),
)


def _grey_or_none(rgb: np.ndarray) -> np.ndarray | None:
    if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2]):
        return rgb[..., 0].copy()
    return None


def palette_to_index(rgb: np.ndarray, palette=DEFECT_GEN_PALETTE) -> np.ndarray | None:
    """Class ids of an RGB mask drawn in ``palette``, or None when a colour is not in it."""
    codes = (rgb[..., 0].astype(np.int64) << 16) | (rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2]
    lookup = {(r << 16) | (g << 8) | b: i for i, (r, g, b) in enumerate(palette)}
    present = np.unique(codes)
    if any(int(c) not in lookup for c in present):
        return None
    index = np.zeros(codes.shape, np.uint8)
    for code in present:
        index[codes == code] = lookup[int(code)]
    return index


def index_mask(path: Path, classes: Mapping[int, str]) -> np.ndarray:
    """A class-index mask, converting grey or Defect-Gen-palette RGB files; ids are checked against ``classes``."""
    pixels = read_mask_pixels(path)
    if pixels.ndim == 3:
        index = _grey_or_none(pixels)
        if index is None:
            index = palette_to_index(pixels)
        if index is None:
            colours = [c for c in np.unique(pixels.reshape(-1, 3), axis=0).tolist() if tuple(c) not in DEFECT_GEN_PALETTE]
            raise BenchError(
                f"mask {path} is a colour (RGB) mask with colours such as {colours[:3]} that are not in the "
                "Defect-Gen palette, so its class ids cannot be recovered",
                "use the release's class-index masks (e.g. mask/ or masks_converted_dir/, not rgb_mask/ or masks/) "
                "or write class ids 0..K in one channel",
            )
        pixels = index
    check_class_ids(pixels, classes, path)
    return pixels


def grey_mask_pixels(path: Path) -> np.ndarray:
    """The single-channel values of a binary (0/255, or anti-aliased 0..255) mask; grey RGB files are read as grey."""
    pixels = read_mask_pixels(path)
    if pixels.ndim == 3:
        grey = _grey_or_none(pixels)
        if grey is None:
            raise BenchError(
                f"mask {path} is a colour (RGB) mask where a 0/255 binary mask is expected",
                "save the mask as a single-channel PNG with 0 = background and 255 = defect",
            )
        pixels = grey
    return pixels


def binary_mask(path: Path, class_id: int) -> np.ndarray:
    """A one-defect-type mask: non-zero pixels (255 in the releases) become ``class_id``."""
    return np.where(grey_mask_pixels(path) > 0, np.uint8(class_id), np.uint8(0))


def check_class_ids(mask: np.ndarray, classes: Mapping[int, str], path: Path) -> None:
    unknown = [int(v) for v in np.unique(mask) if int(v) not in classes]
    if unknown:
        binary = unknown == [255] and 1 not in np.unique(mask)
        raise BenchError(
            f"mask {path} has class ids {unknown} outside the class map {sorted(classes)}",
            "it looks like a 0/255 binary mask: write class ids instead of 255"
            if binary
            else "fix the mask or the class list of this category",
        )
