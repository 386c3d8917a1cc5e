from __future__ import annotations

from generators import GENERATORS
from generators.imports.common import Found, ImportedOutputs, paired_folders


@GENERATORS.register
class AnomalyDiffusionImport(ImportedOutputs):
    """AnomalyDiffusion's generated_dataset: <obj>/<defect>/{image,mask}/<k>.jpg, binary JPEG masks."""

    name = "import:anomalydiffusion"
    source = "anomalydiffusion"

    def find(self) -> tuple[list[Found], list[str]]:
        # path is either generated_dataset/<obj> (one folder per defect) or one <defect> folder
        return paired_folders(self.root, "image", "mask")

    def layout_hint(self) -> str:
        return "expected <defect>/image/<k>.jpg with <defect>/mask/<k>.jpg (or image/ and mask/ directly under path)"
