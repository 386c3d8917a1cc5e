# BiSeNetV2 with its four auxiliary heads (Defect Spectrum "Bise"). Trained from scratch, as in MMSegmentation.
_base_ = ["mmseg::_base_/models/bisenetv2.py", "./_base_/bench.py"]
