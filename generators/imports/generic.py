from __future__ import annotations

from typing import Annotated

import numpy as np

from bench.core.params import OneOf
from generators import GENERATORS
from generators.imports.common import Files, Found, ImportedOutputs

ENCODINGS = ("auto", "binary", "index")


@GENERATORS.register
class GenericImport(ImportedOutputs):
    """Any tool's output as images/<name>.* with masks/<name>.* (or <name>_mask.*): binary or class-index masks."""

    name = "import:generic"
    images, masks = Files("images"), Files("masks", suffix="_mask", suffix_optional=True)
    hint = "images/<name>.png with masks/<name>.png or masks/<name>_mask.png"

    def __init__(self, encoding: Annotated[str, OneOf(*ENCODINGS)] = "auto", **common):
        super().__init__(**common)
        self.encoding = encoding

    def class_mask(self, found: Found, values: np.ndarray) -> np.ndarray:
        """auto: a mask holding only 0 and 255 is binary, anything else holds class ids."""
        encoding = self.encoding
        if encoding == "auto":
            encoding = "binary" if set(np.unique(values).tolist()) <= {0, 255} else "index"
        return self.binary_mask(found, values) if encoding == "binary" else self.index_mask(found, values)
