"""``folder``: your own data, as ``images/`` + ``masks/`` + a classes file, or as a layout file describes it.

Without a layout file (``--data-root`` = one category folder, or a folder of category folders)::

    <category>/images/<stem>.<ext>     RGB images (png, jpg, bmp, tif)
    <category>/masks/<stem>.png        class-index masks, 0 = background; an all-zero mask marks a normal
    <category>/classes.yaml            class id -> name, e.g. ``{1: scratch, 2: hole}`` (or classes.yml / classes.json)

A classes file next to the category folders applies to every category without its own. When the
data root itself holds ``images/``, it is the one category, named after the folder. Groups come
from mask content: the class covering most pixels, ``good`` for empty masks.

With ``layout.yaml`` (bench.data.layout_file) in the data root, the root is one category (named by the
layout's ``category`` or the folder); in a category folder, that folder is a category. Each layout shipped
in ``bench/data/layouts/`` registers a dataset of its name that reads the release at ``--data-root`` with
that layout (``--dataset magnetic-tile``), whether or not the release holds a layout file.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from bench.core.errors import BenchError
from bench.core.hashing import sha256_text
from bench.data.base import DATASETS
from bench.data.layout import FileLayoutAdapter, Source, flat_sources, subdirs
from bench.data.layout_file import LAYOUT_FILE, Layout, read_layout, shipped_layouts
from bench.data.layout_match import Matched, match_layout

CLASS_FILES = ("classes.yaml", "classes.yml", "classes.json")


def read_classes_file(path: Path) -> dict[int, str]:
    """Parse and check an id -> name class file; 0 is background whether listed or not."""
    try:
        text = path.read_text()
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise BenchError(f"cannot parse class file {path}: {str(exc).splitlines()[0]}", "write a mapping of class id to name") from None
    if not isinstance(data, dict) or not data:
        raise BenchError(f"class file {path} is not a mapping of class id to name", "write e.g. {1: scratch, 2: hole}")
    classes: dict[int, str] = {0: "background"}
    for key, name in data.items():
        try:
            class_id = int(key)
        except (TypeError, ValueError):
            raise BenchError(f"class file {path}: '{key}' is not an integer class id", "keys are ids 0..255") from None
        if not 0 <= class_id <= 255 or not isinstance(name, str) or not name.strip():
            raise BenchError(f"class file {path}: entry {key!r}: {name!r} is invalid", "ids are 0..255, names non-empty text")
        classes[class_id] = name.strip()
    defects = [n for i, n in classes.items() if i]
    if len(set(defects)) != len(defects):
        raise BenchError(f"class file {path} names a class twice", "give every class id its own name")
    return classes


class FolderDataset(FileLayoutAdapter):
    """``folder`` itself, or (with ``layout``) a release read by a shipped layout file under the layout's name."""

    def __init__(self, name: str = "folder", layout: Path | None = None):
        self.name = name
        self.shipped = layout

    # --- categories and their layout ------------------------------------------------------------------
    def categories(self, root: Path | None) -> list[str]:
        own = self.root_layout(root)
        if own is not None:
            return [own.category or root.name]
        if (root / "images").is_dir():
            return [root.name]
        return [p.name for p in subdirs(root) if (p / "images").is_dir() or (p / LAYOUT_FILE).is_file()]

    def root_layout(self, root: Path) -> Layout | None:
        """The layout that makes the data root one category: a shipped one, or the root's layout.yaml."""
        if self.shipped is not None:
            return read_layout(self.shipped, shipped=True)
        return read_layout(root / LAYOUT_FILE) if (root / LAYOUT_FILE).is_file() else None

    def category_dir(self, root: Path, category: str) -> Path:
        if self.shipped is not None or (root / LAYOUT_FILE).is_file():
            return root
        return root if (root / "images").is_dir() and category == root.name else root / category

    def layout(self, root: Path, category: str) -> Layout | None:
        own = self.root_layout(root)
        if own is not None:
            return own
        file = self.category_dir(root, category) / LAYOUT_FILE
        if not file.is_file():
            return None
        layout = read_layout(file)
        if layout.category is not None and layout.category != category:
            raise BenchError(f"{layout.where('category')}: '{layout.category}' differs from its folder's name '{category}'",
                             "a layout in a category folder is named by the folder: remove the key")
        return layout

    def matched(self, root: Path, category: str, layout: Layout) -> Matched:
        return match_layout(layout, layout.release_root(self.category_dir(root, category)),
                            lambda: read_classes_file(self.classes_file(root, category)))

    # --- what the category is read from ---------------------------------------------------------------
    def classes_file(self, root: Path, category: str) -> Path:
        for folder in (self.category_dir(root, category), root):
            for name in CLASS_FILES:
                if (folder / name).is_file():
                    return folder / name
        raise BenchError(
            f"no class file for category '{category}' in {self.category_dir(root, category)}",
            f"write {CLASS_FILES[0]} mapping class ids to names, e.g. {{1: scratch, 2: hole}}"
            + (", or give the layout file a classes key" if self.layout(root, category) is not None else ""),
        )

    def classes(self, root: Path | None, category: str) -> dict[int, str]:
        layout = self.layout(root, category)
        if layout is not None:
            return self.matched(root, category, layout).classes
        return read_classes_file(self.classes_file(root, category))

    def extra_files(self, root: Path, category: str) -> list[Path]:
        layout = self.layout(root, category)
        if layout is None:
            return [self.classes_file(root, category)]
        own = [] if layout.shipped else [layout.file]
        index = [self.classes_file(root, category)] if layout.mask == "index" and not layout.classes else []
        return [*own, *index, *self.matched(root, category, layout).files]

    def sources(self, root: Path, category: str) -> list[Source]:
        layout = self.layout(root, category)
        if layout is not None:
            return list(self.matched(root, category, layout).sources)
        return flat_sources(self.category_dir(root, category), "images", "masks", ".png")

    def fingerprint(self, root: Path | None, category: str) -> str:
        """The files' fingerprint, and a layout's content: an edited layout is a new pool."""
        files = super().fingerprint(root, category)
        layout = self.layout(root, category)
        return files if layout is None else sha256_text(files + layout.hash)

    def notes(self, root: Path | None, category: str) -> dict:
        layout = self.layout(root, category)
        if layout is None:
            return {}
        return {"layout": {**layout.record(), "matched": self.matched(root, category, layout).summary}}


DATASETS.register(FolderDataset())
for _name, _file in shipped_layouts().items():
    DATASETS.register(FolderDataset(_name, _file))
