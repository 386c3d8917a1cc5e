"""Dataset adapters: each turns one release layout into a per-category *pool* pair set, cached once.

A pool holds every pair of one product category: defect images filed under their defect type
(``group``) and normals under ``good``, with the release's own train/test origin where it has one.
Split presets (bench.data.splits) then choose train/val/test ids from the pool.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar, Iterable, Iterator

from bench.core.errors import BenchError
from bench.core.hashing import canonical_json, files_fingerprint, sha256_text
from bench.core.images import CONVERSION
from bench.core.pairset import Pair, PairSet, write_pairset
from bench.core.paths import cache_dir
from bench.core.registry import Registry
from bench.data.sizing import RESIZE, Sizing, check_one_size


class DatasetAdapter(ABC):
    """Reads one release layout. Adapters are stateless readers, registered as instances under their ``name``."""

    name: str
    aliases: tuple[str, ...] = ()
    version: ClassVar[int] = 1  # bump when the normalization changes, so old caches are not reused
    needs_root: ClassVar[bool] = True

    @abstractmethod
    def categories(self, root: Path | None) -> list[str]:
        """Product categories available under ``root``."""

    @abstractmethod
    def classes(self, root: Path | None, category: str) -> dict[int, str]:
        """Class map of one category, 0 = background."""

    @abstractmethod
    def pairs(self, root: Path | None, category: str) -> Iterable[Pair]:
        """Every pair of one category, already in the pair-set encoding."""

    def fingerprint(self, root: Path | None, category: str) -> str:
        """Cheap identity of the source data: file names, sizes and mtimes under the category."""
        base = Path(root) / category if root is not None else None
        return files_fingerprint(base) if base is not None and base.exists() else ""

    def notes(self, root: Path | None, category: str) -> dict:
        """What the pool's meta records of how the release was read, besides dataset, category and root (a
        layout's file and content)."""
        return {}


DATASETS: Registry[DatasetAdapter] = Registry("dataset", "bench.datasets", DatasetAdapter, discover="bench.data.adapters")


def resolve_root(adapter: DatasetAdapter, data_root: str | Path | None) -> Path | None:
    if data_root is None:
        if adapter.needs_root:
            raise BenchError(f"dataset '{adapter.name}' needs --data-root", "point it at the extracted release")
        return None
    root = Path(data_root).expanduser()
    if not root.is_dir():
        raise BenchError(f"data root {root} does not exist or is not a directory", "check the --data-root path")
    return root.resolve()


def dataset_categories(dataset: str, data_root: str | Path | None = None) -> list[str]:
    """The product categories of a dataset (under ``data_root`` where it needs one)."""
    adapter = DATASETS.get(dataset)
    return adapter.categories(resolve_root(adapter, data_root))


def load_pool(dataset: str, category: str, data_root: str | Path | None = None, progress: bool = False,
              image_size: str = "", one_size: bool = False) -> PairSet:
    """The normalized pool of one category, imported into the cache on first use: at ``image_size`` (canonical
    ``WxH``, ``bench.data.sizing``) when given, each size a pool of its own. ``one_size`` (a task on whole
    pictures without a size) refuses a release of several picture sizes with one line naming two of them."""
    adapter = DATASETS.get(dataset)
    root = resolve_root(adapter, data_root)
    available = adapter.categories(root)
    where = f" under {root}" if root else ""
    if not available:
        raise BenchError(
            f"no '{dataset}' categories found{where}", "point --data-root at the release's root folder (see docs/datasets.md)"
        )
    if category not in available:
        raise BenchError(f"dataset '{dataset}' has no category '{category}'{where}", f"choose one of: {', '.join(available)}")
    key = sha256_text(
        canonical_json(
            {
                "dataset": adapter.name,
                "version": adapter.version,
                "root": str(root) if root else None,
                "fingerprint": adapter.fingerprint(root, category),
                "conversion": CONVERSION,
                **({"image_size": image_size, "resize": RESIZE} if image_size else {}),
            }
        )
    )[:16]
    what = f"category '{category}' of dataset '{dataset}'{where}"
    target = cache_dir() / "data" / adapter.name / key / category
    if (target / "meta.json").is_file():
        pool = PairSet.open(target)
        if one_size and not image_size:
            check_one_size(pool.meta.get("picture_sizes", {}), what)
        return pool
    classes = adapter.classes(root, category)
    sizing = Sizing(image_size, one_size, what)
    pairs = sizing(require_pairs(adapter.pairs(root, category), what))
    source = {"dataset": adapter.name, "category": category, "root": str(root) if root else None, "conversion": CONVERSION,
              **({"image_size": image_size, "resize": RESIZE} if image_size else {}), **adapter.notes(root, category)}
    created = missing_dirs(target.parent)
    try:
        return write_pairset(target, pairs, classes, source, progress=progress, notes=sizing.notes)
    except BaseException:
        for folder in reversed(created):  # a failed import leaves no trace in the cache
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        raise


def require_pairs(pairs: Iterable[Pair], what: str) -> Iterator[Pair]:
    """Pass pairs through; an empty source raises at the end, inside the atomic write, so nothing is kept."""
    count = 0
    for pair in pairs:
        count += 1
        yield pair
    if count == 0:
        raise BenchError(f"empty category: {what} has no images", "check --data-root and --category")


def missing_dirs(folder: Path) -> list[Path]:
    """``folder`` and those of its ancestors that do not exist yet, outermost first."""
    missing: list[Path] = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    return missing[::-1]
