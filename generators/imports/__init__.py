"""Import adapters: published generators' own output folders, read as generators named ``import:<source>``.

The registry imports top-level modules of ``generators`` only, so this package imports its modules here.
"""

from generators.imports import anomalydiffusion, defect_spectrum, defectdiffu, defectsynth, dfmgan, generic, seas  # noqa: F401  (each module registers its adapter)
