"""The Defect-Gen denoiser: one U-Net whose depth sets its receptive field (paper Tables 8-11).

Reading of the tables used here (their resolution column has typos; the widths are consistent):
InConv maps the input to ``base`` channels; a DownSampleBlock runs two ResBlocks at width C and
average-pools to half the resolution and 2C channels; an UpSampleBlock runs two ResBlocks at width C
and interpolates to twice the resolution and C/2 channels. The features before each pooling are
concatenated into the up path at the same resolution, and OutConv reads the last up block together
with the full-resolution skip.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from generators.defectgen.config import UNetConfig


def group_norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(math.gcd(32, channels), channels)


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of integer timesteps (Transformer / DDPM style)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)


class ResBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, time_channels: int):
        super().__init__()
        self.in_layers = nn.Sequential(group_norm(in_channels), nn.SiLU(), nn.Conv2d(in_channels, out_channels, 3, padding=1))
        self.time = nn.Sequential(nn.SiLU(), nn.Linear(time_channels, out_channels))
        self.out_layers = nn.Sequential(group_norm(out_channels), nn.SiLU(), nn.Conv2d(out_channels, out_channels, 3, padding=1))
        self.skip = nn.Identity() if in_channels == out_channels else nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.in_layers(x) + self.time(emb)[:, :, None, None]
        return self.skip(x) + self.out_layers(h)


class Attention(nn.Module):
    def __init__(self, channels: int, head_channels: int):
        super().__init__()
        self.heads = max(1, channels // head_channels)
        self.norm = group_norm(channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, h * w).transpose(-1, -2).unbind(1)
        out = F.scaled_dot_product_attention(q, k, v)  # b, heads, hw, c/heads
        return x + self.proj(out.transpose(-1, -2).reshape(b, c, h, w))


class Stage(nn.Module):
    """``res_blocks`` ResBlocks at one width, each followed by attention where the level asks for it."""

    def __init__(self, in_channels: int, channels: int, time_channels: int, blocks: int, attention: bool, head_channels: int):
        super().__init__()
        self.res = nn.ModuleList(ResBlock(in_channels if i == 0 else channels, channels, time_channels) for i in range(blocks))
        self.attn = nn.ModuleList(Attention(channels, head_channels) if attention else nn.Identity() for _ in range(blocks))

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        for res, attn in zip(self.res, self.attn):
            x = attn(res(x, emb))
        return x


class Downsample(nn.Module):
    """Table 9's Avg_pool 2x2 to C -> 2C: pooling, then a 1x1 convolution for the new width."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.avg_pool2d(x, 2))


class Upsample(nn.Module):
    """Table 8's Interpolation to 2H x 2W x C/2: nearest-neighbour doubling, then a 3x3 convolution."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class UNet(nn.Module):
    def __init__(self, config: UNetConfig):
        super().__init__()
        self.config = config
        widths = config.widths()
        time_channels = 4 * config.base_channels
        self.time_embed = nn.Sequential(
            nn.Linear(config.base_channels, time_channels), nn.SiLU(), nn.Linear(time_channels, time_channels)
        )
        self.in_conv = nn.Conv2d(config.in_channels, widths[0], 3, padding=1)

        def attends(level: int) -> bool:
            return 2**level in config.attention_factors

        levels = range(config.downsamplings)
        self.down_stages = nn.ModuleList(
            Stage(widths[i], widths[i], time_channels, config.res_blocks, attends(i), config.head_channels) for i in levels
        )
        self.downsamples = nn.ModuleList(Downsample(widths[i], widths[i + 1]) for i in levels)
        bottom = widths[-1]
        self.middle = (
            Stage(bottom, bottom, time_channels, 2, attends(config.downsamplings), config.head_channels)
            if config.middle_block
            else None
        )
        # Up stage i works at level i + 1; all but the deepest also read the skip of level i + 1.
        self.up_stages = nn.ModuleList(
            Stage(
                widths[i + 1] * (1 if i == config.downsamplings - 1 else 2),
                widths[i + 1],
                time_channels,
                config.res_blocks,
                attends(i + 1),
                config.head_channels,
            )
            for i in levels
        )
        self.upsamples = nn.ModuleList(Upsample(widths[i + 1], widths[i]) for i in levels)
        self.out_conv = nn.Sequential(group_norm(2 * widths[0]), nn.SiLU(), nn.Conv2d(2 * widths[0], config.in_channels, 3, padding=1))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        emb = self.time_embed(timestep_embedding(t, self.config.base_channels))
        h = self.in_conv(x)
        skips = []
        for stage, down in zip(self.down_stages, self.downsamples):
            h = stage(h, emb)
            skips.append(h)
            h = down(h)
        if self.middle is not None:
            h = self.middle(h, emb)
        for level in reversed(range(self.config.downsamplings)):
            if level < self.config.downsamplings - 1:
                h = torch.cat([h, skips[level + 1]], dim=1)
            h = self.upsamples[level](self.up_stages[level](h, emb))
        return self.out_conv(torch.cat([h, skips[0]], dim=1))
