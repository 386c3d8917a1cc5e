"""DCDGANc's encoder, generator and discriminator (paper Figure 2) in plain PyTorch.

The generator starts from the class constant map (every pixel of every channel = 2n/N - 1) and gets
its style only through OD-SPADE: the concatenation [noise z, one-hot class c] goes through a fully
connected layer to a one-channel map at the block's resolution, and convolutions of that map give the
per-pixel scale and shift applied to the instance-normalized features. The encoder is a VAE encoder
(mean and log-variance of z); the discriminator judges an image together with its class code.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from generators.dcdganc.config import Profile, class_constant

SPADE_HIDDEN = 16  # channels of the convolution shared by scale and shift ("cut ... in the first layer")


def widths(profile: Profile) -> list[int]:
    """Channel width after each down block, the first block first."""
    return [min(profile.base_channels * 2**level, profile.max_channels) for level in range(profile.downsamplings)]


class ODSpade(nn.Module):
    """One-dimensional SPADE: a code vector, spread by a linear layer into a map, modulates normalized features."""

    def __init__(self, code_dim: int, channels: int, size: int):
        super().__init__()
        self.size = size
        self.to_map = nn.Linear(code_dim, size * size)
        self.shared = nn.Sequential(nn.Conv2d(1, SPADE_HIDDEN, 3, padding=1), nn.LeakyReLU(0.2))
        self.scale = nn.Conv2d(SPADE_HIDDEN, channels, 3, padding=1)
        self.shift = nn.Conv2d(SPADE_HIDDEN, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        hidden = self.shared(self.to_map(code).view(-1, 1, self.size, self.size))
        return F.instance_norm(x) * (1 + self.scale(hidden)) + self.shift(hidden)


class ModulatedConv(nn.Module):
    """Convolution, OD-SPADE, LeakyReLU; ``mode`` "down" halves the size (4x4 stride 2), "up" doubles it first."""

    def __init__(self, in_ch: int, out_ch: int, code_dim: int, out_size: int, mode: str):
        super().__init__()
        self.mode = mode
        self.conv = nn.Conv2d(in_ch, out_ch, 4, 2, 1) if mode == "down" else nn.Conv2d(in_ch, out_ch, 3, 1, 1)
        self.norm = ODSpade(code_dim, out_ch, out_size)

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        if self.mode == "up":
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        return F.leaky_relu(self.norm(self.conv(x), code), 0.2)


class ModulatedResBlock(nn.Module):
    def __init__(self, channels: int, code_dim: int, size: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, 1, 1)
        self.norm1 = ODSpade(code_dim, channels, size)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1)
        self.norm2 = ODSpade(code_dim, channels, size)

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        y = F.leaky_relu(self.norm1(self.conv1(x), code), 0.2)
        return x + self.norm2(self.conv2(y), code)


class DefectGenerator(nn.Module):
    """Class constant map in, defect content on a black background out (tanh, [-1, 1])."""

    def __init__(self, profile: Profile, crop: int, num_classes: int):
        super().__init__()
        self.crop, self.num_classes, self.latent_dim = crop, num_classes, profile.latent_dim
        code_dim = profile.latent_dim + num_classes
        chans = widths(profile)
        size = crop // 2
        self.stem = nn.Conv2d(3, chans[0], 4, 2, 1)  # the constant map carries no style to normalize yet
        downs = []
        for level in range(1, len(chans)):
            size //= 2
            downs.append(ModulatedConv(chans[level - 1], chans[level], code_dim, size, "down"))
        self.downs = nn.ModuleList(downs)
        self.res = nn.ModuleList(ModulatedResBlock(chans[-1], code_dim, size) for _ in range(profile.res_blocks))
        ups = []
        for level in range(len(chans) - 1, 0, -1):
            size *= 2
            ups.append(ModulatedConv(chans[level], chans[level - 1], code_dim, size, "up"))
        self.ups = nn.ModuleList(ups)
        self.head = nn.Conv2d(chans[0], 3, 3, 1, 1)

    def constant_map(self, class_weights: torch.Tensor) -> torch.Tensor:
        """Equation (1) per sample; a blend of one-hot rows (class interpolation) blends the constants alike."""
        constants = torch.tensor([class_constant(n, self.num_classes) for n in range(self.num_classes)], device=class_weights.device)
        values = class_weights @ constants
        return values.view(-1, 1, 1, 1).expand(-1, 3, self.crop, self.crop)

    def forward(self, z: torch.Tensor, class_weights: torch.Tensor) -> torch.Tensor:
        code = torch.cat([z, class_weights], dim=1)
        x = F.leaky_relu(self.stem(self.constant_map(class_weights)), 0.2)
        for block in self.downs:
            x = block(x, code)
        for block in self.res:
            x = block(x, code)
        for block in self.ups:
            x = block(x, code)
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        return torch.tanh(self.head(x))


class Encoder(nn.Module):
    """Image -> (mean, log-variance) of its style code."""

    def __init__(self, profile: Profile):
        super().__init__()
        chans = widths(profile)[:3]
        layers: list[nn.Module] = [nn.Conv2d(3, chans[0], 7, 2, 3), nn.InstanceNorm2d(chans[0]), nn.ReLU()]
        for level in range(1, len(chans)):
            layers += [nn.Conv2d(chans[level - 1], chans[level], 4, 2, 1), nn.InstanceNorm2d(chans[level]), nn.ReLU()]
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.mean = nn.Linear(chans[-1], profile.latent_dim)
        self.log_var = nn.Linear(chans[-1], profile.latent_dim)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.features(image)
        return self.mean(features), self.log_var(features)


class Discriminator(nn.Module):
    """WGAN critic of an image under a class: the class code, spread to a map, is a fourth input channel.

    No normalization layers: the gradient penalty is defined per sample."""

    def __init__(self, profile: Profile, crop: int, num_classes: int):
        super().__init__()
        self.crop = crop
        self.class_map = nn.Linear(num_classes, crop * crop)
        chans = widths(profile)[: max(1, min(4, profile.downsamplings))]
        layers: list[nn.Module] = []
        in_ch = 4
        for ch in chans:
            layers += [nn.Conv2d(in_ch, ch, 4, 2, 1), nn.LeakyReLU(0.2)]
            in_ch = ch
        self.body = nn.Sequential(*layers, nn.Conv2d(in_ch, 1, 3, 1, 1))

    def forward(self, image: torch.Tensor, class_weights: torch.Tensor) -> torch.Tensor:
        label = self.class_map(class_weights).view(-1, 1, self.crop, self.crop)
        return self.body(torch.cat([image, label], dim=1)).mean(dim=(1, 2, 3))
