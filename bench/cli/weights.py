from __future__ import annotations

import click

from bench.cli.output import emit_rows
from bench.core.paths import weights_dir
from generators.defectdiffu import config as defectdiffu_config
from generators.defectdiffu import weights as defectdiffu_weights
from segmenters.registry import expected_weights


@click.group()
def weights():
    """Pretrained backbone weights (read from $BENCH_WEIGHTS, never downloaded)."""


@weights.command("check")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (the segmenters' files, or with --generators the generators').")
@click.option("--generators", "generators_only", is_flag=True, help="Only the files of the generators' pretrained profiles.")
def check(as_json, generators_only):
    """List every pretrained file the segmenters and generators expect, whether it is present, and where to get it."""
    root = weights_dir()
    rows = []
    for file, (spec, users) in expected_weights().items():
        path = root / "checkpoints" / file if root else None
        rows.append(
            {
                "file": file,
                "present": bool(path and path.is_file()),
                "segmenters": ", ".join(users),
                "path": str(path) if path else f"$BENCH_WEIGHTS/checkpoints/{file}",
                "source": spec.source,
            }
        )
    generator_rows = defectdiffu_weights.listing(defectdiffu_config.weight_users())
    if as_json:
        emit_rows(generator_rows if generators_only else rows, as_json)
        return
    if not generators_only:
        emit_rows(rows, as_json)
        present = sum(r["present"] for r in rows)
        where = f"{root}/checkpoints" if root else "nowhere: BENCH_WEIGHTS is not set"
        click.echo(f"\n{present} of {len(rows)} files present ({where}); runs without them need --from-scratch\n")
    emit_rows(generator_rows, as_json)
    present = sum(r["present"] for r in generator_rows)
    click.echo(f"\n{present} of {len(generator_rows)} generator files present; profiles without weights (toy, smoke, short) need none")


COMMANDS = [weights]
