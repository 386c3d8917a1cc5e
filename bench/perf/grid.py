"""Grid throughput on this machine: one run after another vs packed processes vs Ray tasks, and dataset
loading from the source files vs from bench's cache. Ratios are taken within one invocation, so they hold
on a noisy machine where absolute seconds do not. Writes results/perf/grid.{json,md}.

Every executor runs the same tiny grid (real-only runs of one segmenter, ``smoke`` schedule, one seed per
run) into its own empty records folder, with the dataset already in the cache, so only execution differs.
Timed is the wall time of ``run_specs`` on the whole grid, worker and Ray start-up included.
"""

from __future__ import annotations

import os
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import click
import numpy as np
import torch
from PIL import Image

from bench.core.paths import results_dir
from bench.data.base import load_pool
from bench.executors.base import ExecutorOptions
from bench.executors.packing import cpu_cores
from bench.perf.host import host
from bench.perf.output import write_result
from bench.protocols.execute import make_executor, run_specs
from bench.records import RecordStore
from bench.spec import RunSpec


@contextmanager
def cache_at(path: Path):
    """Point bench's cache at ``path`` for this process and the workers it starts."""
    old = os.environ.get("BENCH_CACHE")
    os.environ["BENCH_CACHE"] = str(path)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("BENCH_CACHE", None)
        else:
            os.environ["BENCH_CACHE"] = old


def tiny_grid(segmenter: str, runs: int) -> list[RunSpec]:
    return [RunSpec(segmenter=segmenter, dataset="toy", category="wood", schedule="smoke", seed=seed) for seed in range(runs)]


def time_grid(specs: list[RunSpec], executor_name: str, options: ExecutorOptions, records: Path) -> float:
    executor = make_executor(executor_name, options)
    start = time.perf_counter()
    outcome = run_specs(specs, RecordStore(records), progress=False, executor=executor)
    seconds = time.perf_counter() - start
    if outcome.failures or outcome.done != len(specs):
        raise click.ClickException(f"{executor_name}: {len(outcome.failures)} run(s) failed: {outcome.failures[0].error}")
    return seconds


def write_folder_dataset(root: Path, pairs: int, size: int, seed: int = 0) -> None:
    """A ``folder`` dataset of random images with one rectangle defect each (the loading benchmark's input)."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    (root / "classes.yaml").write_text("1: scratch\n")
    for i in range(pairs):
        mask = np.zeros((size, size), np.uint8)
        top, left = rng.integers(0, size // 2, 2)
        mask[top : top + size // 8, left : left + size // 4] = 1
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(root / "images" / f"{i:04d}.png")
        Image.fromarray(mask).save(root / "masks" / f"{i:04d}.png")


def time_loading(work: Path, pairs: int, size: int) -> dict:
    data = work / "folder" / "parts"
    write_folder_dataset(data, pairs, size)
    with cache_at(work / "loading-cache"):
        start = time.perf_counter()
        load_pool("folder", "parts", data)
        uncached = time.perf_counter() - start
        start = time.perf_counter()
        load_pool("folder", "parts", data)
        cached = time.perf_counter() - start
    return {"pairs": pairs, "size": size, "uncached_s": uncached, "cached_s": cached, "uncached_over_cached": uncached / cached}


def benchmark(segmenter: str, runs: int, pairs: int, size: int, work: Path, with_ray: bool = True) -> dict:
    cores = cpu_cores()
    specs = tiny_grid(segmenter, runs)
    plans = {
        "sequential": ("inline", ExecutorOptions(threads=cores)),
        "packed": ("local", ExecutorOptions(jobs=cores, threads=1)),
    }
    if with_ray:
        plans["ray"] = ("ray", ExecutorOptions(threads=1))
    seconds = {}
    with cache_at(work / "grid-cache"):
        load_pool("toy", "wood")  # every executor finds the dataset cached
        for label, (name, options) in plans.items():
            seconds[label] = time_grid(specs, name, options, work / f"records-{label}")
    grid = {
        "segmenter": segmenter,
        "runs": runs,
        "schedule": "smoke",
        "seconds": seconds,
        "runs_per_min": {k: 60 * runs / s for k, s in seconds.items()},
        "packed_over_sequential": seconds["sequential"] / seconds["packed"],
    }
    if with_ray:
        grid["ray_over_local_time"] = seconds["ray"] / seconds["packed"]
    return {
        "schema": "bench.perf.grid/1",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **host(torch.device("cpu")),
        "cores": cores,
        "timed": "wall time of run_specs over the whole grid, worker and Ray start-up included; dataset pre-cached",
        "grid": grid,
        "loading": time_loading(work, pairs, size),
    }


def markdown(result: dict) -> str:
    grid, loading = result["grid"], result["loading"]
    lines = [
        f"# Grid throughput: {result['device']}, {result['cores']} cores",
        "",
        f"{grid['runs']} real-only `{grid['segmenter']}` runs, `{grid['schedule']}` schedule, toy `wood`; "
        f"{result['timed']}. torch {result['torch']}, load average {result['load_average']:.1f} at the end; {result['created']}.",
        "",
        "| executor | how | seconds | runs/min |",
        "| --- | --- | --- | --- |",
    ]
    how = {
        "sequential": f"inline, one run at a time, {result['cores']} threads",
        "packed": f"local, {result['cores']} processes x 1 thread",
        "ray": f"ray (local, started by the grid), {result['cores']} tasks x 1 CPU",
    }
    for label, seconds in grid["seconds"].items():
        lines.append(f"| {label} | {how[label]} | {seconds:.1f} | {grid['runs_per_min'][label]:.2f} |")
    lines += ["", f"packed / sequential throughput: **{grid['packed_over_sequential']:.2f}x**"]
    if "ray_over_local_time" in grid:
        lines.append(f"Ray / local wall time (overhead): **{grid['ray_over_local_time']:.2f}x**")
    lines += [
        "",
        f"Dataset loading, {loading['pairs']} pairs of {loading['size']} px (`folder` adapter): from the files "
        f"{loading['uncached_s']:.2f} s, from the cache {1000 * loading['cached_s']:.0f} ms "
        f"(**{loading['uncached_over_cached']:.0f}x**).",
    ]
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--segmenter", default="bisenetv2", show_default=True)
@click.option("--runs", default=4, show_default=True, type=int, help="Runs in the grid (seeds 0..runs-1).")
@click.option("--pairs", default=260, show_default=True, type=int, help="Pairs in the loading benchmark.")
@click.option("--size", default=256, show_default=True, type=int, help="Image side in the loading benchmark.")
@click.option("--ray/--no-ray", "with_ray", default=True, show_default=True)
@click.option("--out", default=None, type=click.Path(path_type=Path), help="Folder [default: results/perf].")
def main(segmenter, runs, pairs, size, with_ray, out):
    """Measure and write grid.{json,md}."""
    with tempfile.TemporaryDirectory(prefix="bench-perf-grid-") as work:
        result = benchmark(segmenter, runs, pairs, size, Path(work), with_ray)
    out = out or results_dir() / "perf"
    write_result(out, "grid", result, markdown(result))
    click.echo(markdown(result))


if __name__ == "__main__":
    main()
