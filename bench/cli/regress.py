"""``bench regress GRID.yaml --golden FILE``: run a grid and hold its metrics to a golden file (docs/regression.md).

Exit status: 0 nothing regressed, 1 something did (or a point is on one side only), 2 bad input."""

from __future__ import annotations

import math
from pathlib import Path

import click

from bench import api
from bench.cli import options
from bench.cli.options import executor_options
from bench.cli.output import tabulate
from bench.cli.protocol import run_protocol
from bench.cli.sweep import load_sweep
from bench.core.errors import BenchError
from bench.core.jsonfile import dumps
from bench.core.paths import results_dir, writable_dir
from bench.records import RecordStore
from bench.regress import subset, subsets


def _tolerances(pairs: tuple[str, ...] | None) -> dict[str, float]:
    out = {}
    for item in pairs or ():
        metric, sep, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not sep or not metric or not math.isfinite(number) or number < 0:
            raise BenchError(f"--tolerance '{item}' is not METRIC=VALUE with a finite VALUE >= 0", "write e.g. --tolerance mIoU=0.02")
        out[metric] = number
    return out


def _grid_source(grid_file: str | None, subset_name: str | None) -> tuple[Path, str]:
    if (grid_file is None) == (subset_name is None):
        raise BenchError("give either GRID.yaml or --subset NAME", f"subsets: {', '.join(subsets())}")
    if subset_name is not None:
        return subset(subset_name), subset_name
    return Path(grid_file), Path(grid_file).name


def _number(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{100 * value:+.2f}" if signed else f"{100 * value:.2f}"


def _table(rows) -> str:
    shown = [{"point": r.point, "metric": r.metric or "-", "value (%)": _number(r.value), "golden (%)": _number(r.golden),
              "difference": _number(r.difference, signed=True), "tolerance": _number(r.tolerance),
              "seeds": len(r.seeds), "verdict": r.verdict, "note": r.note} for r in rows]
    return tabulate(shown, headers="keys", tablefmt="simple", disable_numparse=True)


@click.command()
@click.argument("grid_file", metavar="[GRID.yaml]", required=False)
@click.option("--subset", "subset_name", type=click.Choice(sorted(subsets())), help="A grid shipped with bench instead of GRID.yaml.")
@click.option("--golden", "golden_file", required=True, help="The golden file to compare with (or to write, with --update).")
@click.option("--update", is_flag=True, help="Rewrite the golden file from this run (after a deliberate change; say why in the commit).")
@options.multi("--metrics", help="With --update: the metrics to hold [default: the file's, else mIoU,mIoU_defect,pixel_AP,image_AUROC].")
@options.multi("--tolerance", help="With --update: METRIC=VALUE, a fixed tolerance (a fraction: 0.02 is 2 points) "
               "instead of the derived one; kept by later updates.")
@click.option("--force", is_flag=True, help="Rerun points whose records exist (after changing code on this machine).")
@options.records
@options.strict
@options.as_json
@executor_options
@click.pass_context
def regress(ctx, grid_file, subset_name, golden_file, update, metrics, tolerance, force, records, strict, as_json,
            executor, jobs, threads, address):
    """Run a grid and compare it with a golden file, point by point and paired by seed."""
    # deferred: the tolerances use scipy
    from bench.regress import golden as goldens
    from bench.regress.compare import IMPROVED, OK, compare, failed

    path, source = _grid_source(grid_file, subset_name)
    golden_path = Path(golden_file)
    overrides = _tolerances(tolerance)
    if (metrics or overrides) and not update:
        raise BenchError("--metrics and --tolerance set what a golden file holds", "add --update to rewrite it")
    previous = None
    if not update or golden_path.is_file():
        try:
            previous = goldens.read(golden_path)  # a malformed golden file fails here, before any run
        except BenchError:
            if not update:
                raise
    blocks = load_sweep(path)
    plans = [api.plan(name, values, str(path)) for name, values in blocks]
    for protocol, _ in plans:
        if protocol.specs is None:
            raise BenchError(f"protocol {protocol.name} in {path} trains no segmenter, so bench regress cannot compare it",
                             "use a run protocol (synthetic-ratio, upsample, normal-data, benign)")
    if update:
        if golden_path.is_dir():
            raise BenchError(f"--golden {golden_path} is a folder", "pass the path of a JSON file")
        writable_dir(golden_path.parent, "--golden")
    store = RecordStore(writable_dir(records or results_dir() / "runs", "--records"), strict=strict)
    execution = dict(executor=executor, jobs=jobs, threads=threads, address=address)
    run_ids = dict.fromkeys(row["run_id"] for planned in plans
                            for row in run_protocol(planned, str(path), store, force, False, execution, quiet=True))
    runs = [store.get(run_id) for run_id in run_ids]
    chosen = tuple(metrics or (previous.metrics if previous else goldens.DEFAULT_METRICS))
    grid = {"source": source, "blocks": [{"protocol": name, "values": values} for name, values in blocks]}

    if update:
        kept = previous.tolerances if previous else None
        made = goldens.build(grid, runs, chosen, overrides, keep=kept)
        goldens.write(golden_path, made)
        summary = {m: made.tolerances[m].to_dict() for m in made.metrics}
        if as_json:
            click.echo(dumps({"golden": str(golden_path), "points": len(made.points), "tolerances": summary}))
        else:
            click.echo(f"wrote {golden_path}: {len(made.points)} points x {len(made.metrics)} metrics")
            click.echo(tabulate([{"metric": m, "tolerance (%)": _number(t["value"]), "source": t["source"]} for m, t in summary.items()],
                                headers="keys", tablefmt="simple", disable_numparse=True))
        return

    rows = compare(previous, goldens.group_points(runs, previous.metrics))
    bad = failed(rows)
    if as_json:
        click.echo(dumps({"golden": str(golden_path), "regressed": bad, "rows": [r.to_dict() for r in rows]}))
    else:
        click.echo(_table(rows))
        moved = sum(r.verdict != OK for r in rows)
        click.echo(f"{len(rows)} comparisons against {golden_path}: {moved} not ok" + (" -> regressed" if bad else ""))
        if any(r.verdict == IMPROVED for r in rows):
            click.echo("improved beyond the tolerance: if the change is deliberate, rewrite the golden file with --update")
    if bad:
        ctx.exit(1)


COMMANDS = [regress]
