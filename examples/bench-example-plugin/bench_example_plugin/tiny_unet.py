# MMSegmentation config of the example segmenter: only the model. bench adds its shared RGB preprocessing
# and optimizer (segmenters/configs/_base_/bench.py) to a config that does not set its own, and adapts
# the classes, BN and input size to each task.
norm_cfg = dict(type="BN", requires_grad=True)
model = dict(
    type="EncoderDecoder",
    pretrained=None,
    backbone=dict(
        type="UNet", in_channels=3, base_channels=8, num_stages=3, strides=(1, 1, 1), enc_num_convs=(2, 2, 2),
        dec_num_convs=(2, 2), downsamples=(True, True), enc_dilations=(1, 1, 1), dec_dilations=(1, 1),
        norm_cfg=norm_cfg, act_cfg=dict(type="ReLU"), upsample_cfg=dict(type="InterpConv"),
    ),
    decode_head=dict(
        type="FCNHead", in_channels=8, in_index=2, channels=8, num_convs=1, concat_input=False, num_classes=2,
        norm_cfg=norm_cfg, align_corners=False, loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0),
    ),
    train_cfg=dict(),
    test_cfg=dict(mode="whole"),
)
