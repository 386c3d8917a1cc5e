"""CI regression: a grid's metrics against a golden file (docs/regression.md).

``golden`` is the file format, ``tolerance`` how far a fresh run may move, ``compare`` the point-by-point
verdicts. Ready-made grids are the YAML files in ``subsets/``: a new subset is a new file.
"""

from __future__ import annotations

from pathlib import Path

from bench.core.errors import BenchError

SUBSETS_DIR = Path(__file__).parent / "subsets"


def subsets() -> dict[str, Path]:
    return {path.stem: path for path in sorted(SUBSETS_DIR.glob("*.yaml"))}


def subset(name: str) -> Path:
    found = subsets()
    if name not in found:
        raise BenchError(f"unknown subset '{name}'", f"choose one of: {', '.join(found)}")
    return found[name]
