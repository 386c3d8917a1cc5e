from __future__ import annotations

import click

from bench.cli.output import emit_rows


@click.group()
def generators():
    """Generator backends."""


@generators.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_generators(as_json):
    """List the registered generators."""
    from generators import GENERATORS

    emit_rows([GENERATORS.get(name).describe() for name in GENERATORS.names()], as_json)


COMMANDS = [generators]
