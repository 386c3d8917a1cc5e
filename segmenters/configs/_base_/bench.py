# Shared base of the bench segmenter configs: preprocessing for RGB pair sets and the optimizer.
# Model configs take their architecture from MMSegmentation's packaged bases (mmseg::_base_/models/...).
# At load time train.py adapts them to the task: classes, single-device BN, input size, weights.
_base_ = ["./preprocessor.py"]
optim_wrapper = dict(
    type="OptimWrapper",
    optimizer=dict(type="AdamW", lr=6e-4, betas=(0.9, 0.999), weight_decay=0.01),
    clip_grad=None,
)
