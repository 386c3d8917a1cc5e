"""The ``defectgen`` and ``ddpm`` generators: train the denoisers once per (config, data, seed), sample many times.

torch is imported only when a generator fits, so listing generators stays cheap.
"""

from __future__ import annotations

from abc import abstractmethod
from collections import Counter
from typing import Iterator

from bench.core.errors import BenchError
from bench.core.pairset import Pair, PairSet
from bench.core.paths import cache_dir
from generators import GENERATORS
from generators.base import Generator
from generators.defectgen.config import PARAMETERIZATIONS, PROFILES, TIMESTEPS, UNetConfig, check_fits, large_unet, model_key, small_unet
from generators.defectgen.plan import HANDOVERS, SAMPLERS, Segment, large_only, plan

DEVICES = ("auto", "cpu", "cuda")


class DiffusionGenerator(Generator):
    """Shared by both generators: which denoisers to train and how to chain them is all that differs."""

    kind = "learned"
    needs_training = True

    def __init__(self, profile: str, sampler: str, steps: int, parameterization: str, device: str):
        self.profile = PROFILES.get(profile)
        self.sampler = SAMPLERS.get(sampler)
        self.stride = self.sampler.stride(steps, TIMESTEPS)
        if parameterization not in PARAMETERIZATIONS:
            raise BenchError(
                f"unknown {self.name} parameterization '{parameterization}'", f"choose one of: {', '.join(PARAMETERIZATIONS)}"
            )
        if device not in DEVICES:
            raise BenchError(f"unknown {self.name} device '{device}'", f"choose one of: {', '.join(DEVICES)}")
        self.parameterization = parameterization
        self.device_name = device
        self._models: dict = {}
        self._classes: list[int] = []
        self._size: tuple[int, int] = (0, 0)

    @abstractmethod
    def denoisers(self, num_classes: int) -> dict[str, UNetConfig]:
        """Role ("large" / "small") -> network shape."""

    @abstractmethod
    def segments(self) -> list[Segment]:
        """The sampling chain (see plan.py)."""

    def _device(self):
        import torch

        if self.device_name == "cuda" and not torch.cuda.is_available():
            raise BenchError(f"{self.name} device=cuda requested but no CUDA device is available", "use device=cpu or auto")
        return torch.device("cuda" if self.device_name != "cpu" and torch.cuda.is_available() else "cpu")

    def fit(self, train: PairSet, normals: PairSet | None, seed: int) -> None:
        """Train (or load from the model cache) every denoiser on the defect pairs; normals are not used."""
        from generators.defectgen.training import encode_pairs, train_denoiser  # deferred: torch loads to train, not to register

        pairs = [p for p in train if p.mask.any()]
        if not pairs:
            raise BenchError(f"generator '{self.name}' needs training pairs with defects; {train.root} has none")
        device = self._device()
        data = encode_pairs(pairs, self.profile.resolution, train.num_classes)
        data_hash = train.content_hash()
        models = {}
        for role, config in self.denoisers(train.num_classes).items():
            check_fits(config, self.profile)
            key = model_key(role, config, self.profile, self.parameterization, data_hash, seed)
            directory = cache_dir() / "models" / "defectgen" / f"{role}-{key}"
            models[role], _ = train_denoiser(
                directory, config, self.profile, data, self.parameterization, seed, device, desc=f"{self.name} {role} denoiser"
            )
        self._models = models
        self._classes = sorted(train.classes)
        self._size = Counter(p.image.shape[:2] for p in pairs).most_common(1)[0][0]

    def sample(self, n: int, seed: int) -> Iterator[Pair]:
        if not self._models:
            raise BenchError(f"generator '{self.name}' must be fitted before sampling", "call fit() first")
        # deferred: torch loads to sample, not to register
        from generators.defectgen.diffusion import cosine_alpha_bars
        from generators.defectgen.sampling import decode, run_plan, sample_generators

        steps = plan(self.segments(), self.stride)
        alpha_bars = cosine_alpha_bars(TIMESTEPS)
        device = next(iter(self._models.values())).in_conv.weight.device
        channels = 3 + max(self._classes) + 1
        shape = (channels, self.profile.resolution, self.profile.resolution)
        for start in range(0, n, self.profile.sample_batch):
            indices = range(start, min(n, start + self.profile.sample_batch))
            x = run_plan(
                self._models, steps, alpha_bars, self.parameterization, self.sampler.eta,
                sample_generators(seed, indices), shape, device,
            )
            for index, (image, mask) in zip(indices, decode(x, self._classes, self._size)):
                yield Pair(f"{self.name}_{seed}_{index:05d}", image, mask, group="synthetic")


@GENERATORS.register
class DefectGen(DiffusionGenerator):
    """Defect-Gen: a large-receptive-field diffusion model lays out the picture, a small one adds local variety."""

    name = "defectgen"
    aliases = ("defect-gen",)

    def __init__(
        self,
        u: int = 50,
        receptive_field: str = "medium",
        mode: str = "paper",
        profile: str = "paper",
        sampler: str = "full",
        steps: int = 50,
        parameterization: str = "x0",
        device: str = "auto",
    ):
        super().__init__(profile, sampler, steps, parameterization, device)
        self.handover = HANDOVERS.get(mode)
        self.handover(TIMESTEPS, u)  # validates u for this mode now, not after hours of training
        check_fits(small_unet(self.profile, 1, receptive_field), self.profile)
        self.u = u
        self.receptive_field = receptive_field

    def denoisers(self, num_classes: int) -> dict[str, UNetConfig]:
        return {
            "large": large_unet(self.profile, num_classes),
            "small": small_unet(self.profile, num_classes, self.receptive_field),
        }

    def segments(self) -> list[Segment]:
        return self.handover(TIMESTEPS, self.u)


@GENERATORS.register
class DDPM(DiffusionGenerator):
    """DDPM: Defect-Gen's large denoiser alone, the paper's baseline that memorizes its few training images."""

    name = "ddpm"

    def __init__(
        self, profile: str = "paper", sampler: str = "full", steps: int = 50, parameterization: str = "x0", device: str = "auto"
    ):
        super().__init__(profile, sampler, steps, parameterization, device)

    def denoisers(self, num_classes: int) -> dict[str, UNetConfig]:
        return {"large": large_unet(self.profile, num_classes)}

    def segments(self) -> list[Segment]:
        return large_only(TIMESTEPS)
