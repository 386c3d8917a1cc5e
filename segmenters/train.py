"""Train an MMSegmentation model on pair sets and evaluate it, through mmengine's model and optimizer API.

The loop is ours (explicit seed, in-memory data, progress bar); the model, its data preprocessor, the
losses and the optimizer wrapper are MMSegmentation's and mmengine's, built from the segmenter config.
"""

from __future__ import annotations

import contextlib
import copy
import io
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from bench.errors import BenchError
from bench.pairset import PairSet
from bench.paths import weights_dir
from segmenters.registry import SegmenterSpec
from segmenters.schedules import Schedule


@dataclass(frozen=True)
class Predictions:
    """A trained segmenter's output on the test set, in test-set id order."""

    ids: tuple[str, ...]
    labels: np.ndarray  # N x H x W uint8: predicted class per pixel (argmax)
    defect_prob: np.ndarray  # N x H x W float16: 1 - p(background), the pixel's defect score


@dataclass(frozen=True)
class TrainResult:
    predictions: Predictions
    losses: tuple[float, ...]  # training loss per iteration
    train_seconds: float
    eval_seconds: float
    num_params: int


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _replace_in_cfg(node, key: str, old, new):
    """Recursively replace ``key: old`` by ``key: new`` in a nested config."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key and v == old:
                node[k] = new
            else:
                _replace_in_cfg(v, key, old, new)
    elif isinstance(node, (list, tuple)):
        for item in node:
            _replace_in_cfg(item, key, old, new)


def _set_num_classes(node, num_classes: int) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "num_classes":
                node[k] = num_classes
            else:
                _set_num_classes(v, num_classes)
    elif isinstance(node, (list, tuple)):
        for item in node:
            _set_num_classes(item, num_classes)


def _strip_pretrained(node) -> None:
    """Drop every ``init_cfg`` that would load a checkpoint: from-scratch runs must not touch the network."""
    if isinstance(node, dict):
        init_cfg = node.get("init_cfg")
        if isinstance(init_cfg, dict) and init_cfg.get("type") == "Pretrained":
            node["init_cfg"] = None
        if "pretrained" in node and isinstance(node["pretrained"], str):
            node["pretrained"] = None
        for v in node.values():
            _strip_pretrained(v)
    elif isinstance(node, (list, tuple)):
        for item in node:
            _strip_pretrained(item)


def _resolve_onedl_packages() -> None:
    """Let ``mmseg::``/``mmdet::`` config references find the maintained onedl-* distributions."""
    from importlib.metadata import PackageNotFoundError, version

    from mmengine.config import utils

    for module, dist in (("mmseg", "onedl-mmsegmentation"), ("mmdet", "onedl-mmdetection")):
        try:
            version(utils.MODULE2PACKAGE[module])
        except PackageNotFoundError:
            utils.MODULE2PACKAGE[module] = dist


def load_config(spec: SegmenterSpec, num_classes: int, schedule: Schedule, pretrained: bool):
    """The segmenter's mmengine Config, adapted to the task: classes, single-device BN, input size, weights."""
    from mmengine.config import Config

    _resolve_onedl_packages()
    cfg = Config.fromfile(str(spec.config_path))
    model = cfg.model.to_dict()
    _replace_in_cfg(model, "type", "SyncBN", "BN")
    _set_num_classes(model.get("decode_head"), num_classes)
    _set_num_classes(model.get("auxiliary_head"), num_classes)
    if schedule.crop_size is not None:
        model["data_preprocessor"].update(size=(schedule.crop_size, schedule.crop_size), size_divisor=None)
    if pretrained:
        if spec.pretrained is None:
            raise BenchError(f"segmenter '{spec.name}' has no pretrained backbone", "run it with --from-scratch")
        local = _pretrained_path(spec)
        _replace_checkpoint(model, str(local))
    else:
        _strip_pretrained(model)
    cfg.model = model
    return cfg


def _pretrained_path(spec: SegmenterSpec) -> Path:
    root = weights_dir()
    path = (root / "checkpoints" / spec.pretrained.file) if root else None
    if path is None or not path.is_file():
        where = path if path else "$BENCH_WEIGHTS/checkpoints/" + spec.pretrained.file
        raise BenchError(
            f"pretrained weights for '{spec.name}' missing: {where} (source: {spec.pretrained.source})",
            "download it there, set BENCH_WEIGHTS, or pass --from-scratch; `bench weights check` lists all",
        )
    return path


def _replace_checkpoint(node, checkpoint: str) -> None:
    if isinstance(node, dict):
        init_cfg = node.get("init_cfg")
        if isinstance(init_cfg, dict) and init_cfg.get("type") == "Pretrained":
            init_cfg["checkpoint"] = checkpoint
        for v in node.values():
            _replace_checkpoint(v, checkpoint)
    elif isinstance(node, (list, tuple)):
        for item in node:
            _replace_checkpoint(item, checkpoint)


def import_mmseg():
    """Import and register MMSegmentation quietly: its import prints to stdout, which belongs to bench's output."""
    from mmengine.logging import MMLogger

    MMLogger.get_instance("bench", log_level="WARNING")  # mmengine logs through the newest instance
    with contextlib.redirect_stdout(io.StringIO()):
        import mmseg.models  # noqa: F401  (registers the model classes)
        from mmseg.utils import register_all_modules

        register_all_modules(init_default_scope=True)


def build_model(cfg, device: torch.device):
    from mmseg.registry import MODELS

    import_mmseg()
    model = MODELS.build(copy.deepcopy(cfg.model))
    model.init_weights()
    return model.to(device)


def _load_arrays(sets: Sequence[PairSet]) -> tuple[np.ndarray, np.ndarray]:
    images, masks = [], []
    for pair_set in sets:
        for pair in pair_set:
            images.append(pair.image)
            masks.append(pair.mask)
    if not images:
        raise BenchError("no training pairs", "check the split and the generator output")
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise BenchError(f"training images differ in size ({sorted(shapes)[:3]})", "resize at import so one task has one size")
    return np.stack(images), np.stack(masks)


def _batch(images: np.ndarray, masks: np.ndarray | None, device: torch.device) -> dict:
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    inputs, samples = [], []
    for i in range(len(images)):
        h, w = images[i].shape[:2]
        inputs.append(torch.from_numpy(np.ascontiguousarray(images[i].transpose(2, 0, 1))).to(device))
        sample = SegDataSample(metainfo={"img_shape": (h, w), "ori_shape": (h, w), "pad_shape": (h, w)})
        if masks is not None:
            sample.gt_sem_seg = PixelData(data=torch.from_numpy(np.ascontiguousarray(masks[i]))[None].long().to(device))
        samples.append(sample)
    return {"inputs": inputs, "data_samples": samples}


def _augment(rng: np.random.Generator, image: np.ndarray, mask: np.ndarray, crop: int | None):
    if crop is not None and min(image.shape[:2]) > crop:
        top = int(rng.integers(0, image.shape[0] - crop + 1))
        left = int(rng.integers(0, image.shape[1] - crop + 1))
        image, mask = image[top : top + crop, left : left + crop], mask[top : top + crop, left : left + crop]
    if rng.random() < 0.5:
        image, mask = image[:, ::-1], mask[:, ::-1]
    if rng.random() < 0.5:
        image, mask = image[::-1], mask[::-1]
    return image, mask


def train_and_evaluate(
    spec: SegmenterSpec,
    train_sets: Sequence[PairSet],
    test_set: PairSet,
    num_classes: int,
    schedule: Schedule,
    seed: int,
    device: torch.device,
    pretrained: bool = False,
    progress: bool = True,
) -> TrainResult:
    from mmengine.optim import build_optim_wrapper
    from tqdm import tqdm

    seed_everything(seed)
    cfg = load_config(spec, num_classes, schedule, pretrained)
    model = build_model(cfg, device)
    optim_cfg = copy.deepcopy(cfg.optim_wrapper.to_dict())
    optim_cfg["optimizer"]["lr"] *= schedule.lr_scale
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        optim_cfg.update(type="AmpOptimWrapper", dtype="bfloat16")
    optim_wrapper = build_optim_wrapper(model, optim_cfg)
    base_lrs = [g["lr"] for g in optim_wrapper.optimizer.param_groups]

    images, masks = _load_arrays(train_sets)
    rng = np.random.default_rng(seed)
    losses: list[float] = []
    model.train()
    start = time.perf_counter()
    bar = tqdm(range(schedule.iters), desc=f"train {spec.name}", unit="it", disable=not progress, leave=False)
    for it in bar:
        for group, base in zip(optim_wrapper.optimizer.param_groups, base_lrs):  # poly decay, power 1
            group["lr"] = base * (1 - it / schedule.iters)
        index = rng.choice(len(images), size=schedule.batch_size, replace=len(images) < schedule.batch_size)
        batch = [_augment(rng, images[i], masks[i], schedule.crop_size) for i in index]
        data = _batch(np.stack([b[0] for b in batch]), np.stack([b[1] for b in batch]), device)
        log_vars = model.train_step(data, optim_wrapper)
        loss = log_vars["loss"].item()
        if not np.isfinite(loss):
            raise BenchError(f"training of '{spec.name}' diverged (loss {loss}) at iteration {it}", "lower the learning rate")
        losses.append(loss)
        if it % 10 == 0:
            bar.set_postfix(loss=f"{loss:.3f}")
    train_seconds = time.perf_counter() - start

    start = time.perf_counter()
    predictions = predict(model, test_set, schedule.eval_batch_size, device)
    return TrainResult(
        predictions=predictions,
        losses=tuple(losses),
        train_seconds=train_seconds,
        eval_seconds=time.perf_counter() - start,
        num_params=sum(p.numel() for p in model.parameters()),
    )


@torch.no_grad()
def predict(model, test_set: PairSet, batch_size: int, device: torch.device) -> Predictions:
    model.eval()
    ids = list(test_set.ids)
    labels, probs = [], []
    for start in range(0, len(ids), batch_size):
        images = np.stack([test_set.image(i) for i in ids[start : start + batch_size]])
        for sample in model.test_step(_batch(images, None, device)):
            labels.append(sample.pred_sem_seg.data[0].to(torch.uint8).cpu().numpy())
            prob = torch.softmax(sample.seg_logits.data.float(), dim=0)
            probs.append((1 - prob[0]).to(torch.float16).cpu().numpy())
    return Predictions(tuple(ids), np.stack(labels), np.stack(probs))
