"""bf16 training without a loss scaler, so the training loop never waits for the GPU."""

from __future__ import annotations

import copy
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper, build_optim_wrapper


class AutocastOptimWrapper(OptimWrapper):
    """Autocast the forward pass to ``dtype``; step in fp32 without scaling the loss.

    mmengine's AmpOptimWrapper keeps a dynamic GradScaler even for bf16, and the scaler's per-step overflow
    check reads a value back to the host. bf16 has fp32's exponent range and needs no loss scaling.
    """

    def __init__(self, optimizer, device_type: str, dtype: torch.dtype = torch.bfloat16, **kwargs):
        super().__init__(optimizer, **kwargs)
        self.device_type = device_type
        self.dtype = dtype

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        with super().optim_context(model), torch.autocast(device_type=self.device_type, dtype=self.dtype):
            yield


def build_optimizer(model: torch.nn.Module, optim_cfg: dict, device: torch.device) -> OptimWrapper:
    """mmengine's optimizer wrapper for ``optim_cfg``; a bf16 ``AmpOptimWrapper`` becomes an ``AutocastOptimWrapper``."""
    cfg = copy.deepcopy(optim_cfg)
    if cfg.get("type") != "AmpOptimWrapper" or cfg.get("dtype") not in ("bfloat16", torch.bfloat16):
        return build_optim_wrapper(model, cfg)
    cfg.pop("dtype")
    cfg.pop("loss_scale", None)
    plain = build_optim_wrapper(model, {**cfg, "type": "OptimWrapper"})
    return AutocastOptimWrapper(plain.optimizer, device.type, clip_grad=cfg.get("clip_grad"),
                                accumulative_counts=cfg.get("accumulative_counts", 1))
