from __future__ import annotations

from pathlib import Path

import click

from bench.core.atomic import atomic_file, write_text_atomic
from bench.core.errors import BenchError
from bench.core.paths import results_dir
from bench.metrics.benign import load_rules
from bench.store import RecordStore

SUFFIX = {"markdown": ".md", "latex": ".tex", "csv": ".csv", "html": ".html"}


@click.command()
@click.option("--format", "fmt", type=click.Choice(list(SUFFIX)), default="markdown", show_default=True)
@click.option("--out", default=None, help="File to write [default: results/leaderboard.<ext>]; '-' prints only.")
@click.option("--records", default=None, help="Records folder [default: results/runs].")
@click.option("--all", "write_all", is_flag=True, help="Also write every table (markdown, LaTeX, CSV), the ratio plots and an HTML page.")
@click.option("--out-dir", default=None, help="Folder for --all [default: results/report].")
@click.option("--rules", default="defect-spectrum", show_default=True, help="Benign rules: a shipped name or a YAML file.")
@click.option("--metric", default="mIoU", show_default=True, type=click.Choice(["mIoU", "mIoU_defect", "pixel_AUROC", "pixel_AP", "image_AUROC", "image_AP"]))
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the bootstrap intervals.")
def report(fmt, out, records, write_all, out_dir, rules, metric, seed):
    """Build the leaderboard (mean ± std over seeds) and, with --all, every paper-style table and plot."""
    from bench.report import format_leaderboard, leaderboard, records_frame  # deferred: tables load pandas

    store = RecordStore(records or results_dir() / "runs")
    benign_rules = load_rules(rules)
    frame = records_frame(store, benign_rules)
    if frame.empty:
        raise BenchError(f"no run records in {store.root}", "run `bench run ...` first or point --records at them")
    text = format_leaderboard(leaderboard(frame), fmt)
    click.echo(text, nl=False)
    if out != "-":
        path = Path(out) if out else results_dir() / f"leaderboard{SUFFIX[fmt]}"
        write_text_atomic(path, text)
        click.echo(f"written: {path}", err=True)
    if write_all:
        quality = list(RecordStore(results_dir() / "quality", schema="bench.quality/1"))
        target = Path(out_dir) if out_dir else results_dir() / "report"
        for path in write_report(frame, benign_rules.name, quality, metric, seed, target):
            click.echo(f"written: {path}", err=True)


def write_report(frame, rules_name: str, quality: list[dict], metric: str, seed: int, target: Path) -> list[Path]:
    """Every table in markdown, LaTeX and CSV, the ratio plots as PNG, and a static HTML page."""
    import matplotlib.pyplot as plt

    from bench.report import (  # deferred: tables load pandas
        build_tables,
        html_page,
        ratio_curves,
        ratio_figures,
        render,
    )

    tables = build_tables(frame, rules_name, quality, metric, seed)
    texts = {target / "report.md": "\n".join(render(t, "markdown") for t in tables),
             target / "report.tex": "\n".join(render(t, "latex") for t in tables)}
    texts.update({target / "csv" / f"{t.name}.csv": render(t, "csv") for t in tables})
    plots = []
    for name, fig in ratio_figures(ratio_curves(frame, metric), metric):
        path = target / "plots" / f"{name}.png"
        with atomic_file(path) as tmp:
            fig.savefig(tmp, dpi=120, format="png")
        plt.close(fig)
        plots.append(path)
    texts[target / "index.html"] = html_page(tables, [f"plots/{p.name}" for p in plots])
    for path, text in texts.items():
        write_text_atomic(path, text)
    return [*texts, *plots]


COMMANDS = [report]
