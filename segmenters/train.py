"""Train an MMSegmentation model on pair sets and evaluate it: the one entry the runner calls.

The jobs live in their own modules: the config adapted to the task (``config``), the model built on the
device (``model``, with the OpenMMLab stack loaded by ``openmmlab``), the pairs on the device and their
augmentation (``data``), the loop (``loop``) and the predictions (``predict``). The loop is ours; the model,
its data preprocessor, the losses and the optimizer wrapper are MMSegmentation's and mmengine's."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch

from bench.core.pairset import PairSet
from bench.core.streams import POOLED
from segmenters.config import load_config, round_up
from segmenters.data import stack_pairs
from segmenters.loop import TrainingSeeds, train_model
from segmenters.predict import Predictions, predict
from segmenters.registry import SegmenterSpec
from segmenters.schedules import Schedule


@dataclass(frozen=True)
class TrainResult:
    predictions: Predictions
    losses: tuple[float, ...]  # training loss per iteration
    train_seconds: float
    eval_seconds: float
    num_params: int
    # Facts for the run record beside the spec:
    pretrained_checkpoint: str | None = None  # the backbone file loaded; None = trained from scratch
    input_size: int = 0  # side of the square training input after padding
    precision: str = "fp32"  # fp32, or bf16 autocast on CUDA
    config: dict | None = None  # the mmengine config as trained, after adaptation to the task


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
    added_sets: Sequence[PairSet] = (),
    batches: str = POOLED,
    seeds: TrainingSeeds | None = None,
) -> TrainResult:
    """Train ``spec`` on the training pairs for ``schedule`` and predict the test set with the final model.

    There is no checkpoint selection: the model after the last iteration is the one evaluated, so the
    test split never influences training. ``pretrained`` loads the backbone's ImageNet checkpoint from
    ``$BENCH_WEIGHTS`` (segmenters without one, UNet and BiSeNetV2, start from scratch either way; the
    result says which file was loaded).
    ``added_sets``: pairs added to the real ``train_sets`` (synthetic, defect-free), drawn into batches as
    ``batches`` says (``segmenters.data.BatchSampler``); ``seeds``: each random stream's seed [default: ``seed``].
    """
    images, masks = stack_pairs([*train_sets, *added_sets])
    side = round_up(schedule.crop_size or max(images.shape[1:3]))
    cfg = load_config(spec, num_classes, schedule, pretrained, side)
    checkpoint = cfg.model["backbone"].get("init_cfg") or {}
    trained = train_model(spec, cfg, images, masks, schedule, seed, device, progress, added=sum(len(s) for s in added_sets),
                          batches=batches, seeds=seeds)

    start = time.perf_counter()
    predictions = predict(trained.model, test_set, schedule.eval_batch_size, device, spec.class_scores)
    return TrainResult(
        predictions=predictions,
        losses=trained.losses,
        train_seconds=trained.seconds,
        eval_seconds=time.perf_counter() - start,
        num_params=sum(p.numel() for p in trained.model.parameters()),
        pretrained_checkpoint=Path(checkpoint["checkpoint"]).name if checkpoint.get("type") == "Pretrained" else None,
        input_size=side,
        precision=trained.precision,
        config=cfg.to_dict(),
    )
