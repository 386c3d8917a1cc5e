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
from bench.core.pairset import Pair, PairSet, write_pairset
from bench.core.paths import cache_dir
from bench.core.registry import Registry


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


def load_pool(dataset: str, category: str, data_root: str | Path | None = None, progress: bool = False) -> PairSet:
    """The normalized pool of one category, imported into the cache on first use."""
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
            }
        )
    )[:16]
    target = cache_dir() / "data" / adapter.name / key / category
    if (target / "meta.json").is_file():
        return PairSet.open(target)
    classes = adapter.classes(root, category)
    pairs = require_pairs(adapter.pairs(root, category), f"category '{category}' of dataset '{dataset}'{where}")
    source = {"dataset": adapter.name, "category": category, "root": str(root) if root else None}
    created = missing_dirs(target.parent)
    try:
        return write_pairset(target, pairs, classes, source, progress=progress)
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
