"""The ``defectgen`` and ``ddpm`` generators: train the denoisers once per (shape, data, seed), sample many times.

torch is imported only when a generator fits, so listing generators stays cheap.
"""

from __future__ import annotations

from abc import abstractmethod
from collections import Counter
from dataclasses import asdict, replace
from typing import Annotated, Iterator

from bench.core.errors import BenchError
from bench.core.hashing import canonical_json, sha256_text
from bench.core.pairset import Pair, PairSet
from bench.core.params import OneOf, Range
from bench.core.paths import cache_dir
from generators import GENERATORS
from generators.base import Generator, defect_pairs
from generators.defectgen.config import (
    FIELDS,
    OPTIMIZERS,
    PARAMETERIZATIONS,
    PROFILES,
    READINGS,
    TABLE_12_FIELDS,
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
    # 3: the paper reading as its text reads (Adam, n_defect + 3 channels in {0, 1}, Tables 10-11 without attention or
    # middle block), the released reading's u = 400 and its 5 / 50 training pictures per type
    version = "3"
    # `bench run` on a CPU (schedule short) trains the toy profile; --schedule paper reproduces the release.
    schedule_profiles = {"short": "toy", "cpu": "toy", "paper": "released"}

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

    def per_type(self) -> dict[str, int | None]:
        """Role -> training pictures per defect type the reading gives it (None: every defect pair of the split)."""
        counts = dict(zip(("large", "small"), self.reading.per_type or (None, None)))
        return {role: counts[role] for role in self.shapes()}

    # --- settings ---------------------------------------------------------------------------------
    def settings(self) -> dict:
        """Every setting the run uses after profile and reading: shapes, budget, chain, sampler, constants."""
        steps = plan(self.segments(), self.stride)
        p, r = self.profile, self.reading
        first = "0" if r.background else "1"
        return {
            "profile": p.name,
            "reading": asdict(r),
            "resolution": p.resolution,
            "denoisers": {role: asdict(shape) for role, shape in self.shapes().items()},
            "in_channels": f"3 image channels + one-hot mask over class ids {first}..max of the category"
                           + (" (background included)" if r.background else " (a background pixel is off in every channel)"),
            "onehot": list(r.onehot),
            "training": {
                "iterations": p.iterations, "batch_size": p.batch_size,
                "optimizer": f"{OPTIMIZERS[r.optimizer]}, constant learning rate",
                "lr": p.lr, "weight_decay": p.weight_decay, "ema_decay": p.ema_decay, "ema_warmup": r.ema_warmup,
                "loss": f"MSE on the predicted {self.parameterization} over all channels",
                "batches": "drawn with replacement, timesteps and noise seeded by (seed, iteration)",
                "data": "the split's defect pairs (normals unused), area-resized to the resolution, masks nearest",
                "pictures_per_type": {role: k if k is not None else "all" for role, k in self.per_type().items()},
            },
            "diffusion": {"timesteps": TIMESTEPS, "schedule": SCHEDULE, "parameterization": self.parameterization,
                          "x0_clip": [-1.0, 1.0]},
            "sampling": {
                "sampler": self.sampler_name, "update": self.update, "stride": self.stride, "steps": len(steps),
                "calls": dict(Counter(s.model for s in steps)), "weights": r.weights,
                "batch": p.sample_batch, "noise": "per sample, seeded by (seed, index)",
                "mask": "argmax over the mask channels of the category's class ids" if r.background else
                        "the largest defect channel's class where it is past the one-hot's midpoint, else background",
                "output": "resized (bilinear image, nearest mask) to the training pairs' most common size",
            },
            "device": self.device_name,
        }

    def deviations(self, train: PairSet) -> tuple[str, ...]:
        """How this run departs from its reading's published configuration (the paper's, or the release's, as
        ``Reading.profile`` names it) and from both: the profile, the chain, the training pictures per type, the
        fast sampler, the objective and the resize to the training pairs' size."""
        pairs = defect_pairs(train, self.name)
        r, source = self.reading, self.reading.source
        out = [*self._profile_deviations(), *self._chain_deviations()]
        if self.sampler.strided:
            calls = Counter(s.model for s in plan(self.segments(), self.stride))
            out.append(f"fast sampler (DDIM at stride {self.stride}: " + " + ".join(f"{n} {role}" for role, n in calls.items())
                       + " steps)")
        if r.objective is not None and self.parameterization != r.objective:
            out.append(f"{self.parameterization}-prediction ({source}: {r.objective})")
        most = max(Counter(pair.group for pair in pairs).values())  # the split's largest type: the same in most categories
        out += [f"{role} denoiser on at most {most} pictures per type ({source}: {wanted})"
                for role, wanted in self.per_type().items() if wanted is not None and most < wanted]
        size = _common_size(pairs)
        side = self.profile.resolution
        if size != (side, side):
            out.append(f"resized {side} px <-> {size[1]}x{size[0]}")
        return tuple(out)

    def _profile_deviations(self) -> list[str]:
        """The profile against the reading's published one: what differs, in a phrase."""
        p, ref, source = self.profile, PROFILES.get(self.reading.profile), self.reading.source
        if p.name == ref.name:
            return [f"training batch {p.batch_size} ({source}: {ref.batch_size})"] if p.batch_size != ref.batch_size else []
        mine, theirs = [], []
        if p.resolution != ref.resolution:
            mine.append(f"{p.resolution} px")
            theirs.append(f"{ref.resolution} px")
        if (p.large, p.small, p.fields) != (ref.large, ref.small, ref.fields):
            mine.append("its own denoisers")
        if (p.iterations, p.batch_size) != (ref.iterations, ref.batch_size):
            mine.append(f"{p.iterations:,} iterations at batch {p.batch_size}")
            theirs.append(f"{ref.iterations:,} at batch {ref.batch_size}")
        if p.lr != ref.lr:
            mine.append(f"lr {p.lr:g}")
            theirs.append(f"lr {ref.lr:g}")
        return [f"{p.name} profile: {', '.join(mine)}" + (f" ({source}: {', '.join(theirs)})" if theirs else "")]

    def _chain_deviations(self) -> list[str]:
        """The sampling chain against the reading's (the hand-over and its u, the receptive field); none for DDPM."""
        return []

    # --- fit and sample ---------------------------------------------------------------------------
    def _device(self):
        import torch

        if self.device_name == "cuda" and not torch.cuda.is_available():
            raise BenchError(f"{self.name} device=cuda requested but no CUDA device is available", "use device=cpu or auto")
        return torch.device("cuda" if self.device_name != "cpu" and torch.cuda.is_available() else "cpu")

    def fit(self, train: PairSet, normals: PairSet | None, seed: int) -> None:
        """Train (or load from the model cache) every denoiser on its defect pairs; normals are not used."""
        from generators.defectgen.training import encode_pairs, train_denoiser  # deferred: torch loads to train, not to register

        pairs = defect_pairs(train, self.name)
        device = self._device()
        r = self.reading
        models = {}
        for role, shape in self.shapes().items():
            chosen = first_per_type(pairs, self.per_type()[role])
            data = encode_pairs(chosen, self.profile.resolution, train.num_classes, r.onehot, r.background)
            data_hash = train.content_hash() if len(chosen) == len(pairs) else sha256_text(
                canonical_json({"of": train.content_hash(), "ids": [pair.id for pair in chosen]}))
            key = model_key(role, shape, data.shape[1], self.profile, r, self.parameterization, data_hash, seed)
            directory = cache_dir() / "models" / "defectgen" / f"{role}-{key}"
            models[role], _ = train_denoiser(
                directory, shape, self.profile, data, self.parameterization, seed, device, desc=f"{self.name} {role} denoiser",
                ema_warmup=r.ema_warmup, weights=r.weights, optimizer_name=r.optimizer,
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
        r = self.reading
        channels = 3 + max(self._classes) + (1 if r.background else 0)
        shape = (channels, self.profile.resolution, self.profile.resolution)
        for start in range(0, n, self.profile.sample_batch):
            indices = range(start, min(n, start + self.profile.sample_batch))
            x = run_plan(
                self._models, steps, alpha_bars, self.parameterization, UPDATES[self.update],
                sample_generators(seed, indices), shape, device,
            )
            for index, (image, mask) in zip(indices, decode(x, self._classes, self._size, r.background, r.onehot)):
                yield Pair(f"{self.name}_{seed}_{index:05d}", image, mask, group="synthetic")


def first_per_type(pairs: list[Pair], k: int | None) -> list[Pair]:
    """The first ``k`` pairs of every defect type (the pair's group) in the set's order, sorted ids: the release's
    ``num_image_train`` files per folder; every pair when ``k`` is None."""
    if k is None:
        return pairs
    taken: Counter = Counter()
    out = []
    for pair in pairs:
        if taken[pair.group] < k:
            taken[pair.group] += 1
            out.append(pair)
    return out


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
        u: Annotated[int | None, Range(0, TIMESTEPS)] = None,
        receptive_field: Annotated[str | None, OneOf(*FIELDS)] = None,
        mode: str | None = None,
        **kwargs,
    ):
        """``u``, ``receptive_field`` and ``mode`` default to the reading's (the paper: u = 50, its hand-over; the
        release: u = 400, its restart) and the profile's field."""
        super().__init__(**kwargs)
        self.receptive_field = receptive_field or self.profile.field
        self.mode = mode or self.reading.modes[0]
        self.handover = HANDOVERS.get(self.mode)
        self.u = self.reading.u if u is None else u
        self.handover(TIMESTEPS, self.u)  # validates u for this mode now, not after hours of training
        check_fits(small_shape(self.profile, self.receptive_field), self.profile)

    def shapes(self) -> dict[str, UNetShape]:
        return {"large": self.profile.large, "small": small_shape(self.profile, self.receptive_field)}

    def segments(self) -> list[Segment]:
        return self.handover(TIMESTEPS, self.u)

    def _chain_deviations(self) -> list[str]:
        r, source = self.reading, self.reading.source
        ref = PROFILES.get(r.profile)
        out = []
        if self.mode not in r.modes:
            out.append(f"hand-over mode={self.mode} ({source}: mode={r.modes[0]})")
        if self.u != r.u:
            out.append(f"u = {self.u} ({source}: {r.u})")
        if self.receptive_field != ref.field:
            out.append(f"receptive field {self.receptive_field} ({source}: {ref.field})")
        depth, published = self.profile.downsamplings(self.receptive_field), TABLE_12_FIELDS[self.receptive_field]
        if self.profile.name == "paper" and depth != published:
            out.append(f"{self.receptive_field} receptive field of {depth} DownSampleBlocks (paper: {published})")
        return out

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
