"""The project's identities: canonical JSON and SHA-256 of specs, pixels and files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:  # hashing takes arrays but needs no numpy import: the CLI starts without it
    import numpy as np


def canonical_json(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def pixel_hash(image: np.ndarray, mask: np.ndarray) -> str:
    """Hash of decoded pixels, so the same picture re-encoded still collides (train/test overlap checks)."""
    h = hashlib.sha256()
    for arr in (image, mask):
        h.update(str(arr.shape).encode())
        h.update(arr.tobytes(order="C"))
    return h.hexdigest()


def image_hash(image: np.ndarray) -> str:
    h = hashlib.sha256(str(image.shape).encode())
    h.update(image.tobytes(order="C"))
    return h.hexdigest()


def files_fingerprint(root: Path, files: Iterable[Path] | None = None) -> str:
    """Names, sizes and modification times of ``files`` (default: every file below ``root``).

    A cheap identity for caches keyed on data outside bench: it changes when any of the files changes."""
    root = Path(root)
    files = (p for p in root.rglob("*") if p.is_file()) if files is None else files
    entries = sorted(
        (str(p.relative_to(root) if p.is_relative_to(root) else p), p.stat().st_size, p.stat().st_mtime_ns) for p in files
    )
    return sha256_text(canonical_json(entries))
