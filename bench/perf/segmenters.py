"""Segmenter inference speed in the Defect Spectrum Table 2 format: ms per image at batch 1 and images/s
at a larger batch, at the paper's input size, warm-up excluded, written to results/perf/ with the device.

Timed is what a deployed model does per image: ``model.test_step`` (normalization, forward pass, resize
to the input and argmax) on uint8 images already on the device, in fp32, weights random (speed does not
depend on them; ``segmenters.timing``). Run it as ``bench perf segmenters``.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import torch

from bench.core.errors import BenchError
from bench.core.progress import progress as progress_bar
from bench.perf.host import host
from bench.perf.output import write_result
from segmenters.timing import measure

PAPER_DEVICE = "NVIDIA RTX 3090"


def table2_markdown(result: dict) -> str:
    """The Defect Spectrum Table 2 layout (one column per model), our rows above the paper's."""
    rows = result["rows"]
    header = "| | " + " | ".join(r["abbreviation"] for r in rows) + " |"
    rule = "| --- |" + " --- |" * len(rows)

    def line(label: str, values) -> str:
        return f"| {label} | " + " | ".join(values) + " |"

    device = result["device"]
    lines = [
        f"# Segmenter inference speed: {device}",
        "",
        f"Input {result['size']}x{result['size']} RGB, fp32, {result['num_classes']} classes, "
        f"{result['warmup']} warm-up calls excluded, {result['iters']} timed calls; "
        f"torch {result['torch']}, {result['threads']} CPU threads, load average {result['load_average']:.1f} "
        f"at the end; {result['created']}.",
        "",
        header,
        rule,
        line(f"inf. time (ms), batch 1, {device}", [f"{r['latency_ms']:.1f}" for r in rows]),
        line(f"throughput (img/s), batch {result['batch_size']}", [f"{r['throughput_img_s']:.3g}" for r in rows]),
        line("params (M), without auxiliary heads", [f"{r['params'] / 1e6:.2f}" for r in rows]),
        line(f"paper: inf. time (ms), {PAPER_DEVICE}", ["-" if r["paper_ms"] is None else f"{r['paper_ms']:.1f}" for r in rows]),
    ]
    return "\n".join(lines) + "\n"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")



def benchmark(
    names: Sequence[str],
    size: int,
    batch_size: int,
    device: torch.device,
    warmup: int,
    iters: int,
    out_dir: Path,
    num_classes: int = 2,
    progress: bool = True,
) -> tuple[dict, Path, Path]:
    """Measure every named segmenter and write ``segmenters_<device>_<size>.{json,md}`` under ``out_dir``."""

    if size < 32 or batch_size < 1 or iters < 1 or warmup < 0:
        raise BenchError(
            f"bad benchmark settings (size {size}, batch {batch_size}, iters {iters}, warm-up {warmup})",
            "use size >= 32, batch >= 1, iters >= 1, warm-up >= 0",
        )
    rows = [
        measure(name, size, batch_size, device, warmup, iters, num_classes)
        for name in progress_bar(names, desc="perf segmenters", unit="model", enabled=progress)
    ]
    result = {
        "schema": "bench.perf.segmenters/1",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **host(device),
        "precision": "fp32",
        "size": size,
        "batch_size": batch_size,
        "num_classes": num_classes,
        "warmup": warmup,
        "iters": iters,
        "timed": "model.test_step on uint8 images on the device: normalization, forward, resize, argmax",
        "rows": rows,
    }
    stem = f"segmenters_{device.type if device.type == 'cpu' else _slug(result['device'])}_{size}"
    json_path, md_path = write_result(out_dir, stem, result, table2_markdown(result))
    return result, json_path, md_path

