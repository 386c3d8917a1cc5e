from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Callable

import click

from bench import api
from bench.cli import options
from bench.core.atomic import atomic_file, write_text_atomic
from bench.core.errors import BenchError
from bench.core.jsonfile import dumps
from bench.core.paths import cache_dir, results_dir, writable_dir
from bench.records import RunRecord

SUFFIX = {"markdown": ".md", "latex": ".tex", "csv": ".csv", "html": ".html"}


@click.command()
@click.option("--format", "fmt", type=click.Choice(list(SUFFIX)), default="markdown", show_default=True)
@click.option("--out", default=None, help="Folder the report goes to: leaderboard.<ext>, and with --all every table, "
              "plot and the HTML page [default: results/report]; '-' prints only.")
@click.option("--records", multiple=True, help="Records folder; repeat to merge folders (one record per run id, newest wins) [default: results/runs].")
@click.option("--all", "write_all", is_flag=True, help="Also write every table (markdown, LaTeX, CSV), the ratio plots and an HTML page.")
@click.option("--site", "site_dir", default=None, help="Also write the leaderboard site to this folder: index.html with every table, "
              "plot, the generators' sample grids (from the cache) and provenance; it works from file://.")
@click.option("--rules", default="defect-spectrum", show_default=True, help="Benign rules: a shipped name or a YAML file.")
@click.option("--metric", default="mIoU", show_default=True, help="Metric of the comparisons: any numeric metric the records hold.")
@options.margin
@options.strict
@options.as_json
def report(fmt, out, records, write_all, site_dir, rules, metric, margin, strict, as_json):
    """Build the leaderboard (mean ± std over seeds) and, with --all, every paper-style table and plot."""
    if out == "-" and write_all:
        raise BenchError("--all writes files and --out - prints only", "drop one of them")
    target = None if out == "-" else writable_dir(Path(out) if out else results_dir() / "report", "--out")
    site = writable_dir(site_dir, "--site") if site_dir else None
    roots = [Path(r) for r in records] or [results_dir() / "runs"]
    for path in build_report(roots, fmt, target, write_all, site, rules, metric, strict, as_json, margin=options.margin_fraction(margin)):
        click.echo(f"written: {path}", err=True)


def build_report(roots: list[Path], fmt: str, target: Path | None, write_all: bool, site: Path | None, rules: str = "defect-spectrum",
                 metric: str = "mIoU", strict: bool = False, as_json: bool = False, intro: str = "",
                 side_root: Path | None = None, margin: float | None = None,
                 keep: Callable[[RunRecord], bool] | None = None) -> list[Path]:
    """What `bench report` does, for the commands built on it: print the leaderboard, write the files. The
    records of the protocols' own kinds and of sequential builds are read from ``side_root`` [default: beside
    the first records folder] (``api.load``). ``margin``: the equivalence margin as a fraction [default: the
    statistics' own]. ``keep``: which run records to report (a leaderboard's grid); the others are counted."""
    from bench.report.render import render  # deferred: tables load pandas
    from bench.report.tables import leaderboard, summary_metrics

    records = api.load(roots, side=side_root, strict=strict)
    if keep is not None:
        kept = tuple(r for r in records.runs.records if keep(r))
        records = replace(records, runs=replace(records.runs, records=kept, outside=len(records.runs.records) - len(kept)))
    if not records.runs.records and (not any(records.side.values()) or site is not None):
        raise BenchError(f"no run records in {', '.join(map(str, roots))}", "run `bench run ...` first or point --records at them")
    built = api.report(records, rules=rules, metric=metric, margin=margin)
    if built.frame is None:
        return side_only_report(built, fmt, target if write_all else None, as_json)
    text = render(built.table("runs"), fmt)
    if as_json:
        click.echo(dumps(leaderboard(built.frame, summary_metrics(built.frame, metric)).to_dict(orient="records")))
    else:
        click.echo(text, nl=False)
    written = []
    if target is not None:
        path = target / f"leaderboard{SUFFIX[fmt]}"
        write_text_atomic(path, text)
        written.append(path)
    if write_all:
        written += write_report(built, metric, target)
    if site is not None:
        written += write_site(built, metric, site, intro)
    return written


def side_only_report(built: api.Report, fmt: str, target: Path | None, as_json: bool) -> list[Path]:
    """No run records, but records of protocols of their own kinds (annotations, classification, quality,
    efficiency): their tables are printed, and with --all written, without the run tables and plots."""
    from bench.report.render import render  # deferred: tables load pandas

    if as_json:
        click.echo(dumps([{"table": t.name, "rows": t.frame.to_dict(orient="records")} for t in built.tables]))
    else:
        click.echo("\n".join(render(t, fmt) for t in built.tables), nl=False)
    return [] if target is None else write_report(built, "", target)

def write_figures(frame, metric: str, folder: Path) -> list[tuple[Path, str]]:
    """The ratio plots as PNG files (the same records give the same bytes), each with a caption."""
    import matplotlib.pyplot as plt

    # deferred: plots load pandas and matplotlib
    from bench.report.plots import PNG_METADATA, ratio_curves, ratio_figures

    out = []
    for name, fig in ratio_figures(ratio_curves(frame, metric), metric):
        path = folder / f"{name}.png"
        with atomic_file(path) as tmp:
            fig.savefig(tmp, dpi=110, format="png", metadata=PNG_METADATA)
        out.append((path, fig.texts[0].get_text() if fig.texts else name))
        plt.close(fig)
    return out


def write_table_plots(tables, folder: Path) -> dict[str, list[tuple[Path, str]]]:
    """The figures that go with tables (``Table.plots``) as PNG files, by table name, each with its caption."""
    out: dict[str, list[tuple[Path, str]]] = {}
    for table in tables:
        for plot in table.plots:
            import matplotlib.pyplot as plt  # deferred: only a table with plots loads matplotlib

            from bench.report.plots import PNG_METADATA  # deferred: the plots module loads pandas

            fig, path = plot.draw(), folder / f"{plot.name}.png"
            with atomic_file(path) as tmp:
                fig.savefig(tmp, dpi=110, format="png", metadata=PNG_METADATA)
            plt.close(fig)
            out.setdefault(table.name, []).append((path, plot.caption))
    return out


def write_report(built: api.Report, metric: str, target: Path) -> list[Path]:
    """Every table in markdown, LaTeX and CSV, the ratio plots and the tables' plots as PNG, and a static HTML page."""
    # deferred: tables load pandas
    from bench.report.render import html_page, latex_document, render

    tables, frame = built.tables, built.frame
    texts = {target / "report.md": "\n".join(render(t, "markdown") for t in tables),
             target / "report.tex": latex_document(tables)}
    texts.update({target / "csv" / f"{t.name}.csv": render(t, "csv") for t in tables})
    plots = [] if frame is None else [path for path, _ in write_figures(frame, metric, target / "plots")]
    plots += [path for figures in write_table_plots(tables, target / "plots").values() for path, _ in figures]
    texts[target / "index.html"] = html_page(tables, [f"plots/{p.name}" for p in plots])
    for path, text in texts.items():
        write_text_atomic(path, text)
    return [*texts, *plots]


def write_site(built: api.Report, metric: str, target: Path, intro: str = "") -> list[Path]:
    """The leaderboard site: index.html, plots/, and samples/ with one grid per generator and product
    whose generated pairs are in the cache (grids already there are kept when the cache lacks them)."""
    # deferred: tables (and the page, through them) load pandas
    from bench.report.site import Figure, site_page

    tables, frame, records = built.tables, built.frame, built.records.runs.records
    figures = write_figures(frame, metric, target / "plots")
    beside = write_table_plots(tables, target / "plots")
    samples, sample_files = write_samples(records, target / "samples")
    provenance = {r.run_id: {**r.provenance} for r in records}
    page = site_page(tables, [Figure(f"plots/{p.name}", c) for p, c in figures], samples, provenance, intro=intro,
                     table_figures={name: [Figure(f"plots/{p.name}", c) for p, c in found] for name, found in beside.items()})
    write_text_atomic(target / "index.html", page)
    return [target / "index.html", *(p for p, _ in figures), *(p for found in beside.values() for p, _ in found), *sample_files]


def write_samples(records, folder: Path, per_grid: int = 8):
    """One sample grid per generator x dataset x category: from the lowest seed whose pairs the cache holds."""
    # deferred: the page module loads pandas through the tables, the pair sets and grids numpy
    from bench.core.images import write_png
    from bench.core.pairset import PairSet
    from bench.report.samples import legend, sample_grid
    from bench.report.site import Sample

    chosen: dict[tuple, object] = {}
    for r in sorted(records, key=lambda r: (r.spec.seed, r.run_id)):
        name = r.spec.generator.name
        key = (str(r.spec.generator), r.spec.dataset, r.spec.category)
        if r.generator.cache_key and key not in chosen:
            root = cache_dir() / "generated" / name.replace(":", "-") / r.generator.cache_key
            if (root / "meta.json").is_file():
                chosen[key] = (r, root)
            elif (folder / sample_name(*key)).is_file():
                chosen[key] = (r, None)
    samples, files = [], []
    for key, (r, root) in sorted(chosen.items()):
        path = folder / sample_name(*key)
        if root is not None:
            with atomic_file(path) as tmp:
                write_png(tmp, sample_grid(PairSet.open(root), per_grid))
            files.append(path)
        classes = {int(k): v for k, v in r.data["classes"].items()}
        samples.append(Sample(f"samples/{path.name}", key[0], key[1], key[2], r.spec.seed, int(r.data.get("n_synthetic", 0)),
                              tuple(legend(classes))))
    return samples, files


def sample_name(generator: str, dataset: str, category: str) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9.=-]+", "-", part) for part in (generator, dataset, category)) + ".png"


COMMANDS = [report]
