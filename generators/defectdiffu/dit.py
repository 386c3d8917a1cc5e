"""DefectDiffu's denoiser: a DiT whose blocks form three groups (background, defect, fusion), each
conditioned on its own prompt, with a cross-attention in every defect block and a mask head that reads
those attention maps (paper section 3.2-3.4, Fig. 2).

Parameter names are those of facebookresearch/DiT (``x_embedder.proj``, ``t_embedder.mlp``,
``blocks.i.attn.qkv``, ``blocks.i.mlp.fc1``, ``blocks.i.adaLN_modulation.1``, ``final_layer``), so the
public ImageNet checkpoints load into the blocks (``load_public_dit``). The parts DefectDiffu adds are
named as in its released module: ``y_embedders`` (text vector -> width), ``cross_defect.i.cross_attention``
and ``adapt_mask``, so a state dict trained with the released code fits the ``released`` reading.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bench.core.errors import BenchError
from generators.diffusion_common import load_state


@dataclass(frozen=True)
class DiTConfig:
    input_size: int  # latent side
    patch_size: int
    in_channels: int
    hidden_size: int
    num_heads: int
    blocks: tuple[int, int, int]  # background, defect, fusion
    text_dim: int  # width of the pooled text vector
    context_dim: int  # width of the text token sequence (the "tokens" context)
    context: str  # "tokens" or "pooled" (Reading.context)
    learn_sigma: bool
    gelu: str  # "tanh" or "none"
    mlp_ratio: float = 4.0

    @property
    def depth(self) -> int:
        return sum(self.blocks)

    @property
    def out_channels(self) -> int:
        return self.in_channels * 2 if self.learn_sigma else self.in_channels

    @property
    def grid(self) -> int:
        return self.input_size // self.patch_size


@dataclass
class Conditions:
    """Per-sample text conditions, already embedded: pooled vectors (B x text_dim) for the three groups,
    and for the ``tokens`` context the defect prompt's tokens (B x L x context_dim) and the weights that
    pick its defect word out of them (B x L, rows summing to 1)."""

    product: torch.Tensor
    defect: torch.Tensor
    fused: torch.Tensor
    tokens: torch.Tensor | None = None
    focus: torch.Tensor | None = None

    def to(self, device) -> "Conditions":
        return Conditions(*(None if v is None else v.to(device) for v in (self.product, self.defect, self.fused, self.tokens, self.focus)))

    @staticmethod
    def cat(parts: list["Conditions"]) -> "Conditions":
        def join(name):
            values = [getattr(p, name) for p in parts]
            return None if values[0] is None else torch.cat(values)

        return Conditions(*(join(n) for n in ("product", "defect", "fused", "tokens", "focus")))


@dataclass
class DiTOutput:
    out: torch.Tensor  # B x out_channels x H x W: noise (and variance values when learned)
    mask: torch.Tensor  # B x in_channels x H x W: the mask head's latent mask
    attention: torch.Tensor  # B x M x g x g: each defect block's cross-attention map, mean over heads


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


def sincos_pos_embed(dim: int, grid: int) -> torch.Tensor:
    """DiT's fixed 2-D sine-cosine position embedding, (grid * grid) x dim; half the channels per axis."""
    omega = 1.0 / 10000 ** (np.arange(dim // 4, dtype=np.float64) / (dim / 4))
    ys, xs = np.meshgrid(np.arange(grid, dtype=np.float64), np.arange(grid, dtype=np.float64), indexing="ij")

    def axis(pos):
        out = np.outer(pos.reshape(-1), omega)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)

    # DiT's meshgrid puts w first, so its first half encodes the column (x) and the second the row (y)
    return torch.from_numpy(np.concatenate([axis(xs), axis(ys)], axis=1)).float()


class PatchEmbed(nn.Module):
    def __init__(self, patch: int, in_channels: int, hidden: int):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, hidden, kernel_size=patch, stride=patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class TimestepEmbedder(nn.Module):
    def __init__(self, hidden: int, frequencies: int = 256):
        super().__init__()
        self.frequencies = frequencies
        self.mlp = nn.Sequential(nn.Linear(frequencies, hidden), nn.SiLU(), nn.Linear(hidden, hidden))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        half = self.frequencies // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
        args = t.float()[:, None] * freqs[None]
        return self.mlp(torch.cat([torch.cos(args), torch.sin(args)], dim=-1))


class Attention(nn.Module):
    """Multi-head self-attention with timm's parameter names (``qkv``, ``proj``)."""

    def __init__(self, hidden: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(hidden, hidden * 3)
        self.proj = nn.Linear(hidden, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        return self.proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(self, hidden: int, ratio: float, gelu: str):
        super().__init__()
        self.fc1 = nn.Linear(hidden, int(hidden * ratio))
        self.act = nn.GELU(approximate=gelu)
        self.fc2 = nn.Linear(int(hidden * ratio), hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class CrossAttention(nn.Module):
    """Query from the image tokens, key and value from the text; returns the output and each head's map.

    ``tokens``: keys are the defect prompt's L tokens, softmax over them (eq. 5); a head's map is the
    attention on the defect word (``focus``). ``pooled`` (released): one key from the condition vector
    t + y_defect and the softmax over the spatial positions, so a head's map is a distribution over the image."""

    def __init__(self, hidden: int, heads: int, context_dim: int):
        super().__init__()
        self.heads = heads
        self.scale = (hidden / heads) ** -0.5
        self.to_q = nn.Linear(hidden, hidden)
        self.to_k = nn.Linear(context_dim, hidden)
        self.to_v = nn.Linear(context_dim, hidden)

    def forward(self, x: torch.Tensor, context: torch.Tensor, focus: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        b, n, c = x.shape
        h, d = self.heads, c // self.heads
        q = self.to_q(x).view(b, n, h, d).transpose(1, 2)  # B h n d
        if context.dim() == 2:
            k = self.to_k(context).view(b, h, 1, d)
            v = self.to_v(context).view(b, h, 1, d)
            attn = ((q @ k.transpose(-1, -2)) * self.scale).softmax(dim=2)  # B h n 1, over positions
            out, maps = attn * v, attn[..., 0]
        else:
            length = context.shape[1]
            k = self.to_k(context).view(b, length, h, d).transpose(1, 2)
            v = self.to_v(context).view(b, length, h, d).transpose(1, 2)
            attn = ((q @ k.transpose(-1, -2)) * self.scale).softmax(dim=-1)  # B h n L, over tokens
            out, maps = attn @ v, (attn * focus[:, None, None, :]).sum(-1)
        return out.transpose(1, 2).reshape(b, n, c), maps.transpose(1, 2)  # B n c, B n h


class CrossNorm(nn.Module):
    def __init__(self, hidden: int, heads: int, context_dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.cross_attention = CrossAttention(hidden, heads, context_dim)

    def forward(self, x, context, focus):
        return self.cross_attention(self.norm(x), context, focus)


class DiTBlock(nn.Module):
    """adaLN-Zero block; a defect block runs its cross-attention between self-attention and the MLP."""

    def __init__(self, hidden: int, heads: int, ratio: float, gelu: str):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(hidden, heads)
        self.norm2 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(hidden, ratio, gelu)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden, 6 * hidden))

    def forward(self, x, c, cross: CrossNorm | None = None, context=None, focus=None):
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.adaLN_modulation(c).chunk(6, dim=1)
        x = x + gate_msa.unsqueeze(1) * self.attn(modulate(self.norm1(x), shift_msa, scale_msa))
        maps = None
        if cross is not None:
            update, maps = cross(x, context, focus)
            x = x + update
        x = x + gate_mlp.unsqueeze(1) * self.mlp(modulate(self.norm2(x), shift_mlp, scale_mlp))
        return x, maps


class FinalLayer(nn.Module):
    def __init__(self, hidden: int, patch: int, out_channels: int):
        super().__init__()
        self.norm_final = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(hidden, patch * patch * out_channels)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden, 2 * hidden))

    def forward(self, x, c):
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=1)
        return self.linear(modulate(self.norm_final(x), shift, scale))


class MaskHead(nn.Module):
    """The mask generation module: every defect block's per-head maps, concatenated, to a latent mask."""

    def __init__(self, channels: int, patch: int, out_channels: int):
        super().__init__()
        self.norm = nn.LayerNorm(channels, elementwise_affine=False, eps=1e-6)
        self.mlp = nn.Sequential(nn.SiLU(), nn.Linear(channels, 2 * channels), nn.Linear(2 * channels, channels))
        self.linear = nn.Linear(channels, patch * patch * out_channels)

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        return self.linear(self.mlp(self.norm(maps)))


def unpatchify(x: torch.Tensor, patch: int, channels: int) -> torch.Tensor:
    """B x (g*g) x (p*p*C) -> B x C x (g*p) x (g*p), DiT's token layout."""
    g = int(round(x.shape[1] ** 0.5))
    x = x.reshape(x.shape[0], g, g, patch, patch, channels)
    return torch.einsum("nhwpqc->nchpwq", x).reshape(x.shape[0], channels, g * patch, g * patch)


class DiT(nn.Module):
    def __init__(self, config: DiTConfig):
        super().__init__()
        self.config = config
        c = config
        context_dim = c.context_dim if c.context == "tokens" else c.hidden_size
        self.x_embedder = PatchEmbed(c.patch_size, c.in_channels, c.hidden_size)
        self.t_embedder = TimestepEmbedder(c.hidden_size)
        self.y_embedders = nn.Linear(c.text_dim, c.hidden_size)
        self.pos_embed = nn.Parameter(sincos_pos_embed(c.hidden_size, c.grid)[None], requires_grad=False)
        self.blocks = nn.ModuleList(DiTBlock(c.hidden_size, c.num_heads, c.mlp_ratio, c.gelu) for _ in range(c.depth))
        self.cross_defect = nn.ModuleList(CrossNorm(c.hidden_size, c.num_heads, context_dim) for _ in range(c.blocks[1]))
        self.adapt_mask = MaskHead(c.num_heads * c.blocks[1], c.patch_size, c.in_channels)
        self.final_layer = FinalLayer(c.hidden_size, c.patch_size, c.out_channels)
        self._initialize()

    def _initialize(self) -> None:
        """DiT's initialisation: Xavier linears, zeroed adaLN-Zero gates and output layer."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
        w = self.x_embedder.proj.weight.data
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))
        nn.init.zeros_(self.x_embedder.proj.bias)
        nn.init.normal_(self.t_embedder.mlp[0].weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[2].weight, std=0.02)
        for module in [*(b.adaLN_modulation[-1] for b in self.blocks), self.final_layer.adaLN_modulation[-1], self.final_layer.linear]:
            nn.init.zeros_(module.weight)
            nn.init.zeros_(module.bias)

    def group(self, index: int) -> str:
        background, defect, _ = self.config.blocks
        return "background" if index < background else ("defect" if index < background + defect else "fusion")

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: Conditions) -> DiTOutput:
        c = self.config
        x = self.x_embedder(x) + self.pos_embed
        temb = self.t_embedder(t)
        embedded = {"background": self.y_embedders(cond.product), "defect": self.y_embedders(cond.defect), "fusion": self.y_embedders(cond.fused)}
        maps = []
        for index, block in enumerate(self.blocks):
            group = self.group(index)
            condition = temb + embedded[group]
            if group == "defect":
                context = cond.tokens if c.context == "tokens" else condition
                x, block_maps = block(x, condition, self.cross_defect[len(maps)], context, cond.focus)
                maps.append(block_maps)
            else:
                x, _ = block(x, condition)
        out = unpatchify(self.final_layer(x, condition), c.patch_size, c.out_channels)
        mask = unpatchify(self.adapt_mask(torch.cat(maps, dim=-1)), c.patch_size, c.in_channels)
        attention = torch.stack([m.mean(-1) for m in maps], dim=1).reshape(x.shape[0], len(maps), c.grid, c.grid)
        return DiTOutput(out, mask, attention)


# The public checkpoints' class-label table, which DefectDiffu replaces with text.
UNUSED_PUBLIC = ("y_embedder.embedding_table.weight",)
ADDED = ("y_embedders.", "cross_defect.", "adapt_mask.")


def read_checkpoint(path: Path) -> dict[str, torch.Tensor]:
    """A DiT state dict from a ``.pt`` file: a plain one (the public checkpoints) or DiT train.py's ``ema``."""
    state = load_state(path, "DiT checkpoint", "download it again")
    if isinstance(state, dict) and "ema" in state:
        state = state["ema"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise BenchError(f"DiT checkpoint {path} is not a state dict of tensors")
    return state


def load_public_dit(model: DiT, state: dict[str, torch.Tensor], where: str) -> None:
    """Load a public DiT state dict into the blocks, embedders and final layer of ``model``.

    Every checkpoint weight must find its place and every model weight not added by DefectDiffu must be
    filled; a fixed-variance model keeps only the noise rows of a learned-sigma final layer. The fixed
    position embedding is taken when its grid matches and recomputed otherwise (a 256 px checkpoint can
    start a 512 px model)."""
    state = {k: v for k, v in state.items() if k not in UNUSED_PUBLIC}
    c = model.config
    if "pos_embed" in state and state["pos_embed"].shape != model.pos_embed.shape:
        del state["pos_embed"]
    linear = state.get("final_layer.linear.weight")
    if linear is not None and not c.learn_sigma and linear.shape[0] == 2 * c.patch_size**2 * c.in_channels:
        for key in ("final_layer.linear.weight", "final_layer.linear.bias"):
            rows = state[key].reshape(c.patch_size**2, 2 * c.in_channels, *state[key].shape[1:])
            state[key] = rows[:, : c.in_channels].reshape(-1, *state[key].shape[1:])
    own = model.state_dict()
    unexpected = sorted(set(state) - set(own))
    missing = sorted(k for k in set(own) - set(state) if not k.startswith(ADDED) and k != "pos_embed")
    if unexpected or missing:
        first = (unexpected or missing)[0]
        raise BenchError(
            f"DiT checkpoint {where} does not fit this model ({len(unexpected)} unexpected and {len(missing)} missing "
            f"weights, e.g. '{first}'; the profile expects depth {c.depth}, width {c.hidden_size})",
            "use the DiT-XL/2 checkpoint the profile names",
        )
    for key, value in state.items():
        if own[key].shape != value.shape:
            raise BenchError(
                f"DiT checkpoint {where}: '{key}' is {tuple(value.shape)}, the model expects {tuple(own[key].shape)}",
                "use the DiT-XL/2 checkpoint the profile names",
            )
    model.load_state_dict(state, strict=False)
