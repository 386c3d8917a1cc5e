"""The segmentation models that consume generated data: MMSegmentation configs plus the training glue."""

from segmenters.registry import SEGMENTERS, SegmenterSpec
from segmenters.schedules import SCHEDULES, Schedule

__all__ = ["SEGMENTERS", "SCHEDULES", "SegmenterSpec", "Schedule"]
