"""Guidance: which conditions a sampling step evaluates (one batched forward over all of them) and how
their noise predictions combine.

``double-free`` is the paper's eq. 4, with c_g = good and a null product:

    eps = eps(c_g, 0) + w_p (eps(c_g, c_p) - eps(c_g, 0)) + w_d (eps(c_d, 0) - eps(c_g, 0))

``cfg`` is the released test.py: plain classifier-free guidance between (c_d, c_p) and (c_g, c_p) at
scale s. (The released module also has a three-way function, unused; with one scale for both terms it
telescopes to this two-way one.) The first branch is the one whose mask and variance are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from bench.core.registry import Registry

if TYPE_CHECKING:  # the generator registry imports this module to list backends; torch loads when sampling does
    import torch

Branch = tuple[bool, bool]  # (defect prompt instead of good, product prompt instead of null)


def double_free(eps_defect: torch.Tensor, eps_product: torch.Tensor, eps_null: torch.Tensor, w_p, w_d) -> torch.Tensor:
    """Eq. 4 from the three branches eps(c_d, 0), eps(c_g, c_p), eps(c_g, 0)."""
    return eps_null + w_p * (eps_product - eps_null) + w_d * (eps_defect - eps_null)


def classifier_free(eps_cond: torch.Tensor, eps_uncond: torch.Tensor, scale) -> torch.Tensor:
    return eps_uncond + scale * (eps_cond - eps_uncond)


@dataclass(frozen=True)
class Guidance:
    name: str
    branches: tuple[Branch, ...]
    combine: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]  # (branches x B x ..., scale B x 1.., w_p)


GUIDANCES: Registry[Guidance] = Registry("defectdiffu guidance", "bench.defectdiffu_guidances", Guidance)
GUIDANCES.register(
    Guidance("double-free", ((True, False), (False, True), (False, False)), lambda eps, s, w_p: double_free(eps[0], eps[1], eps[2], w_p, s)),
)
GUIDANCES.register(Guidance("cfg", ((True, True), (False, True)), lambda eps, s, w_p: classifier_free(eps[0], eps[1], s)))


def guide(guidance: Guidance, out: torch.Tensor, scale: torch.Tensor, w_p: float, channels: int) -> torch.Tensor:
    """The model output for the scheduler from the branches' outputs (branches x B x C x h x w).

    Guidance applies to the first ``channels`` noise channels; the remaining noise channels and any
    variance values come from the first branch (DiT's and the released code's three-channel guidance)."""
    import torch

    guided = guidance.combine(out[:, :, :channels], scale.view(-1, 1, 1, 1), w_p)
    return torch.cat([guided, out[0, :, channels:]], dim=1) if channels < out.shape[2] else guided
