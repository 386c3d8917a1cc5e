# Segmenter: ViT-Tiny/16 encoder with the mask transformer decoder (Defect Spectrum "V-T").
# train.py sets the encoder's img_size to the input size, so position embeddings match the patch grid.
_base_ = ["mmseg::_base_/models/segmenter_vit-b16_mask.py", "./_base_/bench.py"]
bench_preprocessor = dict(mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5])  # as the ViT weights were trained
model = dict(
    backbone=dict(embed_dims=192, num_heads=3),
    decode_head=dict(in_channels=192, channels=192, num_heads=3, embed_dims=192),
)
optim_wrapper = dict(optimizer=dict(lr=1e-4, weight_decay=0.0))
