"""Reading and writing the PNG pictures and masks of pair sets, with one-line errors naming the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from bench.core.errors import BenchError


def read_rgb(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as im:
            im.load()
            return np.asarray(im.convert("RGB"))
    except FileNotFoundError:
        raise BenchError(f"image file missing: {path}", "restore it or re-import the data") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise BenchError(f"unreadable or truncated image: {path} ({exc})", "replace or remove the file") from None


def read_mask_pixels(path: Path) -> np.ndarray:
    """Decoded mask pixels: H x W for single-channel and palette-mode files (indices), H x W x 3 for colour ones."""
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("RGBA", "CMYK", "YCbCr"):
                im = im.convert("RGB")
            elif im.mode == "LA":
                im = im.convert("L")
            arr = np.asarray(im)
    except FileNotFoundError:
        raise BenchError(f"mask file missing: {path}", "restore it or re-import the data") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise BenchError(f"unreadable or truncated mask: {path} ({exc})", "replace or remove the file") from None
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    if arr.max(initial=0) > 255:
        raise BenchError(f"mask {path} has values above 255", "class ids must fit in uint8")
    return arr.astype(np.uint8)


def read_index_mask(path: Path) -> np.ndarray:
    """A pair set's mask: one channel of class ids. Colour masks are converted at import, never here."""
    arr = read_mask_pixels(path)
    if arr.ndim != 2:
        raise BenchError(
            f"mask {path} is a colour image, not a single-channel class-index PNG",
            "convert it with `bench data import` or write class ids (0 = background) in one channel",
        )
    return arr


def write_png(path: Path, array: np.ndarray) -> None:
    Image.fromarray(array).save(path, format="PNG", compress_level=6)
