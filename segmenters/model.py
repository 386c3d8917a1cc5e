"""Building a segmenter from its adapted config, seeded, on the device; counting what a deployed model runs."""

from __future__ import annotations

import contextlib
import copy
import io
import random

import numpy as np
import torch

from segmenters.config import load_config
from segmenters.openmmlab import import_mmseg
from segmenters.registry import SegmenterSpec
from segmenters.schedules import SCHEDULES


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def build_model(cfg, device: torch.device, channels_last: bool = False):
    from mmengine.utils import import_modules_from_strings
    from mmseg.registry import MODELS

    import_mmseg()
    if cfg.get("custom_imports"):  # Mask2Former's pixel decoder and matcher live in mmdet
        with contextlib.redirect_stdout(io.StringIO()):
            import_modules_from_strings(**cfg.custom_imports)
    model = MODELS.build(copy.deepcopy(cfg.model))
    with contextlib.redirect_stdout(io.StringIO()):  # weight loading prints its key report
        model.init_weights()
    model = model.to(device)
    if channels_last and device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    return model


def inference_parameters(model) -> int:
    """Parameters a deployed model runs: auxiliary heads only help training and are left out."""
    return sum(p.numel() for name, p in model.named_parameters() if not name.startswith("auxiliary_head."))


def count_parameters(spec: SegmenterSpec, num_classes: int = 2) -> int:
    """Inference parameters of the segmenter for a task with ``num_classes`` classes (background included)."""
    cfg = load_config(spec, num_classes, SCHEDULES.get("smoke"), pretrained=False, input_size=512)
    return inference_parameters(build_model(cfg, torch.device("cpu")))
