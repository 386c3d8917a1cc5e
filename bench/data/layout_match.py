"""What a layout file matches on disk: pictures paired with their masks or annotations, the class map, and the
counts ``bench data check`` prints (pairs per class, pictures without masks, masks without pictures).

Pair ids join the picture's field values: ``<class>_<origin>_<stem>``, each where the images pattern has it.
Where the images and masks patterns both match a file (``{stem}.png`` with ``{stem}_GT.png``), the file is
a mask. A pair's group (defect type) is the class covering most of its mask, so a picture of a defect folder
whose mask is empty after thresholding (or rasterising) is a normal; ``data check`` says how many.

Class ids, 1..K, by mask encoding:

* binary: the {class} values of the pictures outside ``normal``, renamed by ``classes``, in sorted order
  (one class, ``defect``, when the pattern has no {class});
* labelme: the labels of the shapes, renamed by ``classes``, sorted;
* coco: the categories in the order of their ids, renamed by ``classes``;
* index: ``classes`` (id -> name), else the category's classes file, as the ``folder`` dataset reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np

from bench.core.errors import BenchError
from bench.data.layout import Source
from bench.data.layout_file import ORIGINS, Layout
from bench.data.masks import grey_mask_pixels
from bench.data.shapes import coco_mask, labelme_mask, read_coco, read_labelme

EXAMPLES = 3  # files named per count in the summary


@dataclass(frozen=True)
class Matched:
    sources: tuple[Source, ...]
    classes: dict[int, str]
    files: tuple[Path, ...]  # files besides pictures and masks that define the category (a COCO file)
    summary: dict  # what the pool's meta records and `bench data check` prints


def pair_id(fields: dict[str, str]) -> str:
    return "_".join(fields[f] for f in ("class", "origin", "stem") if f in fields)


def _examples(paths, root: Path) -> list[str]:
    return [str(p.relative_to(root) if p.is_relative_to(root) else p) for p in list(paths)[:EXAMPLES]]


def _origin(layout: Layout, fields: dict[str, str], picture: Path) -> str:
    if "origin" not in fields:
        return ""
    value = dict(layout.origins).get(fields["origin"], fields["origin"])
    if value not in ORIGINS:
        raise BenchError(f"{layout.where('origins')}: picture {picture} has {{origin}} '{fields['origin']}', which is neither train nor test",
                         f"map it, e.g. origins: {{{fields['origin']}: test}}")
    return value


def match_layout(layout: Layout, root: Path, index_classes: Callable[[], dict[int, str]]) -> Matched:
    """Pair every picture the layout's images pattern finds under ``root`` (the release root) with its mask or
    annotation; ``index_classes`` gives the class map of index masks when the layout has no ``classes``."""
    pictures = layout.images.find(root)
    masks = layout.masks.find(root) if layout.masks is not None else {}
    pictures = {p: f for p, f in pictures.items() if p not in masks}  # a file both patterns match is a mask
    if not pictures:
        raise BenchError(f"{layout.where('images')}: {layout.images.text!r} matches no file under {root}",
                         "check the pattern against the release's folders (fields match within one folder level)")
    coco = read_coco(root / layout.annotations) if layout.mask == "coco" else None
    normal = set(layout.normal)
    found: list[tuple[Path, dict[str, str], Path | None, object]] = []  # picture, fields, mask file, COCO image
    used: set = set()
    for picture, fields in pictures.items():
        if coco is not None:
            image = coco.images.get(Path(picture).stem)
            found.append((picture, fields, None, image))
            if image is not None:
                if image.id in used:
                    raise BenchError(f"COCO file {coco.path} names {image.file_name} once, but two pictures have its stem",
                                     "a coco layout matches pictures by file-name stem: give them distinct names")
                used.add(image.id)
        else:
            mask = root / layout.masks.fill(fields)
            found.append((picture, fields, mask if mask in masks else None, None))
            if mask in masks:
                used.add(mask)
    orphans = ([p for p in masks if p not in used] if coco is None  # COCO: the file names of its unmatched entries
               else [Path(i.file_name) for i in coco.images.values() if i.id not in used])
    classes, class_of = _class_map(layout, found, coco, index_classes)
    sources, pairs, normals, unmatched, defect_ids = [], {}, {}, [], []
    for picture, fields, mask, image in found:
        value = fields.get("class", "")
        annotated = mask is not None or image is not None
        if value in normal:
            normals[value] = normals.get(value, 0) + 1
        elif annotated:
            for name in _names(layout, value, mask, image, coco):
                pairs[name] = pairs.get(name, 0) + 1
            defect_ids.append(pair_id(fields))
        else:
            unmatched.append(picture)
            if layout.unmatched == "skip":
                continue
            if layout.unmatched == "error":
                expected = root / layout.masks.fill(fields) if layout.masks is not None else f"an entry in {coco.path}"
                raise BenchError(f"picture without mask: {picture} (expected {expected}; {layout.where('unmatched')} is error)",
                                 "restore the mask, or set unmatched: normal (such pictures are defect-free) or skip in the layout")
        reader = _reader(layout, value, value in normal, mask, image, coco, class_of)
        sources.append(Source(pair_id(fields), picture, mask, None, _origin(layout, fields, picture), reader=reader))
    skipped: dict[str, int] = {}
    if layout.mask == "labelme":
        for _, _, mask, _ in found:
            for kind in read_labelme(mask).skipped if mask is not None else ():
                skipped[kind] = skipped.get(kind, 0) + 1
    summary = {
        "mask": layout.mask, **({"threshold": layout.threshold} if layout.mask == "binary" else {}),
        "pictures": len(found),
        "pairs": len(defect_ids),  # pictures outside normal folders with a mask or annotation
        **({"pairs_per_class": dict(sorted(pairs.items()))} if layout.mask != "index" else {}),
        "normal_pictures": dict(sorted(normals.items())),
        "without_mask": {"count": len(unmatched), "unmatched": layout.unmatched, "examples": _examples(unmatched, root)},
        "masks_without_pictures": {"count": len(orphans), "examples": _examples(orphans, root)},
        **({"skipped_shapes": dict(sorted(skipped.items()))} if layout.mask == "labelme" else {}),
        "defect_ids": sorted(defect_ids),
    }
    return Matched(tuple(sources), classes, (coco.path,) if coco is not None else (), summary)


def _names(layout: Layout, value: str, mask: Path | None, image, coco) -> list[str]:
    """The class names a picture's mask or annotation holds, as far as they are known before decoding."""
    if layout.mask == "binary":
        return [layout.name_of(value or "defect")]
    if layout.mask == "labelme":
        labels = [layout.name_of(s.label) for s in read_labelme(mask).shapes]
    elif layout.mask == "coco":
        labels = [layout.name_of(coco.categories[a["category_id"]]) for a in coco.annotations.get(image.id, ())]
    else:
        return []
    return sorted({n for n in labels if n is not None})


def _class_map(layout: Layout, found, coco, index_classes) -> tuple[dict[int, str], dict]:
    """The class map (id -> name) and each class value's id (None: left out)."""
    if layout.mask == "index":
        classes = {0: "background", **{int(k): v for k, v in layout.classes}} if layout.classes else index_classes()
        names = [n for i, n in classes.items() if i]
        if len(set(names)) != len(names):
            raise BenchError(f"{layout.where('classes')} names a class twice", "give every class id its own name")
        return classes, {}
    if layout.mask == "binary":
        values = sorted({f.get("class", "defect") for _, f, _, _ in found if f.get("class") not in layout.normal})
    elif layout.mask == "labelme":
        values = sorted({s.label for _, _, mask, _ in found if mask is not None for s in read_labelme(mask).shapes})
    else:
        values = list(coco.categories)  # category ids, in id order
    name_of = (lambda v: layout.name_of(coco.categories[v])) if coco is not None else layout.name_of
    ordered = [name_of(v) for v in values if name_of(v) is not None]
    names = list(dict.fromkeys(ordered if coco is not None else sorted(ordered)))
    ids = {name: i + 1 for i, name in enumerate(names)}
    return {0: "background", **{i: n for n, i in ids.items()}}, {v: ids.get(name_of(v)) for v in values}


def _reader(layout: Layout, value: str, normal: bool, mask: Path | None, image, coco, class_of: dict):
    """How a source's mask is decoded; None reads no mask (an all-background one) or, for index masks, the
    adapter's own index reading."""
    if mask is None and image is None:
        return None
    if normal:  # a defect-free picture: whatever its mask encodes must be background
        return partial(_normal, where=layout.where("normal"), value=value,
                       decode=partial(_coco, coco=coco, image=image, class_of=class_of) if image is not None else _nonzero)
    if layout.mask == "binary":
        return partial(_thresholded, threshold=layout.threshold, class_id=class_of[value or "defect"])
    if layout.mask == "labelme":
        return partial(_labelme, class_of=class_of)
    if layout.mask == "coco":
        return partial(_coco, coco=coco, image=image, class_of=class_of)
    return None


def _thresholded(path: Path, size, threshold: int, class_id: int) -> np.ndarray:
    return np.where(grey_mask_pixels(path) >= threshold, np.uint8(class_id), np.uint8(0))


def _nonzero(path: Path, size) -> np.ndarray:
    return (grey_mask_pixels(path) > 0).astype(np.uint8)


def _labelme(path: Path, size, class_of: dict) -> np.ndarray:
    return labelme_mask(path, size, class_of)


def _coco(path, size, coco, image, class_of: dict) -> np.ndarray:
    return coco_mask(coco, image, size, class_of)


def _normal(path: Path | None, size, decode, where: str, value: str) -> np.ndarray:
    """A picture of a normal folder: its mask or annotation, where it has one, must mark nothing."""
    mask = decode(path, size)
    if mask.any():
        raise BenchError(f"{'mask ' + str(path) if path is not None else 'the annotation of a picture'} marks defect pixels, but its "
                         f"picture is in the normal folder '{value}' ({where})", "remove the value from normal, or clear the mask")
    return np.zeros(mask.shape, np.uint8)
