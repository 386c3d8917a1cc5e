from __future__ import annotations

import click

from bench.cli.output import emit_rows
from generators import GENERATORS


@click.group()
def generators():
    """Generator backends."""


@generators.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_generators(as_json):
    """List the registered generators: kind, whether they train or need weights, whether the transfer protocol can use
    them (how they move defects onto another product's pictures, in the JSON), and their parameters."""
    rows = [GENERATORS.get(name).describe() for name in GENERATORS.names()]
    if not as_json:
        rows = [{**row, "transfers": "yes" if row["transfers"] else "no", "params": ", ".join(f"{k}={v}" for k, v in row["params"].items())}
                for row in rows]
    emit_rows(rows, as_json)


COMMANDS = [generators]
