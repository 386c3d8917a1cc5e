"""A DiT checkpoint as facebookresearch/DiT publishes it, at tiny widths: what DefectDiffu's loader reads."""

from __future__ import annotations

import torch

D, HEADS, PATCH, SIDE, C = 16, 2, 2, 8, 4  # hidden width, heads, patch, latent side, latent channels


def public_state_dict(depth: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict named and shaped like facebookresearch/DiT's models.py (DiT-XL/2 layout, tiny widths)."""
    g = torch.Generator().manual_seed(seed)
    shapes = {
        "x_embedder.proj.weight": (D, C, PATCH, PATCH), "x_embedder.proj.bias": (D,),
        "t_embedder.mlp.0.weight": (D, 256), "t_embedder.mlp.0.bias": (D,),
        "t_embedder.mlp.2.weight": (D, D), "t_embedder.mlp.2.bias": (D,),
        "y_embedder.embedding_table.weight": (1001, D),
        "pos_embed": (1, (SIDE // PATCH) ** 2, D),
        "final_layer.linear.weight": (PATCH * PATCH * 2 * C, D), "final_layer.linear.bias": (PATCH * PATCH * 2 * C,),
        "final_layer.adaLN_modulation.1.weight": (2 * D, D), "final_layer.adaLN_modulation.1.bias": (2 * D,),
    }
    for i in range(depth):
        shapes |= {
            f"blocks.{i}.attn.qkv.weight": (3 * D, D), f"blocks.{i}.attn.qkv.bias": (3 * D,),
            f"blocks.{i}.attn.proj.weight": (D, D), f"blocks.{i}.attn.proj.bias": (D,),
            f"blocks.{i}.mlp.fc1.weight": (4 * D, D), f"blocks.{i}.mlp.fc1.bias": (4 * D,),
            f"blocks.{i}.mlp.fc2.weight": (D, 4 * D), f"blocks.{i}.mlp.fc2.bias": (D,),
            f"blocks.{i}.adaLN_modulation.1.weight": (6 * D, D), f"blocks.{i}.adaLN_modulation.1.bias": (6 * D,),
        }
    return {k: torch.randn(s, generator=g) * 0.3 for k, s in shapes.items()}
