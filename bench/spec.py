"""The run spec: everything that defines one benchmark run. Its canonical JSON, with the data manifest, hashes to the run id."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from bench.core.errors import BenchError
from bench.core.hashing import canonical_json, sha256_text
from bench.core.specs import GeneratorSpec

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
    normal_ratio: float = 0.0  # defect-free training images added per real training pair (normal-data)
    fill_to: int = 0  # upsample: synthetic pairs fill the training set up to this size (replaces ratio)

    def __post_init__(self):
        if self.ratio < 0:
            raise BenchError(f"--ratio must be >= 0, got {self.ratio}")
        if self.normal_ratio < 0:
            raise BenchError(f"--normal-ratio must be >= 0, got {self.normal_ratio}")
        if self.fill_to < 0 or (self.fill_to and self.ratio):
            raise BenchError(f"--fill-to must be >= 0 and is used instead of --ratio, got {self.fill_to} with ratio {self.ratio}")
        if (self.ratio > 0 or self.fill_to > 0) and self.generator.name == "none":
            raise BenchError("generator 'none' produces no pairs", "use --ratio 0 or choose another generator")

    @property
    def synthetic(self) -> bool:
        return self.ratio > 0 or self.fill_to > 0

    def normalized(self) -> "RunSpec":
        """Ratio 0 trains on real data only, whatever the generator, so all generators share that baseline.

        A value rule only: what depends on a generator's declaration (the profile a learned generator
        trains at) is settled by the runner's resolve step."""
        if self.synthetic or self.generator == NO_GENERATOR:
            return self
        return replace(self, generator=NO_GENERATOR)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["generator"] = self.generator.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "RunSpec":
        g = d["generator"]
        known = {f.name for f in fields(cls)}
        return cls(**{**{k: v for k, v in d.items() if k in known}, "generator": GeneratorSpec.of(g["name"], **g.get("params", {}))})

    def run_id(self, manifest_hash: str) -> str:
        return sha256_text(canonical_json({"spec": self.to_dict(), "data": manifest_hash}))[:16]
