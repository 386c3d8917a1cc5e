"""Polygon annotations rasterised to class-index masks at import: LabelMe JSON files (one per picture) and
COCO instance segmentation (one JSON file for the release, polygons or RLE, through pycocotools).

LabelMe shapes are drawn as LabelMe's own ``shape_to_mask`` draws them (Pillow ``ImageDraw``, outline
included): ``polygon`` (3 or more points), ``rectangle`` (two opposite corners), ``circle`` (centre and a
point on the circle). ``line``, ``linestrip``, ``point`` and ``points`` mark no area; they are skipped and
counted (``bench data check`` says how many), not thickened into regions. Other shape types (``mask``)
are refused with the file named. COCO segmentations are decoded as pycocotools' ``annToMask`` decodes
them (polygons, uncompressed and compressed RLE; crowd regions included).

Overlaps: where shapes of different classes overlap, the smaller shape wins (its pixel count, counted
after rasterising), so a small defect drawn over a large one stays visible; between shapes of equal
size the later one in the file wins.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image, ImageDraw

from bench.core.errors import BenchError

AREA_SHAPES = ("polygon", "rectangle", "circle")
NO_AREA_SHAPES = ("line", "linestrip", "point", "points")
OVERLAP_RULE = "smaller shape wins; equal sizes: the later one in the file"


@dataclass(frozen=True)
class Shape:
    label: str
    kind: str  # one of AREA_SHAPES
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class LabelmeFile:
    shapes: tuple[Shape, ...]  # the shapes with an area, in file order
    skipped: tuple[str, ...]  # the kinds of the shapes without one
    size: tuple[int, int] | None  # (height, width) the file says its picture has


def _json(path: Path, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchError(f"{what} file missing: {path}", "restore it or re-import the data") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BenchError(f"{what} file {path} is not valid JSON ({exc})", "replace or remove the file") from None


def read_labelme(path: Path) -> LabelmeFile:
    """The shapes of one LabelMe file (cached by path, size and modification time: a release's labels are read
    once for the class list and once for the masks)."""
    stat = Path(path).stat()
    return _read_labelme(str(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=4096)
def _read_labelme(path: str, size: int, mtime_ns: int) -> LabelmeFile:
    data = _json(Path(path), "LabelMe")
    if not isinstance(data, dict) or not isinstance(data.get("shapes"), list):
        raise BenchError(f"LabelMe file {path} has no 'shapes' list", "point the layout's masks pattern at LabelMe JSON files")
    shapes, skipped = [], []
    for i, raw in enumerate(data["shapes"]):
        where = f"LabelMe file {path}, shape {i}"
        if not isinstance(raw, dict) or not isinstance(raw.get("label"), str) or not isinstance(raw.get("points"), list):
            raise BenchError(f"{where} has no label or points", "every shape needs a 'label' and a list of 'points'")
        kind = raw.get("shape_type") or "polygon"
        if kind in NO_AREA_SHAPES:
            skipped.append(kind)
            continue
        if kind not in AREA_SHAPES:
            raise BenchError(f"{where} is a '{kind}' shape", f"bench rasterises {', '.join(AREA_SHAPES)}; convert it to a polygon")
        try:
            points = tuple((float(x), float(y)) for x, y in raw["points"])
        except (TypeError, ValueError):
            raise BenchError(f"{where} has points that are not [x, y] numbers") from None
        needed = {"polygon": "at least 3", "rectangle": "exactly 2", "circle": "exactly 2"}[kind]
        if (kind == "polygon" and len(points) < 3) or (kind != "polygon" and len(points) != 2):
            raise BenchError(f"{where}: a {kind} needs {needed} points, it has {len(points)}", "fix or delete the shape")
        shapes.append(Shape(raw["label"], kind, points))
    height, width = data.get("imageHeight"), data.get("imageWidth")
    size = (int(height), int(width)) if isinstance(height, int) and isinstance(width, int) else None
    return LabelmeFile(tuple(shapes), tuple(skipped), size)


def shape_mask(shape: Shape, size: tuple[int, int]) -> np.ndarray:
    """A H x W boolean mask of one LabelMe shape, drawn as LabelMe draws it."""
    canvas = Image.new("L", (size[1], size[0]), 0)
    draw = ImageDraw.Draw(canvas)
    if shape.kind == "circle":
        (cx, cy), (px, py) = shape.points
        r = math.hypot(cx - px, cy - py)
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=1, fill=1)
    elif shape.kind == "rectangle":
        (x0, y0), (x1, y1) = shape.points
        draw.rectangle([min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)], outline=1, fill=1)
    else:
        draw.polygon(list(shape.points), outline=1, fill=1)
    return np.asarray(canvas, dtype=bool)


def paint(layers: Sequence[tuple[int, np.ndarray]], size: tuple[int, int]) -> np.ndarray:
    """Class-index mask of (class id, boolean mask) layers in file order, by the overlap rule: larger layers
    are painted first, so the smallest ends on top; a stable sort keeps file order among equal sizes."""
    mask = np.zeros(size, np.uint8)
    order = sorted(range(len(layers)), key=lambda i: -int(layers[i][1].sum()))
    for i in order:
        class_id, region = layers[i]
        mask[region] = class_id
    return mask


def labelme_mask(path: Path, size: tuple[int, int], class_of: dict[str, int | None]) -> np.ndarray:
    """The class-index mask of one LabelMe file for a picture of ``size`` (H, W); ``class_of`` maps each label to
    its class id (None: the label is not a class, its shapes are left out)."""
    doc = read_labelme(path)
    if doc.size is not None and doc.size != tuple(size):
        raise BenchError(f"LabelMe file {path} is for a {doc.size[1]}x{doc.size[0]} picture, its picture is {size[1]}x{size[0]}",
                         "check the layout's patterns pair each picture with its own labels")
    layers = [(class_of[s.label], shape_mask(s, size)) for s in doc.shapes if class_of.get(s.label) is not None]
    return paint(layers, size)


@dataclass(frozen=True)
class CocoImage:
    id: int
    file_name: str
    size: tuple[int, int]  # (height, width)


@dataclass(frozen=True)
class CocoFile:
    path: Path
    categories: dict[int, str]  # category id -> name, in id order
    images: dict[str, CocoImage]  # by the stem of file_name
    annotations: dict[int, tuple[dict, ...]]  # image id -> its annotations, in file order


def read_coco(path: Path) -> CocoFile:
    stat = Path(path).stat()
    return _read_coco(str(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=8)
def _read_coco(path: str, size: int, mtime_ns: int) -> CocoFile:
    data = _json(Path(path), "COCO")
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list) for k in ("images", "annotations", "categories")):
        raise BenchError(f"COCO file {path} lacks an 'images', 'annotations' or 'categories' list", "give the instance-segmentation JSON")
    try:
        categories = {int(c["id"]): str(c["name"]) for c in sorted(data["categories"], key=lambda c: int(c["id"]))}
        images: dict[str, CocoImage] = {}
        for entry in data["images"]:
            image = CocoImage(int(entry["id"]), str(entry["file_name"]), (int(entry["height"]), int(entry["width"])))
            stem = Path(image.file_name).stem
            if stem in images:
                raise BenchError(f"COCO file {path} lists two images with the stem '{stem}' ({images[stem].file_name}, {image.file_name})",
                                 "give every picture its own name")
            images[stem] = image
    except (KeyError, TypeError, ValueError) as exc:
        raise BenchError(f"COCO file {path}: a category or image entry lacks {exc}", "categories need id and name, images id, "
                         "file_name, height and width") from None
    known = {image.id for image in images.values()}
    annotations: dict[int, list[dict]] = {}
    for entry in data["annotations"]:
        if not isinstance(entry, dict) or "segmentation" not in entry:
            raise BenchError(f"COCO file {path}: annotation {entry.get('id') if isinstance(entry, dict) else entry!r} has no segmentation",
                             "bench reads instance segmentation (polygons or RLE), not boxes alone")
        if entry.get("image_id") not in known or entry.get("category_id") not in categories:
            raise BenchError(f"COCO file {path}: annotation {entry.get('id')} names an unknown image or category",
                             "every annotation's image_id and category_id must be listed")
        annotations.setdefault(entry["image_id"], []).append(entry)
    return CocoFile(Path(path), categories, images, {k: tuple(v) for k, v in annotations.items()})


def coco_segmentation_mask(segmentation, size: tuple[int, int], where: str) -> np.ndarray:
    """A H x W boolean mask of one COCO segmentation, decoded as pycocotools' ``annToMask`` decodes it."""
    from pycocotools import mask as mask_utils  # deferred: only COCO layouts need it

    height, width = size
    try:
        if isinstance(segmentation, list):  # polygons of one instance
            rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
        elif isinstance(segmentation, dict) and isinstance(segmentation.get("counts"), list):  # uncompressed RLE
            rle = mask_utils.frPyObjects(segmentation, height, width)
        elif isinstance(segmentation, dict):
            rle = dict(segmentation)  # compressed RLE
            if list(rle.get("size", ())) != [height, width]:
                raise BenchError(f"{where}: its RLE is for size {rle.get('size')}, its image is [{height}, {width}]")
        else:
            raise BenchError(f"{where}: the segmentation is neither polygons nor RLE")
        return mask_utils.decode(rle).astype(bool)
    except BenchError:
        raise
    except Exception as exc:  # pycocotools raises bare Exceptions for malformed input
        raise BenchError(f"{where}: cannot decode its segmentation ({exc})", "polygons need 3 or more points, RLE size and counts") from None


def coco_mask(coco: CocoFile, image: CocoImage, size: tuple[int, int], class_of: dict[int, int | None]) -> np.ndarray:
    """The class-index mask of one COCO image for a picture of ``size`` (H, W); ``class_of`` maps category ids
    to class ids (None: the category is left out)."""
    if image.size != tuple(size):
        raise BenchError(f"COCO file {coco.path} says {image.file_name} is {image.size[1]}x{image.size[0]}, the picture is "
                         f"{size[1]}x{size[0]}", "check the layout's images pattern and the annotation file belong together")
    layers = []
    for ann in coco.annotations.get(image.id, ()):
        class_id = class_of.get(ann["category_id"])
        if class_id is not None:
            where = f"COCO file {coco.path}, annotation {ann.get('id')}"
            layers.append((class_id, coco_segmentation_mask(ann["segmentation"], size, where)))
    return paint(layers, size)
