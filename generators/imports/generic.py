from __future__ import annotations

from typing import Annotated

import numpy as np

from bench.core.params import OneOf
from generators import GENERATORS
from generators.imports.common import (
    BINARY_THRESHOLD,
    Found,
    ImportedOutputs,
    image_files,
    match,
)

ENCODINGS = ("auto", "binary", "index")


@GENERATORS.register
class GenericImport(ImportedOutputs):
    """Any tool's output as images/<name>.* with masks/<name>.* (or <name>_mask.*): binary or class-index masks."""

    name = "import:generic"
    source = "generic"

    def __init__(
        self,
        path: str | None = None,
        defect_class: int | str | None = None,
        threshold: int = BINARY_THRESHOLD,
        encoding: Annotated[str, OneOf(*ENCODINGS)] = "auto",
    ):
        super().__init__(path, defect_class, threshold)
        self.encoding = encoding

    def find(self) -> tuple[list[Found], list[str]]:
        images = {p.stem: p for p in image_files(self.root / "images")}
        masks = {p.stem.removesuffix("_mask"): p for p in image_files(self.root / "masks")}
        return match(images, masks)

    def class_mask(self, found: Found, values: np.ndarray) -> np.ndarray:
        """auto: a mask holding only 0 and 255 is binary, anything else holds class ids."""
        encoding = self.encoding
        if encoding == "auto":
            encoding = "binary" if set(np.unique(values).tolist()) <= {0, 255} else "index"
        return self.binary_mask(found, values) if encoding == "binary" else self.index_mask(found, values)

    def layout_hint(self) -> str:
        return "expected images/<name>.png with masks/<name>.png or masks/<name>_mask.png"
