"""``bench sweep GRID.yaml``: the protocols a file describes, run one after the other."""

from __future__ import annotations

from pathlib import Path

import click
import yaml

from bench.cli.options import executor_options
from bench.cli.options import strict as strict_option
from bench.cli.protocol import run_protocol
from bench.core.errors import BenchError
from bench.core.paths import results_dir
from bench.records import RecordStore


def load_sweep(path: Path) -> list[tuple[str, dict]]:
    """``protocol: NAME`` plus grid keys, or ``sweeps:`` a list of such blocks."""
    if not path.is_file():
        raise BenchError(f"sweep file {path} not found", "pass the path of a grid YAML file")
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise BenchError(f"sweep file {path} is not valid YAML ({str(exc).splitlines()[0]})", "fix the file") from None
    blocks = doc.get("sweeps") if isinstance(doc, dict) and "sweeps" in doc else [doc]
    out = []
    for i, block in enumerate(blocks or []):
        if not isinstance(block, dict) or "protocol" not in block:
            raise BenchError(f"sweep file {path}: block {i + 1} has no 'protocol' key", "start each block with protocol: NAME")
        values = dict(block)
        out.append((str(values.pop("protocol")), values))
    if not out:
        raise BenchError(f"sweep file {path} is empty", "add protocol: NAME and the grid keys")
    return out


@click.command()
@click.argument("grid_file", metavar="GRID.yaml")
@click.option("--force", is_flag=True, help="Rerun points whose records exist.")
@click.option("--dry-run", is_flag=True, help="List the distinct runs and stop.")
@click.option("--records", default=None, help="Records folder [default: results/runs].")
@strict_option
@executor_options
def sweep(grid_file, force, dry_run, records, strict, executor, jobs, threads, address):
    """Run the protocols a YAML grid file describes (see docs/protocols.md, docs/scaling.md)."""
    store = RecordStore(records or results_dir() / "runs", strict=strict)
    path = Path(grid_file)
    for name, values in load_sweep(path):
        execution = dict(executor=executor, jobs=jobs, threads=threads, address=address)
        run_protocol(name, values, str(path), store, force, dry_run, execution)


COMMANDS = [sweep]
