from __future__ import annotations

import warnings

import click

from bench.cli.output import emit_rows
from segmenters import SEGMENTERS
from segmenters.openmmlab import ops_available
from segmenters.registry import table_order


@click.group()
def segmenters():
    """Segmentation models."""


@segmenters.command("list")
@click.option("--params", "count", is_flag=True,
              help="Also count each model's inference parameters (one defect class + background): builds all eight "
                   "with MMSegmentation, about 40 s on 2 cores.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_segmenters(count, as_json):
    """List the registered segmenters: paper abbreviation, aliases, compiled ops, config and weights file."""
    specs = [SEGMENTERS.get(name) for name in table_order(SEGMENTERS.names())]
    counts = parameter_counts(specs) if count else None
    rows = [
        {
            "name": spec.name,
            "model": spec.title,
            "paper": spec.abbreviation,
            "aliases": ", ".join(SEGMENTERS.aliases_of(spec.name)),
            **({"params": counts[i]} if counts else {}),
            "needs_ops": spec.needs_ops,
            "config": spec.config,
            "pretrained_file": spec.pretrained.file if spec.pretrained else None,
        }
        for i, spec in enumerate(specs)
    ]
    emit_rows(rows, as_json)


def parameter_counts(specs) -> list[int | None]:
    """Inference parameters per segmenter; None where mmcv's compiled ops it needs are missing."""
    from segmenters.model import count_parameters  # deferred: counting builds the models with torch and MMSegmentation

    ops = ops_available()
    with warnings.catch_warnings():
        # MMSegmentation suggests a one-channel head for two classes; the count is of the model bench trains
        warnings.filterwarnings("ignore", message="For binary segmentation", category=UserWarning)
        return [count_parameters(spec) if ops or not spec.needs_ops else None for spec in specs]


COMMANDS = [segmenters]
