"""A segmenter: a spec naming its own MMSegmentation config by absolute path."""

from __future__ import annotations

from pathlib import Path

from segmenters import SegmenterSpec

TINY_UNET = SegmenterSpec(
    "tiny-unet",  # the entry point's name must be the same
    "UNet with three stages and 8 base channels (an example plugin)",
    str(Path(__file__).with_name("tiny_unet.py")),
    "tU",
)
