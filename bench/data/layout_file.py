"""The layout file: a release's layout described in YAML instead of coded in an adapter (docs/datasets.md).

``layout.yaml`` in a release root (or in a category folder), or a layout shipped in ``bench/data/layouts/``
(a dataset of its own name), tells the ``folder`` dataset where pictures and masks are and how masks encode
defects::

    images: "MT_{class}/Imgs/{stem}.jpg"   # a pattern (bench.data.patterns); {class}, {stem}, {origin} are fields
    masks: "MT_{class}/Imgs/{stem}.png"    # the mask of a picture: the pattern filled with the picture's fields
    mask: binary            # index (default) | binary | labelme | coco
    threshold: 128          # binary: a pixel >= threshold is defect (anti-aliased masks); default 1
    normal: [Free]          # {class} values whose pictures are defect-free (masks may be absent)
    classes: {}             # rename or merge class values; null leaves a LabelMe label / COCO category out
    annotations: null       # coco: the one JSON file, relative to the release root
    unmatched: error        # a picture without mask or annotation: error (default) | normal | skip
    category: null          # the category's name [default: the release folder's name]
    origins: {}             # {origin} values -> train | test (the release's own split) [default: train, test]
    root: null              # where the release is, relative to this file [default: its folder]

Every error names the layout file and the key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

from bench.core.errors import BenchError
from bench.core.hashing import canonical_json, sha256_text
from bench.data.patterns import Pattern

LAYOUT_FILE = "layout.yaml"
SHIPPED = Path(__file__).parent / "layouts"  # one file per release, named by the dataset it registers
MASK_KINDS = ("index", "binary", "labelme", "coco")
UNMATCHED = ("error", "normal", "skip")
ORIGINS = ("train", "test")
KEYS = ("images", "masks", "mask", "threshold", "normal", "classes", "annotations", "unmatched", "category", "origins", "root")


@dataclass(frozen=True)
class Layout:
    file: Path
    shipped: bool  # from bench/data/layouts: the release root is the data root, not the file's folder
    images: Pattern
    masks: Pattern | None
    mask: str
    threshold: int
    normal: tuple[str, ...]
    classes: tuple[tuple[Any, str | None], ...]  # as written: class value (an int id for index masks) -> name or None
    annotations: str | None
    unmatched: str
    category: str | None
    origins: tuple[tuple[str, str], ...]
    root: str | None
    content: str  # canonical JSON of the file's mapping: the layout's identity

    @property
    def hash(self) -> str:
        return sha256_text(self.content)

    def record(self) -> dict:
        """What a pool's meta and a run record say of the layout."""
        file = f"bench/data/layouts/{self.file.name}" if self.shipped else str(self.file)  # no install path in records
        return {"file": file, "name": self.file.stem if self.shipped else None, "hash": self.hash,
                "content": json.loads(self.content)}

    def release_root(self, data_root: Path) -> Path:
        if self.shipped or self.root is None:
            return data_root if self.shipped else self.file.parent
        return (self.file.parent / self.root).resolve()

    def name_of(self, value) -> str | None:
        """The class name a class value (folder value, LabelMe label, COCO category name) gets; None: left out."""
        return dict(self.classes).get(value, value)

    def where(self, key: str) -> str:
        return f"layout file {self.file}, key '{key}'"


def shipped_layouts() -> dict[str, Path]:
    """Layouts shipped with bench, by the dataset name each registers."""
    return {p.stem: p for p in sorted(SHIPPED.glob("*.yaml"))}


def read_layout(path: Path, shipped: bool = False) -> Layout:
    """A checked layout file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise BenchError(f"cannot parse layout file {path}: {str(exc).splitlines()[0]}", "write YAML keys as in docs/datasets.md") from None
    if not isinstance(data, dict):
        raise BenchError(f"layout file {path} is not a mapping of keys", f"write keys such as images, masks, mask ({', '.join(KEYS)})")
    unknown = sorted(str(k) for k in data if k not in KEYS)
    if unknown:
        raise BenchError(f"layout file {path}: unknown key(s) {', '.join(unknown)}", f"use: {', '.join(KEYS)}")

    def where(key: str) -> str:
        return f"layout file {path}, key '{key}'"

    mask = data.get("mask") or "index"
    if mask not in MASK_KINDS:
        raise BenchError(f"{where('mask')}: {mask!r} is not a mask encoding", f"choose one of: {', '.join(MASK_KINDS)}")
    if "images" not in data:
        raise BenchError(f"layout file {path} has no key 'images'", 'write e.g. images: "images/{stem}.png"')
    images = Pattern.parse(data["images"], where("images"))
    if "stem" not in images.fields:
        raise BenchError(f"{where('images')}: {images.text!r} has no {{stem}} field", "name the part of the file name that differs per picture {stem}")
    masks = _masks(data, mask, images, path, where)
    threshold = _threshold(data, mask, where)
    normal = _strings(data.get("normal"), where("normal"))
    if normal and "class" not in images.fields:
        raise BenchError(f"{where('normal')}: normal pictures are named by {{class}} values, but the images pattern has no {{class}}",
                         'write e.g. images: "{class}/{stem}.png"')
    annotations = data.get("annotations")
    if mask == "coco":
        if not isinstance(annotations, str) or not annotations.strip():
            raise BenchError(f"{where('annotations')}: coco layouts name their JSON file", 'write e.g. annotations: "annotations/instances.json"')
        Pattern.parse(annotations, where("annotations"))  # a relative path inside the release
    elif annotations is not None:
        raise BenchError(f"{where('annotations')} is for mask: coco", "remove it, or set mask: coco")
    unmatched = data.get("unmatched") or "error"
    if unmatched not in UNMATCHED:
        raise BenchError(f"{where('unmatched')}: {unmatched!r}", f"choose one of: {', '.join(UNMATCHED)}")
    category = data.get("category")
    if category is not None and (not isinstance(category, str) or not category.strip() or "/" in category or category.startswith(".")):
        raise BenchError(f"{where('category')}: {category!r} is not a folder-like name", "write e.g. category: tile")
    origins = _origins(data.get("origins"), images, where("origins"))
    root = data.get("root")
    if root is not None and (shipped or not isinstance(root, str) or not root.strip()):
        raise BenchError(f"{where('root')}: " + ("a shipped layout reads the release at --data-root" if shipped else f"{root!r} is not a path"),
                         "remove the key" if shipped else "write the release folder, relative to the layout file")
    return Layout(path, shipped, images, masks, mask, threshold, normal, _classes(data.get("classes"), mask, where("classes")),
                  annotations, unmatched, category.strip() if category else None, origins, root, canonical_json(data))


def _masks(data: Mapping, mask: str, images: Pattern, path: Path, where) -> Pattern | None:
    if mask == "coco":
        if data.get("masks") is not None:
            raise BenchError(f"{where('masks')}: a coco layout reads its shapes from the annotations file", "remove the masks key")
        return None
    if data.get("masks") is None:
        example = '"label/{stem}.json"' if mask == "labelme" else '"masks/{stem}.png"'
        raise BenchError(f"layout file {path} has no key 'masks'", f"write e.g. masks: {example}")
    masks = Pattern.parse(data["masks"], where("masks"))
    extra = [f for f in masks.fields if f not in images.fields]
    if extra or "stem" not in masks.fields:
        raise BenchError(f"{where('masks')}: {masks.text!r} must use {{stem}} and only fields of the images pattern",
                         f"the images pattern has {', '.join('{' + f + '}' for f in images.fields)}")
    if masks.text == images.text:
        raise BenchError(f"{where('masks')}: masks and images have the same pattern", "masks differ by folder, suffix or extension")
    return masks


def _threshold(data: Mapping, mask: str, where) -> int:
    value = data.get("threshold")
    if value is None:
        return 1
    if mask != "binary":
        raise BenchError(f"{where('threshold')} is for mask: binary", "remove it, or set mask: binary")
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 255:
        raise BenchError(f"{where('threshold')}: {value!r} is not a whole number 1..255", "pixels >= threshold are defect; 128 for anti-aliased 0..255 masks")
    return value


def _strings(value, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, (str, int)) and not isinstance(value, bool) else value
    if not isinstance(items, list) or not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in items):
        raise BenchError(f"{where}: {value!r} is not a list of names", "write e.g. [Free, good]")
    return tuple(str(v) for v in items)


def _classes(value, mask: str, where: str) -> tuple[tuple[Any, str | None], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise BenchError(f"{where}: {value!r} is not a mapping", "write e.g. {Blowhole: hole, Break: break}" if mask != "index" else "write e.g. {1: scratch, 2: dent}")
    out = []
    for key, name in value.items():
        if mask == "index":
            if isinstance(key, bool) or not isinstance(key, int) or not 0 <= key <= 255:
                raise BenchError(f"{where}: {key!r} is not a class id 0..255", "index masks map class ids to names, e.g. {1: scratch}")
        else:
            key = str(key)
        if name is None and mask in ("index", "binary"):
            raise BenchError(f"{where}: {key!r} has no name", "give every class a name (null leaves out LabelMe labels and COCO categories only)")
        if name is not None and (not isinstance(name, (str, int)) or isinstance(name, bool) or not str(name).strip()):
            raise BenchError(f"{where}: {key!r}: {name!r} is not a class name", "names are non-empty text")
        out.append((key, None if name is None else str(name).strip()))
    return tuple(out)


def _origins(value, images: Pattern, where: str) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if "origin" not in images.fields:
        raise BenchError(f"{where}: the images pattern has no {{origin}} field", 'write e.g. images: "img_dir/{origin}/{stem}.jpg"')
    if not isinstance(value, dict) or not all(v in ORIGINS for v in value.values()):
        raise BenchError(f"{where}: {value!r} must map {{origin}} values to train or test", "write e.g. {val: test}")
    return tuple((str(k), v) for k, v in value.items())
