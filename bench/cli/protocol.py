"""``bench protocol NAME``: a protocol's grid from command-line options, run through the runner."""

from __future__ import annotations

from dataclasses import replace

import click
from tabulate import tabulate

from bench.cli.options import executor_options
from bench.core.errors import BenchError
from bench.core.paths import results_dir
from bench.executors.base import ExecutorOptions
from bench.executors.packing import peaks_from_records
from bench.protocols import PROTOCOLS
from bench.store import RecordStore
from generators import GENERATORS
from segmenters import SCHEDULES, SEGMENTERS


def _validated(grid):
    """Canonical generator and segmenter names, checked before any work, so a typo costs nothing."""
    generators = tuple(GENERATORS.canonical(g) for g in grid.generators)
    segmenters = tuple(SEGMENTERS.canonical(s) for s in grid.segmenters)
    for name in generators:
        GENERATORS.get(name)
    for name in segmenters:
        SEGMENTERS.get(name)
    SCHEDULES.get(grid.schedule)
    return replace(grid, generators=generators, segmenters=segmenters)


def run_protocol(name: str, values: dict, where: str, store: RecordStore, force: bool, dry_run: bool, execution: dict) -> None:
    """``execution``: the ``--executor/--jobs/--threads/--address`` values."""
    # deferred: running a grid loads torch and the model stack, which `bench --help` does without
    from bench.protocols.execute import distinct, make_executor, run_specs
    from bench.runner import resolve_device

    execution = dict(execution)
    executor_name = execution.pop("executor")
    if execution["address"] and executor_name != "ray":
        raise BenchError(f"--address is for --executor ray, not {executor_name}", "add --executor ray or drop --address")
    protocol = PROTOCOLS.get(name)
    grid = protocol.grid(values, where)
    grid = _validated(grid.__class__.from_mapping({"device": resolve_device(grid.device).type}, where, base=grid))
    if protocol.specs is None:
        _run_other(protocol, grid, force, dry_run)
        return
    specs = protocol.specs(grid)
    runs = distinct(specs)
    click.echo(f"protocol {name}: {len(specs)} grid points, {len(runs)} distinct runs ({where})")
    if dry_run:
        for spec in runs:
            click.echo(f"  {spec.generator} ratio={spec.ratio:g} fill_to={spec.fill_to} normal_ratio={spec.normal_ratio:g} "
                       f"{spec.segmenter} {spec.dataset}/{spec.category} seed={spec.seed}")
        return
    peaks = peaks_from_records(store) if grid.device == "cuda" else {}
    executor = make_executor(executor_name, ExecutorOptions(device=grid.device, peaks=peaks, **execution))
    outcome = run_specs(specs, store, data_root=grid.data_root, force=force, label=name, executor=executor)
    rows = []
    for o in outcome.outcomes:
        s, m = o.record["spec"], o.record["metrics"]
        rows.append([s["generator"]["name"], s["ratio"], s.get("fill_to", 0), s.get("normal_ratio", 0), s["segmenter"],
                     s["category"], s["seed"], "skipped" if o.skipped else "done", _pct(m.get("mIoU")), _pct(m.get("mIoU_defect"))])
    headers = ["generator", "ratio", "fill_to", "normal_ratio", "segmenter", "category", "seed", "status", "mIoU", "mIoU defect"]
    click.echo(tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True))
    click.echo(f"protocol {name}: {outcome.done} run(s) done, {outcome.skipped} skipped (records exist) -> {store.root}")
    if outcome.failures:
        for failure in outcome.failures:
            click.echo(f"failed: {failure.error}", err=True)
        raise BenchError(f"{len(outcome.failures)} of {len(runs)} runs of protocol {name} failed (listed above)",
                         "fix the cause and re-run the same command: finished runs are kept and skipped")


def _run_other(protocol, grid, force: bool, dry_run: bool) -> None:
    """Protocols that are not segmenter runs (quality): their own records, the same skip-if-done."""
    if dry_run:
        click.echo(f"protocol {protocol.name}: {grid}")
        return
    results = protocol.execute(grid, force=force)
    rows = [[r["spec"]["generator"]["name"], r["spec"]["category"], r["spec"]["seed"], "skipped" if skipped else "done",
             *(f"{r['metrics'][k]:.4g}" if r["metrics"].get(k) is not None else "n/a" for k in ("FID", "KID_mean", "IS_mean", "LPIPS", "IC_LPIPS"))]
            for r, skipped in results]
    click.echo(tabulate(rows, headers=["generator", "category", "seed", "status", "FID", "KID", "IS", "LPIPS", "IC-LPIPS"],
                        tablefmt="simple", disable_numparse=True))
    done = sum(not s for _, s in results)
    click.echo(f"protocol {protocol.name}: {done} done, {len(results) - done} skipped (records exist)")


def _pct(value) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}"


@click.command()
@click.argument("name")
@click.option("--generators", help="Comma-separated generators [default: copy-paste].")
@click.option("--segmenters", help="Comma-separated segmenters [default: segformer].")
@click.option("--categories", help="Comma-separated categories [default: wood].")
@click.option("--seeds", help="Comma-separated seeds [default: 0,1,2].")
@click.option("--ratios", help="synthetic-ratio/benign: ratios [default: 0,0.2,0.5,1,2,3; benign 0,1].")
@click.option("--normal-ratios", help="normal-data: defect-free images per real pair [default: 0,0.2,1,2,3].")
@click.option("--fill-to", type=int, help="upsample: training-set size to fill to [default: 150].")
@click.option("--n-generated", type=int, help="quality: images generated per point [default: 50].")
@click.option("--ic-lpips", help="quality: IC-LPIPS variant: bench, dfmgan, seas, anomalydiffusion [default: bench].")
@click.option("--lpips-region", type=click.Choice(["image", "defect"]), help="quality: LPIPS on whole images or the defect region.")
@click.option("--dataset", help="Dataset adapter [default: toy].")
@click.option("--data-root", help="Root of the dataset release on disk.")
@click.option("--split", help="Split preset [default: ds-5shot].")
@click.option("--schedule", help="Training schedule [default: smoke].")
@click.option("--device", help="auto, cpu or cuda [default: cpu].")
@click.option("--pretrained/--from-scratch", default=None, help="Start from local ImageNet weights [default: from scratch].")
@click.option("--force", is_flag=True, help="Rerun points whose records exist.")
@click.option("--dry-run", is_flag=True, help="List the distinct runs and stop.")
@click.option("--records", default=None, help="Records folder [default: results/runs].")
@executor_options
def protocol(name, force, dry_run, records, executor, jobs, threads, address, **values):
    """Run protocol NAME (synthetic-ratio, upsample, normal-data, benign, quality) over a grid."""
    store = RecordStore(records or results_dir() / "runs")
    execution = dict(executor=executor, jobs=jobs, threads=threads, address=address)
    run_protocol(name, values, "command-line options", store, force, dry_run, execution)


COMMANDS = [protocol]
