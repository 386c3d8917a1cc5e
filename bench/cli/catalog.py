"""``bench generators list`` and ``bench segmenters list``: what is registered, for people and machines."""

from __future__ import annotations

import json

import click
from tabulate import tabulate


def _emit(rows: list[dict], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        click.echo(tabulate(rows, headers="keys", tablefmt="simple"))


@click.group()
def generators():
    """Generator backends."""


@generators.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_generators(as_json):
    """List the registered generators."""
    from generators import GENERATORS

    _emit([GENERATORS.get(name).describe() for name in GENERATORS.names()], as_json)


@click.group()
def segmenters():
    """Segmentation models."""


@segmenters.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_segmenters(as_json):
    """List the registered segmenters."""
    from segmenters import SEGMENTERS

    rows = []
    for name in SEGMENTERS.names():
        spec = SEGMENTERS.get(name)
        rows.append(
            {
                "name": spec.name,
                "model": spec.title,
                "aliases": ", ".join(SEGMENTERS.aliases_of(name)),
                "config": spec.config,
                "needs_ops": spec.needs_ops,
                "pretrained_file": spec.pretrained.file if spec.pretrained else None,
            }
        )
    _emit(rows, as_json)


COMMANDS = [generators, segmenters]
