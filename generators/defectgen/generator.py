"""The ``defectgen`` and ``ddpm`` generators: train the denoisers once per (shape, data, seed), sample many times.

torch is imported only when a generator fits, so listing generators stays cheap.
"""

from __future__ import annotations

from abc import abstractmethod
from collections import Counter
from dataclasses import asdict, replace
from typing import Annotated, Iterator

from bench.core.errors import BenchError
from bench.core.pairset import Pair, PairSet
from bench.core.params import OneOf, Range
from bench.core.paths import cache_dir
from generators import GENERATORS
from generators.base import Generator, defect_pairs
from generators.defectgen.config import (
    FIELDS,
    PARAMETERIZATIONS,
    PROFILES,
    READINGS,
    TIMESTEPS,
    UNetShape,
    check_fits,
    model_key,
    small_shape,
)
from generators.defectgen.plan import HANDOVERS, SAMPLERS, Segment, large_only, plan

DEVICES = ("auto", "cpu", "cuda")
SCHEDULE = "cosine (Nichol & Dhariwal, s = 0.008), betas capped at 0.999"


class DiffusionGenerator(Generator):
    """Shared by both generators: which denoisers to train and how to chain them is all that differs."""

    kind = "learned"
    needs_training = True
    version = "2"  # the released profile and reading (guided U-Nets, {0, 1} masks, cold update, raw weights)
    # `bench run` on a CPU (schedule short) trains the toy profile; --schedule paper reproduces the release.
    schedule_profiles = {"short": "toy", "paper": "released"}

    def __init__(
        self,
        profile: str = "released",
        reading: str | None = None,
        sampler: str = "full",
        steps: Annotated[int, Range(1, TIMESTEPS)] = 50,
        batch_size: Annotated[int | None, Range(1, 4096)] = None,
        parameterization: Annotated[str, OneOf(*PARAMETERIZATIONS)] = "x0",
        device: Annotated[str, OneOf(*DEVICES)] = "auto",
    ):
        """``reading`` defaults to the profile's; ``batch_size`` overrides the profile's training batch (a
        deviation from both the paper and the release, named in the record)."""
        base = PROFILES.get(profile)
        self.profile = base if batch_size is None else replace(base, batch_size=batch_size)
        self.reference_batch = base.batch_size
        self.reading = READINGS.get(reading or base.reading)
        check_fits(self.profile.large, self.profile)
        self.sampler_name = sampler
        self.sampler = SAMPLERS.get(sampler)
        self.stride = self.sampler.stride(steps, TIMESTEPS)
        self.update = self.sampler.update or self.reading.update
        self.parameterization = parameterization
        self.device_name = device
        self._models: dict = {}
        self._classes: list[int] = []
        self._size: tuple[int, int] = (0, 0)

    def trained_modules(self) -> dict:
        return dict(self._models)

    @abstractmethod
    def shapes(self) -> dict[str, UNetShape]:
        """Role ("large" / "small") -> network shape."""

    @abstractmethod
    def segments(self) -> list[Segment]:
        """The sampling chain (see plan.py)."""

    # --- settings ---------------------------------------------------------------------------------
    def settings(self) -> dict:
        """Every setting the run uses after profile and reading: shapes, budget, chain, sampler, constants."""
        steps = plan(self.segments(), self.stride)
        p = self.profile
        return {
            "profile": p.name,
            "reading": asdict(self.reading),
            "resolution": p.resolution,
            "denoisers": {role: asdict(shape) for role, shape in self.shapes().items()},
            "in_channels": "3 image channels + one-hot mask over class ids 0..max of the category (background included)",
            "onehot": list(self.reading.onehot),
            "training": {
                "iterations": p.iterations, "batch_size": p.batch_size, "optimizer": "AdamW, constant learning rate",
                "lr": p.lr, "weight_decay": p.weight_decay, "ema_decay": p.ema_decay, "ema_warmup": self.reading.ema_warmup,
                "loss": f"MSE on the predicted {self.parameterization} over all channels",
                "batches": "drawn with replacement, timesteps and noise seeded by (seed, iteration)",
                "data": "the split's defect pairs (normals unused), area-resized to the resolution, masks nearest",
            },
            "diffusion": {"timesteps": TIMESTEPS, "schedule": SCHEDULE, "parameterization": self.parameterization,
                          "x0_clip": [-1.0, 1.0]},
            "sampling": {
                "sampler": self.sampler_name, "update": self.update, "stride": self.stride, "steps": len(steps),
                "calls": dict(Counter(s.model for s in steps)), "weights": self.reading.weights,
                "batch": p.sample_batch, "noise": "per sample, seeded by (seed, index)",
                "mask": "argmax over the mask channels of the category's class ids",
                "output": "resized (bilinear image, nearest mask) to the training pairs' most common size",
            },
            "device": self.device_name,
        }

    def deviations(self, train: PairSet) -> tuple[str, ...]:
        """How this run departs from both the paper and the release: the fast sampler, the training batch and
        the resize to the training pairs' size."""
        out = []
        if self.sampler.strided:
            out.append(f"fast sampler ({len(plan(self.segments(), self.stride))} strided DDIM steps)")
        if self.profile.batch_size != self.reference_batch:
            out.append(f"training batch {self.profile.batch_size}")
        size = _common_size(defect_pairs(train, self.name))
        side = self.profile.resolution
        if size != (side, side):
            out.append(f"resized {side} px <-> {size[1]}x{size[0]}")
        return tuple(out)

    # --- fit and sample ---------------------------------------------------------------------------
    def _device(self):
        import torch

        if self.device_name == "cuda" and not torch.cuda.is_available():
            raise BenchError(f"{self.name} device=cuda requested but no CUDA device is available", "use device=cpu or auto")
        return torch.device("cuda" if self.device_name != "cpu" and torch.cuda.is_available() else "cpu")

    def fit(self, train: PairSet, normals: PairSet | None, seed: int) -> None:
        """Train (or load from the model cache) every denoiser on the defect pairs; normals are not used."""
        from generators.defectgen.training import encode_pairs, train_denoiser  # deferred: torch loads to train, not to register

        pairs = defect_pairs(train, self.name)
        device = self._device()
        data = encode_pairs(pairs, self.profile.resolution, train.num_classes, self.reading.onehot)
        data_hash = train.content_hash()
        models = {}
        for role, shape in self.shapes().items():
            key = model_key(role, shape, data.shape[1], self.profile, self.reading, self.parameterization, data_hash, seed)
            directory = cache_dir() / "models" / "defectgen" / f"{role}-{key}"
            models[role], _ = train_denoiser(
                directory, shape, self.profile, data, self.parameterization, seed, device, desc=f"{self.name} {role} denoiser",
                ema_warmup=self.reading.ema_warmup, weights=self.reading.weights,
            )
        self._models = models
        self._classes = sorted(train.classes)
        self._size = _common_size(pairs)

    def sample(self, n: int, seed: int) -> Iterator[Pair]:
        if not self._models:
            raise BenchError(f"generator '{self.name}' must be fitted before sampling", "call fit() first")
        # deferred: torch loads to sample, not to register
        from generators.defectgen.diffusion import UPDATES, cosine_alpha_bars
        from generators.defectgen.sampling import decode, run_plan, sample_generators

        steps = plan(self.segments(), self.stride)
        alpha_bars = cosine_alpha_bars(TIMESTEPS)
        device = next(next(iter(self._models.values())).parameters()).device
        channels = 3 + max(self._classes) + 1
        shape = (channels, self.profile.resolution, self.profile.resolution)
        for start in range(0, n, self.profile.sample_batch):
            indices = range(start, min(n, start + self.profile.sample_batch))
            x = run_plan(
                self._models, steps, alpha_bars, self.parameterization, UPDATES[self.update],
                sample_generators(seed, indices), shape, device,
            )
            for index, (image, mask) in zip(indices, decode(x, self._classes, self._size)):
                yield Pair(f"{self.name}_{seed}_{index:05d}", image, mask, group="synthetic")


def _common_size(pairs: list[Pair]) -> tuple[int, int]:
    """Height and width most of the pairs have: the size samples are written at."""
    return Counter(p.image.shape[:2] for p in pairs).most_common(1)[0][0]


@GENERATORS.register
class DefectGen(DiffusionGenerator):
    """Defect-Gen: a large-receptive-field diffusion model lays out the picture, a small one adds local variety."""

    name = "defectgen"
    aliases = ("defect-gen",)

    def __init__(
        self,
        u: Annotated[int, Range(0, TIMESTEPS)] = 50,
        receptive_field: Annotated[str | None, OneOf(*FIELDS)] = None,
        mode: str | None = None,
        **kwargs,
    ):
        """``receptive_field`` and ``mode`` default to the profile's and the reading's."""
        super().__init__(**kwargs)
        self.receptive_field = receptive_field or self.profile.field
        self.mode = mode or self.reading.mode
        self.handover = HANDOVERS.get(self.mode)
        self.handover(TIMESTEPS, u)  # validates u for this mode now, not after hours of training
        self.u = u
        check_fits(small_shape(self.profile, self.receptive_field), self.profile)

    def shapes(self) -> dict[str, UNetShape]:
        return {"large": self.profile.large, "small": small_shape(self.profile, self.receptive_field)}

    def segments(self) -> list[Segment]:
        return self.handover(TIMESTEPS, self.u)

    def settings(self) -> dict:
        return {
            **super().settings(),
            "hand_over": {"u": self.u, "mode": self.mode, "segments": [list(s) for s in self.segments()]},
            "receptive_field": {"name": self.receptive_field, "downsamplings": self.profile.downsamplings(self.receptive_field),
                                "fields": dict(self.profile.fields)},
        }


@GENERATORS.register
class DDPM(DiffusionGenerator):
    """DDPM: Defect-Gen's large denoiser alone, the paper's baseline that memorizes its few training images."""

    name = "ddpm"

    def shapes(self) -> dict[str, UNetShape]:
        return {"large": self.profile.large}

    def segments(self) -> list[Segment]:
        return large_only(TIMESTEPS)
