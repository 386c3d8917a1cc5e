"""Output helpers shared by commands: tables for people, JSON for machines."""

from __future__ import annotations

import click

from bench.core.jsonfile import dumps


def tabulate(*args, **kwargs) -> str:
    """``tabulate.tabulate``, imported when a command prints a table: with wcwidth it costs a tenth of a second,
    which `bench --help` does without."""
    from tabulate import tabulate as render

    return render(*args, **kwargs)


def emit_rows(rows: list[dict], as_json: bool) -> None:
    if as_json:
        click.echo(dumps(rows))
    else:
        click.echo(tabulate(rows, headers="keys", tablefmt="simple"))
