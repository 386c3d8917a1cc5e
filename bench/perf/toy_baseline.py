"""Does the default schedule teach the segmenter the toy defects? The real-only baseline of `bench run`
(default schedule, SegFormer-B0 from scratch) on every toy product and a few seeds: mIoU, defect mIoU,
how much of the test set it predicts as background, and the wall time per run.

A benchmark, not a test: it trains real models for minutes. Writes results/perf/toy_baseline.{json,md}.
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import click
import numpy as np
import torch

from bench.api import run
from bench.core.paths import results_dir
from bench.data import toy
from bench.perf.grid import cache_at
from bench.perf.host import host
from bench.perf.output import write_result
from bench.spec import DEFAULT_SCHEDULE, RunSpec


def background_share(record: dict) -> float:
    """Fraction of test pixels predicted as background (1.0: the segmenter learned nothing)."""
    cm = np.asarray(record["confusion_matrix"], dtype=float)
    return float(cm[:, 0].sum() / cm.sum())


def benchmark(segmenter: str, seeds: tuple[int, ...], schedule: str, work: Path) -> dict:
    rows = []
    with cache_at(work / "cache"):
        for category in toy.CATEGORIES:
            for seed in seeds:
                spec = RunSpec(segmenter=segmenter, category=category, schedule=schedule, seed=seed, device="cpu")
                start = time.perf_counter()
                record = run(spec, records=work / "runs", progress=False).record
                m = record["metrics"]
                rows.append({"category": category, "seed": seed, "seconds": time.perf_counter() - start, "mIoU": m["mIoU"],
                             "mIoU_defect": m["mIoU_defect"], "background_share": background_share(record)})
    return {
        "schema": "bench.perf.toy_baseline/1",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **host(torch.device("cpu")),
        "segmenter": segmenter,
        "schedule": schedule,
        "runs": rows,
    }


def markdown(result: dict) -> str:
    lines = [
        f"# Real-only toy baseline at the default schedule: {result['device']}",
        "",
        f"`bench run` defaults: `{result['segmenter']}` from scratch, `{result['schedule']}` schedule, split `ds-5shot`, ratio 0; "
        f"{result['threads']} torch threads, load average {result['load_average']:.1f} at the end; {result['created']}.",
        "",
        "| product | seeds | mIoU (%) | defect mIoU (%) | predicted background (% of test pixels) | seconds per run |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for category in dict.fromkeys(r["category"] for r in result["runs"]):
        runs = [r for r in result["runs"] if r["category"] == category]

        def stat(key, scale=100.0):
            values = np.array([r[key] for r in runs], dtype=float) * scale
            return f"{values.mean():.2f} ± {values.std(ddof=1):.2f}" if len(values) > 1 else f"{values.mean():.2f}"

        lines.append(f"| {category} | {', '.join(str(r['seed']) for r in runs)} | {stat('mIoU')} | {stat('mIoU_defect')} | "
                     f"{stat('background_share')} | {stat('seconds', 1.0)} |")
    lines += ["", "mean ± sample std over seeds; a segmenter that learned nothing predicts 100 % background and scores 0 defect mIoU."]
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--segmenter", default="segformer", show_default=True)
@click.option("--seeds", default="0,1", show_default=True, help="Comma-separated seeds.")
@click.option("--schedule", default=DEFAULT_SCHEDULE, show_default=True)
@click.option("--out", default=None, type=click.Path(path_type=Path), help="Folder [default: results/perf].")
def main(segmenter, seeds, schedule, out):
    with tempfile.TemporaryDirectory(prefix="bench-toy-baseline-") as work:
        result = benchmark(segmenter, tuple(int(s) for s in seeds.split(",")), schedule, Path(work))
    json_path, md_path = write_result(out or results_dir() / "perf", "toy_baseline", result, markdown(result))
    click.echo(md_path.read_text())
    click.echo(f"written: {json_path} and {md_path}")


if __name__ == "__main__":
    main()
