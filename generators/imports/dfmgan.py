from __future__ import annotations

from generators import GENERATORS
from generators.imports.common import Found, ImportedOutputs, image_files, match

IMAGE_SUFFIX = "_img"
MASK_SUFFIX = "_mask"


@GENERATORS.register
class DFMGANImport(ImportedOutputs):
    """DFMGAN generate.py --gen-mask output: {idx}_img.png with RGB 0/255 {idx}_mask.png ({idx}_good.png ignored)."""

    name = "import:dfmgan"
    source = "dfmgan"

    def find(self) -> tuple[list[Found], list[str]]:
        files = image_files(self.root)
        images = {p.stem[: -len(IMAGE_SUFFIX)]: p for p in files if p.stem.endswith(IMAGE_SUFFIX)}
        masks = {p.stem[: -len(MASK_SUFFIX)]: p for p in files if p.stem.endswith(MASK_SUFFIX)}
        # one DFMGAN model per defect type: the output folder's name may name the class
        return match(images, masks, self.root.name)

    def layout_hint(self) -> str:
        return "expected {idx}_img.png with {idx}_mask.png (generate.py --gen-mask --output DIR)"
