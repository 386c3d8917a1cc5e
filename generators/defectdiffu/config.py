"""DefectDiffu settings as frozen data: profiles (size, budget, weights), readings (paper vs released
code), the prompt templates, the unified defect names and the cache key they form.

Kept free of torch so that registering the generator (``bench generators list``) stays cheap.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from bench.core.hashing import canonical_json, sha256_text
from bench.core.registry import Registry

TIMESTEPS = 1000  # DiT's linear schedule, beta 1e-4 -> 0.02, as in both the paper's base and the released code
BETA_START, BETA_END = 1e-4, 0.02
LATENT_CHANNELS = 4
MASK_BELOW = 100  # the mask is averaged over the sampling steps with t < 100 (see Reading.mask_average)
R_RANGE = (2.0, 8.0)  # eq. 9: the attention ratio is clamped to [2, 8]
LAMBDA = 0.2  # eq. 11: weight of the mask loss, paper and released code alike
# The grey level some pixel of a decoded mask must reach for the map to mark anything: the midpoint of the mask
# images' background (-1) and defect (+1). Both sources binarise by the iterative threshold alone, which splits any
# map in two, so a map that reads no defect anywhere came out as a whole-picture mask (docs/defectdiffu.md).
MASK_FLOOR = 0.0

TEMPLATE = "a photo of {}"
GOOD = "good"  # the defect-free condition c_g


@dataclass(frozen=True)
class Reading:
    """Where the paper and the released code disagree; each field names one difference (docs/defectdiffu.md)."""

    name: str
    context: str  # defect blocks' cross-attention keys: "tokens" (the text sequence, softmax over tokens)
    # or "pooled" (one key from t + the pooled text vector, softmax over positions)
    learn_sigma: bool  # DiT's learned variance and its VB loss term (released) or fixed variance (paper)
    alpha: float  # eq. 8's constant
    map_reduce: str  # eq. 7 over the defect blocks: "mean" (paper) or "sum" (released)
    dropout: str  # "algorithm-1" (paper: p1 drops the product, p2 turns the defect into good) or
    # "released" (train.py --free 1: p2 turns "defect product" into "good product")
    p1: float
    p2: float
    normals: bool  # train on defect-free images as "good" (paper) or on defect pairs only (released loader)
    guidance: str  # "double-free" (eq. 4, three branches) or "cfg" (test.py, two branches)
    guided_channels: int  # latent channels guidance applies to: 4 (all) or 3 (DiT's default, released)
    mask_average: str  # "decoded" (paper: mean of the decoded masks) or "latent" (released: decode the mean)
    gelu: str  # "tanh" (DiT's MLP) or "none" (the released module's exact GELU)
    steps: int  # sampling steps when the profile does not say: 1000 (paper: t = 0..99 are 100 steps), 50


READINGS: Registry[Reading] = Registry("defectdiffu reading", "bench.defectdiffu_readings", Reading)
READINGS.register(
    Reading(
        "paper", context="tokens", learn_sigma=False, alpha=1e-3, map_reduce="mean", dropout="algorithm-1",
        p1=0.2, p2=0.2, normals=True, guidance="double-free", guided_channels=LATENT_CHANNELS,
        mask_average="decoded", gelu="tanh", steps=1000,
    ),
)
READINGS.register(
    Reading(
        "released", context="pooled", learn_sigma=True, alpha=1e-4, map_reduce="sum", dropout="released",
        p1=0.0, p2=0.2, normals=False, guidance="cfg", guided_channels=3,
        mask_average="latent", gelu="none", steps=50,
    ),
)
READING_NAMES = ("paper", "released")
GUIDANCE_NAMES = ("double-free", "cfg")
# What one model learns from: every product of the run's dataset, each with its own prompts (the paper's
# section 3.2 and the released train.py, which reads every product folder), or the run's product alone.
TRAININGS = ("cross-product", "per-product")


@dataclass(frozen=True)
class Profile:
    """How big and how long, and where the weights come from ("tiny": built here, random or fitted)."""

    name: str
    resolution: int  # image side in pixels
    hidden: int  # DiT width
    heads: int
    blocks: tuple[int, int, int]  # background N, defect M, fusion K
    patch: int
    vae: str  # "tiny" or a weights name (weights.SOURCES)
    text: str  # "tiny" or a weights name
    dit: str | None  # the DiT checkpoint the blocks start from, or None (random init)
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    checkpoint_every: int  # iterations
    sample_batch: int
    steps: int | None  # sampling steps; None: the reading's
    reading: str  # the reading this profile runs unless told otherwise
    training: str = "cross-product"  # TRAININGS: what one model learns from unless told otherwise
    vae_channels: tuple[int, ...] = ()  # tiny VAE widths (downsampling 2 ** (len - 1))
    vae_steps: int = 0  # iterations fitting the tiny VAE to the training images and masks
    vae_lr: float = 1e-3
    text_width: int = 32  # tiny text encoder width
    max_tokens: int = 77

    @property
    def weights(self) -> tuple[str, ...]:
        return tuple(n for n in (self.dit, self.vae, self.text) if n and n != "tiny")

    def training_dict(self) -> dict:
        """The fields that shape trained weights (sampling batch and steps do not)."""
        fields = asdict(self)
        for key in ("name", "sample_batch", "steps", "reading", "training"):
            del fields[key]
        return fields


PROFILES: Registry[Profile] = Registry("defectdiffu profile", "bench.defectdiffu_profiles", Profile)
# smoke: tests and the CPU check of the whole path; trains and samples in seconds.
PROFILES.register(Profile(
    "smoke", resolution=32, hidden=32, heads=2, blocks=(1, 1, 1), patch=4, vae="tiny", text="tiny", dit=None,
    epochs=2, batch_size=4, lr=1e-3, weight_decay=0.0, checkpoint_every=50, sample_batch=4, steps=8, reading="paper",
    training="per-product", vae_channels=(8, 16), vae_steps=10, text_width=16, max_tokens=16,
))
# toy: the embedded toy data on a CPU, about ten minutes on two cores (docs/defectdiffu.md says what it learns).
# Per product: a model over the three toy products trains three times as long, which one product's run cannot afford.
PROFILES.register(Profile(
    "toy", resolution=64, hidden=128, heads=4, blocks=(2, 2, 2), patch=4, vae="tiny", text="tiny", dit=None,
    epochs=2000, batch_size=8, lr=1e-3, weight_decay=0.0, checkpoint_every=500, sample_batch=8, steps=50, reading="paper",
    training="per-product", vae_channels=(16, 32), vae_steps=300, vae_lr=2e-3, text_width=32, max_tokens=16,
))
# short: self-contained like toy, wider and longer: a quick GPU run.
PROFILES.register(Profile(
    "short", resolution=128, hidden=384, heads=6, blocks=(4, 4, 4), patch=4, vae="tiny", text="tiny", dit=None,
    epochs=2000, batch_size=16, lr=3e-4, weight_decay=0.0, checkpoint_every=2000, sample_batch=16, steps=100,
    reading="paper", vae_channels=(32, 64), vae_steps=2000, text_width=64, max_tokens=16,
))
# paper: DiT-XL/2 from the 512 px ImageNet checkpoint (section 4.1), N, M, K = 10, 10, 8. The paper gives no
# optimiser or budget; these are the released code's (AdamW 1e-5, weight decay 1e-8, batch 2, 1501 epochs).
PROFILES.register(Profile(
    "paper", resolution=512, hidden=1152, heads=16, blocks=(10, 10, 8), patch=2, vae="sd-vae-ft-mse",
    text="clip-text", dit="DiT-XL-2-512x512.pt", epochs=1501, batch_size=2, lr=1e-5, weight_decay=1e-8,
    checkpoint_every=5000, sample_batch=4, steps=None, reading="paper",
))
# released: train.py / test.py as shipped: 256 px (--imagesize default), the 256 px checkpoint.
PROFILES.register(Profile(
    "released", resolution=256, hidden=1152, heads=16, blocks=(10, 10, 8), patch=2, vae="sd-vae-ft-mse",
    text="clip-text", dit="DiT-XL-2-256x256.pt", epochs=1501, batch_size=2, lr=1e-5, weight_decay=1e-8,
    checkpoint_every=5000, sample_batch=4, steps=None, reading="released",
))
PROFILE_NAMES = ("toy", "smoke", "short", "paper", "released")


def weight_users() -> dict[str, list[str]]:
    """Weights name -> the profiles that read it (for ``bench weights check``)."""
    users: dict[str, list[str]] = {}
    for name in PROFILE_NAMES:
        for weight in PROFILES.get(name).weights:
            users.setdefault(weight, []).append(name)
    return users


# Supplementary Table 2: MVTec AD defect names unified across products so that similar defects share a
# prompt. Names not listed keep their own.
UNIFIED_NAMES: dict[str, str] = {
    "scratch_neck": "scratch", "scratch_head": "scratch", "thread_top": "thread", "thread_side": "thread",
    "glue": "liquid", "poke": "hole", "oil": "liquid", "missing_cable": "missing", "missing_wire": "missing",
    "bent_wire": "bent", "bent_lead": "bent", "poke_insulation": "hole", "cut_inner_insulation": "cut",
    "cut_outer_insulation": "cut", "cut_lead": "cut", "fabric_border": "cut", "fabric_interior": "cut",
    "squeezed_teeth": "squeeze", "broken_teeth": "broken", "split_teeth": "split", "gray_stroke": "color",
    "broken_small": "broken", "broken_large": "broken", "defective": "bent",
}
NAMINGS = ("unified", "original")


def prompt_names(names: dict[int, str], naming: str) -> dict[int, str]:
    """Class id -> the defect word of its prompt. ``unified`` applies Table 2, except where two classes of
    the task would then share a prompt: those keep their own names, so every prompt still has one class."""
    if naming == "original":
        return dict(names)
    unified = {k: UNIFIED_NAMES.get(v, v) for k, v in names.items()}
    taken = list(unified.values())
    return {k: (u if taken.count(u) == 1 else names[k]) for k, u in unified.items()}


def prompts(defect: str, product: str | None) -> tuple[str, str, str]:
    """(background c_p, defect c_d, fusion c_f) texts; a null product is the empty prompt and drops out of c_f."""
    background = TEMPLATE.format(product) if product else ""
    fused = TEMPLATE.format(f"{defect} {product}" if product else defect)
    return background, TEMPLATE.format(defect), fused


def model_key(profile: Profile, reading: Reading, data_hash: str, prompts_used: list[str], weights: str, seed: int) -> str:
    """Cache key of one trained model: everything that shapes its weights, nothing else."""
    training_reading = {k: v for k, v in asdict(reading).items() if k not in ("guidance", "guided_channels", "mask_average", "steps")}
    return sha256_text(
        canonical_json(
            {
                "profile": profile.training_dict(),
                "reading": training_reading,
                "schedule": ["linear", TIMESTEPS, BETA_START, BETA_END],
                "lambda": LAMBDA,
                "r_range": R_RANGE,
                "data": data_hash,
                "prompts": prompts_used,
                "weights": weights,
                "seed": seed,
            }
        )
    )[:20]
