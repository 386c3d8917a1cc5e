"""The pair set: the one data contract between every stage (DESIGN.md section 3).

On disk::

    <set>/images/<id>.png   RGB uint8
    <set>/masks/<id>.png    single-channel uint8 class index, 0 = background, 1..K = defect classes
    <set>/meta.json         classes, source, seed, per-pair groups and content hashes

Normal (defect-free) images are pairs with an all-zero mask. Sets are written atomically: a reader
sees either the previous set or the complete new one, never a half-written directory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from bench.core.atomic import atomic_dir
from bench.core.errors import BenchError
from bench.core.hashing import canonical_json, pixel_hash, sha256_text
from bench.core.images import read_index_mask, read_rgb, write_png
from bench.core.jsonfile import dumps
from bench.core.paths import cache_dir
from bench.core.progress import progress as progress_bar

FORMAT = "bench.pairset/1"
NORMAL_GROUP = "good"


@dataclass(frozen=True)
class Pair:
    id: str
    image: np.ndarray  # H x W x 3 uint8
    mask: np.ndarray  # H x W uint8 class index
    group: str = ""  # defect type the pair was filed under, NORMAL_GROUP for defect-free images
    origin: str = ""  # the release's own split ("train"/"test") where it has one, else ""
    mode: str = ""  # the mode the release stored the picture in (PIL's), before bench.core.images.to_rgb; "" when not read from a file


class PairSet:
    """A read-only view of a pair set on disk, optionally restricted to a subset of its ids."""

    def __init__(self, root: Path, meta: dict, ids: Sequence[str] | None = None):
        self.root = Path(root)
        self.meta = meta
        all_ids = meta["ids"]
        self.ids: tuple[str, ...] = tuple(all_ids if ids is None else ids)
        self.classes: dict[int, str] = {int(k): v for k, v in meta["classes"].items()}

    @classmethod
    def open(cls, root: Path | str) -> "PairSet":
        root = Path(root)
        meta_path = root / "meta.json"
        if not meta_path.is_file():
            raise BenchError(f"not a pair set: {root} has no meta.json", "write it with bench (e.g. `bench data toy --out DIR`)")
        try:
            meta = json.loads(meta_path.read_text())
        except json.JSONDecodeError as exc:
            raise BenchError(f"corrupt {meta_path}: {exc}", "delete the set and write it again") from None
        if meta.get("format") != FORMAT:
            raise BenchError(f"{meta_path} has format {meta.get('format')!r}, expected {FORMAT!r}", "re-import the data")
        return cls(root, meta)

    # --- contents -------------------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        """Number of output classes of a segmenter for this set, background included."""
        return max(self.classes) + 1

    @property
    def defect_classes(self) -> dict[int, str]:
        return {k: v for k, v in self.classes.items() if k != 0}

    def group(self, pair_id: str) -> str:
        return self.meta.get("groups", {}).get(pair_id, "")

    def origin(self, pair_id: str) -> str:
        return self.meta.get("origins", {}).get(pair_id, "")

    def hash(self, pair_id: str) -> str:
        return self.meta["hashes"][pair_id]

    def image_path(self, pair_id: str) -> Path:
        return self.root / "images" / f"{pair_id}.png"

    def mask_path(self, pair_id: str) -> Path:
        return self.root / "masks" / f"{pair_id}.png"

    def image(self, pair_id: str) -> np.ndarray:
        return read_rgb(self.image_path(pair_id), self.repair_hint())

    def mask(self, pair_id: str) -> np.ndarray:
        return read_index_mask(self.mask_path(pair_id), self.repair_hint())

    def repair_hint(self) -> str:
        """How to rebuild this set when one of its files is damaged: bench writes a cached set again on the
        next command that needs it; a set written to a folder of the user's is written again by its command."""
        cache = cache_dir().expanduser().resolve()
        if self.root.resolve().is_relative_to(cache):
            return (f"the cached set {self.root} is damaged: remove that folder (or the whole cache, `bench cache clean --all`) "
                    "and run the command again, which rebuilds it")
        return f"the pair set {self.root} is damaged: write it again (e.g. `bench data toy --out` or `bench generate --out`)"

    def pair(self, pair_id: str) -> Pair:
        return Pair(pair_id, self.image(pair_id), self.mask(pair_id), self.group(pair_id), self.origin(pair_id))

    def __iter__(self) -> Iterator[Pair]:
        return (self.pair(i) for i in self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, ids: Iterable[str]) -> "PairSet":
        ids = tuple(ids)
        unknown = set(ids) - set(self.meta["ids"])
        if unknown:
            raise BenchError(f"ids not in pair set {self.root}: {', '.join(sorted(unknown)[:5])}")
        return PairSet(self.root, self.meta, ids)

    def where_group(self, predicate) -> "PairSet":
        return self.subset(i for i in self.ids if predicate(self.group(i)))

    def manifest(self) -> dict[str, str]:
        """id -> content hash for the ids of this view."""
        return {i: self.hash(i) for i in self.ids}

    def content_hash(self) -> str:
        """Identifies exactly this data: pair contents, ids and class map."""
        return sha256_text(canonical_json({"classes": self.meta["classes"], "pairs": self.manifest()}))

    # --- checks ---------------------------------------------------------------------------------
    def validate(self) -> None:
        """Re-read every pair and check the contract; raises BenchError naming the first bad file."""
        for pair_id in self.ids:
            image, mask = self.image(pair_id), self.mask(pair_id)
            check_pair(pair_id, image, mask, self.classes, where=self.mask_path(pair_id))
            if pixel_hash(image, mask) != self.hash(pair_id):
                raise BenchError(
                    f"pair '{pair_id}' in {self.root} changed since it was written (hash mismatch)",
                    "re-import or regenerate the set",
                )


def check_pair(pair_id: str, image: np.ndarray, mask: np.ndarray, classes: Mapping[int, str], where=None) -> None:
    where = where or pair_id
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise BenchError(f"image of pair '{pair_id}' must be H x W x 3 uint8, got {image.shape} {image.dtype}")
    if mask.ndim != 2 or mask.dtype != np.uint8:
        raise BenchError(
            f"mask {where} must be a single-channel uint8 class-index mask, got {mask.shape} {mask.dtype}",
            "convert colour or 0/255 masks to class ids at import",
        )
    if mask.shape != image.shape[:2]:
        raise BenchError(
            f"mask {where} is {mask.shape[1]}x{mask.shape[0]} but its image is {image.shape[1]}x{image.shape[0]}",
            "masks must have the size of their image",
        )
    present = np.unique(mask)
    unknown = [int(v) for v in present if int(v) not in classes]
    if unknown:
        raise BenchError(
            f"mask {where} has class ids {unknown} outside the class map {sorted(classes)}",
            "fix the mask or extend the class map",
        )


def write_pairset(
    root: Path | str,
    pairs: Iterable[Pair],
    classes: Mapping[int, str],
    source: Mapping,
    seed: int | None = None,
    progress: bool = False,
    notes: Callable[[], Mapping] | None = None,
) -> PairSet:
    """Write pairs as a pair set at ``root``, atomically (temp dir + rename), replacing any old set. ``notes``,
    called after the last pair, adds what was tallied while the pairs streamed to the meta (an import's
    picture sizes and modes)."""
    root = Path(root)
    classes = {int(k): str(v) for k, v in classes.items()}
    if 0 not in classes:
        classes = {0: "background", **classes}
    ids: list[str] = []
    groups: dict[str, str] = {}
    origins: dict[str, str] = {}
    hashes: dict[str, str] = {}
    with atomic_dir(root) as tmp:
        (tmp / "images").mkdir()
        (tmp / "masks").mkdir()
        if progress:
            pairs = progress_bar(pairs, desc=f"writing {root.name}", unit="pair", leave=False)
        for pair in pairs:
            if pair.id in hashes:
                raise BenchError(f"duplicate pair id '{pair.id}' while writing {root}", "ids must be unique within a set")
            if "/" in pair.id or pair.id.startswith("."):
                raise BenchError(f"pair id '{pair.id}' is not a plain file name")
            check_pair(pair.id, pair.image, pair.mask, classes)
            write_png(tmp / "images" / f"{pair.id}.png", pair.image)
            write_png(tmp / "masks" / f"{pair.id}.png", pair.mask)
            ids.append(pair.id)
            hashes[pair.id] = pixel_hash(pair.image, pair.mask)
            if pair.group:
                groups[pair.id] = pair.group
            if pair.origin:
                origins[pair.id] = pair.origin
        meta = {
            "format": FORMAT,
            "classes": {str(k): v for k, v in sorted(classes.items())},
            "source": dict(source),
            "seed": seed,
            "ids": sorted(ids),
            "groups": groups,
            "origins": origins,
            "hashes": hashes,
            **(dict(notes()) if notes is not None else {}),
        }
        (tmp / "meta.json").write_text(dumps(meta, indent=1))  # inside the atomic folder
    return PairSet(root, meta)

