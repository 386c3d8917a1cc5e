# HRNetV2-W18-Small: HRNetV2-W18 with fewer blocks and modules per stage. Shared by `hrnet` and
# `mask2former` (the paper's "HRNet-Mask2Former"); output channels 18/36/72/144 at strides 4/8/16/32.
hrnet_w18_small = dict(
    _delete_=True,  # replaces whatever backbone the packaged base had
    type="HRNet",
    norm_cfg=dict(type="SyncBN", requires_grad=True),
    norm_eval=False,
    extra=dict(
        stage1=dict(num_modules=1, num_branches=1, block="BOTTLENECK", num_blocks=(2,), num_channels=(64,)),
        stage2=dict(num_modules=1, num_branches=2, block="BASIC", num_blocks=(2, 2), num_channels=(18, 36)),
        stage3=dict(num_modules=3, num_branches=3, block="BASIC", num_blocks=(2, 2, 2), num_channels=(18, 36, 72)),
        stage4=dict(
            num_modules=2, num_branches=4, block="BASIC", num_blocks=(2, 2, 2, 2), num_channels=(18, 36, 72, 144)
        ),
    ),
)
