"""Image classifiers for the classification protocol (bench.protocols.classification): what a defect-type
classifier learns from real and synthetic pairs, separate from the segmenters."""
