from __future__ import annotations

from generators import GENERATORS
from generators.imports.common import Found, ImportedOutputs, paired_folders


@GENERATORS.register
class SeaSImport(ImportedOutputs):
    """SeaS inference output: <out>/image/{num:03}.png with binary <out>/mask/{num:03}.png."""

    name = "import:seas"
    source = "seas"

    def find(self) -> tuple[list[Found], list[str]]:
        # one --output_dir per prompt (defect type); a parent of several such folders also works
        return paired_folders(self.root, "image", "mask")

    def layout_hint(self) -> str:
        return "expected image/NNN.png with mask/NNN.png (SeaS_infer.py --output_dir), or one such folder per defect"
