"""The GPU check: the first thing to run on a GPU, in one command (``make gpu-check``), under 8 minutes.

It installs nothing and measures, naming the device, with GPU utilisation sampled during each part:

- ``segmenters``: each of the eight segmenters trained by the harness loop at 512 px in bf16 and in fp32
  (images/s, peak memory), and evaluated (``test_step`` images/s);
- ``train_step``: the harness loop vs a plain MMSegmentation ``Runner`` on the same config (goal >= 1.3x);
- ``grid``: a grid of 8 short runs, packed on the GPU by measured peak memory vs one after another
  (goal >= 1.5x throughput);
- ``sampling``: Defect-Gen and DDPM at 256 px, batched, full and fast samplers (goal >= 5 pairs/s fast on an
  H100-class GPU; DefectSynth Table IV reports 0.014 pairs/s for the original code), DefectDiffu and
  DefectSynth on their self-contained profiles: pairs/s from ``sample()`` to disk.

Results go to ``results/perf/gpu-<device>.{json,md}``. ``--device cpu`` (or ``--dry``) runs every part at
tiny sizes to prove the path end to end; the tests do that. Each part is a plain function of a ``Sizes``.
"""

from __future__ import annotations

import re
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import click
import torch

from bench.core.device import resolve_device
from bench.core.errors import BenchError
from bench.core.paths import results_dir
from bench.core.progress import progress
from bench.data.base import load_pool
from bench.executors.base import ExecutorOptions
from bench.perf import generators as generator_perf
from bench.perf import segmenters as segmenter_perf
from bench.perf import train_step
from bench.perf.grid import cache_at, time_grid, tiny_grid
from bench.perf.host import host
from bench.perf.output import write_result
from bench.perf.utilisation import describe, sampler
from segmenters import SEGMENTERS, Schedule
from segmenters.config import load_config
from segmenters.openmmlab import ops_available
from segmenters.registry import table_order

GOALS = {"train_step": 1.3, "grid": 1.5, "fast_pairs_per_s": 5.0}


@dataclass(frozen=True)
class Sizes:
    """How big each part runs: the GPU sizes, or tiny ones for the dry run."""

    segmenters: tuple[str, ...]
    size: int
    batch: int
    warmup: int
    iters: int
    eval_batch: int
    step_segmenter: str
    step_batch: int
    step_iters: int
    workers: int
    grid_segmenter: str
    grid_runs: int
    grid_jobs: int
    sample_n: int
    sample_batch: int
    sample_warmup: int
    samplers: tuple[str, ...]
    sample_profiles: tuple[tuple[str, str], ...]  # (generator, profile)


# The Defect Spectrum eight (those with a Table 2 column): the check's time budget is sized for them.
ALL = tuple(name for name in table_order(SEGMENTERS.names()) if SEGMENTERS.get(name).column is not None)
GPU = Sizes(
    segmenters=ALL, size=512, batch=8, warmup=5, iters=15, eval_batch=16,
    step_segmenter="segformer", step_batch=8, step_iters=30, workers=4,
    grid_segmenter="bisenetv2", grid_runs=8, grid_jobs=8,
    sample_n=8, sample_batch=8, sample_warmup=1, samplers=("full", "fast"),
    sample_profiles=(("defectgen", "paper"), ("ddpm", "paper"), ("defectdiffu", "short"), ("defectsynth", "toy")),
)
DRY = Sizes(
    segmenters=("bisenetv2",), size=64, batch=2, warmup=1, iters=2, eval_batch=2,
    step_segmenter="bisenetv2", step_batch=2, step_iters=2, workers=0,
    grid_segmenter="bisenetv2", grid_runs=2, grid_jobs=2,
    sample_n=1, sample_batch=1, sample_warmup=0, samplers=("fast",),
    sample_profiles=(("defectgen", "smoke"), ("ddpm", "smoke"), ("defectdiffu", "smoke"), ("defectsynth", "smoke")),
)


def watched(device: torch.device, work: Callable[[], dict]) -> dict:
    """``work()``'s row with its wall seconds and the GPU utilisation sampled while it ran."""
    with sampler(device) as watch:
        start = time.perf_counter()
        row = work()
        seconds = time.perf_counter() - start
    return {**row, "part_seconds": seconds, "utilisation": watch.summary()}


def train_rate(name: str, sizes: Sizes, device: torch.device, fp32: bool) -> dict:
    """Images/s and peak memory of the harness loop training one segmenter on toy pairs at ``sizes.size``."""
    spec = SEGMENTERS.get(name)
    images, masks = train_step.toy_arrays(sizes.size)
    schedule = Schedule("gpu-check", iters=sizes.warmup + sizes.iters, batch_size=sizes.batch, crop_size=None)
    cfg = load_config(spec, len(train_step.classes(train_step.CATEGORY)), schedule, pretrained=False, input_size=sizes.size)
    train_step.reset_peak_memory(device)
    seconds = train_step.time_harness(spec, cfg, images, masks, schedule, device, sizes.warmup, fp32=fp32)
    return {"img_s": sizes.iters * sizes.batch / seconds, "peak_memory_bytes": train_step.peak_memory(device)}


def failure(exc: Exception) -> str:
    """One line for a part that failed: the GPU slot goes on with the other parts."""
    return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"


def segmenter_part(sizes: Sizes, device: torch.device) -> list[dict]:
    precisions = ("bf16", "fp32") if device.type == "cuda" and torch.cuda.is_bf16_supported() else ("fp32",)
    ops = ops_available()
    rows = []
    for name in progress(sizes.segmenters, desc="gpu-check segmenters", unit="model"):
        if SEGMENTERS.get(name).needs_ops and not ops:
            rows.append({"name": name, "error": "skipped: mmcv's compiled ops are not built"})
            continue

        def work(name=name):
            row = {"name": name, "train": {p: train_rate(name, sizes, device, fp32=p == "fp32") for p in precisions}}
            evaluated = segmenter_perf.measure(name, sizes.size, sizes.eval_batch, device, sizes.warmup, sizes.iters)
            return {**row, "eval_img_s": evaluated["throughput_img_s"], "params": evaluated["params"]}
        try:
            rows.append(watched(device, work))
        except Exception as exc:  # noqa: BLE001 - one model that fails (a CPU-only mmcv op) must not end the check
            rows.append({"name": name, "error": failure(exc)})
    return rows


def train_step_part(sizes: Sizes, device: torch.device) -> dict:
    return watched(device, lambda: train_step.measure(
        sizes.step_segmenter, sizes.size, sizes.step_batch, device, sizes.warmup, sizes.step_iters, sizes.workers))


def grid_part(sizes: Sizes, device: torch.device, work: Path) -> dict:
    """Seconds of the same grid inline (one run after another) and packed by the local executor."""
    specs = [replace(spec, device=device.type) for spec in tiny_grid(sizes.grid_segmenter, sizes.grid_runs)]
    plans = {"sequential": ("inline", ExecutorOptions()), "packed": ("local", ExecutorOptions(jobs=sizes.grid_jobs, threads=1))}
    rows = {}
    with cache_at(work / "grid-cache"):
        load_pool("toy", "wood")
        for label, (executor, options) in plans.items():
            rows[label] = watched(device, lambda: {"seconds": time_grid(specs, executor, options, work / f"records-{label}")})
    return {"segmenter": sizes.grid_segmenter, "runs": sizes.grid_runs, "schedule": specs[0].schedule, **rows,
            "packed_over_sequential": rows["sequential"]["seconds"] / rows["packed"]["seconds"]}


def sampling_part(sizes: Sizes, device: torch.device) -> list[dict]:
    profiles = dict(sizes.sample_profiles)
    result = generator_perf.benchmark(list(profiles), profiles, sizes.sample_batch, sizes.sample_n, device,
                                      samplers=sizes.samplers, warmup=sizes.sample_warmup)
    return result["rows"]


def run(device: torch.device, sizes: Sizes, parts: tuple[str, ...] = ("segmenters", "train_step", "grid", "sampling")) -> dict:
    """Every asked part in turn; the result is what ``gpu-<device>.json`` holds."""
    unknown = sorted(set(parts) - {"segmenters", "train_step", "grid", "sampling"})
    if unknown:
        raise BenchError(f"unknown gpu-check part(s): {', '.join(unknown)}", "choose from segmenters, train_step, grid, sampling")
    seconds, measured = {}, {}
    with tempfile.TemporaryDirectory(prefix="bench-gpu-check-") as tmp:
        steps = {
            "segmenters": lambda: segmenter_part(sizes, device),
            "train_step": lambda: train_step_part(sizes, device),
            "grid": lambda: grid_part(sizes, device, Path(tmp)),
            "sampling": lambda: sampling_part(sizes, device),
        }
        for part in parts:
            start = time.perf_counter()
            try:
                measured[part] = steps[part]()
            except Exception as exc:  # noqa: BLE001 - the other parts still run in the same GPU slot
                measured[part] = {"error": failure(exc)}
            seconds[part] = time.perf_counter() - start
    return {
        "schema": "bench.perf.gpu_check/1",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **host(device),
        "dry": sizes != GPU,
        "sizes": asdict(sizes),
        "goals": GOALS,
        "part_seconds": seconds,
        **measured,
    }


def stem(result: dict) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", result["device"].lower()).strip("-")
    return f"gpu-{'dry-' if result['dry'] else ''}{slug}"


def mib(value: int | None) -> str:
    return "-" if value is None else f"{value / 2**20:.0f}"


def part_ok(result: dict, part: str) -> bool:
    return not (isinstance(result[part], dict) and "error" in result[part])


def markdown(result: dict) -> str:
    sizes = result["sizes"]
    lines = [
        f"# GPU check: {result['device']}" + (" (dry run, tiny sizes)" if result["dry"] else ""),
        "",
        f"torch {result['torch']}, {result['threads']} CPU threads, load average {result['load_average']:.1f} at the end; "
        f"{result['created']}. Seconds per part: "
        + ", ".join(f"{part} {s:.0f}" for part, s in result["part_seconds"].items()) + ".",
    ]
    if "segmenters" in result:
        lines += ["", f"## Segmenters: training at {sizes['size']} px, batch {sizes['batch']}, {sizes['iters']} timed iterations; "
                  f"evaluation batch {sizes['eval_batch']}", "",
                  "| segmenter | train img/s bf16 | peak MiB bf16 | train img/s fp32 | peak MiB fp32 | eval img/s | GPU utilisation |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for row in result["segmenters"] if isinstance(result["segmenters"], list) else []:
            if "error" in row:
                lines.append(f"| {row['name']} | {row['error']} | | | | | |")
                continue
            bf16, fp32 = row["train"].get("bf16"), row["train"]["fp32"]
            lines.append(
                f"| {row['name']} | {'-' if bf16 is None else format(bf16['img_s'], '.3g')} | {mib(bf16 and bf16['peak_memory_bytes'])} "
                f"| {fp32['img_s']:.3g} | {mib(fp32['peak_memory_bytes'])} | {row['eval_img_s']:.3g} | {describe(row['utilisation'])} |"
            )
    failed = [part for part in result["part_seconds"] if isinstance(result.get(part), dict) and "error" in result[part]]
    if failed:
        lines += ["", "## Failed parts", ""] + [f"- `{part}`: {result[part]['error']}" for part in failed]
    if "train_step" in result and part_ok(result, "train_step"):
        row = result["train_step"]
        lines += ["", f"## Harness loop vs plain MMSegmentation Runner ({row['name']}, {row['precision']}, "
                  f"{sizes['size']} px, batch {sizes['step_batch']})", "",
                  f"harness {row['harness']['img_s']:.3g} img/s, MMSegmentation {row['mmseg']['img_s']:.3g} img/s: "
                  f"**{row['ratio']:.2f}x** (goal >= {GOALS['train_step']}x); GPU utilisation {describe(row['utilisation'])}."]
    if "grid" in result and part_ok(result, "grid"):
        grid = result["grid"]
        lines += ["", f"## Grid of {grid['runs']} `{grid['segmenter']}` runs (`{grid['schedule']}` schedule)", "",
                  f"sequential {grid['sequential']['seconds']:.1f} s (GPU {describe(grid['sequential']['utilisation'])}), "
                  f"packed {grid['packed']['seconds']:.1f} s (GPU {describe(grid['packed']['utilisation'])}): "
                  f"**{grid['packed_over_sequential']:.2f}x** throughput (goal >= {GOALS['grid']}x)."]
    if "sampling" in result and part_ok(result, "sampling"):
        lines += ["", f"## Sampling, sample() to disk: {sizes['sample_n']} pairs, batch {sizes['sample_batch']}, "
                  f"{sizes['sample_warmup']} warm-up pairs; training cut to one step (speed depends on the shapes only)", "",
                  "| generator | profile | sampler | model px | pairs/s | GPU utilisation |", "| --- | --- | --- | --- | --- | --- |"]
        for row in result["sampling"]:
            lines.append(f"| {row['name']} | {row['profile']} | {generator_perf.dash(row['sampler'])} | {generator_perf.dash(row['resolution'])} "
                         f"| {row['pairs_per_s']:.3g} | {describe(row['utilisation'])} |")
        lines += ["", f"Goal: >= {GOALS['fast_pairs_per_s']} pairs/s for Defect-Gen's fast sampler on an H100-class GPU; "
                  "DefectSynth Table IV: 0.014 pairs/s for the original Defect-Gen code."]
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--dry", is_flag=True, help="Tiny sizes on any device [default on a CPU].")
@click.option("--parts", default="segmenters,train_step,grid,sampling", show_default=True, help="Comma-separated parts.")
@click.option("--out", default=None, type=click.Path(path_type=Path), help="Folder [default: results/perf].")
def main(device, dry, parts, out):
    """Measure and write results/perf/gpu-<device>.{json,md}."""
    try:
        chosen = resolve_device(device)
        sizes = DRY if dry or chosen.type != "cuda" else GPU
        result = run(chosen, sizes, tuple(p.strip() for p in parts.split(",") if p.strip()))
    except BenchError as exc:
        raise click.ClickException(str(exc)) from None
    json_path, md_path = write_result(out or results_dir() / "perf", stem(result), result, markdown(result))
    click.echo(markdown(result))
    click.echo(f"wrote {json_path} and {md_path}")


if __name__ == "__main__":
    main()
