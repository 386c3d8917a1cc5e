"""DCDGANc settings as frozen data: training profiles, loss weights and the cache key they form.

Kept free of torch so that registering the generator (``bench generators list``) stays cheap.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from bench.core.errors import BenchError
from bench.core.hashing import canonical_json, sha256_text
from bench.core.registry import Registry


@dataclass(frozen=True)
class LossWeights:
    """Section 3.1 of the paper: lambda_p = 10, lambda_l = 1, lambda_KL = 0.01 and a gradient penalty of weight 10."""

    pixel: float = 10.0
    latent: float = 1.0
    kl: float = 0.01
    gradient_penalty: float = 10.0
    real: float = 2.0  # equation (6) counts the real term twice, once against each kind of fake


LOSSES = ("log", "wasserstein")  # eq. (6) as written (log loss, non-saturating for E and G) or its Wasserstein form
CONTENTS = ("crops", "regions")  # native-scale crops around defects (Table 2's constructed sets) or one per region
RAW_MASKS = ("threshold", "watershed")  # how a generated content's raw mask is cut from its black background


@dataclass(frozen=True)
class Profile:
    """How big and how long: content crop size, contents per class, network widths and the training budget."""

    name: str
    crop: int  # side of the square defect-content images the GAN is trained on and generates
    latent_dim: int
    base_channels: int  # width after the first down block; doubles per block up to max_channels
    max_channels: int
    downsamplings: int
    res_blocks: int
    iterations: int
    batch_size: int
    checkpoint_every: int
    contents_per_class: int  # crops cut per class under contents=crops
    lr: float = 5e-4  # Adam, betas (0.5, 0.999), as in the paper
    beta1: float = 0.5
    beta2: float = 0.999

    def training_dict(self) -> dict:
        """The fields that shape trained weights (the name and the checkpoint interval do not)."""
        fields = asdict(self)
        del fields["name"], fields["checkpoint_every"]
        return fields


PROFILES: Registry[Profile] = Registry("dcdganc profile", "bench.dcdganc_profiles", Profile)
PROFILES.register(Profile("smoke", 16, 4, 8, 16, 2, 1, 6, 4, checkpoint_every=3, contents_per_class=8))
# toy: 32 px native crops of the 64 px toy products, sized to train in minutes on a shared 2-core CPU
# (results/perf/learned_toy.md measures what it learns).
PROFILES.register(Profile("toy", 32, 8, 16, 64, 3, 2, 1200, 8, checkpoint_every=200, contents_per_class=200))
PROFILES.register(Profile("short", 64, 8, 32, 256, 4, 2, 3000, 16, checkpoint_every=500, contents_per_class=500))
# The paper trains 256 px contents with batch 20 (the released script: latent 8, four residual blocks,
# widths 32..256 over five down blocks) for "500 iterations", read as passes over its constructed content
# sets (about 1 000 crops per class, Table 2): 500 x 5 classes x 1 000 / 20 = 125 000 optimizer steps.
PROFILES.register(Profile("paper", 256, 8, 32, 256, 5, 4, 125_000, 20, checkpoint_every=5000, contents_per_class=1000))


def crop_size(profile: Profile, crop: int | None) -> int:
    """The content crop side: the profile's, or an explicit one that the network can halve enough times."""
    side = profile.crop if crop is None else int(crop)
    if side < 2**profile.downsamplings or side % 2**profile.downsamplings:
        raise BenchError(
            f"dcdganc crop {side} px is not a multiple of {2 ** profile.downsamplings} (profile '{profile.name}')",
            f"pass crop as a multiple of {2 ** profile.downsamplings}",
        )
    return side


def class_constant(index: int, num_classes: int) -> float:
    """Equation (1): the value C_n = 2n/N - 1 that fills every pixel and channel of class n's input map."""
    return 2.0 * index / num_classes - 1.0


def model_key(profile: Profile, crop: int, weights: LossWeights, loss: str, class_names: tuple[str, ...], data_hash: str,
              seed: int) -> str:
    """Cache key of one trained DCDGANc: everything that shapes its weights, nothing else (the content data and
    how it was cut are in ``data_hash``)."""
    return sha256_text(
        canonical_json(
            {
                "training": {**profile.training_dict(), "crop": crop},
                "losses": asdict(weights),
                "loss": loss,
                "classes": list(class_names),
                "data": data_hash,
                "seed": seed,
            }
        )
    )[:20]
