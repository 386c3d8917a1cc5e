"""DCDGANc's Raw / Augment / Enlarge experiment (Tables 3, 4 and 6): binary segmenters trained on real defect
crops alone (Raw), with traditionally augmented copies of them (Augment: the ``augment`` generator's
brightness, rotation and noise) or with DCDGANc's synthetic pairs (Enlarge), tested on the defect crops of
the test pictures, pixel AUC and F1.

The crops are a view of the split (``+crop:256+stride:128``, ``bench.data.crops``): the paper's 256 px
crops of 1024 px MVTec AD pictures. Its counts fix the other defaults: Table 3's Augment/Enlarge sets hold
3.0x the Raw crops for wood (2108 of 702) and 3.2x for carpet (2393 of 745), so r = 2 synthetic pairs per
real crop (Table 6, the phone bands: 1653 -> 3306, r = 1); about two thirds of each defect type's pictures
train (carpet color 12 of 19, wood hole 6 of 10: ``ratio:0.65``); the stride is not given, and half a
window gives the paper's crops per picture (carpet color 114 from 12). "Res" is a ResNet-backbone
segmenter, DeepLabV3+ on ResNet-18 here, the paper names no head."""

from __future__ import annotations

from dataclasses import replace

from bench.protocols.base import PROTOCOLS, Grid, Protocol
from bench.spec import RunSpec


def raw_augment_enlarge_specs(grid: Grid) -> list[RunSpec]:
    return [replace(spec, labels="binary") for spec in grid.sweep("ratio", grid.ratios, grid.generators)]


PROTOCOLS.register(
    Protocol(
        "raw-augment-enlarge",
        "DCDGANc Tables 4/6: binary segmenters on real defect crops alone, with augmented copies, with synthetic pairs; pixel AUC / F1",
        raw_augment_enlarge_specs,
        defaults={"generators": ("augment", "dcdganc"), "segmenters": ("unet", "deeplabv3plus"), "categories": ("wood", "carpet"),
                  "dataset": "mvtec-ad", "split": "ratio:0.65+crop:256+stride:128", "ratios": (0.0, 2.0)},
        aliases=("dcdganc",),
    )
)
