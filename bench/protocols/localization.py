"""Binary defect localization (AnomalyDiffusion Sec. 4.3, the protocol SeaS and DefectSynth follow): every
defect class merged into one, a U-Net trained on real + r x |real| synthetic pairs per ratio (MMSegmentation's
UNet and DRAEM's discriminative U-Net), scored by image- and pixel-level AUROC / AP / F1-max and AUPRO on
the ``third`` split (the first third of each defect type trains). The generator still learns every
defect type; only what the segmenter is taught and scored on is binary. DefectSynth (Sec. V-A, Table IX)
trains the U-Net on 500 generated pairs alone: grid key ``synthetic_only: true``, with the size ``paper``
(500 pairs, whatever the ratios) or ``small`` (r x |real| per ratio)."""

from __future__ import annotations

from dataclasses import replace

from bench.protocols.base import PROTOCOLS, Grid, Protocol
from bench.spec import RunSpec

SYNTHETIC_ONLY_GENERATED = 500  # DefectSynth V-A: "500 defective images were generated per data set"


def localization_specs(grid: Grid) -> list[RunSpec]:
    """``synthetic_only``: DefectSynth's reading (the U-Net sees generated pairs only, 500 at size paper); by
    default real + synthetic, like every ratio protocol, so a verdict says what the pairs add to the same real data."""
    paper = grid.resolved_size() == "paper"
    specs = []
    for spec in grid.sweep("ratio", grid.ratios, grid.generators):
        only = grid.synthetic_only and spec.synthetic
        count = {"ratio": 0.0, "fill_to": SYNTHETIC_ONLY_GENERATED} if only and paper else {}
        specs.append(replace(spec, labels="binary", synthetic_only=only, **count))
    return specs


PROTOCOLS.register(
    Protocol(
        "localization",
        "defect vs background: U-Nets on real + r x |real train| synthetic pairs, image/pixel AUROC, AP, F1-max and AUPRO",
        localization_specs,
        defaults={"split": "third", "segmenters": ("unet", "draem"), "ratios": (0.0, 1.0)},
    )
)
