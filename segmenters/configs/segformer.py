# SegFormer with a MiT-B0 encoder (Defect Spectrum "M-B0").
_base_ = ["mmseg::_base_/models/segformer_mit-b0.py", "./_base_/bench.py"]
