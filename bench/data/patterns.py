"""File-name patterns of a layout file: ``"MT_{class}/Imgs/{stem}.jpg"``, relative to the release root.

``{class}``, ``{stem}`` and ``{origin}`` are fields; all other text is literal (case included). A field
matches one or more characters within one folder level (never a ``/``); a field written twice must
match the same text both times. Pictures and masks are paired by filling the mask pattern with the
fields a picture matched.
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Mapping

from bench.core.errors import BenchError

FIELDS = ("class", "stem", "origin")
_FIELD = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True)
class Pattern:
    text: str

    @classmethod
    def parse(cls, text, where: str) -> "Pattern":
        """A checked pattern; ``where`` names the layout file and key in errors."""
        if not isinstance(text, str) or not text.strip():
            raise BenchError(f"{where} is not a file-name pattern", 'write e.g. "images/{stem}.png" (fields: {class}, {stem}, {origin})')
        text = text.strip()
        unknown = [f for f in _FIELD.findall(text) if f not in FIELDS]
        if unknown:
            raise BenchError(f"{where}: unknown field {{{unknown[0]}}} in {text!r}", "the fields are {class}, {stem} and {origin}")
        if "{" in _FIELD.sub("", text) or "}" in _FIELD.sub("", text):
            raise BenchError(f"{where}: unbalanced braces in {text!r}", "write fields as {class}, {stem} or {origin}")
        parts = PurePosixPath(text).parts
        if text.startswith("/") or ".." in parts or "\\" in text:
            raise BenchError(f"{where}: {text!r} must be a relative path inside the release, with / between folders",
                             'write e.g. "DEFECTS_{class}/Imgs/{stem}.jpg"')
        if re.search(r"\}\{", text):
            raise BenchError(f"{where}: two fields touch in {text!r}, so where one ends is unknown", "put literal text between fields")
        return cls(text)

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(_FIELD.findall(self.text)))

    def glob(self) -> str:
        """A glob that finds every candidate file (each field a ``*``); the regex then decides."""
        return "".join("*" if i % 2 else glob.escape(piece) for i, piece in enumerate(_FIELD.split(self.text)))

    def regex(self) -> re.Pattern:
        out, seen = [], set()
        for i, piece in enumerate(_FIELD.split(self.text)):
            if i % 2 == 0:
                out.append(re.escape(piece))
            elif piece in seen:
                out.append(f"(?P={piece})")
            else:
                seen.add(piece)
                out.append(f"(?P<{piece}>[^/]+?)")
        return re.compile("".join(out))

    def find(self, root: Path) -> dict[Path, dict[str, str]]:
        """Every file under ``root`` the pattern matches, with its field values; hidden files are not read."""
        regex = self.regex()
        found: dict[Path, dict[str, str]] = {}
        for path in sorted(root.glob(self.glob())):
            relative = path.relative_to(root).as_posix()
            if any(part.startswith(".") for part in PurePosixPath(relative).parts) or not path.is_file():
                continue
            match = regex.fullmatch(relative)
            if match is not None:
                found[path] = match.groupdict()
        return found

    def fill(self, values: Mapping[str, str]) -> str:
        return _FIELD.sub(lambda m: values[m.group(1)], self.text)
