"""AUPRO speed on a test set of the size the papers evaluate (500 images at 256 px): the vectorised curve
(one sort) against the time of one AUROC on the same pixels, and against a loop over thresholds (timed on a
few thresholds, scaled to all of them). Ratios within one invocation hold on a noisy machine where seconds
do not. Writes results/perf/aupro.{json,md}.

Maps are float16 defect probabilities as the segmenters return them (a few thousand distinct values,
binned by bit pattern rather than sorted), and float32 maps with (almost) every pixel distinct: one sort,
and the worst case for the number of thresholds.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import click
import cv2
import numpy as np
import torch

from bench.core.paths import results_dir
from bench.metrics.pro import aupro, defect_regions, pixel_curves
from bench.metrics.scores import roc_auc
from bench.perf.host import host
from bench.perf.output import write_result


def synthetic_task(images: int, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Masks with one to three elliptic defects per defective image (a third defect-free), and noisy
    probability maps that are higher inside the defects."""
    rng = np.random.default_rng(seed)
    gt = np.zeros((images, size, size), np.uint8)
    for i in range(images):
        if i % 3 == 2:
            continue
        for _ in range(rng.integers(1, 4)):
            centre = tuple(int(c) for c in rng.integers(size // 8, size - size // 8, 2))
            axes = tuple(int(a) for a in rng.integers(2, size // 10, 2))
            cv2.ellipse(gt[i], centre, axes, float(rng.uniform(0, 180)), 0, 360, int(rng.integers(1, 4)), -1)
    prob = np.clip(rng.normal(0.2, 0.15, gt.shape) + 0.45 * (gt > 0), 0, 1)
    return gt, prob


def _seconds(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def loop_seconds_per_threshold(gt: np.ndarray, prob: np.ndarray, thresholds: np.ndarray) -> float:
    """The obvious method: binarise at each threshold, count background and each region's covered pixels."""
    regions, count = defect_regions(gt)
    background = regions == 0
    start = time.perf_counter()
    for t in thresholds:
        predicted = prob >= t
        _ = np.count_nonzero(predicted & background)
        _ = np.bincount(regions[predicted], minlength=count + 1)
    return (time.perf_counter() - start) / len(thresholds)


def measure(gt: np.ndarray, prob: np.ndarray, repeats: int, loop_thresholds: int) -> dict:
    distinct = np.unique(prob)
    sample = distinct[np.linspace(0, distinct.size - 1, loop_thresholds).astype(int)]
    aupro_s = _seconds(lambda: aupro(gt, prob), repeats)
    auroc_s = _seconds(lambda: roc_auc(gt > 0, prob), repeats)
    components_s = _seconds(lambda: defect_regions(gt), repeats)
    loop_s = loop_seconds_per_threshold(gt, prob, sample) * distinct.size
    return {
        "dtype": str(prob.dtype),
        "thresholds": int(distinct.size),
        "regions": int(pixel_curves(gt, prob).regions),
        "aupro": aupro(gt, prob),
        "aupro_s": aupro_s,
        "connected_components_s": components_s,
        "auroc_s": auroc_s,
        "aupro_over_auroc": aupro_s / auroc_s,
        "threshold_loop_s_estimated": loop_s,
        "loop_over_vectorised": loop_s / aupro_s,
    }


def benchmark(images: int, size: int, repeats: int, loop_thresholds: int) -> dict:
    gt, prob = synthetic_task(images, size)
    cases = [measure(gt, prob.astype(np.float16), repeats, loop_thresholds),
             measure(gt, prob.astype(np.float32), repeats, loop_thresholds)]
    return {
        "schema": "bench.perf.aupro/1",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **host(torch.device("cpu")),
        "images": images,
        "size": size,
        "pixels": int(gt.size),
        "timed": f"best of {repeats} calls; the threshold loop timed on {loop_thresholds} thresholds and scaled to all",
        "cases": cases,
    }


def markdown(result: dict) -> str:
    lines = [
        f"# AUPRO speed: {result['device']}",
        "",
        f"{result['images']} images at {result['size']} px ({result['pixels'] / 1e6:.1f} M pixels); {result['timed']}; "
        f"load average {result['load_average']:.1f}; {result['created']}.",
        "",
        "| maps | thresholds | regions | AUPRO s | of which components s | AUROC s | AUPRO / AUROC | threshold loop s (est.) | loop / vectorised |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in result["cases"]:
        lines.append(f"| {c['dtype']} | {c['thresholds']} | {c['regions']} | {c['aupro_s']:.2f} | {c['connected_components_s']:.2f} | "
                     f"{c['auroc_s']:.2f} | {c['aupro_over_auroc']:.2f}x | {c['threshold_loop_s_estimated']:.0f} | "
                     f"{c['loop_over_vectorised']:.0f}x |")
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--images", default=500, show_default=True, type=int)
@click.option("--size", default=256, show_default=True, type=int)
@click.option("--repeats", default=3, show_default=True, type=int, help="Calls per measurement; the best counts.")
@click.option("--loop-thresholds", default=20, show_default=True, type=int, help="Thresholds the loop is timed on.")
@click.option("--out", default=None, type=click.Path(path_type=Path), help="Folder [default: results/perf].")
def main(images, size, repeats, loop_thresholds, out):
    """Measure and write aupro.{json,md}."""
    result = benchmark(images, size, repeats, loop_thresholds)
    write_result(out or results_dir() / "perf", "aupro", result, markdown(result))
    click.echo(markdown(result))


if __name__ == "__main__":
    main()
