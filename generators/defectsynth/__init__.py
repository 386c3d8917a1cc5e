"""DefectSynth (IEEE T-ASE): HMI mask interpolation, then a ControlNet fine-tuned on frozen Stable Diffusion 1.5.

Importing the package registers ``defectsynth``; torch and the hub libraries load only when it fits.
"""

from generators.defectsynth.generator import DefectSynth

__all__ = ["DefectSynth"]
