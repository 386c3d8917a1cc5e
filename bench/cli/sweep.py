"""``bench sweep GRID.yaml``: the protocols a file describes, run one after the other."""

from __future__ import annotations

from pathlib import Path

import click

from bench import api
from bench.cli import options
from bench.cli.options import executor_options
from bench.cli.protocol import run_protocol
from bench.core.errors import BenchError
from bench.core.jsonfile import dumps
from bench.core.paths import results_dir, writable_dir
from bench.records import RecordStore


def load_sweep(path: Path) -> list[tuple[str, dict]]:
    """``protocol: NAME`` plus grid keys, or ``sweeps:`` a list of such blocks."""
    import yaml

    if path.is_dir():
        raise BenchError(f"sweep file {path} is a folder, not a grid file", "pass the path of a grid YAML file")
    if not path.is_file():
        raise BenchError(f"sweep file {path} not found", "pass the path of a grid YAML file")
    try:
        doc = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise BenchError(f"sweep file {path} is not valid YAML ({str(exc).splitlines()[0]})", "fix the file") from None
    if doc is None:
        raise BenchError(f"sweep file {path} is empty", "add protocol: NAME and the grid keys")
    if not isinstance(doc, dict):
        raise BenchError(f"sweep file {path} holds a {type(doc).__name__}, not a mapping", "start it with protocol: NAME")
    blocks = doc["sweeps"] if "sweeps" in doc else [doc]
    if not isinstance(blocks, list) or not blocks:
        raise BenchError(f"sweep file {path}: 'sweeps' must be a non-empty list of blocks, got {blocks!r}",
                         "write sweeps: followed by '- protocol: NAME' blocks")
    out = []
    for i, block in enumerate(blocks):
        if not isinstance(block, dict) or "protocol" not in block:
            raise BenchError(f"sweep file {path}: block {i + 1} has no 'protocol' key", "start each block with protocol: NAME")
        values = dict(block)
        out.append((str(values.pop("protocol")), values))
    return out


@click.command()
@click.argument("grid_file", metavar="GRID.yaml")
@click.option("--force", is_flag=True, help="Rerun points whose records exist.")
@click.option("--dry-run", is_flag=True, help="List the distinct runs and stop.")
@options.records
@options.strict
@click.option("--max-ratio", type=click.FloatRange(min=0), callback=options.finite,
              help="Refuse synthetic ratios above this [default: the file's max_ratio, else 10].")
@options.as_json
@executor_options
def sweep(grid_file, force, dry_run, records, strict, max_ratio, as_json, executor, jobs, threads, address):
    """Run the protocols a YAML grid file describes (see docs/protocols.md, docs/scaling.md)."""
    path = Path(grid_file)
    override = {} if max_ratio is None else {"max_ratio": max_ratio}
    # every block of the file is checked before the first one runs
    plans = [api.plan(name, {**values, **override}, str(path), path.resolve().parent) for name, values in load_sweep(path)]
    store = RecordStore(writable_dir(records or results_dir() / "runs", "--records"), strict=strict)
    execution = dict(executor=executor, jobs=jobs, threads=threads, address=address)
    out = [{"protocol": planned[0].name, "runs": run_protocol(planned, str(path), store, force, dry_run, execution, quiet=as_json)}
           for planned in plans]
    if as_json:
        click.echo(dumps(out))


COMMANDS = [sweep]
