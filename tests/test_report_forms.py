"""Report forms fit for a paper: LaTeX that plain pdflatex compiles, constant columns said once in the
caption, ratio plots a reader can read (one panel per product, the baseline drawn, seeds in the legend),
sample grids with masks laid over the images."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from bench.core.pairset import write_pairset
from bench.metrics.benign import load_rules
from bench.protocols.report import report_tables
from bench.report.frames import records_frame
from bench.report.plots import ratio_curves, ratio_figures
from bench.report.render import compact, latex_document, latex_text, render
from bench.report.samples import CLASS_COLOURS, overlay, sample_grid
from tests.helpers.pairs import make_pair
from tests.helpers.records import run_record

SEEDS = (0, 1, 2)


def records():
    out = []
    for category in ("wood", "fabric"):
        for seed, noise in zip(SEEDS, (0.0, 0.01, -0.01)):
            out.append(run_record("none", 0.0, seed, 0.5 + noise, category=category))
            out.append(run_record("copy-paste", 1.0, seed, 0.6 + noise, category=category))
            if category == "wood":  # a generator with points on one product only
                out.append(run_record("flat", 1.0, seed, 0.5 - noise, category=category))
    return out


def tables():
    return report_tables(records_frame(records()), {}, load_rules())


def test_latex_is_ascii_with_its_symbols_in_math_mode_and_specials_escaped():
    assert latex_text("24.49 ± 0.50 Δ ↑ 5% a_b & c") == r"24.49 $\pm$ 0.50 $\Delta$ $\uparrow$ 5\% a\_b \& c"
    document = latex_document(tables())
    assert document.isascii()
    assert r"\usepackage{booktabs,graphicx}" in document and document.count(r"\begin{table}") == len(tables())
    assert "±" not in document and r"$\pm$" in document


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no TeX installation: the ASCII check above stands in")
def test_latex_document_compiles_with_pdflatex(tmp_path):
    (tmp_path / "report.tex").write_text(latex_document(tables()))
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "report.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
    assert (tmp_path / "report.pdf").stat().st_size > 1000


def test_constant_columns_move_into_the_caption_and_csv_keeps_every_column():
    table = next(t for t in tables() if t.name == "with_without")
    assert table.frame["segmenter"].nunique() == 1
    small = compact(table)
    assert "segmenter" not in small.frame.columns and "In every row: segmenter: segformer" in small.caption
    assert "category" in small.frame.columns, "a column that varies stays"
    assert "| segformer |" not in render(table, "markdown") and "segformer" in render(table, "markdown")
    assert render(table, "csv").splitlines()[0].split(",")[:2] == ["category", "segmenter"]


def test_ratio_plot_has_a_panel_per_product_the_baseline_and_seed_counts_in_its_legends():
    figures = ratio_figures(ratio_curves(records_frame(records())))
    assert [name for name, _ in figures] == ["ratio_toy_segformer_ds-5shot_short_cpu_scratch"]
    fig = figures[0][1]
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert sorted(ax.get_title() for ax in panels) == ["fabric", "wood"]
    legends = {ax.get_title(): [t.get_text() for t in ax.get_legend().get_texts()] for ax in panels}
    assert legends["wood"] == ["real only (n=3)", "copy-paste (n=3)", "flat (n=3)"]
    assert legends["fabric"] == ["real only (n=3)", "copy-paste (n=3)"], "no legend entry without points"
    wood = next(ax for ax in panels if ax.get_title() == "wood")
    lines = {line.get_label(): line for line in wood.get_lines()}
    assert lines["real only (n=3)"].get_ydata()[0] == pytest.approx(50.0)  # the baseline's mean, drawn across
    cp, flat = lines["copy-paste (n=3)"], lines["flat (n=3)"]
    assert cp.get_marker() != flat.get_marker()
    assert cp.get_xdata()[-1] != flat.get_xdata()[-1], "series at the same ratio are shifted apart, never hidden"


def test_overlay_tints_and_outlines_defects_only():
    image = np.full((8, 8, 3), 100, np.uint8)
    mask = np.zeros((8, 8), np.uint8)
    mask[2:6, 2:6] = 2
    out = overlay(image, mask)
    assert (out[mask == 0] == 100).all()
    assert (out[2, 2] == CLASS_COLOURS[1]).all(), "the boundary takes the class colour"
    inside = 0.55 * 100 + 0.45 * CLASS_COLOURS[1]
    assert out[3, 3] == pytest.approx(inside.round(), abs=1)


def test_sample_grid_shows_images_above_and_overlays_below(tmp_path):
    pairs = write_pairset(tmp_path / "set", [make_pair(f"p{i}", size=16, seed=i) for i in range(3)] + [make_pair("n", class_id=0)],
                          {1: "scratch"}, {"generator": "test"})
    grid = sample_grid(pairs, n=8, tile=16)
    assert grid.shape == (2 * 16 + 3 * 4, 3 * 16 + 4 * 4, 3), "defect-free pairs are left out"
    top, bottom = grid[4:20, 4:20], grid[24:40, 4:20]
    assert (top == pairs.image("p0")).all()
    assert (bottom != top).any(axis=-1).sum() == (pairs.mask("p0") > 0).sum()
