"""Defect-Gen settings as frozen data: denoiser shapes, profiles (size and budget), readings (paper vs released
code) and the cache key they form (docs/defectgen.md).

Kept free of torch so that registering the generators (``bench generators list``) stays cheap.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from bench.core.errors import BenchError
from bench.core.hashing import canonical_json, sha256_text
from bench.core.registry import Registry

TIMESTEPS = 1000  # T of the cosine schedule, as in the paper and the released code
PARAMETERIZATIONS = ("x0", "eps")  # what the denoiser predicts; x0 is the released code's choice
LAYOUTS = ("tables", "guided")
# Reading.optimizer -> the torch.optim class: Adam adds the weight decay to the gradient (the paper: "Adam optimizer
# with a weight decay of 2e-3"), AdamW decouples it (the release).
OPTIMIZERS = {"adam": "Adam", "adamw": "AdamW"}
FIELDS = ("small", "medium", "large")  # receptive fields of the small denoiser, named as in Table 12


@dataclass(frozen=True)
class UNetShape:
    """One denoiser's architecture; its channel count (3 + the task's classes) comes with the data.

    ``tables``: the paper's Tables 8-11 as read here (average-pool downsampling that doubles the width,
    interpolation upsampling that halves it, additive timestep embedding). ``guided``: the released
    code's guided-diffusion U-Net (strided-convolution downsampling at constant width, zero-initialised
    output layers, optionally a FiLM-style scale and shift from the timestep)."""

    layout: str
    widths: tuple[int, ...]  # channels per resolution level, full resolution first: len - 1 downsamplings
    res_blocks: int = 2
    attention: tuple[int, ...] = ()  # downsampling factors (2 ** level) with self-attention, middle block included
    head_channels: int = 64
    middle_block: bool = False
    scale_shift: bool = False  # guided only: the timestep scales and shifts the second norm (use_scale_shift_norm)

    @property
    def downsamplings(self) -> int:
        return len(self.widths) - 1

    def at_depth(self, downsamplings: int) -> "UNetShape":
        """The same denoiser with another number of downsamplings: the widths cut, or the last one repeated."""
        widths = self.widths[: downsamplings + 1]
        return replace(self, widths=widths + (widths[-1],) * (downsamplings + 1 - len(widths)))


@dataclass(frozen=True)
class Reading:
    """Where the paper and the released code differ (or the paper is silent and bench chose); each field names
    one difference, docs/defectgen.md says where each comes from."""

    name: str
    onehot: tuple[float, float]  # mask channel values off / on ({0, 1} in both: the paper's one-hot, the release's scatter_)
    background: bool  # a mask channel for the background (the release: num_defect + 1 mask channels) or none (paper: n_defect + 3 in all)
    update: str  # the full chain's update rule: "ancestral" (DDPM posterior) or "cold" (ColdDiffusion.p_sample)
    modes: tuple[str, ...]  # its readings of how u hands over from the large to the small denoiser (plan.HANDOVERS), default first
    u: int  # the switch parameter's default: Table 12's u = 50, or inference.sh's --step_inference 400
    weights: str  # which weights sample: "ema" or "raw" (the inference script loads ckpt['model'])
    ema_warmup: bool  # EMA decay min(decay, (1 + k) / (10 + k)), or the constant decay from a copy (accumulate)
    optimizer: str  # OPTIMIZERS: "adam" (the paper) or "adamw" (the release)
    per_type: tuple[int, int] | None  # training pictures per defect type of the (large, small) denoiser, the first ids of
    # each (the release's num_image_train 5 / 50 per folder); None: every defect pair of the split (the paper's 5 per type)
    profile: str  # the profile that is this reading's published configuration, what deviations are measured against
    objective: str | None  # what the denoisers predict as published (PARAMETERIZATIONS); None: the text is silent
    source: str  # how a deviation names it: "paper" or "release"


READINGS: Registry[Reading] = Registry("defectgen reading", "bench.defectgen_readings", Reading)
READINGS.register(Reading("paper", onehot=(0.0, 1.0), background=False, update="ancestral", modes=("paper", "caption"), u=50,
                          weights="ema", ema_warmup=True, optimizer="adam", per_type=None, profile="paper", objective=None,
                          source="paper"))
READINGS.register(Reading("released", onehot=(0.0, 1.0), background=True, update="cold", modes=("released",), u=400, weights="raw",
                          ema_warmup=False, optimizer="adamw", per_type=(5, 50), profile="released", objective="x0",
                          source="release"))
TABLE_12_FIELDS = {"small": 2, "medium": 3, "large": 6}  # the paper's DownSampleBlocks per receptive field


@dataclass(frozen=True)
class Profile:
    """How big and how long: resolution, the two denoisers, the small one's receptive fields, the budget."""

    name: str
    resolution: int
    large: UNetShape
    small: UNetShape  # widths for the deepest field it may take (prefix per field; see UNetShape.at_depth)
    fields: tuple[tuple[str, int], ...]  # receptive field name -> downsamplings of the small denoiser
    field: str  # the profile's default receptive field
    iterations: int
    batch_size: int
    lr: float
    weight_decay: float
    ema_decay: float
    checkpoint_every: int
    sample_batch: int
    reading: str  # the reading this profile runs unless told otherwise

    def downsamplings(self, field: str) -> int:
        return dict(self.fields)[field]

    def training_dict(self) -> dict:
        """The fields that shape trained weights (names, checkpoint interval and sampling batch do not)."""
        fields = asdict(self)
        for key in ("name", "large", "small", "fields", "field", "checkpoint_every", "sample_batch", "reading"):
            del fields[key]
        return fields


def _tables(base: int, cap: int, levels: int) -> tuple[int, ...]:
    """Table 10's widths: ``base`` doubled per DownSampleBlock, up to ``cap``."""
    return tuple(min(base * 2**level, cap) for level in range(levels + 1))


def _guided(model_channels: int, mult: tuple[int, ...]) -> tuple[int, ...]:
    """guided-diffusion's widths: model_channels x channel_mult."""
    return tuple(model_channels * m for m in mult)


PROFILES: Registry[Profile] = Registry("defectgen profile", "bench.defectgen_profiles", Profile)
# released: config/large_recep.yml and small_recep.yml as shipped; 150,001 updates at batch 2 (one GPU, bs_per_gpu 2)
# is the state inference.sh loads (diffusion_150000.pt: the loop saves after the update of iteration 0 too).
PROFILES.register(Profile(
    "released", resolution=256,
    large=UNetShape("guided", _guided(128, (1, 1, 2, 2, 4, 4)), attention=(8, 16, 32), head_channels=16, middle_block=True,
                    scale_shift=True),
    small=UNetShape("guided", _guided(192, (1, 2, 4)), head_channels=16),
    fields=(("small", 2), ("medium", 3), ("large", 5)), field="small",
    iterations=150_001, batch_size=2, lr=1e-4, weight_decay=2e-3, ema_decay=0.9999, checkpoint_every=10_000, sample_batch=4,
    reading="released",
))
# paper: Tables 8-11 (widths 96 -> 1536) at 256 px as listed, no attention and no middle block; 150k iterations, batch 2 on
# each of four GPUs (8 in all); Table 12's fields 2 / 3 / 6 DownSampleBlocks, the last capped at the large model's 4.
PROFILES.register(Profile(
    "paper", resolution=256,
    large=UNetShape("tables", _tables(96, 1536, 4)),
    small=UNetShape("tables", _tables(96, 1536, 4)),
    fields=(("small", 2), ("medium", 3), ("large", 4)), field="medium",
    iterations=150_000, batch_size=8, lr=1e-4, weight_decay=2e-3, ema_decay=0.9999, checkpoint_every=5000, sample_batch=8,
    reading="paper",
))
# toy: the released reading at the embedded toy data's 64 px, one ResBlock per level and narrow widths, so that
# both denoisers train in minutes on a shared 2-core CPU (results/perf/learned_toy.md measures what they learn).
PROFILES.register(Profile(
    "toy", resolution=64,
    large=UNetShape("guided", (16, 32, 64, 64), res_blocks=1, attention=(8,), head_channels=16, middle_block=True,
                    scale_shift=True),
    small=UNetShape("guided", (16, 32, 64), res_blocks=1),
    fields=(("small", 1), ("medium", 2), ("large", 3)), field="small",
    iterations=400, batch_size=8, lr=2e-3, weight_decay=2e-3, ema_decay=0.99, checkpoint_every=100, sample_batch=16,
    reading="released",
))
# short: the released reading at 128 px, a quick GPU run.
PROFILES.register(Profile(
    "short", resolution=128,
    large=UNetShape("guided", _guided(64, (1, 1, 2, 2, 4)), attention=(8, 16), head_channels=16, middle_block=True,
                    scale_shift=True),
    small=UNetShape("guided", _guided(96, (1, 2, 4)), head_channels=16),
    fields=(("small", 2), ("medium", 3), ("large", 4)), field="small",
    iterations=20_000, batch_size=8, lr=2e-4, weight_decay=2e-3, ema_decay=0.999, checkpoint_every=2000, sample_batch=16,
    reading="released",
))
# smoke: tests and CPU checks of the whole path at 32 px; trains in seconds.
PROFILES.register(Profile(
    "smoke", resolution=32,
    large=UNetShape("guided", (16, 32, 32, 32), attention=(8,), head_channels=16, middle_block=True, scale_shift=True),
    small=UNetShape("guided", (16, 32, 32)),
    fields=(("small", 1), ("medium", 2), ("large", 3)), field="small",
    iterations=30, batch_size=4, lr=1e-3, weight_decay=2e-3, ema_decay=0.99, checkpoint_every=10, sample_batch=4,
    reading="released",
))


def small_shape(profile: Profile, field: str) -> UNetShape:
    """The small denoiser at a receptive field of ``profile``; never deeper than its large denoiser."""
    return profile.small.at_depth(profile.downsamplings(field))


def check_fits(shape: UNetShape, profile: Profile) -> None:
    if profile.resolution % 2**shape.downsamplings:
        raise BenchError(
            f"defectgen profile '{profile.name}' ({profile.resolution} px) cannot be halved {shape.downsamplings} times",
            "choose a smaller receptive_field or a larger profile",
        )


def model_key(role: str, shape: UNetShape, in_channels: int, profile: Profile, reading: Reading, parameterization: str,
              data_hash: str, seed: int) -> str:
    """Cache key of one trained denoiser: everything that shapes its weights, nothing else (the released reading's
    choices that earlier keys left implicit stay implicit, so its trained denoisers keep their keys)."""
    return sha256_text(
        canonical_json(
            {
                "role": role,
                "unet": {**asdict(shape), "in_channels": in_channels},
                "training": profile.training_dict(),
                "onehot": list(reading.onehot),
                "ema_warmup": reading.ema_warmup,
                **({} if reading.background else {"background": False}),
                **({} if reading.optimizer == "adamw" else {"optimizer": reading.optimizer}),
                "parameterization": parameterization,
                "timesteps": TIMESTEPS,
                "schedule": "cosine",
                "data": data_hash,
                "seed": seed,
            }
        )
    )[:20]
