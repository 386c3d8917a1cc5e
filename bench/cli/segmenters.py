from __future__ import annotations

import click

from bench.cli.output import emit_rows


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
    emit_rows(rows, as_json)


COMMANDS = [segmenters]
