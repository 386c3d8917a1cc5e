"""The run spec: everything that defines one benchmark run. Its identity, with the data manifest and the
generator's version, hashes to the run id."""

from __future__ import annotations

import math
from dataclasses import MISSING, asdict, dataclass, fields, replace

from bench.core.errors import BenchError
from bench.core.hashing import canonical_json, sha256_text
from bench.core.specs import BASE_VERSION, GeneratorSpec, TaskRef, parse_image_size
from bench.core.streams import BATCHES, PAIRED, POOLED

NO_GENERATOR = GeneratorSpec("none")
ASKED_BATCHES = PAIRED  # what `bench run`, protocols and grids ask for unless told otherwise (RunSpec.batches)
# The schedule a run trains at unless told otherwise: on the toy data the segmenter learns the defects in about
# a minute on 2 CPU cores (smoke is for tests: it predicts background everywhere).
DEFAULT_SCHEDULE = "short"
# The papers sweep ratios up to 3; far beyond that a typo (1e9) would try to write millions of pairs.
MAX_RATIO = 10.0


def check_ratio(ratio: float, max_ratio: float, where: str) -> None:
    """A synthetic ratio within the documented maximum (``--max-ratio`` raises it deliberately)."""
    if ratio > max_ratio:
        raise BenchError(
            f"{where} {ratio:g} is above the maximum ratio {max_ratio:g} (the papers use up to 3)",
            "pass --max-ratio to allow more",
        )


# What a segmenter learns to tell apart: every defect type (Defect Spectrum), or defect vs background (the
# AnomalyDiffusion localization protocol: every defect class merged into one before training and scoring).
LABELS = ("classes", "binary")

SOURCE_SPLIT = "ds-5shot"  # a transfer source's split when its task names none

# The fields of bench.run/1 specs. They are always hashed, defaults included, so run ids of records
# written before identities grew still match; a field added later is hashed only where it differs from
# its default, so adding one (at its default) keeps every existing run id.
LEGACY_IDENTITY = frozenset({
    "generator", "ratio", "segmenter", "dataset", "category", "split", "schedule", "seed", "device",
    "pretrained", "normal_ratio", "fill_to",
})


@dataclass(frozen=True)
class RunSpec:
    generator: GeneratorSpec = NO_GENERATOR
    ratio: float = 0.0  # synthetic pairs per real training pair
    segmenter: str = "segformer"
    dataset: str = "toy"
    category: str = "wood"
    split: str = "ds-5shot"
    schedule: str = DEFAULT_SCHEDULE
    seed: int = 0
    device: str = "cpu"  # the device class the run trained on: cpu or cuda
    pretrained: bool = False
    normal_ratio: float = 0.0  # defect-free training images added per real training pair (normal-data)
    fill_to: int = 0  # upsample: synthetic pairs fill the training set up to this size (replaces ratio)
    synthetic_only: bool = False  # synthetic-only, transfer: the segmenter trains on no real defect pairs
    source: str = ""  # transfer: DATASET/CATEGORY[/SPLIT] whose training pairs the generator learns from
    class_map: str = ""  # transfer: SOURCE=TARGET,... class names; a class of the same name needs no entry
    # The seed the generator fits with; None: the run's seed. Fixed, a learned generator trains once per task and
    # only its sampling (and the segmenter) follows the run's seed: seeds then measure sampling + segmenter
    # variance, not the variance of generator training.
    generator_seed: int | None = None
    labels: str = "classes"  # what the segmenter learns: "classes" (each defect type) or "binary" (defect vs background)
    # The task's picture size, canonical WxH: every picture and mask is resized to it at import (docs/datasets.md).
    # Empty: the release's own size, which must then be one size.
    image_size: str = ""
    # How training batches draw the real pairs and the pairs a run adds (bench.core.streams.BATCHES). The field's
    # default is what every record written before it did (pooled), so those keep their run ids; commands and grids
    # ask for paired (ASKED_BATCHES). A run with nothing to pair (no added pairs, or no real ones) trains the same
    # either way and is normalized to pooled, so the real-only baseline keeps its run id.
    batches: str = POOLED

    def __post_init__(self):
        object.__setattr__(self, "image_size", parse_image_size(self.image_size))  # 256 and 256x256: one run id
        for name in ("ratio", "normal_ratio"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise BenchError(f"--{name.replace('_', '-')} must be a finite number >= 0, got {value}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise BenchError(f"--seed must be a whole number >= 0, got {self.seed!r}")
        if self.fill_to < 0 or (self.fill_to and self.ratio):
            raise BenchError(f"--fill-to must be >= 0 and is used instead of --ratio, got {self.fill_to} with ratio {self.ratio}")
        if (self.ratio > 0 or self.fill_to > 0) and self.generator.name == "none":
            raise BenchError("generator 'none' produces no pairs", "use --ratio 0 or choose another generator")
        if (self.synthetic_only or self.source) and not self.synthetic:
            raise BenchError("training on synthetic pairs only (synthetic-only, transfer) needs a ratio or fill-to above 0")
        if self.generator_seed is not None and (isinstance(self.generator_seed, bool) or not isinstance(self.generator_seed, int)
                                                or self.generator_seed < 0):
            raise BenchError(f"--generator-seed must be a whole number >= 0, got {self.generator_seed!r}")
        if self.labels not in LABELS:
            raise BenchError(f"labels {self.labels!r} is not one of {', '.join(LABELS)}", "use classes, or binary for localization")
        if self.class_map and not self.source:
            raise BenchError("a class map maps a transfer source's classes", "give the source task as well")
        if self.source and len([p for p in self.source.split("/") if p]) not in (2, 3):
            raise BenchError(f"transfer source {self.source!r} is not DATASET/CATEGORY[/SPLIT]", "write e.g. toy/wood")
        if self.batches not in BATCHES:
            raise BenchError(f"batches {self.batches!r} is not one of {', '.join(BATCHES)}", "use paired (the default) or pooled")

    @property
    def task(self) -> TaskRef:
        """The task's data by name: dataset, category, split and picture size."""
        return TaskRef(self.dataset, self.category, self.split, self.image_size)

    @property
    def synthetic(self) -> bool:
        return self.ratio > 0 or self.fill_to > 0

    @property
    def pairs_batches(self) -> bool:
        """Whether the run adds pairs to real ones, so that its batches can be paired (``batches``) at all."""
        return not self.synthetic_only and (self.synthetic or self.normal_ratio > 0)

    def normalized(self) -> "RunSpec":
        """Ratio 0 trains on real data only, whatever the generator (and its seed), so all generators share
        that baseline; a run with nothing to pair draws its batches the same way in either mode (pooled).

        A value rule only: what depends on a generator's declaration (the profile a learned generator
        trains at) is settled by the runner's resolve step."""
        spec = self if self.pairs_batches else replace(self, batches=POOLED)
        if spec.synthetic:
            return spec
        return replace(spec, generator=NO_GENERATOR, generator_seed=None)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["generator"] = self.generator.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "RunSpec":
        known = {f.name for f in fields(cls)}
        return cls(**{**{k: v for k, v in d.items() if k in known}, "generator": GeneratorSpec.from_dict(d["generator"])})

    def identity(self) -> dict:
        """The spec fields that name the run: every legacy field, and any later one off its default."""
        return identity_of(self.to_dict(), type(self))

    def run_id(self, manifest_hash: str, generator_version: str = BASE_VERSION) -> str:
        """Spec identity + data manifest (+ the generator's version once it is past its first), hashed.

        The runner passes the registered backend's ``version`` (``bench.runner.versioned_run_id``), so a
        changed algorithm is a new run, never a stale record; a value object cannot ask the registry."""
        key = {"spec": self.identity(), "data": manifest_hash}
        if generator_version != BASE_VERSION:
            key["generator_version"] = generator_version
        return sha256_text(canonical_json(key))[:16]


def identity_of(spec: dict, kind: type | None = None) -> dict:
    """``RunSpec.identity`` of a spec as a record holds it (``to_dict`` form)."""
    return {f.name: spec[f.name] for f in fields(kind or RunSpec) if f.name in spec
            and (f.name in LEGACY_IDENTITY or spec[f.name] != _default(f))}


def _default(f):
    return f.default_factory() if f.default is MISSING and f.default_factory is not MISSING else f.default


