from __future__ import annotations

from generators import GENERATORS
from generators.imports.common import PairedFolders


@GENERATORS.register
class AnomalyDiffusionImport(PairedFolders):
    """AnomalyDiffusion's generated_dataset: <obj>/<defect>/{image,mask}/<k>.jpg, binary JPEG masks."""

    name = "import:anomalydiffusion"
    # its MVTec AD loader trains on indices 0..n//3 of every defect type, inclusive (docs/datasets.md)
    documented_training = ("third-inclusive", ("mvtec-ad", "ds-mvtec"))
    hint = "<defect>/image/<k>.jpg with <defect>/mask/<k>.jpg (or image/ and mask/ directly under path)"
