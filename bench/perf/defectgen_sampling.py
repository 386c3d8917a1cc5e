"""Defect-Gen sampling throughput (pairs/s) at 256 px for the full and fast samplers, and their ratio.

Sampling time is almost all denoiser calls, so each paper-size denoiser (untrained weights: speed does
not depend on them) is timed per call after warm-up, and a sample's time is extrapolated from how many
calls of each model its plan makes. The extrapolation is stated in the output. Run it as
``python -m bench.perf.defectgen_sampling [--device auto|cpu|cuda] [--batch N] [--iters N]``; it writes
``results/perf/defectgen_sampling.{json,md}``.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from datetime import datetime, timezone

import click
import torch

from bench.core.errors import BenchError
from bench.core.paths import results_dir
from bench.core.progress import progress
from bench.perf.host import host
from bench.perf.output import write_result
from bench.runner import resolve_device
from generators.defectgen.config import PROFILES, READINGS, TIMESTEPS, small_shape
from generators.defectgen.plan import HANDOVERS, SAMPLERS, large_only, plan
from generators.defectgen.training import build_model

NUM_CLASSES = 6  # five defect types + background, the released configs' 9 channels
REFERENCE = "DefectSynth Table IV: 0.014 pairs/s for the original Defect-Gen code"


@torch.inference_mode()
def seconds_per_call(model: torch.nn.Module, batch: int, size: int, device: torch.device, warmup: int, iters: int) -> float:
    """Median wall time of one denoiser call on a batch, bf16 autocast on CUDA as in sampling."""
    x = torch.randn(batch, model.in_channels, size, size, device=device)
    t = torch.full((batch,), TIMESTEPS // 2, device=device)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")
    times = []
    for i in range(warmup + iters):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        with autocast:
            model(x, t)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def plans(u: int, fast_steps: int, mode: str) -> dict[str, dict[str, int]]:
    """Denoiser calls per sample by model, for each generator x sampler measured."""
    fast = SAMPLERS.get("fast").stride(fast_steps, TIMESTEPS)
    chains = {"defectgen": HANDOVERS.get(mode)(TIMESTEPS, u), "ddpm": large_only(TIMESTEPS)}
    return {
        f"{name} {sampler}": dict(Counter(s.model for s in plan(segments, stride)))
        for name, segments in chains.items()
        for sampler, stride in (("full", 1), (f"fast ({fast_steps} steps)", fast))
    }


def benchmark(device: torch.device, batch: int, warmup: int, iters: int, u: int, fast_steps: int, receptive_field: str,
              profile_name: str) -> dict:
    profile = PROFILES.get(profile_name)
    receptive_field = receptive_field or profile.field
    shapes = {"large": profile.large, "small": small_shape(profile, receptive_field)}
    mode = READINGS.get(profile.reading).mode
    per_call = {}
    for role, shape in progress(shapes.items(), desc="timing denoisers", unit="model"):
        model = build_model(shape, 3 + NUM_CLASSES, seed=0).to(device).eval()
        per_call[role] = seconds_per_call(model, batch, profile.resolution, device, warmup, iters)
        del model
    rows = []
    for label, calls in plans(u, fast_steps, mode).items():
        seconds = sum(n * per_call[role] for role, n in calls.items())
        rows.append({"sampler": label, "calls": calls, "seconds_per_batch": seconds, "pairs_per_s": batch / seconds})
    by_label = {r["sampler"]: r["pairs_per_s"] for r in rows}
    fast_label = f"fast ({fast_steps} steps)"
    return {
        "schema": "bench.perf.defectgen_sampling/1",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **host(device),
        "precision": "bf16 autocast" if device.type == "cuda" else "fp32",
        "profile": profile.name,
        "mode": mode,
        "resolution": profile.resolution,
        "num_classes": NUM_CLASSES,
        "batch": batch,
        "warmup": warmup,
        "iters": iters,
        "u": u,
        "receptive_field": receptive_field,
        "seconds_per_call": per_call,
        "method": "extrapolated: median seconds per denoiser call x calls per sample; sampler arithmetic excluded",
        "rows": rows,
        "fast_over_full": {
            name: by_label[f"{name} {fast_label}"] / by_label[f"{name} full"] for name in ("defectgen", "ddpm")
        },
        "reference": REFERENCE,
    }


def markdown(result: dict) -> str:
    lines = [
        f"# Defect-Gen sampling throughput: {result['device']}",
        "",
        f"{result['resolution']} px, profile `{result['profile']}` (untrained weights), {result['num_classes']} mask "
        f"channels, batch {result['batch']}, {result['precision']}, u = {result['u']} ({result['mode']} hand-over), "
        "small receptive field "
        f"'{result['receptive_field']}'; torch {result['torch']}, {result['threads']} threads; {result['created']}.",
        "",
        f"Extrapolated, not run end to end: median of {result['iters']} timed denoiser calls "
        f"({result['warmup']} warm-up) x calls per sample. Seconds per call: "
        + ", ".join(f"{role} {s:.3f}" for role, s in result["seconds_per_call"].items())
        + ".",
        "",
        "| generator and sampler | large calls | small calls | pairs/s |",
        "| --- | --- | --- | --- |",
    ]
    for row in result["rows"]:
        calls = row["calls"]
        lines.append(f"| {row['sampler']} | {calls.get('large', 0)} | {calls.get('small', 0)} | {row['pairs_per_s']:.4g} |")
    ratios = ", ".join(f"{name} {ratio:.1f}x" for name, ratio in result["fast_over_full"].items())
    lines += ["", f"fast / full: {ratios}", "", f"Reference: {result['reference']}."]
    return "\n".join(lines) + "\n"



@click.command()
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--batch", default=None, type=int, help="Samples per batch [default: 1 on CPU, the profile's on CUDA].")
@click.option("--warmup", default=1, show_default=True, type=int)
@click.option("--iters", default=2, show_default=True, type=int)
@click.option("--u", default=50, show_default=True, type=int)
@click.option("--fast-steps", default=50, show_default=True, type=int)
@click.option("--receptive-field", default=None, help="Small denoiser's field [default: the profile's].")
@click.option("--profile", default="paper", show_default=True, help="defectgen profile whose denoisers are timed.")
def main(device, batch, warmup, iters, u, fast_steps, receptive_field, profile):
    """Measure and write results/perf/defectgen_sampling.{json,md}."""
    device = resolve_device(device)
    batch = batch or (PROFILES.get(profile).sample_batch if device.type == "cuda" else 1)
    try:
        result = benchmark(device, batch, warmup, iters, u, fast_steps, receptive_field, profile)
    except BenchError as exc:
        raise click.ClickException(str(exc)) from None
    out = results_dir() / "perf"
    write_result(out, "defectgen_sampling", result, markdown(result))
    click.echo(markdown(result))


if __name__ == "__main__":
    main()
