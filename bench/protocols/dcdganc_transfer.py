"""DCDGANc's defect transfer (section 3.6, Tables 7 and 8, Fig. 10): the ``transfer`` grid at the paper's values.
DCDGANc learns MVTec AD wood's defects (all of its pictures, as section 3.1 trains it), turns each generated
hole and scratch grey and blends it onto 256 px tiles of tile's normals as tile crack and rough (color, combined
and liquid are not transferred); a binary segmenter trains on the 418 crack and 913 rough pairs of Table 7
alone and is tested on the 256 px defect crops of every real crack and rough picture (glue_strip, gray_stroke
and oil, which nothing moves onto, are left out), each type scored on its own crops as Table 8 does.

The crops are a view of the split (``zero-shot+crop:256``, ``bench.data.crops``): the stride is not given, and
Table 7 counts about 5 crops per crack picture (82 of 17) and 7 per rough one (105 of 15) of 840 px, which
non-overlapping windows give, not half-overlapping ones. "Res" is DeepLabV3+ on ResNet-18, as in
``raw-augment-enlarge``."""

from __future__ import annotations

from dataclasses import replace

from bench.core.specs import GeneratorSpec
from bench.protocols.base import PROTOCOLS, Grid, Protocol
from bench.protocols.normal_data import NORMAL_RATIOS
from bench.protocols.transfer import CLASS_MAP, SOURCES, TRANSFER, transfer_specs
from bench.protocols.upsample import FILL_TO
from bench.spec import RunSpec

TABLE_7 = {"hole": 418, "scratch": 913}  # transferred training pairs per source type (tile crack, rough)


def dcdganc_transfer_specs(grid: Grid) -> list[RunSpec]:
    """The transfer grid with a fixed count of transferred pairs (``fill_to``) instead of a ratio, binary labels."""
    return [replace(spec, ratio=0.0, fill_to=grid.fill_to, labels="binary") for spec in transfer_specs(grid)]


PROTOCOLS.register(
    Protocol(
        "dcdganc-transfer",
        "DCDGANc Tables 7/8: wood hole/scratch -> tile crack/rough, grey, on 256 px crops, 418 + 913 pairs; each type scored",
        dcdganc_transfer_specs,
        options=(SOURCES, CLASS_MAP, NORMAL_RATIOS, FILL_TO),
        tables=(TRANSFER,),
        defaults={
            "generators": (GeneratorSpec.of("dcdganc", grayscale=True,
                                            class_counts="+".join(f"{k}={v}" for k, v in TABLE_7.items())),),
            "segmenters": ("unet", "deeplabv3plus"), "dataset": "mvtec-ad", "categories": ("tile",),
            "sources": ("mvtec-ad/wood/all",), "class_map": "hole=crack,scratch=rough,color=-,combined=-,liquid=-",
            "split": "zero-shot+crop:256", "fill_to": sum(TABLE_7.values()), "normal_ratios": (0.0,),
        },
    )
)
