from __future__ import annotations

from generators import GENERATORS
from generators.imports.common import Files, ImportedOutputs


@GENERATORS.register
class DFMGANImport(ImportedOutputs):
    """DFMGAN generate.py --gen-mask output: {idx}_img.png with RGB 0/255 {idx}_mask.png ({idx}_good.png ignored)."""

    name = "import:dfmgan"
    images, masks = Files(suffix="_img"), Files(suffix="_mask")
    defect_folders = True  # one DFMGAN model per defect type: the output folder's name may name the class
    hint = "{idx}_img.png with {idx}_mask.png (generate.py --gen-mask --output DIR)"
