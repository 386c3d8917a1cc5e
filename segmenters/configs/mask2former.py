# Mask2Former with an HRNetV2-W18-Small backbone (Defect Spectrum "M2F", HRNet-Mask2Former). The head,
# its multi-scale deformable-attention pixel decoder (mmcv compiled ops), losses and the optimizer
# (AdamW 1e-4, backbone lr x 0.1, clipped gradients) are MMSegmentation's ADE20K Mask2Former config.
_base_ = [
    "mmseg::mask2former/mask2former_r50_8xb2-160k_ade20k-512x512.py",
    "./_base_/preprocessor.py",
    "./_base_/hrnet_w18_small.py",
]
model = dict(
    backbone={{_base_.hrnet_w18_small}},
    decode_head=dict(in_channels=[18, 36, 72, 144]),
)
