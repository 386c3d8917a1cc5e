# PSPNet with a dilated ResNet18-V1c backbone, output stride 8 (Defect Spectrum "PSP").
_base_ = ["mmseg::_base_/models/pspnet_r50-d8.py", "./_base_/bench.py"]
model = dict(
    backbone=dict(depth=18),
    decode_head=dict(in_channels=512, channels=128),
    auxiliary_head=dict(in_channels=256, channels=64),
)
