"""Segmenter specs: which MMSegmentation config, what it needs, and where its pretrained weights come from.

The eight lightweight baselines of Defect Spectrum (Tables 2-3), registered in the paper's table order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.core.registry import Registry

CONFIG_DIR = Path(__file__).parent / "configs"


@dataclass(frozen=True)
class PretrainedWeights:
    """An ImageNet backbone checkpoint, loaded from ``$BENCH_WEIGHTS/checkpoints/<file>``, never downloaded."""

    file: str
    source: str  # where a user can get the file


@dataclass(frozen=True)
class SegmenterSpec:
    name: str
    title: str  # the model as the Defect Spectrum paper names it
    config: str  # file under segmenters/configs
    abbreviation: str  # the column name in Defect Spectrum Table 2/3
    aliases: tuple[str, ...] = ()
    needs_ops: bool = False  # needs mmcv's compiled ops
    channels_last: bool = False  # a convolutional network that runs faster in channels_last on CUDA
    class_scores: bool = False  # the head predicts non-negative class scores, not logits (Mask2Former)
    pretrained: PretrainedWeights | None = None  # None: no ImageNet backbone exists, trained from scratch
    paper_ms: float | None = None  # Table 2: inference ms per image on an RTX 3090
    notes: str = field(default="", compare=False)

    @property
    def config_path(self) -> Path:
        return CONFIG_DIR / self.config


SEGMENTERS: Registry[SegmenterSpec] = Registry("segmenter", "bench.segmenters")
PAPER_ORDER: list[str] = []  # Table 2 column order


def register(spec: SegmenterSpec) -> SegmenterSpec:
    SEGMENTERS.add(spec.name, spec, *spec.aliases)
    PAPER_ORDER.append(spec.name)
    return spec


# the host the installed onedl-mm* packages resolve open-mmlab:// to
_OPENMMLAB = "https://mmassets.onedl.ai"
RESNET18_V1C = PretrainedWeights(
    "resnet18_v1c-b5776b93.pth", f"{_OPENMMLAB}/pretrain/third_party/resnet18_v1c-b5776b93.pth (open-mmlab://resnet18_v1c)"
)
HRNETV2_W18_SMALL = PretrainedWeights(
    "hrnetv2_w18_small-b5a04e21.pth",
    f"{_OPENMMLAB}/pretrain/third_party/hrnetv2_w18_small-b5a04e21.pth (open-mmlab://msra/hrnetv2_w18_small)",
)

register(SegmenterSpec("unet", "UNet-S5-D16 (UNet-small)", "unet.py", "UNet", ("unet-small", "unet-s5-d16"),
                       channels_last=True, paper_ms=33.9))
register(SegmenterSpec("pspnet", "ResNet18-PSPNet (R18-D8)", "pspnet.py", "PSP", ("psp", "pspnet-r18"),
                       channels_last=True, pretrained=RESNET18_V1C, paper_ms=26.2))
register(SegmenterSpec("deeplabv3plus", "ResNet18-DeepLabV3+ (R18-D8)", "deeplabv3plus.py", "DL",
                       ("dl", "deeplabv3+", "deeplabv3plus-r18"), channels_last=True, pretrained=RESNET18_V1C,
                       paper_ms=33.0))
register(SegmenterSpec("hrnet", "HRNetV2-W18-Small (FCN head)", "hrnet.py", "HR", ("hr", "hrnetv2-w18-small"),
                       channels_last=True, pretrained=HRNETV2_W18_SMALL, paper_ms=15.7))
register(SegmenterSpec("bisenetv2", "BiSeNetV2", "bisenetv2.py", "Bise", ("bise",), channels_last=True,
                       paper_ms=23.5))
register(SegmenterSpec(
    "segmenter", "ViT-Tiny Segmenter (mask transformer head)", "segmenter.py", "V-T", ("v-t", "vit-tiny"),
    pretrained=PretrainedWeights(
        "vit_tiny_p16_384_20220308-cce8c795.pth",
        f"{_OPENMMLAB}/mmsegmentation/v0.5/pretrain/segmenter/vit_tiny_p16_384_20220308-cce8c795.pth",
    ),
    paper_ms=38.7,
))
register(SegmenterSpec(
    "segformer", "SegFormer MiT-B0", "segformer.py", "M-B0", ("mit-b0", "m-b0"),
    pretrained=PretrainedWeights(
        "mit_b0_20220624-7e0fe6dd.pth",
        f"{_OPENMMLAB}/mmsegmentation/v0.5/pretrain/segformer/mit_b0_20220624-7e0fe6dd.pth",
    ),
    paper_ms=17.9,
))
register(SegmenterSpec(
    "mask2former", "HRNet-Mask2Former (HRNetV2-W18-Small)", "mask2former.py", "M2F", ("m2f", "hrnet-mask2former"),
    needs_ops=True, class_scores=True, pretrained=HRNETV2_W18_SMALL, paper_ms=68.2,
))


def expected_weights() -> dict[str, tuple[PretrainedWeights, list[str]]]:
    """Every pretrained file some segmenter expects, with the segmenters that use it."""
    files: dict[str, tuple[PretrainedWeights, list[str]]] = {}
    for name in SEGMENTERS.names():
        weights = SEGMENTERS.get(name).pretrained
        if weights is not None:
            files.setdefault(weights.file, (weights, []))[1].append(name)
    return dict(sorted(files.items()))
