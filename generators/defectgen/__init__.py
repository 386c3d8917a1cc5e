"""Defect-Gen (Defect Spectrum): two-stage receptive-field diffusion over image + mask, and its DDPM baseline.

Importing the package registers ``defectgen`` and ``ddpm``; torch loads only when one of them fits.
"""

from generators.defectgen.generator import DDPM, DefectGen

__all__ = ["DDPM", "DefectGen"]
