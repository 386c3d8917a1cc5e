# UNet-S5-D16 with an FCN head (Defect Spectrum "UNet", UNet-small). No ImageNet backbone exists for it.
_base_ = ["mmseg::_base_/models/fcn_unet_s5-d16.py", "./_base_/bench.py"]
