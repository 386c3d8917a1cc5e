"""Output helpers shared by commands: tables for people, JSON for machines."""

from __future__ import annotations

import click
from tabulate import tabulate

from bench.core.jsonfile import dumps


def emit_rows(rows: list[dict], as_json: bool) -> None:
    if as_json:
        click.echo(dumps(rows))
    else:
        click.echo(tabulate(rows, headers="keys", tablefmt="simple"))
