"""The generator interface (DESIGN.md section 5): ``fit`` on few-shot real pairs, ``sample`` new pairs."""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterator

from bench.errors import BenchError
from bench.pairset import Pair, PairSet, canonical_json, sha256_text


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


class Generator(ABC):
    """A backend. Subclasses take their parameters as keyword arguments with defaults."""

    name: ClassVar[str]
    kind: ClassVar[str]  # "baseline", "learned" or "import"
    needs_training: ClassVar[bool] = False
    needs_weights: ClassVar[bool] = False

    def fit(self, train: PairSet, normals: PairSet | None, seed: int) -> None:
        """Learn from the few-shot training pairs (and defect-free normals); a no-op for most baselines."""

    @abstractmethod
    def sample(self, n: int, seed: int) -> Iterator[Pair]:
        """Yield ``n`` new pairs, a pure function of the fitted state and ``seed``."""

    @classmethod
    def describe(cls) -> dict:
        return {
            "name": cls.name,
            "kind": cls.kind,
            "needs_training": cls.needs_training,
            "needs_weights": cls.needs_weights,
            "summary": (inspect.getdoc(cls) or "").splitlines()[0] if inspect.getdoc(cls) else "",
        }


def build(spec: GeneratorSpec) -> Generator:
    from generators import GENERATORS

    cls = GENERATORS.get(spec.name)
    try:
        return cls(**dict(spec.params))
    except TypeError as exc:
        raise BenchError(f"bad parameters for generator '{spec.name}': {exc}") from None
