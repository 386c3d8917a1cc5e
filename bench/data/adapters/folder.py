"""``folder``: your own data as ``images/`` + ``masks/`` + a classes file.

Layout (``--data-root`` = one category folder, or a folder of category folders)::

    <category>/images/<stem>.<ext>     RGB images (png, jpg, bmp, tif)
    <category>/masks/<stem>.png        class-index masks, 0 = background; an all-zero mask marks a normal
    <category>/classes.yaml            class id -> name, e.g. ``{1: scratch, 2: hole}`` (or classes.yml / classes.json)

A classes file next to the category folders applies to every category without its own. When the
data root itself holds ``images/``, it is the one category, named after the folder. Groups come
from mask content: the class covering most pixels, ``good`` for empty masks.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from bench.core.errors import BenchError
from bench.data.base import DATASETS
from bench.data.layout import FileLayoutAdapter, Source, flat_sources, subdirs

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
    name = "folder"

    def categories(self, root: Path | None) -> list[str]:
        if (root / "images").is_dir():
            return [root.name]
        return [p.name for p in subdirs(root) if (p / "images").is_dir()]

    def category_dir(self, root: Path, category: str) -> Path:
        return root if (root / "images").is_dir() and category == root.name else root / category

    def classes_file(self, root: Path, category: str) -> Path:
        for folder in (self.category_dir(root, category), root):
            for name in CLASS_FILES:
                if (folder / name).is_file():
                    return folder / name
        raise BenchError(
            f"no class file for category '{category}' in {self.category_dir(root, category)}",
            f"write {CLASS_FILES[0]} mapping class ids to names, e.g. {{1: scratch, 2: hole}}",
        )

    def classes(self, root: Path | None, category: str) -> dict[int, str]:
        return read_classes_file(self.classes_file(root, category))

    def extra_files(self, root: Path, category: str) -> list[Path]:
        return [self.classes_file(root, category)]

    def sources(self, root: Path, category: str) -> list[Source]:
        return flat_sources(self.category_dir(root, category), "images", "masks", ".png")


DATASETS.register(FolderDataset())
