from __future__ import annotations

from generators import GENERATORS
from generators.imports.common import PairedFolders


@GENERATORS.register
class SeaSImport(PairedFolders):
    """SeaS inference output: <out>/image/{num:03}.png with binary <out>/mask/{num:03}.png, one --output_dir per prompt."""

    name = "import:seas"
    hint = "image/NNN.png with mask/NNN.png (SeaS_infer.py --output_dir), or one such folder per defect"
