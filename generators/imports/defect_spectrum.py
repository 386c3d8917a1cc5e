from __future__ import annotations

from generators import GENERATORS
from generators.imports.common import Files, ImportedOutputs


@GENERATORS.register
class DefectSpectrumImport(ImportedOutputs):
    """Defect-Gen samples (Defect Spectrum): images/samples_image_* with class-index masks_converted_dir/."""

    name = "import:defect-spectrum"
    images = Files("images", prefix="samples_image_")
    masks = Files("masks_converted_dir", prefix="samples_converted_mask_")
    mask_encoding = "index"  # masks_converted_dir holds class ids; the RGB masks/ use random colours (issue #13)
    hint = "images/samples_image_<iter>_<i>_<rank>.png and masks_converted_dir/samples_converted_mask_<iter>_<i>_<rank>.png"
