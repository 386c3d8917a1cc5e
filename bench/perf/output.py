"""Where every benchmark's result goes: ``<stem>.json`` (the numbers) and ``<stem>.md`` (the summary), atomically."""

from __future__ import annotations

import json
from pathlib import Path

from bench.atomic import write_text_atomic


def write_result(out_dir: Path, stem: str, result: dict, summary: str) -> tuple[Path, Path]:
    json_path, md_path = Path(out_dir) / f"{stem}.json", Path(out_dir) / f"{stem}.md"
    write_text_atomic(json_path, json.dumps(result, indent=2) + "\n")
    write_text_atomic(md_path, summary)
    return json_path, md_path
