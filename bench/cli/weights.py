from __future__ import annotations

import click

from bench.cli.output import emit_rows


@click.group()
def weights():
    """Pretrained backbone weights (read from $BENCH_WEIGHTS, never downloaded)."""


@weights.command("check")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def check(as_json):
    """List every pretrained file the segmenters expect and the folders the generators read, whether each is present, and where to get it."""
    from bench.core.paths import weights_dir
    from segmenters.registry import expected_weights

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
    emit_rows(rows, as_json)
    if not as_json:
        present = sum(r["present"] for r in rows)
        where = f"{root}/checkpoints" if root else "nowhere: BENCH_WEIGHTS is not set"
        click.echo(f"\n{present} of {len(rows)} files present ({where}); runs without them need --from-scratch")
        click.echo("")
        emit_rows(generator_weights(root), as_json)


def generator_weights(root) -> list[dict]:
    """Folders the learned generators' real-weight profiles read (their toy profiles need none)."""
    from bench.core.errors import BenchError
    from generators.defectsynth.config import WEIGHTS_FILES, WEIGHTS_FOLDER, WEIGHTS_SOURCE, sd_folder

    try:
        present = bool(sd_folder())
    except BenchError:
        present = False
    parts = ", ".join(sorted({f.split("/")[0] for f in WEIGHTS_FILES}))
    return [
        {
            "folder": WEIGHTS_FOLDER,
            "present": present,
            "generators": "defectsynth (profiles short, paper, released)",
            "path": str(root / WEIGHTS_FOLDER) if root else f"$BENCH_WEIGHTS/{WEIGHTS_FOLDER}",
            "source": f"{WEIGHTS_SOURCE} (diffusers format: {parts})",
        }
    ]


COMMANDS = [weights]
