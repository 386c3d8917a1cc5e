from __future__ import annotations

import click

from bench.cli.output import emit_rows
from bench.core.paths import weights_dir
from generators import GENERATORS
from segmenters.registry import expected_weights


@click.group()
def weights():
    """Pretrained weights (read from $BENCH_WEIGHTS, never downloaded)."""


def segmenter_rows(root) -> list[dict]:
    rows = []
    for file, (spec, users) in expected_weights().items():
        path = root / "checkpoints" / file if root else None
        rows.append({"kind": "segmenter", "file": file, "present": bool(path and path.is_file()), "used_by": ", ".join(users),
                     "path": str(path) if path else f"$BENCH_WEIGHTS/checkpoints/{file}", "source": spec.source})
    return rows


def generator_rows() -> list[dict]:
    """Every registered generator's files (``Generator.expected_weights``): plugins list theirs the same way."""
    return [{"kind": "generator", **row} for name in GENERATORS.names() for row in GENERATORS.get(name).expected_weights()]


@weights.command("check")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output: one row per file, `kind` segmenter or generator.")
def check(as_json):
    """List every pretrained file the segmenters and generators expect, whether it is present, and where to get it."""
    root = weights_dir()
    segmenters, generators = segmenter_rows(root), generator_rows()
    if as_json:
        emit_rows(segmenters + generators, as_json)
        return
    for kind, rows, without in (("segmenter", segmenters, "runs without them need --from-scratch"),
                                ("generator", generators, "profiles without weights (smoke, toy) need none")):
        emit_rows([{k: v for k, v in r.items() if k != "kind"} for r in rows], as_json)
        present = sum(r["present"] for r in rows)
        where = "" if root else "; BENCH_WEIGHTS is not set"
        click.echo(f"\n{present} of {len(rows)} {kind} files present{where}; {without}\n")


COMMANDS = [weights]
