"""DefectSynth training time and inference speed in the form of its paper's Table IV, end to end.

Table IV trains on MVTec wood hole at 256 px for 50 epochs with batch 1 and times 500 generated pairs:
1.03 h of training (stage 2 only: HMI trains nothing) and 0.23 pairs/s on an RTX 4090. This benchmark
runs the ``defectsynth`` generator on one category (optionally one defect class) in a fresh model cache,
so everything trains, and times: the stand-in pretraining (random-weights profiles only; it replaces
downloading SD and is not in Table IV), the ControlNet fine-tuning (stage 2), and sampling (HMI masks
and images) as pairs per second. Run ``python -m bench.perf.defectsynth [--profile short --device cuda]``;
it writes ``results/perf/defectsynth.{json,md}``.
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import datetime, timezone

import click
import cv2
import numpy as np
import torch

from bench.core.errors import BenchError
from bench.core.paths import results_dir
from bench.core.specs import GeneratorSpec
from bench.data.base import load_pool
from bench.data.splits import make_split
from bench.perf.host import host
from bench.perf.output import write_result
from generators import build

REFERENCE = {"training_h": 1.03, "pairs_per_s": 0.23, "setting": "MVTec wood hole, 256 px, 50 epochs, batch 1, 500 pairs, RTX 4090"}


def mask_contrast(pairs) -> dict[str, float]:
    """Per class: mean grey level of a 3 px background ring around each defect minus the defect's own.

    A plain check that pictures show something where their masks say; the real pairs' value is the mark."""
    scores: dict[int, list[float]] = {}
    for pair in pairs:
        grey = pair.image.astype(np.float64).mean(axis=2)
        for class_id in np.unique(pair.mask[pair.mask > 0]).tolist():
            inside = pair.mask == class_id
            ring = cv2.dilate(inside.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool) & (pair.mask == 0)
            if ring.any():
                scores.setdefault(class_id, []).append(grey[ring].mean() - grey[inside].mean())
    return {str(k): float(np.mean(v)) for k, v in sorted(scores.items())}


def benchmark(
    profile: str, dataset: str, data_root: str | None, category: str, defect: str | None, split: str, pairs: int, device: str, seed: int
) -> dict:
    pool = load_pool(dataset, category, data_root)
    chosen = make_split(pool, split)
    train_ids = [i for i in chosen.train if defect is None or pool.group(i) == defect]
    if not train_ids:
        raise BenchError(f"no training pairs of defect type {defect!r} in {dataset}/{category} ({split})", "check --defect")
    train, normals = pool.subset(train_ids), pool.subset(chosen.normal_train)
    spec = GeneratorSpec.of("defectsynth", profile=profile, device=device)
    generator = build(spec)
    previous = os.environ.get("BENCH_CACHE")
    with tempfile.TemporaryDirectory(prefix="defectsynth-perf-") as cache:
        os.environ["BENCH_CACHE"] = cache  # a fresh model cache: every network trains
        try:
            generator.fit(train, normals, seed)
            start = time.perf_counter()
            generated = list(generator.sample(pairs, seed))
            sampling = time.perf_counter() - start
        finally:
            if previous is None:
                os.environ.pop("BENCH_CACHE", None)
            else:
                os.environ["BENCH_CACHE"] = previous
    stand_in = generator.timings.get("stand_in_s", 0.0)
    stage2 = generator.timings["controlnet_s"]
    run_device = generator.torch_device()
    return {
        "schema": "bench.perf.defectsynth/1",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **host(run_device),
        "precision": "fp32",
        "data": {"dataset": dataset, "category": category, "defect": defect, "split": split, "train_pairs": len(train)},
        "settings": generator.settings(),
        "seed": seed,
        "training_h": {"stage1": None, "stage2": stage2 / 3600, "total": stage2 / 3600, "stand_in_pretraining": stand_in / 3600},
        "pairs": len(generated),
        "sampling_s": sampling,
        "pairs_per_s": len(generated) / sampling,
        "contrast": {"generated": mask_contrast(generated), "real_train": mask_contrast(train), "classes": pool.defect_classes},
        "reference": REFERENCE,
    }


def markdown(result: dict) -> str:
    s, d, h = result["settings"], result["data"], result["training_h"]
    scale, reading = s["scale"], s["reading"]
    what = f"{d['dataset']}/{d['category']}" + (f" {d['defect']}" if d["defect"] else "") + f", split {d['split']}"
    lines = [
        f"# DefectSynth training time and inference speed (Table IV form): {result['device']}",
        "",
        f"Profile `{s['profile']}` ({scale['weights']} weights, reading `{reading['name']}`): {scale['resolution']} px, "
        f"{scale['epochs']} epochs, batch {scale['batch_size']}, {reading['steps']} DDIM steps, SFF batch {reading['sff_batch']}; "
        f"{what} ({d['train_pairs']} training pairs); {result['precision']}, torch {result['torch']}, "
        f"{result['threads']} threads; {result['created']}.",
        "",
        "| method | stage 1 (h) | stage 2 (h) | total (h) | pairs/s |",
        "| --- | --- | --- | --- | --- |",
        f"| DefectSynth, Table IV ({REFERENCE['setting']}) | - | {REFERENCE['training_h']} | {REFERENCE['training_h']} | {REFERENCE['pairs_per_s']} |",
        f"| bench `defectsynth` (this run) | - | {h['stage2']:.4f} | {h['total']:.4f} | {result['pairs_per_s']:.4g} |",
        "",
        f"Stage 1 (HMI) trains nothing. Sampling: {result['pairs']} pairs in {result['sampling_s']:.1f} s, HMI masks included.",
    ]
    contrast = result["contrast"]
    names = {str(k): v for k, v in contrast["classes"].items()}
    cells = ", ".join(
        f"{names[k]} {v:.1f} (real {contrast['real_train'].get(k, float('nan')):.1f})" for k, v in contrast["generated"].items()
    )
    lines.append(f"Defect contrast (background ring minus defect, grey levels) of the generated pairs: {cells}.")
    if h["stand_in_pretraining"]:
        lines.append(
            f"Before stage 2 the random-weights stand-in for SD 1.5 pretrained its VAE and UNet in "
            f"{h['stand_in_pretraining']:.4f} h; that replaces SD's published weights and is not in Table IV."
        )
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--profile", default=None, help="defectsynth profile [default: short on CUDA (Table IV's setting), toy on CPU].")
@click.option("--dataset", default="toy", show_default=True)
@click.option("--data-root", default=None, help="Root of the dataset release on disk.")
@click.option("--category", default="wood", show_default=True)
@click.option("--defect", default=None, help="Train on one defect type only (Table IV: hole).")
@click.option("--split", default="ds-5shot", show_default=True)
@click.option("--pairs", default=20, show_default=True, type=int, help="Pairs to generate and time (Table IV: 500).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--seed", default=0, show_default=True, type=int)
def main(profile, dataset, data_root, category, defect, split, pairs, device, seed):
    """Measure and write results/perf/defectsynth.{json,md}."""
    cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    try:
        result = benchmark(profile or ("short" if cuda else "toy"), dataset, data_root, category, defect, split, pairs, device, seed)
    except BenchError as exc:
        raise click.ClickException(str(exc)) from None
    write_result(results_dir() / "perf", "defectsynth", result, markdown(result))
    click.echo(markdown(result))


if __name__ == "__main__":
    main()
