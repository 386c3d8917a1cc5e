"""How much pairing by seed buys, before and after common random numbers: for each setting against its real-only
baseline, the correlation over seeds of the two runs of a seed and the spread of their differences, with the
batches of the setting drawn pooled (every slot from all pairs, as before) and paired (the real pairs as in the
baseline, the added ones in a share of the slots from a stream of their own), on the same grid, by the same code.
Writes results/perf/pairing.{json,md}.

The real-only baseline trains identically in both modes (its run id is the same), so each seed's baseline run
is shared. A benchmark, not a test: a `short` run takes about a minute of one CPU core. It is resumable: the
runs are ordinary records in ``--work`` and a rerun skips those there; ``--analyse-only`` writes the result from
the folder.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import click
import numpy as np
import torch

from bench.core.errors import BenchError
from bench.core.paths import results_dir
from bench.core.streams import BATCHES
from bench.perf.host import host
from bench.perf.output import write_result
from bench.perf.variance import METRICS, grid, setting_name
from bench.protocols.execute import run_specs
from bench.provenance import git_describe
from bench.records import RecordStore
from bench.spec import RunSpec

SOURCE = "bench.perf.pairing"


def specs_of(settings: list[RunSpec], seeds: range) -> list[RunSpec]:
    """Every setting in both batch modes and every baseline, at every seed."""
    out = []
    for spec in settings:
        modes = BATCHES if spec.synthetic else ("pooled",)
        out += [replace(spec, seed=seed, batches=mode) for mode in modes for seed in seeds]
    return out


def pairing(records: list[dict], metric: str) -> list[dict]:
    """Per category, setting and batch mode: the seeds paired with the baseline, the correlation of the two runs of
    a seed, and the sample sd of the baseline, of the setting and of their differences (points)."""
    key = lambda spec: (spec["category"], spec["segmenter"], spec["schedule"])  # noqa: E731
    base = {(key(r["spec"]), r["spec"]["seed"]): r["metrics"][metric] for r in records if not RunSpec.from_dict(r["spec"]).synthetic}
    groups: dict[tuple, dict[int, float]] = {}
    for r in records:
        spec = RunSpec.from_dict(r["spec"])
        if spec.synthetic:
            groups.setdefault((spec.category, setting_name(spec), spec.batches, key(r["spec"])), {})[spec.seed] = \
                r["metrics"][metric]
    rows = []
    for (category, setting, mode, task), values in sorted(groups.items()):
        seeds = sorted(s for s in values if (task, s) in base and values[s] is not None and base[(task, s)] is not None)
        a = 100 * np.array([values[s] for s in seeds], float)
        b = 100 * np.array([base[(task, s)] for s in seeds], float)
        enough = len(seeds) > 2
        rows.append({"category": category, "setting": setting, "batches": mode, "metric": metric, "seeds": seeds,
                     "correlation": float(np.corrcoef(a, b)[0, 1]) if enough and a.std() > 0 and b.std() > 0 else None,
                     "sd_baseline": float(b.std(ddof=1)) if enough else None, "sd_setting": float(a.std(ddof=1)) if enough else None,
                     "sd_difference": float((a - b).std(ddof=1)) if enough else None, "mean_difference": float((a - b).mean()) if seeds else None})
    return rows


def ratios(rows: list[dict]) -> list[dict]:
    """Per category, setting and metric: the paired mode's sd of differences over the pooled mode's."""
    by = {(r["category"], r["setting"], r["metric"], r["batches"]): r for r in rows}
    out = []
    for (category, setting, metric, mode), r in sorted(by.items()):
        pooled = by.get((category, setting, metric, "pooled"))
        if mode == "paired" and pooled and r["sd_difference"] is not None and pooled["sd_difference"]:
            out.append({"category": category, "setting": setting, "metric": metric, "ratio": r["sd_difference"] / pooled["sd_difference"]})
    return out


def medians(rows: list[dict]) -> list[dict]:
    """Per metric and batch mode, over the settings with a correlation: the median correlation and sd of differences."""
    out = []
    for metric in dict.fromkeys(r["metric"] for r in rows):
        for mode in dict.fromkeys(r["batches"] for r in rows):
            found = [r for r in rows if r["metric"] == metric and r["batches"] == mode and r["correlation"] is not None]
            if found:
                out.append({"metric": metric, "batches": mode, "settings": len(found),
                            "correlation": float(np.median([r["correlation"] for r in found])),
                            "sd_difference": float(np.median([r["sd_difference"] for r in found]))})
    return out


def _num(value, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def markdown(result: dict) -> str:
    p = result["parameters"]
    lines = [
        f"# Pairing by seed, pooled vs paired batches: {result['device']}",
        "",
        f"toy {', '.join(p['categories'])}, `{p['segmenter']}` from scratch, `{p['schedule']}` schedule, ratio {p['ratio']:g}, seeds "
        f"{p['seeds'][0]}-{p['seeds'][-1]}, generator seed {p['generator_seed']}; torch {result['torch']}, {result['threads']} threads, "
        f"load average {result['load_average']:.1f} at the end; commit {result['git']}; {result['created']}.",
        "",
        "Per setting against the real-only baseline of its product, over the seeds both have: the correlation of the two runs of "
        "a seed and the sample sd of the baseline, of the setting and of the per-seed differences (points).",
        "",
        "| product | setting | batches | metric | seeds | correlation | sd baseline | sd setting | sd difference | mean difference |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in result["rows"]:
        lines.append(f"| {r['category']} | {r['setting']} | {r['batches']} | {r['metric']} | {len(r['seeds'])} | {_num(r['correlation'])} | "
                     f"{_num(r['sd_baseline'])} | {_num(r['sd_setting'])} | {_num(r['sd_difference'])} | {_num(r['mean_difference'])} |")
    lines += ["", "sd of differences, paired over pooled (the issue's aim: at most 0.5):", "", "| product | setting | metric | ratio |",
              "| --- | --- | --- | --- |"]
    lines += [f"| {r['category']} | {r['setting']} | {r['metric']} | {r['ratio']:.2f} |" for r in result["ratios"]]
    if result["ratios"]:
        lines += ["", f"Median ratio: {np.median([r['ratio'] for r in result['ratios']]):.2f}."]
    lines += ["", "Medians over the settings:", "", "| metric | batches | settings | correlation | sd difference |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {m['metric']} | {m['batches']} | {m['settings']} | {m['correlation']:.2f} | {m['sd_difference']:.2f} |" for m in result["medians"]]
    lines += ["", f"{result['runs']} runs (`python -m bench.perf.pairing`)."]
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--categories", default="wood,fabric", show_default=True, help="Toy products, comma-separated.")
@click.option("--generators", default="copy-paste;dcdganc", show_default=True, help="Generator specs, separated by ';'.")
@click.option("--ratio", default=1.0, show_default=True, type=float)
@click.option("--segmenter", default="segformer", show_default=True)
@click.option("--schedule", default="short", show_default=True)
@click.option("--seeds", default=10, show_default=True, type=click.IntRange(min=3), help="Seeds 0 to N-1.")
@click.option("--generator-seed", default=0, show_default=True, type=int, help="Learned generators fit once per product with it.")
@click.option("--threads", default=1, show_default=True, type=int, help="Torch threads.")
@click.option("--work", default=None, type=click.Path(path_type=Path), help="Records folder [default: results/perf/pairing-runs].")
@click.option("--out", default=None, type=click.Path(path_type=Path), help="Folder [default: results/perf].")
@click.option("--analyse-only", is_flag=True, help="Run nothing: write the result from the records in --work.")
def main(categories, generators, ratio, segmenter, schedule, seeds, generator_seed, threads, work, out, analyse_only):
    """Measure and write results/perf/pairing.{json,md}."""
    torch.set_num_threads(threads)
    store = RecordStore(work or results_dir() / "perf" / "pairing-runs")
    try:
        settings = grid([c.strip() for c in categories.split(",") if c.strip()], [g.strip() for g in generators.split(";") if g.strip()],
                        ratio, segmenter, schedule, 0, generator_seed, "paired")
    except BenchError as exc:
        raise click.ClickException(str(exc)) from None
    specs = specs_of(settings, range(seeds))
    if not analyse_only:
        outcome = run_specs(specs, store, label="pairing", protocol="synthetic-ratio", source=SOURCE)
        if outcome.failures:
            raise click.ClickException(f"{len(outcome.failures)} runs failed; rerun to retry them")
    wanted = {(s.category, s.seed, s.batches, str(s.generator), s.ratio) for s in specs}
    records = [r for r in store if (r["spec"]["category"], r["spec"]["seed"], r["spec"].get("batches", "pooled"),
                                    str(RunSpec.from_dict(r["spec"]).generator), r["spec"]["ratio"]) in wanted]
    rows = [row for metric in METRICS for row in pairing(records, metric)]
    result = {
        "schema": "bench.perf.pairing/1",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **host(torch.device("cpu")),
        "git": git_describe(),
        "parameters": {"categories": list(dict.fromkeys(s.category for s in settings)), "ratio": ratio, "segmenter": segmenter,
                       "schedule": schedule, "seeds": list(range(seeds)), "generator_seed": generator_seed,
                       "settings": sorted({setting_name(s) for s in settings})},
        "runs": len(records),
        "commits": sorted({str(r["provenance"].get("git")) for r in records}),
        "rows": rows,
        "ratios": ratios(rows),
        "medians": medians(rows),
    }
    json_path, md_path = write_result(out or results_dir() / "perf", "pairing", result, markdown(result))
    click.echo(md_path.read_text())
    click.echo(f"written: {json_path} and {md_path}")


if __name__ == "__main__":
    main()
