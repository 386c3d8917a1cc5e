"""Binary defect localization (AnomalyDiffusion Sec. 4.3, the protocol SeaS and DefectSynth follow): every
defect class merged into one, a U-Net trained on real + r x |real| synthetic pairs per ratio (MMSegmentation's
UNet and DRAEM's discriminative U-Net), scored by image- and pixel-level AUROC / AP / F1-max and AUPRO on
the ``third`` split (the first third of each defect type trains). The generator still learns every
defect type; only what the segmenter is taught and scored on is binary. DefectSynth (Sec. V-A) trains the
U-Net on the generated pairs alone: grid key ``synthetic_only: true``."""

from __future__ import annotations

from dataclasses import replace

from bench.protocols.base import PROTOCOLS, Grid, Protocol
from bench.spec import RunSpec


def localization_specs(grid: Grid) -> list[RunSpec]:
    """``synthetic_only``: DefectSynth's reading (the U-Net sees generated pairs only); by default real +
    synthetic, like every ratio protocol, so a verdict says what the pairs add to the same real data."""
    return [replace(spec, labels="binary", synthetic_only=grid.synthetic_only and spec.synthetic)
            for spec in grid.sweep("ratio", grid.ratios, grid.generators)]


PROTOCOLS.register(
    Protocol(
        "localization",
        "defect vs background: U-Nets on real + r x |real train| synthetic pairs, image/pixel AUROC, AP, F1-max and AUPRO",
        localization_specs,
        defaults={"split": "third", "segmenters": ("unet", "draem"), "ratios": (0.0, 1.0)},
    )
)
