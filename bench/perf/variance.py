"""Where a run's score varies: the variance of mIoU and defect mIoU over each random stream of a run, one at a
time, everything else held at a reference, on the toy grid. Writes results/perf/variance.{json,md}.

Sources (``SOURCES``): the segmenter's initial weights, torch's dropout and drop-path draws during training, the
real pairs of each batch with their crops and flips, the added pairs in their batch slots, which pairs the
generator samples, the generator's own fitting (learned generators), and nothing at all (the same run again:
evaluation and any non-determinism, which should be zero). Beside them, ``seed`` varies every stream at once as
a run's seed does: the seed-to-seed variance the verdicts work against. Each source is moved ``--repeats`` times;
the first value of every source is the reference, so the reference run is shared.

A benchmark, not a test: a run of the `short` schedule takes about a minute of one CPU core. It is resumable:
every run is one file in ``--work`` named by its configuration, and a rerun skips the files there (several
processes may share the folder, e.g. one per product); ``--analyse-only`` writes the result from the folder.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import click
import numpy as np
import torch

from bench.core.errors import BenchError
from bench.core.hashing import canonical_json, sha256_text
from bench.core.jsonfile import write_json_atomic
from bench.core.paths import results_dir
from bench.core.specs import parse_generator
from bench.data.tasks import Tasks
from bench.perf.host import host
from bench.perf.output import write_result
from bench.provenance import git_describe
from bench.runner import Streams, compute_record, effective_spec, settle
from bench.spec import ASKED_BATCHES, RunSpec
from generators import GENERATORS
from segmenters.loop import TrainingSeeds

METRICS = ("mIoU", "mIoU_defect")


@dataclass(frozen=True)
class Source:
    name: str
    what: str
    move: Callable[[RunSpec, Streams, int], tuple[RunSpec, Streams]]  # (spec, streams) with the source moved k steps
    applies: Callable[[RunSpec], bool] = lambda spec: True


def _moved(st: Streams, **offsets) -> Streams:
    training = replace(st.training, **{k: getattr(st.training, k) + v for k, v in offsets.items() if k != "synthesis"})
    return replace(st, training=training, synthesis=st.synthesis + offsets.get("synthesis", 0))


SOURCES = (  # each moves its stream k steps from the reference
    Source("initialisation", "the segmenter's initial weights", lambda s, st, k: (s, _moved(st, init=k))),
    Source("dropout", "torch's dropout and drop-path draws during training", lambda s, st, k: (s, _moved(st, dropout=k))),
    Source("batches", "the real pairs of each batch, their crops and flips", lambda s, st, k: (s, _moved(st, batches=k))),
    Source("added slots", "which added pairs fill their batch slots, their crops and flips", lambda s, st, k: (s, _moved(st, added=k)),
           lambda spec: spec.synthetic and spec.batches == "paired"),
    Source("sampling", "which pairs the generator samples", lambda s, st, k: (s, _moved(st, synthesis=k)), lambda spec: spec.synthetic),
    Source("fitting", "the generator's own training (generator seed)", lambda s, st, k: (replace(s, generator_seed=s.generator_seed + k), st),
           lambda spec: spec.synthetic and spec.generator_seed is not None and GENERATORS.get(spec.generator.name).needs_training),
    Source("nothing", "the same run again: evaluation and any non-determinism", lambda s, st, k: (s, st)),
    Source("seed", "every stream at once, as a run's seed moves them (the seed-to-seed spread of the leaderboard)",
           lambda s, st, k: (replace(s, seed=s.seed + k), Streams.of(s.seed + k))),
)


def reference_streams(seed: int) -> Streams:
    """Every stream at ``seed``, dropout reseeded explicitly so that it can move alone."""
    return Streams(TrainingSeeds(seed, seed, seed, dropout=seed), seed, seed)


def cells(specs: list[RunSpec], repeats: int, seed: int, sources: dict[str, tuple[str, ...]] | None = None) -> list[dict]:
    """Every (setting, source, repeat) with the configuration it runs; repeat 0 of each source is the reference.
    ``sources``: per generator name, the sources to move for its settings [default: every source that applies]."""
    out = []
    for spec in specs:
        chosen = (sources or {}).get(spec.generator.name)
        for source in SOURCES:
            if not source.applies(spec) or (chosen is not None and source.name not in chosen):
                continue
            for repeat in range(repeats):
                moved, streams = source.move(spec, reference_streams(seed), repeat)
                config = {"spec": moved.to_dict(), "streams": {"init": streams.training.init, "batches": streams.training.batches,
                                                               "added": streams.training.added, "dropout": streams.training.dropout,
                                                               "synthesis": streams.synthesis, "normals": streams.normals},
                          **({"repeat": repeat} if source.name == "nothing" and repeat else {})}
                out.append({"setting": setting_name(spec), "category": spec.category, "source": source.name, "repeat": repeat,
                            "config": config, "key": sha256_text(canonical_json(config))[:16]})
    return out


def setting_name(spec: RunSpec) -> str:
    return "real only" if not spec.synthetic else f"{spec.generator} x{spec.ratio:g}"


def run_cell(config: dict, tasks: Tasks) -> dict:
    """One configuration, trained and evaluated: its metrics and seconds."""
    spec = RunSpec.from_dict(config["spec"])
    s = config["streams"]
    streams = Streams(TrainingSeeds(s["init"], s["batches"], s["added"], s["dropout"]), s["synthesis"], s["normals"])
    start = time.perf_counter()
    record = compute_record(settle(spec, tasks=tasks), progress=False, streams=streams)
    return {"config": config, "metrics": {m: record["metrics"][m] for m in METRICS}, "seconds": time.perf_counter() - start,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "git": record["provenance"].get("git")}


def measure(plan: list[dict], work: Path, say: Callable[[str], None] = print) -> None:
    """Run every configuration of ``plan`` whose file is not in ``work`` yet (shared configurations once)."""
    work.mkdir(parents=True, exist_ok=True)
    todo = {c["key"]: c["config"] for c in plan if not (work / f"{c['key']}.json").is_file()}
    tasks = Tasks(progress=False)
    for i, (key, config) in enumerate(todo.items(), 1):
        if (work / f"{key}.json").is_file():  # another process did it meanwhile
            continue
        row = run_cell(config, tasks)
        write_json_atomic(work / f"{key}.json", row)
        say(f"{i}/{len(todo)} {key}: mIoU {100 * row['metrics']['mIoU']:.2f} in {row['seconds']:.0f} s")


def analyse(plan: list[dict], rows: dict[str, dict]) -> list[dict]:
    """Per category, setting and source: the values over its repeats and their sample variance, in points."""
    groups: dict[tuple, list] = {}
    for cell in plan:
        if cell["key"] in rows:
            groups.setdefault((cell["category"], cell["setting"], cell["source"]), []).append(rows[cell["key"]]["metrics"])
    out = []
    for (category, setting, source), found in groups.items():
        row = {"category": category, "setting": setting, "source": source, "repeats": len(found)}
        for m in METRICS:
            values = 100 * np.array([f[m] if f[m] is not None else np.nan for f in found], float)
            row[m] = values.tolist()
            row[f"{m}_var"] = float(np.var(values, ddof=1)) if len(values) > 1 else None
        out.append(row)
    return out


def shares(rows: list[dict], metric: str) -> dict[str, float]:
    """Per source, the median over category x setting of its variance over the ``seed`` variance of the same cell."""
    total = {(r["category"], r["setting"]): r[f"{metric}_var"] for r in rows if r["source"] == "seed"}
    out: dict[str, list] = {}
    for r in rows:
        whole = total.get((r["category"], r["setting"]))
        if r["source"] != "seed" and whole and r[f"{metric}_var"] is not None:
            out.setdefault(r["source"], []).append(r[f"{metric}_var"] / whole)
    return {k: float(np.median(v)) for k, v in out.items()}


def markdown(result: dict) -> str:
    p = result["parameters"]
    lines = [
        f"# Where a run's score varies: {result['device']}",
        "",
        f"toy {', '.join(p['categories'])}, `{p['segmenter']}` from scratch, `{p['schedule']}` schedule, ratio {p['ratio']:g}, "
        f"{p['batches']} batches, reference seed {p['seed']} (generator seed {p['generator_seed']}), {p['repeats']} values per source; "
        f"torch {result['torch']}, {result['threads']} threads, load average {result['load_average']:.1f} at the end; commit "
        f"{result['git']}; {result['created']}.",
        "",
        "Standard deviation over the values of one source, everything else at the reference (points of mIoU / defect mIoU); "
        "`seed` moves every stream as a run's seed does.",
        "",
        "| product | setting | source | runs | sd mIoU | sd defect mIoU |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    order = [s.name for s in SOURCES]
    for r in sorted(result["rows"], key=lambda r: (r["category"], r["setting"], order.index(r["source"]))):
        sd = [("-" if r[f"{m}_var"] is None else f"{np.sqrt(r[f'{m}_var']):.2f}") for m in METRICS]
        lines.append(f"| {r['category']} | {r['setting']} | {r['source']} | {r['repeats']} | {sd[0]} | {sd[1]} |")
    lines += ["", "Median share of the seed-to-seed variance that one source alone produces (variance ratio):", "",
              "| source | what | mIoU | defect mIoU |", "| --- | --- | --- | --- |"]
    what = {s.name: s.what for s in SOURCES}
    for source in order[:-1]:
        if source in result["shares"]["mIoU"]:
            lines.append(f"| {source} | {what[source]} | {result['shares']['mIoU'][source]:.2f} | "
                         f"{result['shares']['mIoU_defect'].get(source, float('nan')):.2f} |")
    lines += ["", f"{result['runs']} distinct runs, {result['seconds'] / 3600:.1f} h of training and evaluation in all "
              "(`python -m bench.perf.variance`)."]
    return "\n".join(lines) + "\n"


def grid(categories: list[str], generators: list[str], ratio: float, segmenter: str, schedule: str, seed: int, generator_seed: int,
         batches: str) -> list[RunSpec]:
    """The real-only baseline and each generator at ``ratio`` on every category, effective specs."""
    specs = []
    for category in categories:
        base = RunSpec(segmenter=segmenter, category=category, schedule=schedule, seed=seed, device="cpu", batches=batches)
        specs.append(effective_spec(base))
        for text in generators:
            g = parse_generator(text)
            GENERATORS.get(g.name)  # an unknown name fails before any run
            specs.append(effective_spec(replace(base, generator=g, ratio=ratio, generator_seed=generator_seed)))
    return specs


def parse_only(values: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """``--only GENERATOR=SOURCE,...`` values by generator name, each source checked."""
    out = {}
    for value in values:
        name, _, listed = value.partition("=")
        chosen = tuple(s.strip() for s in listed.split(",") if s.strip())
        unknown = [s for s in chosen if s not in {source.name for source in SOURCES}]
        if not name or not chosen or unknown:
            raise click.BadParameter(f"{value!r}: give GENERATOR=SOURCE,... with sources from {', '.join(s.name for s in SOURCES)}",
                                     param_hint="--only")
        out[parse_generator(name).name] = chosen
    return out


@click.command()
@click.option("--categories", default="wood,fabric", show_default=True, help="Toy products, comma-separated.")
@click.option("--generators", default="copy-paste;dcdganc", show_default=True,
              help="Generator specs beside the real-only baseline, separated by ';'.")
@click.option("--ratio", default=1.0, show_default=True, type=float)
@click.option("--segmenter", default="segformer", show_default=True)
@click.option("--schedule", default="short", show_default=True)
@click.option("--seed", default=0, show_default=True, type=int, help="The reference value of every stream.")
@click.option("--generator-seed", default=0, show_default=True, type=int, help="The reference fitting of learned generators.")
@click.option("--batches", default=ASKED_BATCHES, show_default=True, type=click.Choice(["paired", "pooled"]))
@click.option("--repeats", default=5, show_default=True, type=click.IntRange(min=2), help="Values per source.")
@click.option("--threads", default=1, show_default=True, type=int, help="Torch threads.")
@click.option("--work", default=None, type=click.Path(path_type=Path), help="Folder of the runs [default: results/perf/variance-runs].")
@click.option("--out", default=None, type=click.Path(path_type=Path), help="Folder [default: results/perf].")
@click.option("--only", "only", multiple=True, metavar="GENERATOR=SOURCE,...",
              help="Move only these sources for that generator's settings (e.g. dcdganc=fitting,seed: its own fitting beside "
                   "the seed-to-seed spread); repeatable [default: every source that applies].")
@click.option("--analyse-only", is_flag=True, help="Run nothing: write the result from the runs in --work.")
def main(categories, generators, ratio, segmenter, schedule, seed, generator_seed, batches, repeats, threads, work, out, only, analyse_only):
    """Measure and write results/perf/variance.{json,md}."""
    torch.set_num_threads(threads)
    work = work or results_dir() / "perf" / "variance-runs"
    try:
        specs = grid([c.strip() for c in categories.split(",") if c.strip()], [g.strip() for g in generators.split(";") if g.strip()],
                     ratio, segmenter, schedule, seed, generator_seed, batches)
    except BenchError as exc:
        raise click.ClickException(str(exc)) from None
    restricted = parse_only(only)
    plan = cells(specs, repeats, seed, restricted)
    if not analyse_only:
        measure(plan, work, click.echo)
    found = {path.stem: json.loads(path.read_text()) for path in work.glob("*.json")} if work.is_dir() else {}
    rows = analyse(plan, found)
    used = {c["key"] for c in plan if c["key"] in found}
    result = {
        "schema": "bench.perf.variance/1",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **host(torch.device("cpu")),
        "git": git_describe(),
        "parameters": {"categories": sorted({s.category for s in specs}, key=[s.category for s in specs].index), "ratio": ratio,
                       "segmenter": segmenter, "schedule": schedule, "seed": seed, "generator_seed": generator_seed, "batches": batches,
                       "repeats": repeats, "settings": sorted({setting_name(s) for s in specs}),
                       "only": {name: list(chosen) for name, chosen in restricted.items()}},
        "runs": len(used),
        "seconds": float(sum(found[k]["seconds"] for k in used)),
        "sources": {s.name: s.what for s in SOURCES},
        "rows": rows,
        "shares": {m: shares(rows, m) for m in METRICS},
    }
    json_path, md_path = write_result(out or results_dir() / "perf", "variance", result, markdown(result))
    click.echo(md_path.read_text())
    click.echo(f"written: {json_path} and {md_path}")


if __name__ == "__main__":
    main()
