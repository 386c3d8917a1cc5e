"""Value objects that name a piece of work: a generator with its parameters, a task's data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.core.hashing import canonical_json, sha256_text

BASE_VERSION = "1"  # a generator backend's first version, and the version of every record from before versions


@dataclass(frozen=True)
class GeneratorSpec:
    """A generator name plus its parameters; its canonical JSON keys caches and run ids."""

    name: str
    params: tuple[tuple[str, Any], ...] = field(default=())

    @classmethod
    def of(cls, name: str, **params: Any) -> "GeneratorSpec":
        return cls(name, tuple(sorted(params.items())))

    def to_dict(self) -> dict:
        return {"name": self.name, "params": dict(self.params)}

    def hash(self) -> str:
        return sha256_text(canonical_json(self.to_dict()))

    def __str__(self) -> str:
        if not self.params:
            return self.name
        return self.name + "(" + ",".join(f"{k}={v}" for k, v in self.params) + ")"


_OPEN, _CLOSE = "([{", ")]}"


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """``"a,b(x=1,y=2),c"`` -> ``["a", "b(x=1,y=2)", "c"]``: separators inside brackets do not split."""
    parts, depth, current = [], 0, []
    for char in text:
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth = max(0, depth - 1)
        if char == sep and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return [p for p in parts if p]
@dataclass(frozen=True)
class TaskRef:
    """One task's data by name: a category of a dataset under a split preset."""

    dataset: str
    category: str
    split: str

    def __str__(self) -> str:
        return f"{self.dataset}/{self.category}/{self.split}"
