"""bench: one harness to score few-shot defect image generators by what they do for defect segmentation."""

__version__ = "0.1.0"
