# HRNetV2-W18-Small with an FCN head over the concatenated branches (Defect Spectrum "HR").
_base_ = ["mmseg::_base_/models/fcn_hr18.py", "./_base_/bench.py", "./_base_/hrnet_w18_small.py"]
model = dict(backbone={{_base_.hrnet_w18_small}})
