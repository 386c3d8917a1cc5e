"""Generator throughput end to end: pairs/s of every native generator, from the ``sample()`` call to the
pairs written on disk as a pair set, batched where the backend samples in batches.

Each generator is fitted on the toy ``wood`` task's ``ds-5shot`` training pairs and normals, then one
batch is sampled untimed (kernel selection, first-call allocations), then ``n`` pairs are sampled and
written with ``write_pairset`` under the wall clock, the device synchronized at both ends, GPU
utilisation sampled on CUDA. Learned backends run at a profile's architecture and sampler (``toy``
where the backend has one, else its CPU-sized ``smoke``; ``--profile`` picks another) with the batch
given; their training is cut to one step unless ``--full-training``: sampling cost depends on the
shapes, not on what the weights learned. Run it as ``python -m bench.perf.generators``; it writes
``results/perf/generators.{json,md}``. ``measure`` is a plain function for other timing code.
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping, Sequence

import click
import torch

from bench.core.device import resolve_device
from bench.core.errors import BenchError
from bench.core.pairset import PairSet, write_pairset
from bench.core.paths import results_dir
from bench.core.progress import progress
from bench.core.registry import Registry
from bench.core.specs import GeneratorSpec
from bench.data.base import load_pool
from bench.data.splits import make_split
from bench.perf.grid import cache_at
from bench.perf.host import host
from bench.perf.output import write_result
from bench.perf.utilisation import describe, timed
from generators import GENERATORS
from generators.dcdganc.config import PROFILES as DCDGANC_PROFILES
from generators.defectdiffu.config import PROFILES as DEFECTDIFFU_PROFILES
from generators.defectgen.config import PROFILES as DEFECTGEN_PROFILES
from generators.defectsynth.config import PROFILES as DEFECTSYNTH_PROFILES
from generators.registry import build

STEM = "generators"
PREFERRED = ("toy", "smoke")  # the profile measured by default: the first the backend has
TIMED = "wall time from the sample() call to the pair set written on disk, device synchronized at both ends"


@dataclass(frozen=True)
class Learned:
    """How the benchmark sets a learned backend's sampling batch and shortest training."""

    profiles: Registry
    holder: str = "profile"  # the generator attribute that holds the resolved profile
    budget: Mapping[str, int] = field(default_factory=dict)  # profile fields that set a one-step training
    batched: bool = True  # whether ``sample_batch`` of the profile sets the sampling batch

    def names(self) -> list[str]:
        return self.profiles.names()

    def resolved(self, generator) -> object:
        return getattr(generator, self.holder)

    def adapt(self, generator, batch: int, full_training: bool) -> None:
        """Set the batch (and the one-step budget) on the profile the generator resolved."""
        changes = {} if full_training else dict(self.budget)
        if self.batched:
            changes["sample_batch"] = batch
        setattr(generator, self.holder, dataclasses.replace(self.resolved(generator), **changes))


ONE_STEP = {"checkpoint_every": 1}
LEARNED: dict[str, Learned] = {
    "defectgen": Learned(DEFECTGEN_PROFILES, budget={"iterations": 1, **ONE_STEP}),
    "ddpm": Learned(DEFECTGEN_PROFILES, budget={"iterations": 1, **ONE_STEP}),
    "dcdganc": Learned(DCDGANC_PROFILES, budget={"iterations": 1, **ONE_STEP}, batched=False),  # samples pair by pair
    "defectdiffu": Learned(DEFECTDIFFU_PROFILES, budget={"epochs": 1, "vae_steps": 1, **ONE_STEP}),
    "defectsynth": Learned(DEFECTSYNTH_PROFILES, holder="scale", budget={"epochs": 1, "standin_iterations": 1, **ONE_STEP}),
}


def native_generators() -> list[str]:
    """Every generator that makes pairs itself: the baselines (``none`` makes none) and the learned backends."""
    return [name for name in GENERATORS.names()
            if GENERATORS.get(name).kind in ("baseline", "learned") and name != "none"]


def default_profile(name: str) -> str | None:
    """The profile measured when none is named: toy where it exists, else smoke; None for a baseline."""
    if name not in LEARNED:
        return None
    names = LEARNED[name].names()
    for wanted in PREFERRED:
        if wanted in names:
            return wanted
    raise BenchError(f"generator '{name}' has neither of the profiles {', '.join(PREFERRED)}", "pass --profile")


def measure(name: str, profile: str | None, batch: int, n: int, seed: int, train: PairSet, normals: PairSet | None,
            device: torch.device, work: Path, full_training: bool = False, sampler: str | None = None,
            warmup: int | None = None) -> dict:
    """Fit one generator and time ``n`` pairs from ``sample()`` to disk after ``warmup`` untimed pairs (default:
    one batch). ``sampler`` goes to the backends that take one (Defect-Gen, DDPM)."""
    learned = LEARNED.get(name)
    params = {"profile": profile, "device": device.type} if learned else {}
    if sampler is not None:
        params["sampler"] = sampler
    generator = build(GeneratorSpec.of(name, **params))
    if learned:
        learned.adapt(generator, batch, full_training)
    _, fit_seconds, _ = timed(device, lambda: generator.fit(train, normals, seed))
    batched = bool(learned and learned.batched)
    warm = warmup if warmup is not None else (batch if batched else 1)
    source = {"generator": name, "profile": profile, "sampler": sampler, "benchmark": STEM}
    folder = work / f"{name}-{sampler or 'default'}"
    if warm:
        write_pairset(folder.with_name(folder.name + "-warmup"), generator.sample(warm, seed + 1), train.classes, source, seed=seed + 1)
    written, seconds, utilisation = timed(
        device, lambda: write_pairset(folder, generator.sample(n, seed), train.classes, source, seed=seed))
    if len(written) != n:
        raise BenchError(f"generator '{name}' wrote {len(written)} pairs, {n} were asked for")
    settings = learned.resolved(generator) if learned else None
    return {
        "name": name,
        "kind": GENERATORS.get(name).kind,
        "profile": profile,
        "sampler": sampler,
        "resolution": getattr(settings, "resolution", None),
        "batch": batch if batched else None,
        "training": None if not learned else ("profile" if full_training else "one step"),
        "n": n,
        "warmup_pairs": warm,
        "fit_seconds": fit_seconds,
        "seconds": seconds,
        "pairs_per_s": n / seconds,
        "image_size": list(written.image(written.ids[0]).shape[:2]),
        "utilisation": utilisation,
    }


def toy_training() -> tuple[PairSet, PairSet]:
    """The toy wood task's ds-5shot training pairs and normals (loaded into the current cache)."""
    pool = load_pool("toy", "wood")
    split = make_split(pool, "ds-5shot")
    return pool.subset(split.train), pool.subset(split.normal_train)


def takes_sampler(name: str) -> bool:
    return "sampler" in GENERATORS.get(name).declared()


def cases(names: Sequence[str], samplers: Sequence[str]) -> list[tuple[str, str | None]]:
    """(generator, sampler) pairs: each sampler for the backends that take one, the generator alone otherwise."""
    return [(name, sampler) for name in names for sampler in (samplers if takes_sampler(name) else (None,))]


def benchmark(names: Sequence[str], profiles: Mapping[str, str | None], batch: int, n: int, device: torch.device,
              seed: int = 0, full_training: bool = False, show_progress: bool = True, samplers: Sequence[str] = ("full", "fast"),
              warmup: int | None = None) -> dict:
    """Measure every named generator in a private cache; the result is what ``generators.json`` holds."""
    if batch < 1 or n < 1:
        raise BenchError(f"bad benchmark settings (batch {batch}, n {n})", "use batch >= 1 and n >= 1")
    with tempfile.TemporaryDirectory(prefix="bench-perf-generators-") as tmp:
        work = Path(tmp)
        with cache_at(work / "cache"):
            train, normals = toy_training()
            rows = [measure(name, profiles.get(name), batch, n, seed, train, normals, device, work / "sets", full_training,
                            sampler, warmup)
                    for name, sampler in progress(cases(names, samplers), desc="perf generators", unit="generator",
                                                  enabled=show_progress)]
    return {
        "schema": "bench.perf.generators/1",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **host(device),
        "data": "toy wood, ds-5shot training pairs and normals",
        "batch": batch,
        "n": n,
        "seed": seed,
        "timed": TIMED,
        "warmup": ("one batch (one pair where the backend samples pair by pair)" if warmup is None else f"{warmup} pair(s)")
        + " sampled and written first, untimed",
        "training": "as the profile says" if full_training else "cut to one step: sampling cost depends on the shapes only",
        "rows": rows,
    }


def markdown(result: dict) -> str:
    lines = [
        f"# Generator throughput, sample() to disk: {result['device']}",
        "",
        f"{result['data']}; {result['n']} pairs per generator, batch {result['batch']} where the backend samples "
        f"in batches; training {result['training']}. Timed: {result['timed']}; warm-up: {result['warmup']}. "
        f"torch {result['torch']}, {result['threads']} threads, load average {result['load_average']:.1f} at the end; "
        f"{result['created']}.",
        "",
        "| generator | kind | profile | sampler | model px | batch | pairs/s | seconds | fit s | GPU utilisation |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['name']} | {row['kind']} | {dash(row['profile'])} | {dash(row['sampler'])} | {dash(row['resolution'])} "
            f"| {dash(row['batch'])} "
            f"| {row['pairs_per_s']:.3g} | {row['seconds']:.2f} | {row['fit_seconds']:.1f} | {describe(row['utilisation'])} |"
        )
    return "\n".join(lines) + "\n"


def dash(value) -> str:
    return "-" if value is None else str(value)


def parse_profiles(names: Sequence[str], overrides: Sequence[str]) -> dict[str, str | None]:
    """Each generator's profile: ``name=profile`` overrides, else ``default_profile``."""
    chosen = {name: default_profile(name) for name in names}
    for item in overrides:
        name, _, profile = item.partition("=")
        name = GENERATORS.canonical(name.strip())
        if name not in LEARNED or not profile:
            raise BenchError(f"--profile {item!r}: not GENERATOR=PROFILE of a learned generator",
                             f"learned generators: {', '.join(LEARNED)}")
        LEARNED[name].profiles.get(profile)  # an unknown profile fails here, naming the known ones
        chosen[name] = profile
    return chosen


@click.command()
@click.option("--generators", "names", default="all", show_default=True, help="Comma-separated names, or all native ones.")
@click.option("--profile", "overrides", multiple=True, help="GENERATOR=PROFILE, repeatable [default: toy, else smoke].")
@click.option("--batch", default=4, show_default=True, type=int, help="Sampling batch of the batched backends.")
@click.option("--n", default=8, show_default=True, type=int, help="Pairs timed per generator.")
@click.option("--samplers", default="full,fast", show_default=True, help="Samplers of the backends that take one.")
@click.option("--warmup", default=None, type=int, help="Untimed pairs first [default: one batch].")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--full-training", is_flag=True, help="Train as the profile says instead of one step (minutes each on a CPU).")
@click.option("--out", default=None, type=click.Path(path_type=Path), help="Folder [default: results/perf].")
def main(names, overrides, batch, n, samplers, warmup, device, full_training, out):
    """Measure and write generators.{json,md}."""
    try:
        chosen = native_generators() if names == "all" else [GENERATORS.canonical(x.strip()) for x in names.split(",") if x.strip()]
        for name in chosen:
            GENERATORS.get(name)  # unknown names fail before anything is fitted
        result = benchmark(chosen, parse_profiles(chosen, overrides), batch, n, resolve_device(device), full_training=full_training,
                           samplers=[x.strip() for x in samplers.split(",") if x.strip()], warmup=warmup)
    except (BenchError, KeyError) as exc:
        raise click.ClickException(str(exc)) from None
    write_result(out or results_dir() / "perf", STEM, result, markdown(result))
    click.echo(markdown(result))


if __name__ == "__main__":
    main()
