"""Train an MMSegmentation model on pair sets and evaluate it, through mmengine's model and optimizer API.

The loop is ours (explicit seed, training data decoded once and held on the device, crops and flips done
there, losses read back every few dozen iterations, progress bar); the model, its data preprocessor, the
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
from typing import Callable, Sequence

import numpy as np
import torch

from bench.core.errors import BenchError
from bench.core.pairset import PairSet
from bench.core.paths import weights_dir
from segmenters.registry import SegmenterSpec
from segmenters.schedules import SCHEDULES, Schedule


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
    # Facts for the run record beside the spec:
    pretrained_checkpoint: str | None = None  # the backbone file loaded; None = trained from scratch
    class_weight: tuple[float, ...] | None = None  # cross-entropy class weights; None = plain CE
    input_size: int = 0  # side of the square training input after padding
    precision: str = "fp32"  # fp32, or bf16 autocast on CUDA


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


def _head_losses(head: dict) -> list[dict]:
    """The per-pixel classification losses of a decode or auxiliary head (one dict or a list)."""
    losses = head.get("loss_decode")
    return [losses] if isinstance(losses, dict) else list(losses or [])


def _adapt_heads(model: dict, num_classes: int, class_weight: Sequence[float] | None) -> None:
    """Set the class count everywhere it lives, and the cross-entropy class weights when balancing.

    Mask2Former classifies queries into ``num_classes`` + one "no object" class; its classification
    loss carries a weight per class (MMSegmentation's 0.1 for "no object"), so that list follows too.
    """
    heads = [model.get("decode_head")]
    auxiliary = model.get("auxiliary_head")
    heads += auxiliary if isinstance(auxiliary, list) else [auxiliary]
    for head in filter(None, heads):
        _set_num_classes(head, num_classes)
        for loss in _head_losses(head):
            if "CrossEntropyLoss" in loss.get("type", ""):
                loss["class_weight"] = list(class_weight) if class_weight is not None else None
                loss["avg_non_ignore"] = True  # padding (ignore index) must not dilute the mean loss
        loss_cls = head.get("loss_cls")
        if loss_cls is not None and loss_cls.get("class_weight") is not None:
            no_object = loss_cls["class_weight"][-1]
            loss_cls["class_weight"] = [*(class_weight or [1.0] * num_classes), no_object]


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


def _resolve_onedl_packages() -> None:
    """Let ``mmseg::``/``mmdet::`` config references find the maintained onedl-* distributions."""
    from importlib.metadata import PackageNotFoundError, version

    from mmengine.config import utils

    for module, dist in (("mmseg", "onedl-mmsegmentation"), ("mmdet", "onedl-mmdetection")):
        try:
            version(utils.MODULE2PACKAGE[module])
        except PackageNotFoundError:
            utils.MODULE2PACKAGE[module] = dist


def ops_available() -> bool:
    """Whether mmcv's compiled ops (multi-scale deformable attention for Mask2Former) can be loaded."""
    try:
        import mmcv._ext  # noqa: F401
    except ImportError:
        return False
    return True


def round_up(size: int, multiple: int = 32) -> int:
    return -(-size // multiple) * multiple


def load_config(
    spec: SegmenterSpec,
    num_classes: int,
    schedule: Schedule,
    pretrained: bool,
    input_size: int | None = None,
    class_weight: Sequence[float] | None = None,
):
    """The segmenter's mmengine Config, adapted to the task: classes, single-device BN, input size, weights.

    ``input_size`` is the side of the (square) training input; the schedule's crop wins when it has one.
    Sizes are rounded up to a multiple of 32, the coarsest stride of every model here.
    """
    from mmengine.config import Config

    if spec.needs_ops and not ops_available():
        raise BenchError(
            f"segmenter '{spec.name}' needs mmcv's compiled ops, which do not load (import mmcv._ext)",
            "rebuild the environment with `make demo` (it compiles onedl-mmcv) or choose another segmenter",
        )
    _resolve_onedl_packages()
    cfg = Config.fromfile(str(spec.config_path))
    model = cfg.model.to_dict()
    _replace_in_cfg(model, "type", "SyncBN", "BN")
    _adapt_heads(model, num_classes, class_weight)
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


def import_mmseg():
    """Import and register MMSegmentation quietly: its import prints to stdout, which belongs to bench's output."""
    from mmengine.logging import MMLogger

    if not MMLogger.check_instance_created("bench"):
        MMLogger.get_instance("bench", log_level="WARNING")  # mmengine logs through the newest instance
    with contextlib.redirect_stdout(io.StringIO()):
        import mmseg.models  # noqa: F401  (registers the model classes)
        from mmseg.utils import register_all_modules

        register_all_modules(init_default_scope=True)


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


def balanced_class_weights(masks: np.ndarray, num_classes: int) -> tuple[float, ...]:
    """Median-frequency balancing (Eigen and Fergus, 2015): weight_c = median(freq) / freq_c.

    Classes absent from the training masks keep weight 1; they contribute no loss anyway.
    """
    counts = np.bincount(masks[masks < num_classes].ravel(), minlength=num_classes).astype(np.float64)
    present = counts > 0
    freq = counts / counts.sum()
    weights = np.ones(num_classes)
    weights[present] = np.median(freq[present]) / freq[present]
    return tuple(float(w) for w in weights)


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


def to_device(images: np.ndarray, masks: np.ndarray | None, device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
    """N x H x W x 3 uint8 images (and N x H x W masks) as N x 3 x H x W (and N x H x W) uint8 tensors on
    ``device``, each moved in one copy: the training set once per run, a test batch once per batch."""
    image_tensor = torch.from_numpy(np.ascontiguousarray(images)).to(device).permute(0, 3, 1, 2).contiguous()
    mask_tensor = None if masks is None else torch.from_numpy(np.ascontiguousarray(masks)).to(device)
    return image_tensor, mask_tensor


def batch_inputs(images: torch.Tensor, masks: torch.Tensor | None) -> dict:
    """B x 3 x H x W uint8 images (and B x H x W masks) as the inputs and data samples of
    ``model.train_step``/``test_step``: one CHW view per sample, labels as long ``gt_sem_seg``."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    h, w = images.shape[-2:]
    labels = None if masks is None else masks.long()
    samples = []
    for i in range(len(images)):
        sample = SegDataSample(metainfo={"img_shape": (h, w), "ori_shape": (h, w), "pad_shape": (h, w)})
        if labels is not None:
            sample.gt_sem_seg = PixelData(data=labels[i, None])
        samples.append(sample)
    return {"inputs": list(images.unbind(0)), "data_samples": samples}


def model_inputs(images: np.ndarray, masks: np.ndarray | None, device: torch.device) -> dict:
    """N x H x W x 3 uint8 numpy images (and masks) as the inputs and data samples of ``model.train_step``/``test_step``."""
    return batch_inputs(*to_device(images, masks, device))


@dataclass(frozen=True)
class BatchDraw:
    """The random numbers of one training batch: which images, where the crop starts, which flips."""

    index: np.ndarray  # B image indices into the training set
    top: np.ndarray  # B crop rows (0 without a crop)
    left: np.ndarray  # B crop columns
    hflip: np.ndarray  # B bools: reverse columns
    vflip: np.ndarray  # B bools: reverse rows
    size: tuple[int, int]  # (h, w) of every output sample


def draw_batch(
    rng: np.random.Generator, num_images: int, batch_size: int, image_size: tuple[int, int], crop: int | None
) -> BatchDraw:
    """Sample a batch: with replacement only when there are fewer images than the batch; a ``crop`` square
    when both image sides exceed it, else the whole image; horizontal and vertical flips with p = 0.5."""
    height, width = image_size
    index = rng.choice(num_images, size=batch_size, replace=num_images < batch_size)
    if crop is not None and min(height, width) > crop:
        top = rng.integers(0, height - crop + 1, size=batch_size)
        left = rng.integers(0, width - crop + 1, size=batch_size)
        size = (crop, crop)
    else:
        top = left = np.zeros(batch_size, np.int64)
        size = (height, width)
    hflip, vflip = rng.random((2, batch_size)) < 0.5
    return BatchDraw(index, top, left, hflip, vflip, size)


def _numbers_to(device: torch.device, *arrays: np.ndarray) -> torch.Tensor:
    """Small per-batch numbers as one int64 tensor on ``device``; on CUDA through pinned memory without
    waiting, so the host never stalls on the GPU queue."""
    numbers = torch.from_numpy(np.stack(arrays).astype(np.int64))
    if device.type != "cuda":
        return numbers
    return numbers.pin_memory().to(device, non_blocking=True)


def augment(images: torch.Tensor, masks: torch.Tensor, draw: BatchDraw) -> tuple[torch.Tensor, torch.Tensor]:
    """Crop and flip a whole batch where the data lives, as one gather: each sample reads its window's rows
    and columns, in reverse order where flipped. ``images`` N x C x H x W, ``masks`` N x H x W (any dtype);
    returns B x C x h x w and B x h x w."""
    h, w = draw.size
    index, top, left, hflip, vflip = _numbers_to(images.device, draw.index, draw.top, draw.left, draw.hflip, draw.vflip)
    rows = torch.arange(h, device=images.device)
    cols = torch.arange(w, device=images.device)
    rows = top[:, None] + torch.where(vflip[:, None].bool(), h - 1 - rows, rows)  # B x h
    cols = left[:, None] + torch.where(hflip[:, None].bool(), w - 1 - cols, cols)  # B x w
    channels = torch.arange(images.shape[1], device=images.device)
    n = index[:, None, None, None]
    batch_images = images[n, channels[None, :, None, None], rows[:, None, :, None], cols[:, None, None, :]]
    batch_masks = masks[index[:, None, None], rows[:, :, None], cols[:, None, :]]
    return batch_images, batch_masks


LOG_INTERVAL = 50  # iterations between loss read-backs (divergence check, progress bar): each one waits for the GPU


def optim_config(cfg, schedule: Schedule, device: torch.device) -> tuple[dict, str]:
    """The config's optimizer wrapper with the schedule's learning-rate scale, and the precision it trains
    in: bf16 autocast on CUDA GPUs that support it (as mmengine's AmpOptimWrapper, the way a plain
    MMSegmentation config says it; the harness builds it without a loss scaler), fp32 elsewhere."""
    optim_cfg = copy.deepcopy(cfg.optim_wrapper.to_dict())
    optim_cfg["optimizer"]["lr"] *= schedule.lr_scale
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        optim_cfg.update(type="AmpOptimWrapper", dtype="bfloat16")
        return optim_cfg, "bf16"
    return optim_cfg, "fp32"


def _read_losses(pending: list[torch.Tensor], first_iteration: int, name: str) -> list[float]:
    """Per-iteration loss tensors as floats in one device-to-host copy; a non-finite one means divergence."""
    values = torch.stack(pending).float().cpu().tolist()
    for offset, loss in enumerate(values):
        if not np.isfinite(loss):
            raise BenchError(
                f"training of '{name}' diverged (loss {loss}) at iteration {first_iteration + offset}", "lower the learning rate"
            )
    return values


@dataclass(frozen=True)
class TrainedModel:
    model: torch.nn.Module
    losses: tuple[float, ...]  # training loss per iteration
    seconds: float  # the training loop, model building excluded
    precision: str


def train_model(
    spec: SegmenterSpec,
    cfg,
    images: np.ndarray,
    masks: np.ndarray,
    schedule: Schedule,
    seed: int,
    device: torch.device,
    progress: bool = True,
    on_step: Callable[[int], None] | None = None,
) -> TrainedModel:
    """Build the model of ``cfg`` and train it for ``schedule`` on N x H x W x 3 images and N x H x W masks.

    The data moves to the device once; each iteration only draws a few numbers on the host, so the loop
    never waits for the GPU except every ``LOG_INTERVAL`` iterations, when the losses are read back.
    ``on_step(iteration)`` runs after every optimizer step (the speed benchmark times with it).
    """
    from tqdm import tqdm

    from segmenters.precision import build_optimizer  # deferred: mmengine loads when a model trains, not on import

    seed_everything(seed)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input sizes: pick the fastest kernels once
    model = build_model(cfg, device, channels_last=spec.channels_last)
    optim_cfg, precision = optim_config(cfg, schedule, device)
    optim_wrapper = build_optimizer(model, optim_cfg, device)
    base_lrs = [g["lr"] for g in optim_wrapper.optimizer.param_groups]
    image_tensor, mask_tensor = to_device(images, masks, device)

    rng = np.random.default_rng(seed)
    losses: list[float] = []
    pending: list[torch.Tensor] = []
    model.train()
    start = time.perf_counter()
    bar = tqdm(range(schedule.iters), desc=f"train {spec.name}", unit="it", disable=not progress, leave=False)
    for it in bar:
        for group, base in zip(optim_wrapper.optimizer.param_groups, base_lrs):  # poly decay, power 1
            group["lr"] = base * (1 - it / schedule.iters)
        draw = draw_batch(rng, len(images), schedule.batch_size, images.shape[1:3], schedule.crop_size)
        log_vars = model.train_step(batch_inputs(*augment(image_tensor, mask_tensor, draw)), optim_wrapper)
        pending.append(log_vars["loss"].detach())
        if on_step is not None:
            on_step(it)
        if len(pending) == LOG_INTERVAL or it == schedule.iters - 1:
            losses += _read_losses(pending, it + 1 - len(pending), spec.name)
            pending.clear()
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
    return TrainedModel(model, tuple(losses), time.perf_counter() - start, precision)


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
    balanced_loss: bool = False,
) -> TrainResult:
    """Train ``spec`` on the training pairs for ``schedule`` and predict the test set with the final model.

    There is no checkpoint selection: the model after the last iteration is the one evaluated, so the
    test split never influences training. ``pretrained`` loads the backbone's ImageNet checkpoint from
    ``$BENCH_WEIGHTS`` (segmenters without one, UNet and BiSeNetV2, start from scratch either way; the
    result says which file was loaded). ``balanced_loss`` weights cross-entropy by median frequency.
    """
    images, masks = _load_arrays(train_sets)
    class_weight = balanced_class_weights(masks, num_classes) if balanced_loss else None
    side = round_up(schedule.crop_size or max(images.shape[1:3]))
    cfg = load_config(spec, num_classes, schedule, pretrained, side, class_weight)
    checkpoint = cfg.model["backbone"].get("init_cfg") or {}
    trained = train_model(spec, cfg, images, masks, schedule, seed, device, progress)

    start = time.perf_counter()
    predictions = predict(trained.model, test_set, schedule.eval_batch_size, device, spec.class_scores)
    return TrainResult(
        predictions=predictions,
        losses=trained.losses,
        train_seconds=trained.seconds,
        eval_seconds=time.perf_counter() - start,
        num_params=sum(p.numel() for p in trained.model.parameters()),
        pretrained_checkpoint=Path(checkpoint["checkpoint"]).name if checkpoint.get("type") == "Pretrained" else None,
        class_weight=class_weight,
        input_size=side,
        precision=trained.precision,
    )


def _labels_and_defect_prob(samples, class_scores: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch's predicted labels (B x H x W uint8) and defect probabilities (float16), computed on the device."""
    labels = torch.stack([s.pred_sem_seg.data[0] for s in samples]).to(torch.uint8)
    scores = torch.stack([s.seg_logits.data for s in samples]).float()
    prob = scores / scores.sum(1, keepdim=True).clamp_min(1e-6) if class_scores else torch.softmax(scores, dim=1)
    return labels, (1 - prob[:, 0]).to(torch.float16)


@torch.no_grad()
def predict(model, test_set: PairSet, batch_size: int, device: torch.device, class_scores: bool = False) -> Predictions:
    """Labels and defect probabilities of the test set. ``class_scores``: the head outputs non-negative
    per-class scores rather than logits (Mask2Former: query class probabilities x mask probabilities),
    which are normalized to sum to one instead of going through a softmax. Each batch goes to the device
    as one tensor and comes back as one copy per output."""
    model.eval()
    ids = list(test_set.ids)
    labels, probs = [], []
    for start in range(0, len(ids), batch_size):
        images = np.stack([test_set.image(i) for i in ids[start : start + batch_size]])
        batch_labels, batch_probs = _labels_and_defect_prob(model.test_step(model_inputs(images, None, device)), class_scores)
        labels.append(batch_labels.cpu().numpy())
        probs.append(batch_probs.cpu().numpy())
    return Predictions(tuple(ids), np.concatenate(labels), np.concatenate(probs))
