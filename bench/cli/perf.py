from __future__ import annotations

from pathlib import Path

import click

from bench.core.device import resolve_device
from bench.core.paths import results_dir
from segmenters import SEGMENTERS
from segmenters.registry import table_order


@click.group()
def perf():
    """Speed benchmarks, written to results/perf/."""


@perf.command("segmenters")
@click.option("--segmenters", "names", default="all", show_default=True, help="'all' or comma-separated names.")
@click.option("--size", default=512, show_default=True, type=int, help="Square input side (the paper's is 512).")
@click.option("--batch-size", default=8, show_default=True, type=int, help="Batch for the throughput measurement.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--warmup", default=3, show_default=True, type=int, help="Untimed calls before timing.")
@click.option("--iters", default=10, show_default=True, type=int, help="Timed calls per measurement.")
@click.option("--threads", default=None, type=int, help="CPU threads for torch [default: torch's choice].")
@click.option("--out", default=None, type=click.Path(path_type=Path), help="Folder [default: results/perf].")
def perf_segmenters(names, size, batch_size, device, warmup, iters, threads, out):
    """Latency (ms per image, batch 1) and throughput of the segmenters, in Defect Spectrum Table 2 format."""
    # deferred: the benchmark builds models with torch and MMSegmentation
    from bench.perf.segmenters import benchmark

    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    chosen = table_order(SEGMENTERS.names()) if names == "all" else [SEGMENTERS.canonical(n.strip().lower()) for n in names.split(",") if n.strip()]
    for name in chosen:
        SEGMENTERS.get(name)  # unknown names fail before any model is built
    _, json_path, md_path = benchmark(chosen, size, batch_size, resolve_device(device), warmup, iters, out or results_dir() / "perf")
    click.echo(md_path.read_text())
    click.echo(f"written: {json_path} and {md_path}")


COMMANDS = [perf]
