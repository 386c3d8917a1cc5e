"""A ResNet-34 defect-type classifier (DefectSynth Sec. V-A: ResNet-34, 30 epochs, learning rate 1e-4):
torchvision's network from random init or a local ImageNet file, each image labelled with the defect type
that covers most of its mask. DefectSynth names neither optimizer nor batch size nor input size; bench
uses Adam, batch 16 and 224 px at the ``paper`` schedule and says so in every record."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from bench.core.errors import BenchError
from bench.core.pairset import PairSet
from bench.core.paths import weights_dir
from bench.core.registry import Registry

RESNET34_FILE = "resnet34-b627a593.pth"  # torchvision's ImageNet file, read from $BENCH_WEIGHTS/checkpoints
RESNET34_SOURCE = "https://download.pytorch.org/models/resnet34-b627a593.pth"
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


@dataclass(frozen=True)
class ClassifierSchedule:
    """Training length: ``epochs`` passes over the training images, at least ``min_iters`` steps (few-shot
    toy sets are a handful of images, so an epoch count alone would train a few steps)."""

    name: str
    epochs: int
    min_iters: int
    batch_size: int
    size: int  # the square input side every image is resized to
    lr: float
    optimizer: str = "Adam"


SCHEDULES: Registry[ClassifierSchedule] = Registry("classifier schedule", "bench.classifier_schedules", ClassifierSchedule)
SCHEDULES.register(ClassifierSchedule("smoke", epochs=1, min_iters=2, batch_size=4, size=64, lr=1e-3))  # tests
SCHEDULES.register(ClassifierSchedule("short", epochs=30, min_iters=150, batch_size=16, size=128, lr=1e-3))  # toy, CPU minutes
SCHEDULES.register(ClassifierSchedule("paper", epochs=30, min_iters=0, batch_size=16, size=224, lr=1e-4))  # DefectSynth


def image_labels(pairs: PairSet, defect_ids: Sequence[int]) -> np.ndarray:
    """Index into ``defect_ids`` of the type covering most of each image's mask (ties: the lower id); -1 for
    an image with no defect pixel."""
    ids = np.asarray(defect_ids)
    out = np.full(len(pairs), -1, np.int64)
    for i, pair_id in enumerate(pairs.ids):
        counts = np.bincount(pairs.mask(pair_id).ravel(), minlength=256)[ids]
        if counts.any():
            out[i] = int(np.argmax(counts))
    return out


def pretrained_file() -> Path:
    root = weights_dir()
    path = root / "checkpoints" / RESNET34_FILE if root else None
    if path is None or not path.is_file():
        where = path if path else f"$BENCH_WEIGHTS/checkpoints/{RESNET34_FILE}"
        raise BenchError(f"pretrained ResNet-34 weights missing: {where} (source: {RESNET34_SOURCE})",
                         "download the file there, set BENCH_WEIGHTS, or pass --from-scratch")
    return path


def build(num_classes: int, pretrained: bool) -> torch.nn.Module:
    """ResNet-34 with a ``num_classes`` output layer; ImageNet weights (all but the output layer) from disk."""
    from torchvision.models import resnet34

    model = resnet34(weights=None, num_classes=num_classes)
    if pretrained:
        state = torch.load(pretrained_file(), map_location="cpu", weights_only=True)
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
        missing, unexpected = model.load_state_dict(state, strict=False)
        if unexpected or set(missing) != {"fc.weight", "fc.bias"}:
            raise BenchError(f"{pretrained_file()} is not a torchvision ResNet-34 state dict", "use torchvision's resnet34 file")
    return model


def as_batch(pairs: PairSet, size: int) -> torch.Tensor:
    """Every image of ``pairs``, resized to ``size`` x ``size`` and normalised: N x 3 x size x size."""
    images = [torch.from_numpy(np.array(pairs.image(i))).permute(2, 0, 1).float().div(255) for i in pairs.ids]
    resized = [F.interpolate(x[None], size=(size, size), mode="bilinear", align_corners=False) for x in images]
    return (torch.cat(resized) - MEAN) / STD


@dataclass(frozen=True)
class Trained:
    model: torch.nn.Module
    iters: int
    losses: tuple[float, float]  # first and last training loss
    seconds: float


def train(images: torch.Tensor, labels: np.ndarray, num_classes: int, schedule: ClassifierSchedule, seed: int,
          device: torch.device, pretrained: bool = False) -> Trained:
    """Seeded training: batches drawn with replacement, each image flipped left-right with probability 1/2."""
    import time

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = build(num_classes, pretrained).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=schedule.lr)
    targets = torch.as_tensor(labels)
    iters = max(schedule.min_iters, schedule.epochs * math.ceil(len(targets) / schedule.batch_size))
    model.train()
    losses = []
    start = time.perf_counter()
    for _ in range(iters):
        pick = torch.randint(len(targets), (min(schedule.batch_size, len(targets)),), generator=generator)
        batch = images[pick]
        flip = torch.rand(len(pick), generator=generator) < 0.5
        batch = torch.where(flip.view(-1, 1, 1, 1), batch.flip(-1), batch).to(device)
        loss = F.cross_entropy(model(batch), targets[pick].to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return Trained(model, iters, (losses[0], losses[-1]), time.perf_counter() - start)


@torch.no_grad()
def predict(model: torch.nn.Module, images: torch.Tensor, device: torch.device, batch_size: int = 32) -> np.ndarray:
    model.eval()
    out = [model(images[i:i + batch_size].to(device)).argmax(1).cpu() for i in range(0, len(images), batch_size)]
    return torch.cat(out).numpy() if out else np.zeros(0, np.int64)


def schedule_facts(schedule: ClassifierSchedule) -> dict:
    return {**asdict(schedule), "model": "torchvision resnet34", "augmentation": "horizontal flip p=0.5",
            "loss": "cross-entropy"}
