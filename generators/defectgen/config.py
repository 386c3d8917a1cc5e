"""Defect-Gen settings as frozen data: training profiles, network shapes and the cache key they form.

Kept free of torch so that registering the generators (``bench generators list``) stays cheap.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from bench.core.errors import BenchError
from bench.core.hashing import canonical_json, sha256_text
from bench.core.registry import Registry

TIMESTEPS = 1000  # T of the cosine schedule, as in the paper and the released code
PARAMETERIZATIONS = ("x0", "eps")  # what the denoiser predicts; x0 is the released code's choice

# Small-model receptive fields of the paper's Table 12: number of DownSampleBlocks.
RECEPTIVE_FIELDS = {"small": 2, "medium": 3, "large": 6}


@dataclass(frozen=True)
class UNetConfig:
    """Shape of one denoiser (paper Tables 8-11): widths double at every DownSampleBlock."""

    in_channels: int  # 3 image channels + one-hot mask channels, background included
    base_channels: int  # width after InConv at full resolution (96 in the paper)
    downsamplings: int  # number of DownSampleBlocks; sets the receptive field
    max_channels: int  # cap on the doubling, so deep small models stay buildable
    res_blocks: int = 2
    attention_factors: tuple[int, ...] = ()  # downsampling factors (2**level) that get self-attention
    middle_block: bool = False
    head_channels: int = 64

    def widths(self) -> tuple[int, ...]:
        """Channel width at each resolution level, full resolution first."""
        return tuple(min(self.base_channels * 2**level, self.max_channels) for level in range(self.downsamplings + 1))


@dataclass(frozen=True)
class Profile:
    """How big and how long: resolution, widths and the training budget."""

    name: str
    resolution: int
    iterations: int
    batch_size: int
    base_channels: int
    max_channels: int
    checkpoint_every: int
    ema_decay: float
    sample_batch: int
    lr: float = 1e-4
    weight_decay: float = 2e-3

    def training_dict(self) -> dict:
        """The fields that shape trained weights (sample_batch does not)."""
        fields = asdict(self)
        del fields["sample_batch"], fields["name"]
        return fields


PROFILES: Registry[Profile] = Registry("defectgen profile", "bench.defectgen_profiles", Profile)
# smoke: CPU tests at 32 px; its larger learning rate lets a few dozen iterations visibly learn.
PROFILES.register(Profile("smoke", 32, 30, 4, 16, 64, checkpoint_every=10, ema_decay=0.99, sample_batch=4, lr=1e-3))
PROFILES.register(Profile("short", 64, 4000, 4, 32, 256, checkpoint_every=500, ema_decay=0.999, sample_batch=8))
# The paper trains at 256 px for 150k iterations, batch 2 on each of four GPUs (8 in all).
PROFILES.register(Profile("paper", 256, 150_000, 8, 96, 1536, checkpoint_every=5000, ema_decay=0.9999, sample_batch=8))


def large_unet(profile: Profile, num_classes: int) -> UNetConfig:
    """Table 10: four DownSampleBlocks (96 -> 1536 channels), attention at 1/8 and 1/16 and a middle block."""
    return UNetConfig(3 + num_classes, profile.base_channels, 4, profile.max_channels, attention_factors=(8, 16), middle_block=True)


def small_unet(profile: Profile, num_classes: int, receptive_field: str) -> UNetConfig:
    """Table 11 at the ``small`` field: DownSampleBlocks only, no attention and no middle block."""
    if receptive_field not in RECEPTIVE_FIELDS:
        raise BenchError(
            f"unknown defectgen receptive_field '{receptive_field}'", f"choose one of: {', '.join(RECEPTIVE_FIELDS)}"
        )
    return UNetConfig(3 + num_classes, profile.base_channels, RECEPTIVE_FIELDS[receptive_field], profile.max_channels)


def check_fits(config: UNetConfig, profile: Profile) -> None:
    if profile.resolution % 2**config.downsamplings:
        raise BenchError(
            f"defectgen profile '{profile.name}' ({profile.resolution} px) cannot be halved {config.downsamplings} times",
            "choose a smaller receptive_field or a larger profile",
        )


def model_key(role: str, config: UNetConfig, profile: Profile, parameterization: str, data_hash: str, seed: int) -> str:
    """Cache key of one trained denoiser: everything that shapes its weights, nothing else."""
    return sha256_text(
        canonical_json(
            {
                "role": role,
                "unet": asdict(config),
                "training": profile.training_dict(),
                "parameterization": parameterization,
                "timesteps": TIMESTEPS,
                "schedule": "cosine",
                "data": data_hash,
                "seed": seed,
            }
        )
    )[:20]
