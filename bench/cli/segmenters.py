from __future__ import annotations

import click

from bench.cli.output import emit_rows
from segmenters import SEGMENTERS
from segmenters.openmmlab import ops_available
from segmenters.registry import table_order


@click.group()
def segmenters():
    """Segmentation models."""


@segmenters.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_segmenters(as_json):
    """List the registered segmenters (inference parameters, for one defect class + background)."""
    from segmenters.model import count_parameters  # deferred: counting builds models with torch

    names = table_order(SEGMENTERS.names())
    ops = ops_available()
    rows = []
    for name in names:
        spec = SEGMENTERS.get(name)
        rows.append(
            {
                "name": spec.name,
                "model": spec.title,
                "paper": spec.abbreviation,
                "aliases": ", ".join(SEGMENTERS.aliases_of(name)),
                "params": count_parameters(spec) if ops or not spec.needs_ops else None,
                "needs_ops": spec.needs_ops,
                "config": spec.config,
                "pretrained_file": spec.pretrained.file if spec.pretrained else None,
            }
        )
    emit_rows(rows, as_json)


COMMANDS = [segmenters]
