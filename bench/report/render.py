"""Tables as text: markdown (caption above), LaTeX (a table environment with its caption), CSV, or HTML."""

from __future__ import annotations

from tabulate import tabulate

from bench.report.tables import Table

FORMATS = ("markdown", "latex", "csv", "html")


def render(table: Table, fmt: str) -> str:
    frame = table.frame.astype(str)
    if fmt == "csv":
        return frame.to_csv(index=False)
    rows, headers = frame.values.tolist(), list(frame.columns)
    if fmt == "markdown":
        return f"{table.caption}\n\n{tabulate(rows, headers=headers, tablefmt='github', disable_numparse=True)}\n"
    if fmt == "latex":
        body = tabulate(rows, headers=headers, tablefmt="latex_booktabs", disable_numparse=True)
        caption = table.caption.replace("**", "").replace("%", r"\%").replace("_", r"\_")
        return f"\\begin{{table}}[t]\n\\centering\n\\caption{{{caption}}}\n{body}\n\\end{{table}}\n"
    if fmt == "html":
        body = tabulate(rows, headers=headers, tablefmt="html", disable_numparse=True)
        return f"<h2>{escape(table.title)}</h2>\n<p>{escape(table.caption.replace('**', ''))}</p>\n{body}\n"
    raise ValueError(f"unknown format {fmt}")


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def html_page(tables: list[Table], plots: list[str]) -> str:
    """A static page: every table and every plot, no scripts, no external assets."""
    parts = [render(t, "html") for t in tables]
    parts += [f'<figure><img src="{p}" alt="{escape(p)}"><figcaption>{escape(p)}</figcaption></figure>' for p in plots]
    style = "body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}"
    return (f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>bench report</title><style>{style}</style></head>\n"
            "<body>\n<h1>bench report</h1>\n" + "\n".join(parts) + "\n</body></html>\n")
