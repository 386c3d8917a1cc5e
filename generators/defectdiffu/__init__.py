"""DefectDiffu (ECCV 2024, seed paper 002): a DiT with text-conditioned background / defect / fusion blocks,
double-free guidance and a mask head read from the defect blocks' cross-attention.

Importing the package registers ``defectdiffu``; torch and the hub libraries load only when it fits.
"""

from generators.defectdiffu.generator import DefectDiffu

__all__ = ["DefectDiffu"]
