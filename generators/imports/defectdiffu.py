from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.core.errors import BenchError
from bench.core.images import read_rgb
from generators import GENERATORS
from generators.imports.common import Found, ImportedOutputs, fail_on, image_files, image_size, match, read_mask_values

MASK_SUFFIX = "_mask"


def grid_boxes(size: tuple[int, int], tile: int, padding: int) -> list[tuple[int, int]]:
    """(top, left) of each tile of a torchvision ``save_image`` grid (``padding`` px around every tile), row-major."""
    width, height = size
    cols, rest_x = divmod(width - padding, tile + padding)
    rows, rest_y = divmod(height - padding, tile + padding)
    if rest_x or rest_y or not cols or not rows:
        raise ValueError(f"{width}x{height} is not a grid of {tile}px tiles with {padding}px padding")
    return [(padding + r * (tile + padding), padding + c * (tile + padding)) for r in range(rows) for c in range(cols)]


@GENERATORS.register
class DefectDiffuImport(ImportedOutputs):
    """DefectDiffu test.py grids: "{obj} {defect}_{cfg}.png" and "..._mask.png", split into tiles, masks binarised."""

    name = "import:defectdiffu"
    hint = '"<obj> <defect>_<cfg>.png" grids with "<obj> <defect>_<cfg>_mask.png" (in path or path/img)'

    def __init__(self, tile: int = 256, padding: int = 2, **common):
        super().__init__(**common)
        if tile < 1 or padding < 0:
            raise BenchError(f"{self.name}: tile must be >= 1 and padding >= 0, got {tile} and {padding}")
        self.tile = tile
        self.padding = padding
        self._grid: tuple[Path, np.ndarray, np.ndarray] | None = None  # the last grid read, tiles come in file order

    def find(self) -> tuple[list[Found], list[str]]:
        folder = self.root / "img" if (self.root / "img").is_dir() else self.root
        files = image_files(folder)
        masks = {p.stem[: -len(MASK_SUFFIX)]: p for p in files if p.stem.endswith(MASK_SUFFIX)}
        images = {p.stem: p for p in files if not p.stem.endswith(MASK_SUFFIX)}
        grids, problems = match(images, masks)
        fail_on(problems + self.size_problems(grids), self.root, self.name)
        found: list[Found] = []
        for grid in grids:
            obj_defect, _, cfg = grid.key.rpartition("_")  # "{obj} {defect}" and the guidance scale
            defect = obj_defect.partition(" ")[2] or obj_defect
            try:
                boxes = grid_boxes(image_size(grid.image), self.tile, self.padding)
            except ValueError as exc:
                raise BenchError(f"{self.name}: {grid.image}: {exc}", "set tile=... and padding=... to the grid's") from None
            image, values = self._read_grid(grid)
            for index, box in enumerate(boxes):
                if self._crop(image, box).any() or self._crop(values, box).any():  # all-black tiles pad the last row
                    key = f"{obj_defect.replace(' ', '_')}_{cfg}_{index:03d}"
                    found.append(Found(key, grid.image, grid.mask, defect, index))
        return found, []

    def decode(self, found: Found) -> tuple[np.ndarray, np.ndarray]:
        image, values = self._read_grid(found)
        box = grid_boxes(image_size(found.image), self.tile, self.padding)[found.tile]
        return np.ascontiguousarray(self._crop(image, box)), self._crop(values, box)

    def _read_grid(self, found: Found) -> tuple[np.ndarray, np.ndarray]:
        if self._grid is None or self._grid[0] != found.image:
            self._grid = (found.image, read_rgb(found.image), read_mask_values(found.mask))
        return self._grid[1], self._grid[2]

    def _crop(self, array: np.ndarray, box: tuple[int, int]) -> np.ndarray:
        top, left = box
        return array[top : top + self.tile, left : left + self.tile]
