"""Do the CPU ``toy`` profiles of the learned generators learn? Train each on an embedded toy product in a
fresh model cache, time training and sampling, and judge the generated pairs by mask alignment against the
real held-out pairs' own score, plus defect contrast (docs/metrics.md).

A benchmark, not a test: it trains real models for minutes. ``--fast-steps 25,50,100`` also samples Defect-Gen
with the strided sampler at those lengths from the same trained denoisers (the full chain is the 1000-step
entry), and ``--kid`` adds KID against the real test images with torch-fidelity's Inception v3 at the
random initialisation the tests use (a feature extractor that needs no download: a relative measure between
the sets of one run, not comparable with published KID). Run ``python -m bench.perf.learned_toy``; it writes
``results/perf/learned_toy.{json,md}``.
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import click
import numpy as np
import torch

from bench.alignment import AlignmentSetup, alignment_of_sets
from bench.core.errors import BenchError
from bench.core.pairset import PairSet, write_pairset
from bench.core.paths import results_dir
from bench.core.specs import GeneratorSpec
from bench.data.base import load_pool
from bench.data.splits import make_split
from bench.perf.grid import cache_at
from bench.perf.host import host
from bench.perf.output import write_result
from generators import build
from generators.contrast import set_contrast
from segmenters import SCHEDULES

GENERATORS = ("defectgen", "ddpm", "dcdganc")
REFERENCE = "real_test"  # the split's held-out real defect pairs: the score a generated set is read against


def test_inception(path: Path) -> Path:
    """torch-fidelity's Inception v3 at a seeded random initialisation, saved where it loads from."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    class Unloaded(FeatureExtractorInceptionV3):
        def load_state_dict(self, state_dict, strict=True, assign=False):
            return super().load_state_dict(state_dict, strict=False)

    empty = path.with_name("empty.pth")
    torch.save({}, empty)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        torch.save(Unloaded("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(empty)).state_dict(), path)
    return path


def images(pairs: PairSet) -> np.ndarray:
    return np.stack([pairs.image(i) for i in pairs.ids])


def run_generator(spec: GeneratorSpec, train: PairSet, normals: PairSet, pairs: int, seed: int, out: Path) -> tuple[dict, PairSet]:
    generator = build(spec)
    start = time.perf_counter()
    generator.fit(train, normals, seed)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    generated = list(generator.sample(pairs, seed))
    sample_s = time.perf_counter() - start
    label = spec.name + "".join(f" {k}={v}" for k, v in sorted(dict(spec.params).items()) if k != "profile")
    written = write_pairset(out / label.replace(" ", "_").replace("=", "-"), generated, train.classes, {"generator": label}, seed)
    row = {"label": label, "generator": spec.name, "params": dict(spec.params), "settings": generator.settings(),
           "deviations": list(generator.deviations(train)), "fit_s": fit_s, "sample_s": sample_s,
           "pairs": len(generated), "pairs_per_s": len(generated) / sample_s}
    return row, written


def benchmark(names: tuple[str, ...], category: str, split: str, pairs: int, seed: int, fast_steps: tuple[int, ...],
              kid: bool, segmenter: str, schedule: str, work: Path, profile: str = "toy") -> dict:
    pool = load_pool("toy", category)
    chosen = make_split(pool, split)
    train, normals, test = pool.subset(chosen.train), pool.subset(chosen.normal_train), pool.subset(chosen.test)
    test = test.subset([i for i in test.ids if test.mask(i).any()])  # the real defect pairs held out
    specs = [GeneratorSpec.of(name, profile=profile) for name in names]
    if "defectgen" in names:
        specs += [GeneratorSpec.of("defectgen", profile=profile, sampler="fast", steps=n) for n in fast_steps]
    rows, sets = [], {}
    with cache_at(work / "cache"):  # a fresh cache: every network trains, nothing is served from before
        for spec in specs:
            row, written = run_generator(spec, train, normals, pairs, seed, work / "sets")
            rows.append(row)
            sets[row["label"]] = written
    start = time.perf_counter()
    setup = AlignmentSetup(segmenter, SCHEDULES.get(schedule), seed, "cpu")
    alignment = alignment_of_sets(setup, train, {**sets, REFERENCE: test})
    alignment_s = time.perf_counter() - start
    fidelity = {}
    if kid:
        from bench.metrics.quality import fidelity_metrics  # deferred: torch-fidelity loads only for --kid

        weights = test_inception(work / "inception.pth")
        fidelity = {label: fidelity_metrics(images(s), images(test), weights, torch.device("cpu")) for label, s in sets.items()}
    for row in rows:
        row["alignment"] = alignment[row["label"]]
        row["contrast"] = set_contrast(sets[row["label"]])
        if kid:
            row["fidelity"] = fidelity[row["label"]]
    return {
        "schema": "bench.perf.learned_toy/1",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **host(torch.device("cpu")),
        "precision": "fp32",
        "data": {"dataset": "toy", "category": category, "split": split, "train_pairs": len(train),
                 "normals": len(normals), "test_defect_pairs": len(test), "classes": pool.defect_classes},
        "seed": seed,
        "profile": profile,
        "alignment_setup": setup.to_dict(),
        "alignment_s": alignment_s,
        "reference": {"alignment": alignment[REFERENCE], "contrast": set_contrast(test)},
        "kid_extractor": "torch-fidelity inception-v3-compat, seeded random initialisation (the tests' extractor)" if kid else None,
        "runs": rows,
    }


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _num(value, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def markdown(result: dict) -> str:
    d, ref = result["data"], result["reference"]
    setup = result["alignment_setup"]
    kid = result["kid_extractor"] is not None
    lines = [
        f"# Learned generators on the `{result['profile']}` profile: {result['device']}",
        "",
        f"toy/{d['category']}, split {d['split']} ({d['train_pairs']} training pairs, {d['normals']} normals); "
        f"{result['precision']}, torch {result['torch']}, {result['threads']} threads, load average "
        f"{result['load_average']:.1f} at the end; seed {result['seed']}; {result['created']}.",
        "",
        f"Mask alignment: a `{setup['segmenter']}` segmenter trained on the real training pairs (schedule "
        f"`{setup['schedule']['name']}`, from scratch) labels every set; IoU of its labels with each set's masks "
        f"(defect classes merged). The mark is the same segmenter on the {d['test_defect_pairs']} real held-out "
        f"defect pairs: **{_pct(ref['alignment']['IoU_defect'])} %**. Contrast: median grey level of the ring "
        f"around each defect minus the defect's own; real held-out pairs: {_num(ref['contrast']['median'])}.",
        "",
        "| generator | train (s) | pairs | sampling (s) | pairs/s | IoU % defect | mIoU % defect | contrast"
        + (" | KID (mean +- std)" if kid else "") + " |",
        "| --- | --- | --- | --- | --- | --- | --- | ---" + (" | ---" if kid else "") + " |",
    ]
    for r in result["runs"]:
        a = r["alignment"]
        cells = [r["label"], f"{r['fit_s']:.0f}", str(r["pairs"]), f"{r['sample_s']:.0f}", f"{r['pairs_per_s']:.3g}",
                 _pct(a["IoU_defect"]), _pct(a["mIoU_defect"]), _num(r["contrast"]["median"])]
        if kid:
            cells.append(f"{r['fidelity']['KID_mean']:.3g} +- {r['fidelity']['KID_std']:.2g}")
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        f"`train` includes everything `fit` does (both Defect-Gen denoisers; `ddpm` reuses the large one from the same "
        f"cache, so its time is a cache load). Alignment measurement: {result['alignment_s']:.0f} s.",
    ]
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--generators", "names", default=",".join(GENERATORS), show_default=True)
@click.option("--category", default="wood", show_default=True)
@click.option("--split", default="ds-5shot", show_default=True)
@click.option("--pairs", default=16, show_default=True, type=int, help="Pairs generated per generator.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--fast-steps", default="", help="Comma-separated fast-sampler lengths for defectgen, e.g. 25,50,100.")
@click.option("--kid/--no-kid", default=False, show_default=True, help="KID with the tests' random-init Inception.")
@click.option("--segmenter", default="segformer", show_default=True, help="The segmenter that measures alignment.")
@click.option("--schedule", default="short", show_default=True, help="Its training schedule.")
@click.option("--threads", default=None, type=int, help="CPU threads for torch [default: torch's choice].")
@click.option("--profile", default="toy", show_default=True, help="Profile of every generator (smoke: a quick check of this script).")
@click.option("--work", default=None, help="Keep the model cache and sets here (a rerun reuses its trained models, so "
              "its training times are cache loads) [default: a temporary folder].")
def main(names, category, split, pairs, seed, fast_steps, kid, segmenter, schedule, threads, profile, work):
    """Measure and write results/perf/learned_toy.{json,md}."""
    if threads is not None:
        torch.set_num_threads(threads)
    chosen = tuple(n.strip() for n in names.split(",") if n.strip())
    unknown = sorted(set(chosen) - set(GENERATORS))
    try:
        if unknown:
            raise BenchError(f"--generators: {', '.join(unknown)} is not a learned generator with a toy profile",
                             f"choose from {', '.join(GENERATORS)}")
        steps = tuple(int(s) for s in fast_steps.split(",") if s.strip())
        if work:
            result = benchmark(chosen, category, split, pairs, seed, steps, kid, segmenter, schedule, Path(work), profile)
        else:
            with tempfile.TemporaryDirectory(prefix="learned-toy-") as tmp:
                result = benchmark(chosen, category, split, pairs, seed, steps, kid, segmenter, schedule, Path(tmp), profile)
    except BenchError as exc:
        raise click.ClickException(str(exc)) from None
    write_result(results_dir() / "perf", "learned_toy" if profile == "toy" else f"learned_{profile}", result, markdown(result))
    click.echo(markdown(result))


if __name__ == "__main__":
    main()
