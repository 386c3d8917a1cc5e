"""Defect transfer (DCDGANc section 3.6 and Table 8; DefectDiffu's zero-shot generation, eq. 12): a generator
learns the defects of a source product and puts them on pictures of the target product, handed the
source's training pairs and the target's normals; the segmenter trains on those pairs alone (normal ratio
0) or with target normals added (p x |source train|), and is tested on every real defect image of the
target types the transfer moves onto (split ``zero-shot``), each type also scored alone. Source classes take
the target's class of the same name or the one ``class_map`` names (``hole=crack,scratch=rough`` for wood ->
tile), or are left out (``color=-``); ``dcdganc-transfer`` is this grid at DCDGANc's values. Only generators
that declare how they move defects onto another product's pictures (``Generator.transfers``: the compositing
baselines, DCDGANc, DefectDiffu by eq. 12) run; any other is refused when the grid is resolved, before any work."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.core.errors import BenchError
from bench.protocols.base import PROTOCOLS, Form, Grid, Protocol
from bench.protocols.normal_data import NORMAL_RATIOS
from bench.protocols.options import Option
from bench.report.format import mean_std, number
from bench.spec import RunSpec

if TYPE_CHECKING:  # tables load pandas; declaring the protocol (bench protocol --help) needs none
    import pandas as pd

    from bench.report.tables import Reading, Table

SOURCES = Option("sources", str, (), "Source tasks DATASET/CATEGORY[/SPLIT] whose defects move onto each category's pictures "
                 "(generators that can: `bench generators list`, column transfers).", many=True, unset="none: give at least one")
CLASS_MAP = Option("class_map", str, "", "SOURCE=TARGET class names where they differ, SOURCE=- for a source class left out "
                   "(hole=crack,scratch=rough,color=-).", unset="classes of the same name")


def transfer_specs(grid: Grid) -> list[RunSpec]:
    if not grid.sources:
        raise BenchError("protocol transfer needs grid key 'sources'", "give the source task(s), e.g. --sources toy/wood")
    return [
        grid.run_spec(g, segmenter, category, seed, ratio=r, normal_ratio=p, synthetic_only=True, source=source, class_map=grid.class_map)
        for source in grid.sources
        for g in grid.generators
        for segmenter, category, seed in grid.cells()
        for r in grid.ratios if r > 0
        for p in grid.normal_ratios
    ]


TRANSFER_METRICS = ("pixel_AUROC", "pixel_F1", "pixel_F1max", "mIoU_defect")
BY_TYPE = "by_type"  # the record's block of metrics per transferred target type (bench.metrics.evaluate.metrics_by_type)


def transferred_types(runs: pd.DataFrame) -> list[str]:
    """The target types the runs scored on their own (``by_type.<type>.*`` columns with a value)."""
    found = {c.split(".")[1] for c in runs.columns if c.startswith(f"{BY_TYPE}.") and c.endswith(".pixel_AUROC")}
    return sorted(t for t in found if runs[f"{BY_TYPE}.{t}.pixel_AUROC"].notna().any())


def transfer_tables(reading: Reading) -> list[Table]:
    """DCDGANc Table 8 form: per source -> target, generator and segmenter, trained on transferred pairs
    alone or with target normals, the AUC and F1 on the real target pictures of every transferred type together
    and, below, of each type alone (mean ± std over seeds)."""
    import pandas as pd  # deferred: a table is a pandas frame

    # deferred: tables load pandas
    from bench.report.frames import GROUP, needed_columns
    from bench.report.tables import Table, caption, leaderboard, metric_label, runs_of

    runs = reading.own
    if runs.empty:
        return []
    metrics = [m for m in TRANSFER_METRICS if m in runs.columns and runs[m].notna().any()]
    types = transferred_types(runs)
    per_type = {t: [m for m in (*metrics, "n_images") if f"{BY_TYPE}.{t}.{m}" in runs.columns] for t in types}
    board = leaderboard(runs, metrics + [f"{BY_TYPE}.{t}.{m}" for t, ms in per_type.items() for m in ms])
    extras = needed_columns(runs, ["source", "category", "generator", "segmenter", "normal_ratio"],
                            [c for c in GROUP if c not in ("synthetic_only", "data")])
    rows = []
    for _, row in board.iterrows():
        base = {
            "source -> target": f"{row['source']} -> {row['category']}", "generator": row["generator"], "segmenter": row["segmenter"],
            **{c: row[c] if row[c] == row[c] else "" for c in extras},
            "trained on": "transferred only" if not row["normal_ratio"] else f"transferred + {number(row['normal_ratio'])}x target normals",
        }
        scored = [("every transferred type" if types else None, "")] + [
            (f"{t} ({int(row[f'{BY_TYPE}.{t}.n_images_mean'])} images)", f"{BY_TYPE}.{t}.") for t in types
            if row.get(f"{BY_TYPE}.{t}.pixel_AUROC_mean") == row.get(f"{BY_TYPE}.{t}.pixel_AUROC_mean")]
        for tested, prefix in scored:
            rows.append({
                **base, **({"tested on": tested} if types else {}),
                **{f"{metric_label(m)} (%)": mean_std(row[f"{prefix}{m}_mean"], row[f"{prefix}{m}_std"]) if f"{prefix}{m}_mean" in row
                   else "" for m in metrics},
                "seeds": row["seeds"],
            })
    columns = ["source -> target", "generator", "segmenter", *extras, "trained on", *(["tested on"] if types else []),
               *[f"{metric_label(m)} (%)" for m in metrics], "seeds"]
    out = pd.DataFrame(rows, columns=columns)
    what = ("**Defect transfer** (DCDGANc Table 8 form) — a generator learns a source product's defects and puts them "
            "on the target's normals; the segmenter never sees a real target defect and is tested on the target pictures of "
            "the types the transfer moves (types nothing moves onto are left out)"
            + ("; each type is also scored on its own pictures, as Table 8 does" if types else "")
            + "; mean ± sample std over seeds, percent.")
    return [Table("transfer", "Defect transfer (zero-shot)", caption(what, runs, board["seeds"]), out, runs_of(runs))]


TRANSFER = Form("transfer", transfer_tables, place=50)

PROTOCOLS.register(
    Protocol(
        "transfer",
        "defects of a source product on the target's pictures (generators that can move them: `bench generators list`, "
        "column transfers); trained on them alone or with target normals, tested on the target types they become",
        transfer_specs,
        options=(SOURCES, CLASS_MAP, NORMAL_RATIOS),
        defaults={"split": "zero-shot", "ratios": (1.0,), "normal_ratios": (0.0, 1.0)},
        tables=(TRANSFER,),
    )
)
