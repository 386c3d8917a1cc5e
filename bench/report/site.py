"""The leaderboard as a static site: one page from the report's tables, plots and sample grids, with the
provenance of the runs behind each table. Pure: it returns the page's text; the command writes files.

The page reads nothing at view time but its own folder (plots/, samples/), so it works from ``file://``
and can be published as it is.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Mapping, Sequence

from bench.report.render import anchor, escape, page, render
from bench.report.tables import Table

# Reading order of the sections: the verdict first and what a reader would rather look at than read (the
# curves, the generated pairs), then the comparisons and detail behind the verdict, then everything else.
LEAD = ("generators",)
BEHIND = ("with_without",)
DETAIL = ("category_segmenter", "runs")


@dataclass(frozen=True)
class Figure:
    file: str  # relative to the page
    caption: str


@dataclass(frozen=True)
class Sample:
    file: str  # relative to the page
    generator: str
    dataset: str
    category: str
    seed: int
    pairs: int  # in the set the grid was drawn from
    legend: tuple[tuple[str, str], ...]  # (class name, CSS colour)


def provenance_text(run_ids: Sequence[str], provenance: Mapping[str, dict]) -> str:
    """What made the runs behind a table: commits, bench and torch versions, devices (with run counts)."""
    found = [provenance[r] for r in run_ids if r in provenance]
    if not found:
        return "Provenance: not recorded."

    def counted(values) -> str:
        counts = Counter(v if v else "unrecorded" for v in values)
        return ", ".join(f"{v} ({n})" if len(counts) > 1 else str(v) for v, n in sorted(counts.items()))

    return (f"Provenance of the {len(found)} runs: commit {counted(p.get('git') for p in found)}; "
            f"bench {counted(p.get('bench_version') for p in found)}; "
            f"torch {counted((p.get('packages') or {}).get('torch') for p in found)}; "
            f"device {counted(p.get('device') for p in found)}.")


def _table(table: Table, provenance: Mapping[str, dict], figures: Sequence[Figure] = ()) -> str:
    """The table, with the provenance of its runs (tables of quality or efficiency records have no runs) and the
    figures that go with it."""
    html = render(table, "html")
    if figures:
        html = html.replace("</section>", f"{_figures(figures)}\n</section>", 1)
    if not table.run_ids:
        return html
    return html.replace("</section>", f'<p class="caption">{escape(provenance_text(table.run_ids, provenance))}</p>\n</section>', 1)


def _figures(figures: Sequence[Figure]) -> str:
    return "\n".join(f'<figure><img src="{escape(f.file)}" alt="{escape(f.caption)}"><figcaption>{escape(f.caption)}</figcaption></figure>'
                     for f in figures)


def _samples(samples: Sequence[Sample]) -> str:
    parts = []
    for s in samples:
        key = " ".join(f'<span style="color:{colour}">&#9632;</span> {escape(name)}' for name, colour in s.legend)
        caption = (f"{escape(s.generator)} on {escape(s.dataset)}/{escape(s.category)}, seed {s.seed} (drawn from its {s.pairs} "
                   f"generated pairs): images above, masks laid over them below. {key}")
        parts.append(f'<figure class="sample"><img src="{escape(s.file)}" alt="samples of {escape(s.generator)} on '
                     f'{escape(s.category)}"><figcaption>{caption}</figcaption></figure>')
    return "\n".join(parts)


def site_page(tables: Sequence[Table], figures: Sequence[Figure], samples: Sequence[Sample], provenance: Mapping[str, dict],
              title: str = "bench leaderboard", intro: str = "", table_figures: Mapping[str, Sequence[Figure]] | None = None) -> str:
    """The page: the generator leaderboard, the ratio curves, the sample grids, the comparisons behind the
    verdicts, per product and segmenter, then every other table; each table with the provenance of its runs and
    its own figures (``table_figures``, by table name)."""
    by_name = {t.name: t for t in tables}
    lead, behind, detail = ([by_name[n] for n in names if n in by_name] for names in (LEAD, BEHIND, DETAIL))
    rest = [t for t in tables if t.name not in LEAD + BEHIND + DETAIL]

    def shown(group: Sequence[Table]) -> str:
        return "".join(_table(t, provenance, (table_figures or {}).get(t.name, ())) for t in group)

    sections = [("Verdicts against real only", shown(lead)),
                ("Ratio curves", _figures(figures)),
                ("Samples", _samples(samples)),
                ("Comparisons behind the verdicts", shown(behind)),
                ("Per product and segmenter", shown(detail)),
                ("More tables", shown(rest))]
    sections = [(name, body) for name, body in sections if body]
    nav = "<nav>" + "".join(f'<a href="#{anchor(name)}">{escape(name)}</a>' for name, _ in sections) + "</nav>\n"
    body = "".join(f'<div class="part" id="{anchor(name)}">\n<h2>{escape(name)}</h2>\n{content}\n</div>\n' for name, content in sections)
    note = f'<p class="note">{escape(intro)}</p>\n' if intro else ""
    return page(title, note + nav + body)
