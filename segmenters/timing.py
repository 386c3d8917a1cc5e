"""Segmenter inference speed: ms per image at batch 1 and images/s at a larger batch, warm-up excluded.

Timed is what a deployed model does per image: ``model.test_step`` (normalization, forward pass, resize
to the input and argmax) on uint8 images already on the device, in fp32, weights random (speed does not
depend on them). ``bench perf segmenters`` and the ``efficiency`` protocol both measure through it.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch

from segmenters import SCHEDULES, SEGMENTERS
from segmenters.config import load_config
from segmenters.data import model_inputs
from segmenters.model import build_model, inference_parameters, seed_everything


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.no_grad()
def _timed_calls(model, data: dict, device: torch.device, warmup: int, iters: int) -> list[float]:
    """Seconds per call of ``model.test_step(data)``, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        model.test_step(data)
    _synchronize(device)
    seconds = []
    for _ in range(iters):
        start = time.perf_counter()
        model.test_step(data)
        _synchronize(device)
        seconds.append(time.perf_counter() - start)
    return seconds


def measure(
    name: str,
    size: int,
    batch_size: int,
    device: torch.device,
    warmup: int,
    iters: int,
    num_classes: int = 2,
    seed: int = 0,
) -> dict:
    """Latency at batch 1 (median ms per image) and throughput at ``batch_size`` (images/s) of one segmenter."""
    spec = SEGMENTERS.get(name)
    seed_everything(seed)
    cfg = load_config(spec, num_classes, SCHEDULES.get("smoke"), pretrained=False, input_size=size)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    model = build_model(cfg, device, channels_last=spec.channels_last).eval()
    images = np.random.default_rng(seed).integers(0, 256, (batch_size, size, size, 3), dtype=np.uint8)
    single = _timed_calls(model, model_inputs(images[:1], None, device), device, warmup, iters)
    batched = _timed_calls(model, model_inputs(images, None, device), device, warmup, iters)
    return {
        "name": spec.name,
        "abbreviation": spec.abbreviation,
        "title": spec.title,
        "params": inference_parameters(model),
        "latency_ms": 1000 * statistics.median(single),
        "latency_ms_min": 1000 * min(single),
        "throughput_img_s": batch_size * len(batched) / sum(batched),
        "paper_ms": spec.paper_ms,
    }
