"""What every import adapter shares: the layout declaration and the file matching it drives, with mismatch
reports, mask decoding, class naming and sampling. An adapter for a tool with a plain layout is a
declaration: its ``name``, where ``images`` and ``masks`` lie, and a ``hint`` for errors."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar, Iterator, Mapping

import numpy as np
from PIL import Image, UnidentifiedImageError

from bench.core.errors import BenchError
from bench.core.hashing import files_fingerprint
from bench.core.images import read_rgb
from bench.core.pairset import Pair, PairSet
from generators.base import Generator, resolve_class

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
BINARY_THRESHOLD = 128  # 0/255 masks, also after JPEG ringing
MAX_LISTED = 3  # mismatches named in an error message; the count covers the rest
SPLIT_PREFIX = "split:"  # trained_on=split:PRESET: the tool trained on that split's training images of the task
UNKNOWN = "unknown"  # trained_on=unknown: the user does not know, and the documented split is not assumed


@dataclass(frozen=True)
class Found:
    """One image/mask pair a tool wrote, before decoding."""

    key: str  # unique within the import, becomes the pair id
    image: Path
    mask: Path
    defect: str = ""  # the defect type the tool filed it under ("" when it does not say)
    tile: int | None = None  # index into a grid file, for tools that save grids


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES) if folder.is_dir() else []


def match(
    images: Mapping[str, Path], masks: Mapping[str, Path], defect: str = ""
) -> tuple[list[Found], list[str]]:
    """Pair files by key; every file without a partner becomes a problem line instead of a guess."""
    found = [Found(key, images[key], masks[key], defect) for key in sorted(images.keys() & masks.keys())]
    problems = [f"image without mask: {images[k]}" for k in sorted(images.keys() - masks.keys())]
    problems += [f"mask without image: {masks[k]}" for k in sorted(masks.keys() - images.keys())]
    return found, problems


@dataclass(frozen=True)
class Files:
    """Where a tool writes one side of its pairs, relative to a folder, and how a file's stem names its pair:
    ``<prefix><key><suffix>.<ext>``; with ``suffix_optional``, ``<prefix><key>.<ext>`` too."""

    folder: str = "."
    prefix: str = ""
    suffix: str = ""
    suffix_optional: bool = False

    def by_key(self, root: Path) -> dict[str, Path]:
        found = {}
        for path in image_files(root / self.folder):
            stem = path.stem
            if not stem.startswith(self.prefix) or not (stem.endswith(self.suffix) or self.suffix_optional):
                continue
            found[stem[len(self.prefix) :].removesuffix(self.suffix)] = path
        return found


def image_size(path: Path) -> tuple[int, int]:
    try:
        with Image.open(path) as im:
            return im.size
    except (UnidentifiedImageError, OSError) as exc:
        raise BenchError(f"unreadable image {path} ({exc})", "replace or remove the file") from None


def read_mask_values(path: Path) -> np.ndarray:
    """A mask file as one channel: grey or palette values as stored, RGB collapsed to luminance."""
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("L", "P", "1", "I", "I;16"):
                return np.asarray(im).astype(np.int64)
            rgb = np.asarray(im.convert("RGB")).astype(np.int64)
    except (UnidentifiedImageError, OSError) as exc:
        raise BenchError(f"unreadable mask {path} ({exc})", "replace or remove the file") from None
    if (rgb == rgb[..., :1]).all():
        return rgb[..., 0]
    return np.asarray(Image.fromarray(rgb.astype(np.uint8)).convert("L")).astype(np.int64)


def safe_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "pair"


def fail_on(problems: list[str], root: Path, name: str) -> None:
    if problems:
        shown = "; ".join(problems[:MAX_LISTED])
        more = f" (and {len(problems) - MAX_LISTED} more)" if len(problems) > MAX_LISTED else ""
        raise BenchError(
            f"{name}: {len(problems)} mismatched image/mask file(s) under {root}: {shown}{more}",
            "remove or complete the unmatched files; pairs are never guessed",
        )


class ImportedOutputs(Generator):
    """Base of the import adapters: the pairs a published tool wrote to ``path``, decoded into our encoding."""

    kind = "import"
    images: ClassVar[Files]
    masks: ClassVar[Files]
    defect_folders: ClassVar[bool] = False  # the folder the files sit in names their defect type, and a path
    # without ``images.folder`` is read as one such folder per defect type
    mask_encoding: ClassVar[str] = "binary"  # "binary" (0/255, one class per pair) or "index" (class ids)
    hint: ClassVar[str] = ""  # the expected layout, for the error when nothing is found
    # What the tool's documentation says it trained on: a split preset of the task, for the datasets named
    # (``("third-inclusive", ("mvtec-ad",))``); None when it does not say.
    documented_training: ClassVar[tuple[str, tuple[str, ...]] | None] = None

    def __init__(self, path: str | None = None, defect_class: int | str | None = None, threshold: int = BINARY_THRESHOLD,
                 trained_on: str | None = None):
        if path is None:
            raise BenchError(
                f"generator '{self.name}' needs the folder of the tool's output",
                "pass it as path=DIR (bench run: --gen-param path=DIR; bench generate: --path DIR)",
            )
        self.root = Path(path).expanduser()
        if not self.root.is_dir():
            raise BenchError(f"{self.name}: {self.root} is not a directory", "check the path parameter")
        self.defect_class = defect_class
        self.threshold = threshold
        if trained_on is not None and trained_on != UNKNOWN and not trained_on.startswith(SPLIT_PREFIX):
            trained_on = str(Path(trained_on).expanduser().resolve())
        self.trained_on = trained_on  # FILE (one image per line), split:PRESET of the run's task, or "unknown"
        self._found: list[Found] = []
        self._classes: dict[int, str] = {}

    @property
    def source(self) -> str:
        """The tool, as the generator's name says it (``import:<source>``)."""
        return self.name.removeprefix("import:")

    def find(self) -> tuple[list[Found], list[str]]:
        """The pairs under ``self.root`` as ``images`` and ``masks`` declare them, and a problem line per file
        that has no partner."""
        folders = [self.root]
        if self.defect_folders and not (self.root / self.images.folder).is_dir():
            folders = sorted(p for p in self.root.iterdir() if (p / self.images.folder).is_dir())
        found: list[Found] = []
        problems: list[str] = []
        for folder in folders:
            pairs, missing = match(self.images.by_key(folder), self.masks.by_key(folder), folder.name if self.defect_folders else "")
            prefix = "" if folder == self.root else f"{folder.name}_"
            found += [replace(f, key=prefix + f.key) for f in pairs]
            problems += missing
        return found, problems

    def fingerprint(self) -> str:
        listed = Path(self.trained_on) if self.trained_on and not self.trained_on.startswith(SPLIT_PREFIX) else None
        return files_fingerprint(self.root) + (files_fingerprint(listed.parent, [listed]) if listed and listed.is_file() else "")

    def training(self, dataset: str) -> tuple[str | None, str]:
        """What the tool was trained on and how that is known: the user's ``trained_on`` (a list file or
        ``split:PRESET``), else the tool's documented split where the task's dataset is one it names."""
        if self.trained_on is not None:
            return (None, "told unknown") if self.trained_on == UNKNOWN else (self.trained_on, "given by the user")
        if self.documented_training is not None and dataset in self.documented_training[1]:
            return SPLIT_PREFIX + self.documented_training[0], "the tool's documented training split"
        return None, "unknown"

    def output_images(self) -> Iterator[tuple[str, np.ndarray]]:
        """Every image the tool wrote (not only those a run samples), named by its file (and tile)."""
        found, _ = self.find()
        for f in found:
            yield (str(f.image) if f.tile is None else f"{f.image}#{f.tile}"), self.decode(f)[0]

    def fit(self, train: PairSet, normals: PairSet | None, seed: int) -> None:
        found, problems = self.find()
        problems += self.size_problems(found)
        fail_on(problems, self.root, self.name)
        if not found:
            raise BenchError(f"{self.name}: no image/mask pairs found under {self.root}", f"expected {self.hint}")
        keys = [f.key for f in found]
        if len(set(keys)) != len(keys):
            raise BenchError(f"{self.name}: duplicate pair names under {self.root}", "import one folder per defect type")
        self._found = found
        self._classes = dict(train.classes)
        if self.defect_class is not None or self.mask_encoding == "binary":
            for defect in sorted({f.defect for f in found}):  # name every class now, before anything is written
                self.class_id(next(f for f in found if f.defect == defect))

    def size_problems(self, found: list[Found]) -> list[str]:
        return [
            f"{f.mask} is {'x'.join(map(str, image_size(f.mask)))} but {f.image.name} is {'x'.join(map(str, image_size(f.image)))}"
            for f in found
            if image_size(f.mask) != image_size(f.image)
        ]

    def decode(self, found: Found) -> tuple[np.ndarray, np.ndarray]:
        """(RGB image, raw one-channel mask values) of one pair."""
        return read_rgb(found.image), read_mask_values(found.mask)

    def class_mask(self, found: Found, values: np.ndarray) -> np.ndarray:
        return self.index_mask(found, values) if self.mask_encoding == "index" else self.binary_mask(found, values)

    def index_mask(self, found: Found, values: np.ndarray) -> np.ndarray:
        unknown = sorted(set(np.unique(values).tolist()) - set(self._classes))
        if unknown:
            raise BenchError(
                f"{self.name}: mask {found.mask} has class ids {unknown} outside the task's class map {sorted(self._classes)}",
                "import outputs of a generator trained on this task's classes, or pass encoding=binary",
            )
        return values.astype(np.uint8)

    def binary_mask(self, found: Found, values: np.ndarray) -> np.ndarray:
        return np.where(values >= self.threshold, self.class_id(found), 0).astype(np.uint8)

    def class_id(self, found: Found) -> int:
        """Binary masks carry no class: the user names it (defect_class), or the tool's folder names it."""
        if self.defect_class is not None:
            return resolve_class(self._classes, self.defect_class, self.name)
        if found.defect in self._classes.values():
            return next(k for k, v in self._classes.items() if v == found.defect)
        defects = ", ".join(v for k, v in sorted(self._classes.items()) if k)
        folder = f" and their folder name '{found.defect}' is not a class of the task" if found.defect else ""
        raise BenchError(
            f"{self.name}: binary masks under {self.root} carry no class{folder}",
            f"name it with defect_class=NAME (one of: {defects})",
        )

    def sample(self, n: int, seed: int) -> Iterator[Pair]:
        if n > len(self._found):
            raise BenchError(
                f"{self.name}: asked for {n} pairs but {self.root} holds {len(self._found)}",
                f"ask for at most {len(self._found)} (lower --n or --ratio) or import more outputs",
            )
        chosen = np.random.default_rng(seed).permutation(len(self._found))[:n]
        for index in sorted(chosen.tolist()):
            found = self._found[index]
            image, values = self.decode(found)
            mask = self.class_mask(found, values)
            yield Pair(safe_id(f"{self.source}_{found.key}"), image, mask, group="synthetic")


class PairedFolders(ImportedOutputs):
    """``image/`` and ``mask/`` folders with matching file names, directly under the path or in one folder per
    defect type, which names the class of its binary masks (AnomalyDiffusion and SeaS write this)."""

    images, masks = Files("image"), Files("mask")
    defect_folders = True
