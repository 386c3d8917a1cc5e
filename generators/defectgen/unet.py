"""The Defect-Gen denoisers: one U-Net per layout, their depth setting the receptive field (docs/defectgen.md).

``tables`` reads the paper's Tables 8-11 (their resolution column has typos; the widths are consistent):
InConv maps the input to ``widths[0]`` channels; a DownSampleBlock runs two ResBlocks at width C and
average-pools to half the resolution and 2C channels; an UpSampleBlock runs two ResBlocks at width C and
interpolates to twice the resolution and C/2 channels; the features before each pooling are concatenated
into the up path, and OutConv reads the last up block together with the full-resolution skip.

``guided`` is the released code's guided-diffusion U-Net (``openaiunet.py`` for the large model,
``unet_receptive.py`` for the small one): per level ``res_blocks`` ResBlocks (attention where the level asks
for it), a strided 3x3 convolution between levels, an optional middle block (ResBlock, attention,
ResBlock); the up path has one ResBlock more per level, each reading one saved skip, and upsamples by
nearest neighbour plus a 3x3 convolution. The last convolution of every ResBlock and attention block and
the output convolution start at zero. Without a middle block the first up block reads the deepest
features once (the release's small model). Attention splits heads before q, k and v, as the release does.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from generators.defectgen.config import UNetShape


def group_norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(math.gcd(32, channels), channels)


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of integer timesteps (Transformer / DDPM style)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)


def zeroed(module: nn.Module) -> nn.Module:
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


class ResBlock(nn.Module):
    """GroupNorm, SiLU, 3x3 convolution twice, the timestep added in between (or, with ``scale_shift``, applied as
    a scale and shift of the second norm); a 1x1 convolution on the skip when the width changes."""

    def __init__(self, in_channels: int, out_channels: int, time_channels: int, scale_shift: bool = False, zero_out: bool = False):
        super().__init__()
        self.scale_shift = scale_shift
        self.in_layers = nn.Sequential(group_norm(in_channels), nn.SiLU(), nn.Conv2d(in_channels, out_channels, 3, padding=1))
        self.time = nn.Sequential(nn.SiLU(), nn.Linear(time_channels, out_channels * (2 if scale_shift else 1)))
        last = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.out_norm = group_norm(out_channels)
        self.out_layers = nn.Sequential(nn.SiLU(), zeroed(last) if zero_out else last)
        self.skip = nn.Identity() if in_channels == out_channels else nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.in_layers(x)
        t = self.time(emb)[:, :, None, None]
        if self.scale_shift:
            scale, shift = t.chunk(2, dim=1)
            h = self.out_norm(h) * (1 + scale) + shift
        else:
            h = self.out_norm(h + t)
        return self.skip(x) + self.out_layers(h)


class Attention(nn.Module):
    """Self-attention over positions with ``head_channels`` per head (heads split before q, k, v)."""

    def __init__(self, channels: int, head_channels: int, zero_out: bool = False):
        super().__init__()
        self.heads = max(1, channels // head_channels)
        self.norm = group_norm(channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        proj = nn.Conv2d(channels, channels, 1)
        self.proj = zeroed(proj) if zero_out else proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        qkv = self.qkv(self.norm(x)).reshape(b * self.heads, 3 * c // self.heads, h * w)
        q, k, v = (part.transpose(1, 2) for part in qkv.chunk(3, dim=1))  # (b * heads, hw, c / heads) each
        out = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, c, h, w)
        return x + self.proj(out)


class Layers(nn.ModuleList):
    """Modules applied in turn; ResBlocks also take the timestep embedding."""

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        for module in self:
            x = module(x, emb) if isinstance(module, ResBlock) else module(x)
        return x


class Resample(nn.Module):
    """``down``: 2x2 average pooling (tables) or a strided 3x3 convolution (guided); ``up``: nearest-neighbour
    doubling; either followed by a convolution to ``out_channels`` (1x1 after pooling, 3x3 otherwise)."""

    def __init__(self, in_channels: int, out_channels: int, how: str):
        super().__init__()
        self.how = how
        stride, kernel = (2, 3) if how == "strided" else (1, 1 if how == "pool" else 3)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=kernel // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.how == "pool":
            x = F.avg_pool2d(x, 2)
        elif self.how == "up":
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        return self.conv(x)


class UNet(nn.Module):
    """Shared by both layouts: timestep embedding, InConv, and the down / middle / up paths built by a layout."""

    def __init__(self, shape: UNetShape, in_channels: int):
        super().__init__()
        self.shape, self.in_channels = shape, in_channels
        base = shape.widths[0]
        self.time_channels = 4 * base
        self.time_embed = nn.Sequential(nn.Linear(base, self.time_channels), nn.SiLU(), nn.Linear(self.time_channels, self.time_channels))
        self.in_conv = nn.Conv2d(in_channels, base, 3, padding=1)

    def attends(self, level: int) -> bool:
        return 2**level in self.shape.attention

    def embed(self, t: torch.Tensor) -> torch.Tensor:
        return self.time_embed(timestep_embedding(t, self.shape.widths[0]))


class TablesUNet(UNet):
    """Tables 8-11: per level a stage of ResBlocks, one skip per level, widths doubled by pooling."""

    def __init__(self, shape: UNetShape, in_channels: int):
        super().__init__(shape, in_channels)
        widths, time, levels = shape.widths, self.time_channels, range(shape.downsamplings)

        def stage(level: int, in_channels: int, blocks: int) -> Layers:
            width = widths[level]
            layers = Layers()
            for i in range(blocks):
                layers.append(ResBlock(in_channels if i == 0 else width, width, time))
                if self.attends(level):
                    layers.append(Attention(width, shape.head_channels))
            return layers

        self.down_stages = nn.ModuleList(stage(i, widths[i], shape.res_blocks) for i in levels)
        self.downsamples = nn.ModuleList(Resample(widths[i], widths[i + 1], "pool") for i in levels)
        bottom = shape.downsamplings
        self.middle = stage(bottom, widths[bottom], 2) if shape.middle_block else None
        # Up stage i works at level i + 1; all but the deepest also read the skip of level i + 1.
        self.up_stages = nn.ModuleList(
            stage(i + 1, widths[i + 1] * (1 if i == shape.downsamplings - 1 else 2), shape.res_blocks) for i in levels
        )
        self.upsamples = nn.ModuleList(Resample(widths[i + 1], widths[i], "up") for i in levels)
        self.out_conv = nn.Sequential(group_norm(2 * widths[0]), nn.SiLU(), nn.Conv2d(2 * widths[0], in_channels, 3, padding=1))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        emb = self.embed(t)
        h = self.in_conv(x)
        skips = []
        for stage, down in zip(self.down_stages, self.downsamples):
            h = stage(h, emb)
            skips.append(h)
            h = down(h)
        if self.middle is not None:
            h = self.middle(h, emb)
        for level in reversed(range(self.shape.downsamplings)):
            if level < self.shape.downsamplings - 1:
                h = torch.cat([h, skips[level + 1]], dim=1)
            h = self.upsamples[level](self.up_stages[level](h, emb))
        return self.out_conv(torch.cat([h, skips[0]], dim=1))


class GuidedUNet(UNet):
    """The released guided-diffusion U-Net: every down-path output is saved and read once by the up path."""

    def __init__(self, shape: UNetShape, in_channels: int):
        super().__init__(shape, in_channels)
        widths, time, last = shape.widths, self.time_channels, shape.downsamplings

        def block(level: int, in_channels: int, width: int) -> Layers:
            layers = Layers([ResBlock(in_channels, width, time, shape.scale_shift, zero_out=True)])
            if self.attends(level):
                layers.append(Attention(width, shape.head_channels, zero_out=True))
            return layers

        self.down = nn.ModuleList()
        saved, channels = [widths[0]], widths[0]
        for level, width in enumerate(widths):
            for _ in range(shape.res_blocks):
                self.down.append(block(level, channels, width))
                channels = width
                saved.append(channels)
            if level < last:
                self.down.append(Layers([Resample(channels, channels, "strided")]))
                saved.append(channels)
        self.middle = None
        if shape.middle_block:  # always with attention, whatever the level's
            self.middle = Layers([ResBlock(channels, channels, time, shape.scale_shift, zero_out=True),
                                  Attention(channels, shape.head_channels, zero_out=True),
                                  ResBlock(channels, channels, time, shape.scale_shift, zero_out=True)])
        self.up = nn.ModuleList()
        first = True
        for level in reversed(range(len(widths))):
            for i in range(shape.res_blocks + 1):
                skip = saved.pop()
                layers = block(level, skip if first and self.middle is None else channels + skip, widths[level])
                channels, first = widths[level], False
                if level and i == shape.res_blocks:
                    layers.append(Resample(channels, channels, "up"))
                self.up.append(layers)
        self.out_conv = nn.Sequential(group_norm(channels), nn.SiLU(), zeroed(nn.Conv2d(channels, in_channels, 3, padding=1)))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        emb = self.embed(t)
        h = self.in_conv(x)
        saved = [h]
        for layers in self.down:
            h = layers(h, emb)
            saved.append(h)
        h = self.middle(h, emb) if self.middle is not None else None
        for layers in self.up:
            skip = saved.pop()
            h = layers(skip if h is None else torch.cat([h, skip], dim=1), emb)
        return self.out_conv(h)


LAYOUT_CLASSES: dict[str, type[UNet]] = {"tables": TablesUNet, "guided": GuidedUNet}


def build_unet(shape: UNetShape, in_channels: int) -> UNet:
    return LAYOUT_CLASSES[shape.layout](shape, in_channels)
