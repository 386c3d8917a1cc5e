"""``bench cache``: what the cache holds, and cleaning it."""

from __future__ import annotations

import shutil

import click

from bench.core.atomic import sweep_stale
from bench.core.paths import cache_dir


@click.group()
def cache():
    """The cache of imported datasets, generated sets and trained generators ($BENCH_CACHE)."""


@cache.command("clean")
@click.option("--all", "everything", is_flag=True, help="Remove the whole cache, not only what interrupted work left.")
@click.option("--yes", is_flag=True, help="Do not ask before removing the whole cache.")
def clean(everything, yes):
    """Remove temporary folders that killed processes left behind (or, with --all, everything)."""
    root = cache_dir()
    if everything:
        if not root.exists():
            click.echo(f"nothing to remove: {root} does not exist")
            return
        if not yes:
            click.confirm(f"remove {root} and everything in it?", abort=True)
        shutil.rmtree(root)
        click.echo(f"removed {root}")
        return
    removed = sweep_stale(root)
    for path in removed:
        click.echo(f"removed {path}")
    click.echo(f"{len(removed)} stale temporary entr{'y' if len(removed) == 1 else 'ies'} removed from {root}")


COMMANDS = [cache]
