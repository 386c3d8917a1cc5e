from __future__ import annotations

from pathlib import Path

import click

from bench.cli import options
from bench.core.atomic import atomic_file, write_text_atomic
from bench.core.errors import BenchError
from bench.core.jsonfile import dumps
from bench.core.paths import results_dir, writable_dir
from bench.records import QUALITY, RecordStore, load_runs

SUFFIX = {"markdown": ".md", "latex": ".tex", "csv": ".csv", "html": ".html"}


@click.command()
@click.option("--format", "fmt", type=click.Choice(list(SUFFIX)), default="markdown", show_default=True)
@click.option("--out", default=None, help="Folder the report goes to: leaderboard.<ext>, and with --all every table, "
              "plot and the HTML page [default: results/report]; '-' prints only.")
@click.option("--records", multiple=True, help="Records folder; repeat to merge folders (one record per run id, newest wins) [default: results/runs].")
@click.option("--all", "write_all", is_flag=True, help="Also write every table (markdown, LaTeX, CSV), the ratio plots and an HTML page.")
@click.option("--rules", default="defect-spectrum", show_default=True, help="Benign rules: a shipped name or a YAML file.")
@click.option("--metric", default="mIoU", show_default=True, help="Metric of the comparisons: any numeric metric the records hold.")
@options.strict
@options.as_json
def report(fmt, out, records, write_all, rules, metric, strict, as_json):
    """Build the leaderboard (mean ± std over seeds) and, with --all, every paper-style table and plot."""
    # deferred: tables load pandas, the benign rules numpy
    from bench.metrics.benign import load_rules
    from bench.report.frames import metrics_of, records_frame
    from bench.report.render import render
    from bench.report.tables import leaderboard, run_table, summary_metrics

    if out == "-" and write_all:
        raise BenchError("--all writes files and --out - prints only", "drop one of them")
    target = None if out == "-" else writable_dir(Path(out) if out else results_dir() / "report", "--out")
    roots = [Path(r) for r in records] or [results_dir() / "runs"]
    runs = load_runs(roots, strict)
    if not runs.records:
        raise BenchError(f"no run records in {', '.join(map(str, roots))}", "run `bench run ...` first or point --records at them")
    benign_rules = load_rules(rules)
    frame = records_frame(runs.records, benign_rules)
    if metric not in metrics_of(frame):
        raise BenchError(f"--metric {metric} is in none of the records", f"choose one of: {', '.join(metrics_of(frame))}")
    text = render(run_table(frame, metric, f"Records: {runs.summary()}"), fmt)
    if as_json:
        click.echo(dumps(leaderboard(frame, summary_metrics(frame, metric)).to_dict(orient="records")))
    else:
        click.echo(text, nl=False)
    written = []
    if target is not None:
        path = target / f"leaderboard{SUFFIX[fmt]}"
        write_text_atomic(path, text)
        written.append(path)
    if write_all:
        quality = list(RecordStore(results_dir() / "quality", QUALITY, strict))
        written += write_report(frame, benign_rules.name, quality, metric, target, f"Records: {runs.summary()}")
    for path in written:
        click.echo(f"written: {path}", err=True)


def write_report(frame, rules_name: str, quality: list[dict], metric: str, target: Path, records_note: str = "") -> list[Path]:
    """Every table in markdown, LaTeX and CSV, the ratio plots as PNG, and a static HTML page."""
    import matplotlib.pyplot as plt

    # deferred: tables and plots load pandas and matplotlib
    from bench.report.plots import ratio_curves, ratio_figures
    from bench.report.render import html_page, render
    from bench.report.tables import build_tables

    tables = build_tables(frame, rules_name, quality, metric, records_note=records_note)
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
