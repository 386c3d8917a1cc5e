# Preprocessing for RGB pair sets, shared by every bench segmenter. train.py installs it as the model's
# data_preprocessor (whatever the packaged base had), adding a fixed `size` when the schedule crops.
bench_preprocessor = dict(
    type="SegDataPreProcessor",
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=False,  # pair sets are RGB already
    pad_val=0,
    seg_pad_val=255,
    size_divisor=32,  # whole-image batches are padded to a multiple of the coarsest stride
    test_cfg=dict(size_divisor=32),  # test images too: HRNet, PSPNet pooling and ViT patches need it
)
