# DRAEM's discriminative U-Net (segmenters/draem_unet.py) as an encoder-decoder: the U-Net's full-resolution
# features, a 1x1 conv to the class scores. The AnomalyDiffusion localization protocol's segmenter.
# DRAEM trains it with a focal loss (gamma 2) at lr 1e-4 (Adam); bench trains every segmenter with the
# shared cross-entropy and optimizer of ./_base_/bench.py, so the eight baselines and this one differ only
# in the network (docs/protocols.md, "localization").
_base_ = ["./_base_/bench.py"]
custom_imports = dict(imports=["segmenters.draem_unet"], allow_failed_imports=False)
model = dict(
    type="EncoderDecoder",
    backbone=dict(type="DraemDiscriminativeUNet", in_channels=3, base_channels=64),
    decode_head=dict(
        type="FCNHead",
        in_channels=64,
        channels=64,
        in_index=-1,
        num_convs=0,
        concat_input=False,
        dropout_ratio=0.0,
        num_classes=2,
        norm_cfg=dict(type="BN", requires_grad=True),
        align_corners=False,
        loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0),
    ),
    train_cfg=dict(),
    test_cfg=dict(mode="whole"),
)
