"""Output helpers shared by commands: tables for people, JSON for machines."""

from __future__ import annotations

import json

import click
from tabulate import tabulate


def emit_rows(rows: list[dict], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        click.echo(tabulate(rows, headers="keys", tablefmt="simple"))
