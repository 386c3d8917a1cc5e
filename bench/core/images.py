"""Reading and writing the PNG pictures and masks of pair sets, with one-line errors naming the file.

Every picture becomes 8-bit RGB through one conversion (``CONVERSION``, recorded in each pool's meta and
run record), whatever the mode it was stored in:

* RGB as stored; RGBA, LA and palette pictures with transparency lose their alpha channel (no compositing);
* grey (L, and 1-bit pictures as 0/255) is copied into R = G = B;
* 16-bit grey (PIL modes I;16*, and I holding 0..65535) is scaled linearly from the full 16-bit range:
  v8 = round(v16 x 255 / 65535). A release that uses part of the range (12-bit data stored in 16 bits,
  thermal counts) comes out dark; convert such a release with its own window before importing it.
  16-bit-per-channel RGB PNGs are reduced to 8 bits by Pillow as they are read (the high byte);
* palette (P) pictures are looked up in their palette;
* CMYK is R = 255 (1 - C)(1 - K), and likewise G, B (Pillow's conversion, no colour profile applied);
  YCbCr by Pillow's ITU-R BT.601 conversion;
* EXIF orientation tags are not applied: pixels as stored, the way annotation coordinates in masks
  are usually meant;
* other modes (32-bit float, 32-bit integer beyond 16 bits, LAB, HSV) are refused with the file named.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from bench.core.errors import BenchError

CONVERSION = "bench.rgb/1"  # the conversion above; a changed one gets a new name, so caches are rebuilt
SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N", "I")
REPLACE_FILE = "replace or remove the file"


def to_rgb(image: Image.Image, path: Path | str = "") -> np.ndarray:
    """The H x W x 3 uint8 picture of ``image`` by the module's one conversion."""
    mode = image.mode
    if mode == "RGB":
        return np.asarray(image)
    if mode in ("RGBA", "RGBX", "LA", "PA", "L", "1", "P", "CMYK", "YCbCr"):
        if mode == "P" and "transparency" in image.info:
            image = image.convert("RGBA")  # Pillow's own route for a palette with transparency
        return np.asarray(image.convert("RGB"))
    if mode in SIXTEEN_BIT:
        values = np.asarray(image).astype(np.int64)
        if values.min(initial=0) < 0 or values.max(initial=0) > 65535:
            raise BenchError(f"picture {path} holds values outside 0..65535 (mode {mode})", "save it as an 8- or 16-bit picture")
        grey = np.round(values * (255 / 65535)).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    raise BenchError(f"picture {path} is stored in mode {mode}, which bench does not convert to RGB",
                     "save it as 8- or 16-bit grey, RGB, palette or CMYK (docs/datasets.md, Picture modes)")


def read_picture(path: Path, hint: str = REPLACE_FILE) -> tuple[np.ndarray, str]:
    """A picture as RGB by ``to_rgb``, and the mode it was stored in."""
    try:
        with Image.open(path) as im:
            im.load()
            return to_rgb(im, path), im.mode
    except FileNotFoundError:
        raise BenchError(f"image file missing: {path}", "restore it or re-import the data") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise BenchError(f"unreadable or truncated image: {path} ({exc})", hint) from None


def read_rgb(path: Path, hint: str = REPLACE_FILE) -> np.ndarray:
    """A picture as RGB; ``hint`` says how to repair an unreadable file (a release's, a cached set's)."""
    return read_picture(path, hint)[0]


def read_mask_pixels(path: Path, hint: str = REPLACE_FILE) -> np.ndarray:
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
        raise BenchError(f"unreadable or truncated mask: {path} ({exc})", hint) from None
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    if arr.max(initial=0) > 255:
        raise BenchError(f"mask {path} has values above 255", "class ids must fit in uint8")
    return arr.astype(np.uint8)


def read_index_mask(path: Path, hint: str = REPLACE_FILE) -> np.ndarray:
    """A pair set's mask: one channel of class ids. Colour masks are converted at import, never here."""
    arr = read_mask_pixels(path, hint)
    if arr.ndim != 2:
        raise BenchError(
            f"mask {path} is a colour image, not a single-channel class-index PNG",
            "write class ids (0 = background) in one channel; `bench data import` converts a release's masks",
        )
    return arr


def write_png(path: Path, array: np.ndarray) -> None:
    Image.fromarray(array).save(path, format="PNG", compress_level=6)
