"""A segmenter's MMSegmentation config adapted to the task: classes, single-device BN, input size,
local pretrained weights, and the optimizer at the schedule's learning rate and the device's precision."""

from __future__ import annotations

import copy
from pathlib import Path

import torch

from bench.core.errors import BenchError
from bench.core.paths import weights_dir
from segmenters.openmmlab import ops_available, resolve_onedl_packages
from segmenters.registry import CONFIG_DIR, SegmenterSpec
from segmenters.schedules import Schedule


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


def _head_losses(head: dict) -> list[dict]:
    """The per-pixel classification losses of a decode or auxiliary head (one dict or a list)."""
    losses = head.get("loss_decode")
    return [losses] if isinstance(losses, dict) else list(losses or [])


def _adapt_heads(model: dict, num_classes: int) -> None:
    """Set the class count everywhere it lives; every cross-entropy is plain and averages over labelled pixels.

    Mask2Former classifies queries into ``num_classes`` + one "no object" class; its classification
    loss carries a weight per class (1 each, MMSegmentation's 0.1 for "no object"), so that list follows too.
    """
    heads = [model.get("decode_head")]
    auxiliary = model.get("auxiliary_head")
    heads += auxiliary if isinstance(auxiliary, list) else [auxiliary]
    for head in filter(None, heads):
        _set_num_classes(head, num_classes)
        for loss in _head_losses(head):
            if "CrossEntropyLoss" in loss.get("type", ""):
                loss["class_weight"] = None
                loss["avg_non_ignore"] = True  # padding (ignore index) must not dilute the mean loss
        loss_cls = head.get("loss_cls")
        if loss_cls is not None and loss_cls.get("class_weight") is not None:
            no_object = loss_cls["class_weight"][-1]
            loss_cls["class_weight"] = [1.0] * num_classes + [no_object]


def _set_pretrained(model: dict, checkpoint: str | None) -> None:
    """Load the backbone from a local file, or from nothing: never from a URL or ``open-mmlab://`` name."""
    model["pretrained"] = None
    backbone = model["backbone"]
    backbone.pop("pretrained", None)
    init_cfg = backbone.get("init_cfg")
    if checkpoint is not None:
        backbone["init_cfg"] = dict(type="Pretrained", checkpoint=checkpoint)
    elif isinstance(init_cfg, dict) and init_cfg.get("type") == "Pretrained":
        backbone["init_cfg"] = None


def round_up(size: int, multiple: int = 32) -> int:
    return -(-size // multiple) * multiple


SHARED_BASE = CONFIG_DIR / "_base_" / "bench.py"
SHARED_KEYS = ("bench_preprocessor", "optim_wrapper")


def load_config(
    spec: SegmenterSpec,
    num_classes: int,
    schedule: Schedule,
    pretrained: bool,
    input_size: int | None = None,
):
    """The segmenter's mmengine Config, adapted to the task: classes, single-device BN, input size, weights.

    ``input_size`` is the side of the (square) training input; the schedule's crop wins when it has one.
    Sizes are rounded up to a multiple of 32, the coarsest stride of every model here. A config that sets
    no ``bench_preprocessor`` or ``optim_wrapper`` (a plugin's, which states its model only) gets the
    shared ones of ``configs/_base_/bench.py``, which every built-in config inherits.
    """
    from mmengine.config import Config

    if spec.needs_ops and not ops_available():
        raise BenchError(
            f"segmenter '{spec.name}' needs mmcv's compiled ops, which do not load (import mmcv._ext)",
            "rebuild the environment with `make demo` (it compiles onedl-mmcv) or choose another segmenter",
        )
    resolve_onedl_packages()
    cfg = Config.fromfile(str(spec.config_path))
    missing = [key for key in SHARED_KEYS if key not in cfg]
    if missing:
        shared = Config.fromfile(str(SHARED_BASE))
        cfg.merge_from_dict({key: shared[key].to_dict() for key in missing})
    model = cfg.model.to_dict()
    _replace_in_cfg(model, "type", "SyncBN", "BN")
    _adapt_heads(model, num_classes)
    side = schedule.crop_size or input_size
    preprocessor = cfg.bench_preprocessor.to_dict()
    if schedule.crop_size is not None:
        preprocessor.update(size=(round_up(schedule.crop_size),) * 2, size_divisor=None)
    model["data_preprocessor"] = preprocessor
    model["test_cfg"] = dict(mode="whole")  # test images are whole products, at the training scale
    if model["backbone"].get("type") == "VisionTransformer" and side is not None:
        model["backbone"]["img_size"] = (round_up(side),) * 2
    _set_pretrained(model, str(pretrained_path(spec)) if pretrained and spec.pretrained else None)
    cfg.model = model
    return cfg


def pretrained_path(spec: SegmenterSpec) -> Path:
    """The local file of the segmenter's ImageNet backbone; a one-line error naming it when it is missing."""
    root = weights_dir()
    path = (root / "checkpoints" / spec.pretrained.file) if root else None
    if path is None or not path.is_file():
        where = path if path else "$BENCH_WEIGHTS/checkpoints/" + spec.pretrained.file
        raise BenchError(
            f"pretrained weights for '{spec.name}' missing: {where} (source: {spec.pretrained.source})",
            "download it there, set BENCH_WEIGHTS, or pass --from-scratch; `bench weights check` lists every expected file",
        )
    return path


def optim_config(cfg, schedule: Schedule, device: torch.device, fp32: bool = False) -> tuple[dict, str]:
    """The config's optimizer wrapper with the schedule's learning-rate scale, and the precision it trains
    in: bf16 autocast on CUDA GPUs that support it (as mmengine's AmpOptimWrapper, the way a plain
    MMSegmentation config says it; the harness builds it without a loss scaler), fp32 elsewhere or when
    ``fp32`` asks for it (the GPU check times both)."""
    optim_cfg = copy.deepcopy(cfg.optim_wrapper.to_dict())
    optim_cfg["optimizer"]["lr"] *= schedule.lr_scale
    if device.type == "cuda" and torch.cuda.is_bf16_supported() and not fp32:
        optim_cfg.update(type="AmpOptimWrapper", dtype="bfloat16")
        return optim_cfg, "bf16"
    return optim_cfg, "fp32"
