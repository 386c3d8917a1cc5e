"""DRAEM's discriminative sub-network (Zavrtanik et al., ICCV 2021, Sec. 3.2) as an MMSegmentation backbone.

The U-Net the AnomalyDiffusion localization protocol trains on generated pairs: six encoder blocks of two
3x3 conv + BN + ReLU (widths b, 2b, 4b, 8b, 8b, 8b, max-pooled between), a decoder that upsamples
(bilinear x2, conv + BN + ReLU), concatenates the encoder block of the same scale and applies two more
conv + BN + ReLU, back to width b at full resolution. DRAEM feeds it an image and its reconstruction (6
channels); trained as a segmenter it sees the image alone (3 channels). Its last 3x3 conv to the class
scores is the decode head's 1x1 conv here (``segmenters/configs/draem.py``).
Registered in MMSegmentation's model registry on import (the config's ``custom_imports``)."""

from __future__ import annotations

import torch
from mmseg.registry import MODELS
from torch import nn


def conv_bn_relu(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def double_conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(*conv_bn_relu(cin, cout), *conv_bn_relu(cout, cout))


def up(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True), *conv_bn_relu(cin, cout))


@MODELS.register_module()
class DraemDiscriminativeUNet(nn.Module):
    """Input N x C x H x W (H, W divisible by 32) -> a one-element tuple of N x b x H x W decoder features."""

    WIDTHS = (1, 2, 4, 8, 8, 8)  # encoder block widths in units of base_channels

    def __init__(self, in_channels: int = 3, base_channels: int = 64, init_cfg=None):
        super().__init__()
        widths = [base_channels * w for w in self.WIDTHS]
        self.encoder = nn.ModuleList(double_conv(cin, cout) for cin, cout in zip([in_channels, *widths[:-1]], widths))
        self.pool = nn.MaxPool2d(2)
        # decoder stage k: upsample from widths[-1-k] (or the previous stage's width), join encoder block -2-k
        self.ups, self.joins = nn.ModuleList(), nn.ModuleList()
        width = widths[-1]
        for skip in reversed(widths[:-1]):
            self.ups.append(up(width, skip))
            self.joins.append(double_conv(2 * skip, skip))
            width = skip
        self.out_channels = width

    def init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor]:
        skips = []
        for i, block in enumerate(self.encoder):
            x = block(x if i == 0 else self.pool(x))
            skips.append(x)
        x = skips.pop()
        for upsample, join in zip(self.ups, self.joins):
            x = join(torch.cat([upsample(x), skips.pop()], dim=1))
        return (x,)
