"""The run spec: everything that defines one benchmark run. Its canonical JSON, with the data manifest, hashes to the run id."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from bench.errors import BenchError
from bench.pairset import canonical_json, sha256_text
from generators.base import GeneratorSpec

NO_GENERATOR = GeneratorSpec("none")


@dataclass(frozen=True)
class RunSpec:
    generator: GeneratorSpec = NO_GENERATOR
    ratio: float = 0.0  # synthetic pairs per real training pair
    segmenter: str = "segformer"
    dataset: str = "toy"
    category: str = "wood"
    split: str = "ds-5shot"
    schedule: str = "smoke"
    seed: int = 0
    device: str = "cpu"  # the device class the run trained on: cpu or cuda
    pretrained: bool = False
    protocol: str = field(default="synthetic-ratio")

    def __post_init__(self):
        if self.ratio < 0:
            raise BenchError(f"--ratio must be >= 0, got {self.ratio}")
        if self.ratio > 0 and self.generator.name == "none":
            raise BenchError("generator 'none' produces no pairs", "use --ratio 0 or choose another generator")

    def normalized(self) -> "RunSpec":
        """Ratio 0 trains on real data only, whatever the generator: all generators share that baseline."""
        if self.ratio == 0 and self.generator != NO_GENERATOR:
            return RunSpec(**{**self.__dict__, "generator": NO_GENERATOR})
        return self

    def to_dict(self) -> dict:
        d = asdict(self)
        d["generator"] = self.generator.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "RunSpec":
        g = d["generator"]
        return cls(**{**d, "generator": GeneratorSpec.of(g["name"], **g.get("params", {}))})

    def run_id(self, manifest_hash: str) -> str:
        return sha256_text(canonical_json({"spec": self.to_dict(), "data": manifest_hash}))[:16]
