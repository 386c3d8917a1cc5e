"""DefectDiffu speed: seconds per training iteration and sampled pairs per second, per profile.

Models are built at each profile's architecture with untrained weights (speed does not depend on them;
the paper and released profiles use the DiT-XL/2 and SD-VAE shapes without needing the files). Timed:

- training: one optimizer step of the real loss (``TrainingStep``: draws, forward, eq. 11, backward,
  AdamW) at the profile's batch; the VAE encoding happens once before training and is excluded;
- sampling: ``denoise`` of one batch run with 2 and with 4 steps. Both chains end with the same VAE
  decodes, so the difference is two guided steps (one batched forward over every guidance branch plus
  the scheduler step) and the rest is the decoding. A full chain at the profile's step count is then
  extrapolated as steps x step + decodes (image, and mask once or per step with t < 100 as the reading
  says); ``--measure-chain`` also runs the full chain for the profiles small enough.

Run it as ``python -m bench.perf.defectdiffu [--profiles toy,smoke] [--device auto|cpu|cuda]``. Results
for each machine are kept side by side in ``results/perf/defectdiffu.{json,md}``: a run replaces the
entry of its own device and keeps the others.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from datetime import datetime, timezone

import click
import torch

from bench.core.errors import BenchError
from bench.core.paths import results_dir
from bench.perf.output import write_result
from bench.provenance import device_name
from generators.defectdiffu.config import GOOD, LATENT_CHANNELS, MASK_BELOW, PROFILES, READINGS, prompts
from generators.defectdiffu.dit import DiT, DiTConfig
from generators.defectdiffu.guidance import GUIDANCES
from generators.defectdiffu.sampling import denoise, make_scheduler, sample_generators
from generators.defectdiffu.text import TextBank
from generators.defectdiffu.training import Encoded, TrainingStep
from generators.diffusion_common import offline, tiny_vae

STEM = "defectdiffu"
# stabilityai/sd-vae-ft-mse's architecture, and OpenAI CLIP RN50's text widths (pooled 1024, tokens 512)
SD_VAE = dict(block_out_channels=(128, 256, 512, 512), layers_per_block=2, norm_num_groups=32, latent_channels=4,
              down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4, scaling_factor=0.18215)
RN50_TEXT = (1024, 512)
WORDS = ("crack", "hole")


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise BenchError("--device cuda requested but no CUDA device is available")
    return torch.device(name)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _median_seconds(fn, device: torch.device, warmup: int, iters: int) -> float:
    times = []
    for i in range(warmup + iters):
        _sync(device)
        start = time.perf_counter()
        fn(i)
        _sync(device)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def _parts(profile_name: str, device: torch.device):
    """Untrained model, VAE and a random text bank at the profile's shapes."""
    offline()
    from diffusers import AutoencoderKL

    profile = PROFILES.get(profile_name)
    reading = READINGS.get(profile.reading)
    vae = tiny_vae(profile.vae_channels) if profile.vae == "tiny" else AutoencoderKL(**SD_VAE)
    vae = vae.to(device).eval().requires_grad_(False)
    text_dim, context_dim = (profile.text_width, profile.text_width) if profile.text == "tiny" else RN50_TEXT
    texts = sorted({t for w in (*WORDS, GOOD) for p in ("product", None) for t in prompts(w, p)})
    g = torch.Generator().manual_seed(0)
    length = profile.max_tokens
    bank = TextBank(tuple(texts), torch.randn(len(texts), text_dim, generator=g), torch.randn(len(texts), length, context_dim, generator=g),
                    torch.full((len(texts), length), 1.0 / length))
    latent = profile.resolution // 2 ** (len(vae.config.block_out_channels) - 1)
    config = DiTConfig(latent, profile.patch, LATENT_CHANNELS, profile.hidden, profile.heads, profile.blocks, text_dim, context_dim,
                       reading.context, reading.learn_sigma, reading.gelu)
    return profile, reading, vae, bank, DiT(config).to(device)


def training_seconds(model: DiT, bank: TextBank, reading, batch: int, device: torch.device, warmup: int, iters: int) -> float:
    side, grid = model.config.input_size, model.config.grid
    n = 8
    g = torch.Generator().manual_seed(1)
    mask = (torch.rand(n, 1, side, side, generator=g) > 0.9).float()
    data = Encoded(torch.randn(n, 4, side, side, generator=g), torch.full((n, 4, side, side), 0.05), torch.randn(n, 4, side, side, generator=g),
                   torch.full((n, 4, side, side), 0.05), mask, torch.nn.functional.adaptive_max_pool2d(mask, grid)[:, 0],
                   tuple((WORDS * n)[:n]), ("product",) * n)
    step = TrainingStep(model.train(), data, bank, reading, batch, seed=0, device=device)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)

    def one(i):
        loss = step.loss(i)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return _median_seconds(one, device, warmup, iters)


def chain_seconds(model: DiT, vae, bank: TextBank, reading, batch: int, steps: int, device: torch.device) -> float:
    guidance = GUIDANCES.get(reading.guidance)
    words = [WORDS[i % len(WORDS)] for i in range(batch)]

    def run(_):
        denoise(model.eval(), vae, bank, guidance, reading, steps, words, "product", torch.ones(batch), 1.0,
                sample_generators(0, range(batch)), device, progress=False)

    return _median_seconds(run, device, warmup=1, iters=1)


def mask_decodes(reading, steps: int) -> int:
    scheduler = make_scheduler(reading.learn_sigma)
    scheduler.set_timesteps(steps)
    return int((scheduler.timesteps < MASK_BELOW).sum()) if reading.mask_average == "decoded" else 1


def measure(profile_name: str, device: torch.device, warmup: int, iters: int, measure_chain: bool) -> dict:
    profile, reading, vae, bank, model = _parts(profile_name, device)
    steps = profile.steps or reading.steps
    row = {
        "profile": profile_name, "reading": reading.name, "resolution": profile.resolution,
        "dit_parameters": sum(p.numel() for p in model.parameters()), "train_batch": profile.batch_size,
        "sample_batch": profile.sample_batch, "guidance_branches": len(GUIDANCES.get(reading.guidance).branches), "steps": steps,
    }
    row["train_s_per_iteration"] = training_seconds(model, bank, reading, profile.batch_size, device, warmup, iters)
    two = chain_seconds(model, vae, bank, reading, profile.sample_batch, 2, device)
    four = chain_seconds(model, vae, bank, reading, profile.sample_batch, 4, device)
    step_s = max((four - two) / 2, 0.0)
    decode_s = max((two - 2 * step_s) / 2, 0.0)  # the 2-step chain decodes the image and one mask
    decodes = 1 + mask_decodes(reading, steps)
    seconds = steps * step_s + decodes * decode_s
    row |= {"sample_s_per_step": step_s, "decode_s": decode_s, "decodes_per_chain": decodes,
            "chain_s_extrapolated": seconds, "pairs_per_s": profile.sample_batch / seconds}
    if measure_chain:
        full = chain_seconds(model, vae, bank, reading, profile.sample_batch, steps, device)
        row |= {"chain_s_measured": full, "pairs_per_s_measured": profile.sample_batch / full}
    return row


def markdown(result: dict) -> str:
    lines = [
        "# DefectDiffu speed",
        "",
        "Untrained weights at each profile's architecture. Training: median seconds of one optimizer step (draws, "
        "forward, eq. 11, backward, AdamW) at the profile's batch. Sampling: pairs/s of one batch, extrapolated "
        "from 2- and 4-step chains as steps x step + VAE decodes; 'measured' runs the whole chain.",
    ]
    for machine, run in sorted(result["runs"].items()):
        lines += [
            "",
            f"## {machine}",
            "",
            f"{run['device_type']}, {run['precision']}, torch {run['torch']}, {run['threads']} threads of "
            f"{run.get('cpu_count')} cores (1-minute load average {run.get('load_average_1min')} at the start), "
            f"median of {run['iters']} after {run['warmup']} warm-up; {run['created']}.",
            "",
            "| profile | reading | px | DiT params | train batch | s / iteration | sample batch | branches | steps | s / step | pairs/s | pairs/s measured |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for r in run["rows"]:
            measured = f"{r['pairs_per_s_measured']:.4g}" if "pairs_per_s_measured" in r else "-"
            lines.append(
                f"| {r['profile']} | {r['reading']} | {r['resolution']} | {r['dit_parameters']:,} | {r['train_batch']} | "
                f"{r['train_s_per_iteration']:.4g} | {r['sample_batch']} | {r['guidance_branches']} | {r['steps']} | "
                f"{r['sample_s_per_step']:.4g} | {r['pairs_per_s']:.4g} | {measured} |"
            )
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--profiles", default=None, help="Comma-separated [default: toy,smoke on CPU; toy,released,paper on CUDA].")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--warmup", default=2, show_default=True, type=int)
@click.option("--iters", default=5, show_default=True, type=int)
@click.option("--measure-chain/--no-measure-chain", default=True, show_default=True,
              help="Also run the full chain of the profiles without external weights.")
@click.option("--threads", default=None, type=int, help="CPU threads for torch [default: torch's choice].")
def main(profiles, device, warmup, iters, measure_chain, threads):
    """Measure and write results/perf/defectdiffu.{json,md} (this machine's entry)."""
    if threads is not None:
        torch.set_num_threads(threads)
    device = _device(device)
    load = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    names = profiles.split(",") if profiles else (["toy", "released", "paper"] if device.type == "cuda" else ["toy", "smoke"])
    try:
        rows = [measure(n.strip(), device, warmup, iters, measure_chain and PROFILES.get(n.strip()).vae == "tiny") for n in names]
    except BenchError as exc:
        raise click.ClickException(str(exc)) from None
    out = results_dir() / "perf"
    path = out / f"{STEM}.json"
    result = json.loads(path.read_text()) if path.is_file() else {"schema": "bench.perf.defectdiffu/1", "runs": {}}
    result["runs"][device_name(device)] = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "device_type": device.type, "torch": torch.__version__,
        "threads": torch.get_num_threads(), "precision": "bf16 autocast" if device.type == "cuda" else "fp32",
        "warmup": warmup, "iters": iters, "load_average_1min": load, "cpu_count": os.cpu_count(), "rows": rows,
    }
    write_result(out, STEM, result, markdown(result))
    click.echo(markdown(result))


if __name__ == "__main__":
    main()
