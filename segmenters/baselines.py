"""The eight lightweight baselines of Defect Spectrum (Tables 2-3), each with its Table 2 column."""

from __future__ import annotations

from segmenters.registry import SEGMENTERS, PretrainedWeights, SegmenterSpec

# the host the installed onedl-mm* packages resolve open-mmlab:// to
_OPENMMLAB = "https://mmassets.onedl.ai"
RESNET18_V1C = PretrainedWeights(
    "resnet18_v1c-b5776b93.pth", f"{_OPENMMLAB}/pretrain/third_party/resnet18_v1c-b5776b93.pth (open-mmlab://resnet18_v1c)"
)
HRNETV2_W18_SMALL = PretrainedWeights(
    "hrnetv2_w18_small-b5a04e21.pth",
    f"{_OPENMMLAB}/pretrain/third_party/hrnetv2_w18_small-b5a04e21.pth (open-mmlab://msra/hrnetv2_w18_small)",
)
VIT_TINY = PretrainedWeights(
    "vit_tiny_p16_384_20220308-cce8c795.pth",
    f"{_OPENMMLAB}/mmsegmentation/v0.5/pretrain/segmenter/vit_tiny_p16_384_20220308-cce8c795.pth",
)
MIT_B0 = PretrainedWeights(
    "mit_b0_20220624-7e0fe6dd.pth", f"{_OPENMMLAB}/mmsegmentation/v0.5/pretrain/segformer/mit_b0_20220624-7e0fe6dd.pth"
)

BASELINES = (
    SegmenterSpec("unet", "UNet-S5-D16 (UNet-small)", "unet.py", "UNet", ("unet-small", "unet-s5-d16"),
                  channels_last=True, paper_ms=33.9, column=1),
    SegmenterSpec("pspnet", "ResNet18-PSPNet (R18-D8)", "pspnet.py", "PSP", ("psp", "pspnet-r18"),
                  channels_last=True, pretrained=RESNET18_V1C, paper_ms=26.2, column=2),
    SegmenterSpec("deeplabv3plus", "ResNet18-DeepLabV3+ (R18-D8)", "deeplabv3plus.py", "DL", ("dl", "deeplabv3+", "deeplabv3plus-r18"),
                  channels_last=True, pretrained=RESNET18_V1C, paper_ms=33.0, column=3),
    SegmenterSpec("hrnet", "HRNetV2-W18-Small (FCN head)", "hrnet.py", "HR", ("hr", "hrnetv2-w18-small"),
                  channels_last=True, pretrained=HRNETV2_W18_SMALL, paper_ms=15.7, column=4),
    SegmenterSpec("bisenetv2", "BiSeNetV2", "bisenetv2.py", "Bise", ("bise",), channels_last=True, paper_ms=23.5, column=5),
    SegmenterSpec("segmenter", "ViT-Tiny Segmenter (mask transformer head)", "segmenter.py", "V-T", ("v-t", "vit-tiny"),
                  pretrained=VIT_TINY, paper_ms=38.7, column=6),
    SegmenterSpec("segformer", "SegFormer MiT-B0", "segformer.py", "M-B0", ("mit-b0", "m-b0"), pretrained=MIT_B0, paper_ms=17.9, column=7),
    SegmenterSpec("mask2former", "HRNet-Mask2Former (HRNetV2-W18-Small)", "mask2former.py", "M2F", ("m2f", "hrnet-mask2former"),
                  needs_ops=True, class_scores=True, pretrained=HRNETV2_W18_SMALL, paper_ms=68.2, column=8),
)
for _spec in BASELINES:
    SEGMENTERS.register(_spec)
