# DeepLabV3+ with a dilated ResNet18-V1c backbone, output stride 8 (Defect Spectrum "DL").
_base_ = ["mmseg::_base_/models/deeplabv3plus_r50-d8.py", "./_base_/bench.py"]
model = dict(
    backbone=dict(depth=18),
    decode_head=dict(c1_in_channels=64, c1_channels=12, in_channels=512, channels=128),
    auxiliary_head=dict(in_channels=256, channels=64),
)
