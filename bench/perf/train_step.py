"""Training throughput of the harness loop (``segmenters.loop.train_model``) against plain MMSegmentation
training of the same config, in one process, on the same pairs.

Both sides train the model of ``load_config`` (random init) with the same batch size, input size and
optimizer wrapper (bf16 autocast on CUDA, fp32 on CPU) under the same poly learning-rate decay. Plain
MMSegmentation is an mmengine ``Runner`` with an ``IterBasedTrainLoop`` reading PNG files through a
``BaseSegDataset`` (LoadImageFromFile, LoadAnnotations, RandomFlip, PackSegInputs), an ``InfiniteSampler``
and ``--workers`` DataLoader workers; the harness holds the decoded pairs on the device and crops and flips
there. Timed is the wall time from the end of the last warm-up iteration to the end of the last iteration,
the device synchronized at both ends: data loading or augmentation, forward, backward and optimizer step,
warm-up (model building, first-call kernel selection, worker start) excluded. Run it as
``python -m bench.perf.train_step``; it writes ``results/perf/train_step.{json,md}``.
"""

from __future__ import annotations

import gc
import platform
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import click
import cv2
import mmengine
import mmseg
import numpy as np
import torch

from bench.core.device import resolve_device
from bench.core.errors import BenchError
from bench.core.paths import results_dir
from bench.data.toy import ToyConfig, category_pairs, classes
from bench.perf.host import host
from bench.perf.output import write_result
from segmenters import SEGMENTERS, Schedule
from segmenters.config import load_config, optim_config, round_up
from segmenters.loop import train_model
from segmenters.openmmlab import import_mmseg

CATEGORY = "wood"
TIMED = (
    "wall time from the end of the last warm-up iteration to the end of the last iteration, device synchronized "
    "at both ends: data loading/augmentation, forward, backward, optimizer step"
)


class StepClock:
    """Marks the end of the warm-up and of the last iteration; called after every training iteration.

    It synchronizes the device only at those two marks, so neither loop is slowed between them.
    """

    def __init__(self, device: torch.device, warmup: int, iters: int):
        self.device, self.warmup, self.iters = device, warmup, iters
        self.marks: dict[str, float] = {}

    def __call__(self, iteration: int) -> None:
        if iteration in (self.warmup - 1, self.warmup + self.iters - 1):
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            self.marks["end" if iteration == self.warmup + self.iters - 1 else "start"] = time.perf_counter()

    def seconds(self) -> float:
        return self.marks["end"] - self.marks["start"]


def toy_arrays(size: int) -> tuple[np.ndarray, np.ndarray]:
    """All pairs of one toy product at ``size`` px: N x H x W x 3 images and N x H x W class masks."""
    pairs = list(category_pairs(CATEGORY, ToyConfig(size=size)))
    return np.stack([p.image for p in pairs]), np.stack([p.mask for p in pairs])


def _write_pngs(root: Path, images: np.ndarray, masks: np.ndarray) -> None:
    """The pairs as image and annotation PNG files, MMSegmentation's usual on-disk layout."""
    (root / "img").mkdir(parents=True)
    (root / "ann").mkdir()
    for i, (image, mask) in enumerate(zip(images, masks)):
        cv2.imwrite(str(root / "img" / f"{i:04d}.png"), image[..., ::-1])  # cv2 writes BGR
        cv2.imwrite(str(root / "ann" / f"{i:04d}.png"), mask)


def peak_memory(device: torch.device) -> int | None:
    return torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def time_harness(spec, cfg, images: np.ndarray, masks: np.ndarray, schedule, device: torch.device, warmup: int,
                 fp32: bool = False) -> float:
    """Seconds of the timed iterations of ``segmenters.loop.train_model`` (bf16 on CUDA unless ``fp32``)."""
    clock = StepClock(device, warmup, schedule.iters - warmup)
    train_model(spec, cfg, images, masks, schedule, seed=0, device=device, progress=False, on_step=clock, fp32=fp32)
    return clock.seconds()


def _runner_config(
    cfg, optim_cfg: dict, data_root: Path, work_dir: Path, batch_size: int, workers: int, total: int, device: torch.device
) -> dict:
    """A plain MMSegmentation training config: file dataset, standard pipeline, iteration-based loop, poly decay."""
    model = cfg.model.to_dict() if hasattr(cfg.model, "to_dict") else dict(cfg.model)
    model["data_preprocessor"] = dict(model["data_preprocessor"], bgr_to_rgb=True)  # LoadImageFromFile reads BGR
    dataset = dict(
        type="BaseSegDataset",
        data_root=str(data_root),
        data_prefix=dict(img_path="img", seg_map_path="ann"),
        img_suffix=".png",
        seg_map_suffix=".png",
        metainfo=dict(classes=tuple(classes(CATEGORY).values())),
        pipeline=[
            dict(type="LoadImageFromFile"),
            dict(type="LoadAnnotations"),
            dict(type="RandomFlip", prob=0.5, direction="horizontal"),
            dict(type="PackSegInputs"),
        ],
    )
    return dict(
        model=model,
        work_dir=str(work_dir),
        train_dataloader=dict(
            batch_size=batch_size,
            num_workers=workers,
            persistent_workers=workers > 0,
            sampler=dict(type="InfiniteSampler", shuffle=True),
            dataset=dataset,
        ),
        train_cfg=dict(type="IterBasedTrainLoop", max_iters=total, val_interval=total + 1),
        optim_wrapper=optim_cfg,
        param_scheduler=[dict(type="PolyLR", eta_min=0.0, power=1.0, begin=0, end=total, by_epoch=False)],
        default_hooks=dict(
            runtime_info=dict(type="RuntimeInfoHook"),
            timer=dict(type="IterTimerHook"),
            param_scheduler=dict(type="ParamSchedulerHook"),
            sampler_seed=dict(type="DistSamplerSeedHook"),
            logger=None,
            checkpoint=None,
        ),
        env_cfg=dict(cudnn_benchmark=device.type == "cuda", mp_cfg=dict(mp_start_method="fork", opencv_num_threads=0)),
        randomness=dict(seed=0),
        default_scope="mmseg",
        log_level="WARNING",
    )


def time_mmseg(
    cfg,
    optim_cfg: dict,
    images: np.ndarray,
    masks: np.ndarray,
    batch_size: int,
    device: torch.device,
    warmup: int,
    iters: int,
    workers: int,
) -> float:
    """Seconds of the timed iterations of an mmengine ``Runner`` training the same config from PNG files."""
    from mmengine.device import get_device
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    if get_device() != device.type:
        raise BenchError(
            f"plain MMSegmentation trains on mmengine's device ({get_device()}), not {device.type}",
            "run with --device auto, or hide the GPU (CUDA_VISIBLE_DEVICES=) for a CPU comparison",
        )
    import_mmseg()
    clock = StepClock(device, warmup, iters)

    class ClockHook(Hook):
        priority = "LOWEST"  # after the runner's own hooks: the iteration is complete

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            clock(batch_idx)

    with tempfile.TemporaryDirectory(prefix="bench-train-step-") as tmp:
        root = Path(tmp)
        _write_pngs(root / "data", images, masks)
        config = _runner_config(cfg, optim_cfg, root / "data", root / "work", batch_size, workers, warmup + iters, device)
        runner = Runner(**config, custom_hooks=[ClockHook()])
        runner.train()
        del runner
        gc.collect()  # the loop's DataLoader iterator and its workers go before their folder does
    return clock.seconds()


def measure(name: str, size: int, batch_size: int, device: torch.device, warmup: int, iters: int, workers: int) -> dict:
    """Throughput of one segmenter trained by the harness loop and by plain MMSegmentation."""
    spec = SEGMENTERS.get(name)
    images, masks = toy_arrays(size)
    schedule = Schedule("train-step", iters=warmup + iters, batch_size=batch_size, crop_size=None)
    cfg = load_config(spec, len(classes(CATEGORY)), schedule, pretrained=False, input_size=size)
    optim_cfg, precision = optim_config(cfg, schedule, device)
    row: dict = {"name": spec.name, "input_size": round_up(size), "precision": precision}
    for side, run in (
        ("harness", lambda: time_harness(spec, cfg, images, masks, schedule, device, warmup)),
        ("mmseg", lambda: time_mmseg(cfg, optim_cfg, images, masks, batch_size, device, warmup, iters, workers)),
    ):
        reset_peak_memory(device)
        seconds = run()
        row[side] = {
            "seconds": seconds,
            "it_s": iters / seconds,
            "img_s": iters * batch_size / seconds,
            "peak_memory_bytes": peak_memory(device),
        }
    row["ratio"] = row["harness"]["it_s"] / row["mmseg"]["it_s"]
    return row


def benchmark(
    names: Sequence[str], size: int, batch_size: int, device: torch.device, warmup: int, iters: int, workers: int
) -> dict:
    """Measure every named segmenter both ways; the result is what ``train_step.json`` holds."""
    if size < 32 or batch_size < 1 or warmup < 1 or iters < 1 or workers < 0:
        raise BenchError(
            f"bad benchmark settings (size {size}, batch {batch_size}, warm-up {warmup}, iters {iters}, workers {workers})",
            "use size >= 32, batch >= 1, warm-up >= 1, iters >= 1, workers >= 0",
        )
    rows = [measure(name, size, batch_size, device, warmup, iters, workers) for name in names]
    return {
        "schema": "bench.perf.train_step/1",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **host(device),
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "mmengine": mmengine.__version__,
            "mmsegmentation": mmseg.__version__,
        },
        "data": f"toy '{CATEGORY}' pairs at {size} px, whole images",
        "size": size,
        "batch_size": batch_size,
        "warmup": warmup,
        "iters": iters,
        "workers": workers,
        "timed": TIMED,
        "rows": rows,
    }


def markdown(result: dict) -> str:
    cuda = result["device_type"] == "cuda"
    lines = [
        f"# Training step throughput, harness vs plain MMSegmentation: {result['device']}",
        "",
        f"{result['data']}, batch {result['batch_size']}, {result['warmup']} warm-up and {result['iters']} timed "
        f"iterations, {result['workers']} DataLoader workers for MMSegmentation; torch {result['versions']['torch']}, "
        f"mmengine {result['versions']['mmengine']}, mmsegmentation {result['versions']['mmsegmentation']}, "
        f"{result['threads']} threads, load average {result['load_average']:.1f} at the end; {result['created']}.",
        "",
        f"Timed: {result['timed']}.",
        "",
        "| segmenter | precision | harness it/s | harness img/s | mmseg it/s | mmseg img/s | harness / mmseg |"
        + (" harness peak MiB | mmseg peak MiB |" if cuda else ""),
        "| --- | --- | --- | --- | --- | --- | --- |" + (" --- | --- |" if cuda else ""),
    ]
    for row in result["rows"]:
        ours, theirs = row["harness"], row["mmseg"]
        line = (
            f"| {row['name']} | {row['precision']} | {ours['it_s']:.3g} | {ours['img_s']:.3g} | {theirs['it_s']:.3g} "
            f"| {theirs['img_s']:.3g} | {row['ratio']:.2f}x |"
        )
        if cuda:
            line += f" {ours['peak_memory_bytes'] / 2**20:.0f} | {theirs['peak_memory_bytes'] / 2**20:.0f} |"
        lines.append(line)
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--segmenters", "names", default="segformer,bisenetv2", show_default=True, help="Comma-separated names.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--size", default=128, show_default=True, type=int, help="Square toy image side.")
@click.option("--batch-size", default=4, show_default=True, type=int)
@click.option("--warmup", default=5, show_default=True, type=int, help="Untimed iterations first.")
@click.option("--iters", default=30, show_default=True, type=int, help="Timed iterations.")
@click.option("--workers", default=2, show_default=True, type=int, help="DataLoader workers of the MMSegmentation side.")
@click.option("--out", default=None, type=click.Path(path_type=Path), help="Folder [default: results/perf].")
def main(names, device, size, batch_size, warmup, iters, workers, out):
    """Measure and write train_step.{json,md}."""
    try:
        chosen = [SEGMENTERS.canonical(n.strip().lower()) for n in names.split(",") if n.strip()]
        for name in chosen:
            SEGMENTERS.get(name)  # unknown names fail before any model is built
        result = benchmark(chosen, size, batch_size, resolve_device(device), warmup, iters, workers)
    except (BenchError, KeyError) as exc:
        raise click.ClickException(str(exc)) from None
    out = out or results_dir() / "perf"
    write_result(out, "train_step", result, markdown(result))
    click.echo(markdown(result))


if __name__ == "__main__":
    main()
