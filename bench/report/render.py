"""Tables as text: markdown (caption above), LaTeX (a booktabs table with its caption), CSV, or HTML.

What every row of a table shares is said once, in the caption, instead of as a column (``compact``);
CSV keeps every column, for machines. LaTeX is ASCII-only so that plain ``pdflatex`` compiles it
(``latex_document`` is a whole document, with the two packages the tables need).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace

from tabulate import tabulate

from bench.report.tables import Table

FORMATS = ("markdown", "latex", "csv", "html")
LATEX_PACKAGES = ("booktabs", "graphicx")  # \toprule/\midrule/\bottomrule, \resizebox
# Characters the tables use, as LaTeX that needs no package beyond LATEX_PACKAGES.
LATEX_SYMBOLS = {"±": r"$\pm$", "Δ": r"$\Delta$", "↑": r"$\uparrow$", "↓": r"$\downarrow$", "—": "---", "–": "--",
                 "×": r"$\times$", "≥": r"$\geq$", "≤": r"$\leq$", "…": r"\ldots{}", "·": r"$\cdot$", "−": "-"}
LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
                 "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}"}


def compact(table: Table) -> Table:
    """The table without the columns whose value is the same in every row (but those it keeps); those go into
    its caption."""
    frame = table.frame
    if len(frame) < 2:
        return table
    constant = [c for c in frame.columns if frame[c].astype(str).nunique() == 1 and c not in table.keep]
    if not constant or len(constant) == len(frame.columns):
        return table
    shared = "; ".join(f"{c}: {frame[c].astype(str).iloc[0] or '(empty)'}" for c in constant)
    caption = f"{table.caption} In every row: {shared}."
    return replace(table, caption=caption, frame=frame.drop(columns=constant))


def render(table: Table, fmt: str) -> str:
    if fmt == "csv":
        return table.frame.astype(str).to_csv(index=False)
    table = compact(table)
    frame = table.frame.astype(str)
    rows, headers = frame.values.tolist(), list(frame.columns)
    if fmt == "markdown":
        note = f"\n{table.note}\n" if table.note else ""
        return f"{table.caption}\n\n{tabulate(rows, headers=headers, tablefmt='github', disable_numparse=True)}\n{note}"
    if fmt == "latex":
        return latex_table(table.caption, headers, rows)
    if fmt == "html":
        return html_table(table, headers, rows)
    raise ValueError(f"unknown format {fmt}")


def latex_text(text: str) -> str:
    """Plain text as ASCII LaTeX: specials escaped, the tables' symbols in math mode, accents dropped."""
    text = text.replace("**", "")
    out = "".join(LATEX_SPECIAL.get(ch, LATEX_SYMBOLS.get(ch, ch)) for ch in text)
    return unicodedata.normalize("NFKD", out).encode("ascii", "ignore").decode("ascii")


def latex_table(caption: str, headers: list[str], rows: list[list[str]]) -> str:
    """A ``table`` float: booktabs rules, scaled to the line width when wider, caption above."""
    line = lambda cells: " & ".join(latex_text(c) for c in cells) + r" \\"  # noqa: E731
    body = "\n".join([r"\toprule", line(headers), r"\midrule", *(line(r) for r in rows), r"\bottomrule"])
    spec = "l" * len(headers)
    return (f"% needs \\usepackage{{{','.join(LATEX_PACKAGES)}}}\n\\begin{{table}}[t]\n\\centering\n\\caption{{{latex_text(caption)}}}\n"
            f"\\resizebox{{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}}{{!}}{{%\n\\begin{{tabular}}{{{spec}}}\n{body}\n"
            "\\end{tabular}}\n\\end{table}\n")


def latex_document(tables: list[Table], title: str = "bench report") -> str:
    """Every table in one document that plain pdflatex compiles."""
    parts = "\n".join(render(t, "latex") for t in tables)
    return (f"\\documentclass{{article}}\n\\usepackage[margin=2cm]{{geometry}}\n\\usepackage{{{','.join(LATEX_PACKAGES)}}}\n"
            f"\\title{{{latex_text(title)}}}\n\\date{{}}\n\\begin{{document}}\n\\maketitle\n{parts}\n\\end{{document}}\n")


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def anchor(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def html_table(table: Table, headers: list[str], rows: list[list[str]]) -> str:
    """A titled, captioned table whose headers sort it (``SORT_SCRIPT``), with its note under it."""
    head = "".join(f'<th scope="col" title="sort by {escape(h)}">{escape(h)}</th>' for h in headers)
    body = "\n".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    note = f'<p class="summary">{escape(table.note)}</p>\n' if table.note else ""
    return (f'<section class="table" id="{anchor(table.name)}">\n<h2>{escape(table.title)}</h2>\n'
            f"<p class=\"caption\">{escape(table.caption.replace('**', ''))}</p>\n<div class=\"scroll\"><table class=\"sortable\">\n"
            f"<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody></table></div>\n{note}</section>\n")


STYLE = """body{font-family:system-ui,sans-serif;max-width:1400px;margin:auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em}.caption{font-size:.9em;color:#444;max-width:75em}
.scroll{overflow-x:auto}table{border-collapse:collapse;font-size:.9em}
td,th{border:1px solid #ccc;padding:3px 8px;white-space:nowrap;text-align:left}
th{background:#f2f2f2;cursor:pointer;user-select:none}th[aria-sort=ascending]::after{content:" \\25B2"}
th[aria-sort=descending]::after{content:" \\25BC"}tbody tr:nth-child(even){background:#fafafa}
figure{display:inline-block;margin:1em 1em 1em 0;vertical-align:top}figure img{max-width:100%;border:1px solid #ddd}
figcaption{font-size:.85em;color:#444;max-width:60em}nav a{margin-right:1em}.note{background:#fff8e0;padding:.5em 1em}"""

# Sorting by a header: numbers by their leading value ("24.49 ± 0.50" -> 24.49, "< 0.001" -> 0.001), the
# rest as text; a second click reverses. No external script: the page works from file://.
SORT_SCRIPT = """<script>
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var ascending = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var key = function (row) {
        var text = row.cells[col].textContent.trim(), m = text.match(/^[<>]?\\s*\\[?([+-]?\\d+(\\.\\d+)?)/);
        return m ? [0, parseFloat(m[1])] : [1, text];
      };
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        var c = x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0);
        return ascending ? c : -c;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
</script>"""


def html_page(tables: list[Table], plots: list[str], title: str = "bench report") -> str:
    """A static page: every table and every plot; one inline script (sorting), no external assets."""
    parts = [render(t, "html") for t in tables]
    parts += [f'<figure><img src="{escape(p)}" alt="{escape(p)}"><figcaption>{escape(p)}</figcaption></figure>' for p in plots]
    return page(title, "\n".join(parts))


def page(title: str, body: str) -> str:
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>\n<style>{STYLE}</style></head>\n'
            f"<body>\n<h1>{escape(title)}</h1>\n{body}\n{SORT_SCRIPT}\n</body></html>\n")
