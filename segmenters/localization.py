"""Segmenters of the localization protocol that Defect Spectrum's eight do not include."""

from __future__ import annotations

from segmenters.registry import SEGMENTERS, SegmenterSpec

SEGMENTERS.register(
    SegmenterSpec(
        "draem", "DRAEM discriminative U-Net", "draem.py", "DRAEM", ("draem-unet",), channels_last=True,
        notes="AnomalyDiffusion's localization segmenter (DRAEM Sec. 3.2), image-only input, from scratch",
    )
)
