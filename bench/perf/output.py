"""Where every benchmark's result goes: ``<stem>.json`` (the numbers) and ``<stem>.md`` (the summary), atomically."""

from __future__ import annotations

from pathlib import Path

from bench.core.atomic import write_text_atomic
from bench.core.jsonfile import write_json_atomic


def write_result(out_dir: Path, stem: str, result: dict, summary: str) -> tuple[Path, Path]:
    json_path, md_path = Path(out_dir) / f"{stem}.json", Path(out_dir) / f"{stem}.md"
    write_json_atomic(json_path, result)
    write_text_atomic(md_path, summary)
    return json_path, md_path
