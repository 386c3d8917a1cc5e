from __future__ import annotations

from pathlib import Path

import click

from bench.errors import BenchError
from bench.paths import results_dir
from bench.store import RecordStore

SUFFIX = {"markdown": ".md", "latex": ".tex", "csv": ".csv", "html": ".html"}


@click.command()
@click.option("--format", "fmt", type=click.Choice(list(SUFFIX)), default="markdown", show_default=True)
@click.option("--out", default=None, help="File to write [default: results/leaderboard.<ext>]; '-' prints only.")
@click.option("--records", default=None, help="Records folder [default: results/runs].")
def report(fmt, out, records):
    """Build the leaderboard (mean ± std over seeds) from the run records."""
    from bench.report import format_leaderboard, leaderboard, records_frame

    store = RecordStore(records or results_dir() / "runs")
    frame = records_frame(store)
    if frame.empty:
        raise BenchError(f"no run records in {store.root}", "run `bench run ...` first or point --records at them")
    text = format_leaderboard(leaderboard(frame), fmt)
    click.echo(text, nl=False)
    if out != "-":
        path = Path(out) if out else results_dir() / f"leaderboard{SUFFIX[fmt]}"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text)
        tmp.replace(path)
        click.echo(f"written: {path}", err=True)


COMMANDS = [report]
