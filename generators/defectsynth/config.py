"""DefectSynth settings as frozen data: scales (which networks, how long), readings (paper or released code).

A profile is a scale plus a reading. The reading holds every place where the paper and the official code
(INDTLab/DefectSynth) differ, so that both can run and a record says which did; see docs/defectsynth.md.
Kept free of torch so that registering the generator stays cheap.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from bench.core.errors import BenchError
from bench.core.hashing import canonical_json, sha256_text
from bench.core.paths import weights_dir
from bench.core.registry import Registry
from generators.diffusion_common import require_files

TIMESTEPS = 1000  # T, paper IV-A4 and the released config
WEIGHTS_FOLDER = "stable-diffusion-v1-5"  # under $BENCH_WEIGHTS, diffusers layout
WEIGHTS_SOURCE = "https://huggingface.co/stable-diffusion-v1-5/stable-diffusion-v1-5"
WEIGHTS_FILES = (  # what must be there before anything loads (each part's weights sit beside its config)
    "unet/config.json",
    "vae/config.json",
    "text_encoder/config.json",
    "tokenizer/tokenizer_config.json",
    "scheduler/scheduler_config.json",
)
BETA_SCHEDULES = {"cosine": "squaredcos_cap_v2", "scaled-linear": "scaled_linear"}  # bench name -> diffusers name
HMI_PROMPT = ""  # the latent HMI branch inverts and samples masks with an empty prompt (released DiffMorpher call)


@dataclass(frozen=True)
class Scale:
    """Which networks and how long they train.

    ``weights="sd15"`` loads Stable Diffusion 1.5 from $BENCH_WEIGHTS; ``"random"`` builds a tiny stand-in
    (UNet, VAE, CLIP text encoder) and pretrains its VAE and UNet on the split's own images, normals and
    masks before freezing them, so the ControlNet is fine-tuned on a frozen generative prior as in the paper.
    """

    name: str
    weights: str
    resolution: int  # training and sampling size in pixels
    epochs: int  # ControlNet fine-tuning passes over the (pair, class) examples
    batch_size: int
    lr: float
    checkpoint_every: int  # iterations
    sample_batch: int = 1  # SFF groups denoised in one forward pass
    unet_channels: tuple[int, ...] = ()  # stand-in only, from here on
    vae_channels: tuple[int, ...] = ()
    text_width: int = 0
    text_length: int = 0
    standin_iterations: int = 0  # per stand-in network (VAE, then UNet)
    standin_batch: int = 0
    standin_lr: float = 0.0

    def training_dict(self) -> dict:
        """The fields that shape the trained ControlNet (``sample_batch`` and ``checkpoint_every`` do not)."""
        out = asdict(self)
        del out["name"], out["sample_batch"], out["checkpoint_every"]
        return out

    def standin_dict(self) -> dict:
        """The fields that shape the stand-in networks (the ControlNet's budget does not)."""
        out = self.training_dict()
        for name in ("epochs", "batch_size", "lr"):
            del out[name]
        return out


@dataclass(frozen=True)
class Reading:
    """Every setting where the paper and the released code part ways (docs/defectsynth.md, "Two readings")."""

    name: str
    beta_schedule: str  # "cosine" (paper IV-A4) or "scaled-linear" (released: SD's own, linear_start/end 0.00085/0.012)
    steps: int  # DDIM steps: K = 20 (paper) or 50 (released)
    eta: float  # 0: deterministic DDIM (paper); 1.0 (released)
    guidance: float  # classifier-free guidance; the released code passes 9.0 without an unconditional input: none runs
    prompt_suffix: str  # released appends ", best quality"
    vae_input: str  # "signed": images enter the VAE in [-1, 1]; "unit": in [0, 1] at inference (released)
    sae: str  # "paper" (eq. 7), "released" (1 + min-max difference in the mask) or "off"
    align: str  # "paper": every latent shift x 30-degree rotations; "released": +-8 px grid, 60-degree steps
    sff: str  # "dot" (paper eq. 9), "cosine" (released) or "off"
    sff_rate: float  # fraction of latent points sampled per image
    sff_weight: float  # weight of the base image's own feature; the references share the rest
    sff_batch: int  # images fused with each other
    sff_region: str  # "all": anywhere (paper); "mask": inside the generated mask only (released)
    sff_keep: str  # "all": every fused image is a pair (paper); "first": copies of one pair, keep the first (released)
    blend: str  # the normal picture outside the mask: "paper" (DDIM-path latent blending), "released" (shrinking dilation), "off"
    hist_match: float  # 0 (paper) or 1.0 (released): grey-level histogram matched to the normal image
    hmi: str  # "hybrid" (tau switch), "image" or "latent"
    tau: float  # mean mask area ratio at which a class switches to the latent branch
    hmi_frames: int  # masks per source pair
    hmi_post: str  # "none" (paper) or "released": morphological clean-up and the 2x area filter
    hmi_gap: float  # image branch: gap between consecutive points that gets filled
    mask_threshold: int  # latent branch: grey level (0-255) above which a decoded pixel is mask
    attention_mix: float  # latent branch: fraction of steps with DiffMorpher's self-attention interpolation


READING_NAMES = ("paper", "released")
READINGS: Registry[Reading] = Registry("defectsynth reading", "bench.defectsynth_readings", Reading)
PAPER = Reading(
    "paper", "cosine", 20, 0.0, 1.0, "", "signed", "paper", "paper", "dot", 0.2, 0.7, 2, "all", "all", "paper", 0.0,
    "hybrid", 0.053, 10, "none", 1.5, 50, 0.0,
)
READINGS.register(PAPER)
READINGS.register(
    replace(
        PAPER, name="released", beta_schedule="scaled-linear", steps=50, eta=1.0, prompt_suffix=", best quality",
        vae_input="unit", sae="released", align="released", sff="cosine", sff_region="mask", sff_keep="first",
        blend="released", hist_match=1.0, hmi_post="released", hmi_gap=2.0, attention_mix=0.6,
    ),
)

SD15 = dict(weights="sd15", lr=1e-5)
STANDIN = dict(weights="random", text_length=16)
PROFILE_NAMES = ("smoke", "toy", "short", "paper", "released")
PROFILES: Registry[tuple[Scale, str]] = Registry("defectsynth profile", "bench.defectsynth_profiles", tuple)  # (scale, reading)
# smoke: tests and CPU checks of the whole path in seconds; it learns nothing.
PROFILES.add("smoke", (Scale(
    "smoke", resolution=32, epochs=1, batch_size=2, lr=1e-3, checkpoint_every=10, sample_batch=2, unet_channels=(8, 16),
    vae_channels=(8, 16), text_width=16, standin_iterations=4, standin_batch=4, standin_lr=2e-3, **STANDIN,
), "paper"))
# toy: the embedded toy data on a CPU in about ten minutes (docs/defectsynth.md, "What the toy profile shows").
PROFILES.add("toy", (Scale(
    "toy", resolution=64, epochs=250, batch_size=4, lr=2e-3, checkpoint_every=200, sample_batch=4, unet_channels=(32, 64, 64),
    vae_channels=(16, 32), text_width=32, standin_iterations=400, standin_batch=8, standin_lr=2e-3, **STANDIN,
), "paper"))
# short: DefectSynth Table IV's efficiency setting (256 px, 50 epochs, batch 1) on the real weights.
PROFILES.add("short", (Scale("short", resolution=256, epochs=50, batch_size=1, checkpoint_every=500, **SD15), "paper"))
# paper / released: IV-A4 and the released train.py: 512 px, batch 2, 2000 epochs, lr 1e-5.
PROFILES.add("paper", (Scale(
    "paper", resolution=512, epochs=2000, batch_size=2, checkpoint_every=2000, sample_batch=2, **SD15
), "paper"))
PROFILES.add("released", (replace(PROFILES.get("paper")[0], name="released"), "released"))

CHOICES = {
    "beta_schedule": tuple(BETA_SCHEDULES),
    "vae_input": ("signed", "unit"),
    "sae": ("paper", "released", "off"),
    "align": ("paper", "released"),
    "sff": ("dot", "cosine", "off"),
    "sff_region": ("all", "mask"),
    "sff_keep": ("all", "first"),
    "blend": ("paper", "released", "off"),
    "hmi": ("hybrid", "image", "latent"),
    "hmi_post": ("none", "released"),
}


def resolve(profile: str, reading: str | None, overrides: dict) -> tuple[Scale, Reading]:
    """The profile's scale and reading with the user's overrides (``None`` values keep the profile's)."""
    scale, default_reading = PROFILES.get(profile)
    chosen = READINGS.get(reading or default_reading)
    scale_fields = {f.name for f in fields(Scale)}
    given = {k: v for k, v in overrides.items() if v is not None}
    scale = replace(scale, **{k: v for k, v in given.items() if k in scale_fields})
    chosen = replace(chosen, **{k: v for k, v in given.items() if k not in scale_fields})
    check(scale, chosen)
    return scale, chosen


def check(scale: Scale, reading: Reading) -> None:
    """Combinations that cannot run, as one line each, before anything loads or trains."""
    for name, allowed in CHOICES.items():
        if getattr(reading, name) not in allowed:
            raise BenchError(f"defectsynth {name}={getattr(reading, name)!r} is unknown", f"choose one of: {', '.join(allowed)}")
    if scale.weights == "random":
        check_geometry(scale.resolution, 2 ** (len(scale.vae_channels) - 1), len(scale.unet_channels))
    if reading.sff_batch < 1 or not 0 <= reading.sff_weight <= 1:
        raise BenchError("defectsynth needs sff_batch >= 1 and sff_weight in [0, 1]")
    if reading.hmi_post == "released" and reading.hmi_frames < 3:
        raise BenchError("defectsynth's released HMI keeps only the inner frames", "use hmi_frames >= 3 with it")


def check_geometry(resolution: int, vae_factor: int, unet_levels: int) -> None:
    """The image must halve through the VAE and then through every UNet level but the last."""
    multiple = vae_factor * 2 ** (unet_levels - 1)
    if resolution % multiple:
        raise BenchError(f"defectsynth resolution {resolution} px does not fit the networks", f"use a multiple of {multiple}")


def model_key(role: str, parts: dict) -> str:
    """Cache key of one trained network: everything that shapes its weights, nothing else."""
    return sha256_text(canonical_json({"role": role, **parts}))[:20]


def sd_folder() -> Path:
    """$BENCH_WEIGHTS/stable-diffusion-v1-5 if it holds every file DefectSynth reads, else one line naming the gap."""
    fix = f"download {WEIGHTS_SOURCE} in diffusers format there (`bench weights check` lists it), or use profile=toy"
    root = weights_dir()
    if root is None:
        raise BenchError(f"defectsynth needs Stable Diffusion 1.5 at $BENCH_WEIGHTS/{WEIGHTS_FOLDER} but BENCH_WEIGHTS is not set", fix)
    folder = root / WEIGHTS_FOLDER
    if not folder.is_dir():
        raise BenchError(f"defectsynth needs Stable Diffusion 1.5: folder {folder} does not exist", fix)
    require_files(folder, WEIGHTS_FILES, "defectsynth needs Stable Diffusion 1.5", fix)
    return folder
