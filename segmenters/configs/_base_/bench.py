# Shared base of every bench segmenter config: preprocessing for RGB pair sets and the optimizer.
# Model configs take their architecture from MMSegmentation's packaged bases (mmseg::_base_/models/...)
# and set model.data_preprocessor from bench_preprocessor. SyncBN becomes BN at load time (one device).
bench_preprocessor = dict(
    type="SegDataPreProcessor",
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=False,  # pair sets are RGB already
    pad_val=0,
    seg_pad_val=255,
    size_divisor=32,  # whole-image batches are padded to a multiple of the coarsest stride
)
optim_wrapper = dict(
    type="OptimWrapper",
    optimizer=dict(type="AdamW", lr=6e-4, betas=(0.9, 0.999), weight_decay=0.01),
    clip_grad=None,
)
