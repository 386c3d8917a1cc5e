"""What a benchmark ran on, said the same way in every result file."""

from __future__ import annotations

import os

import torch

from bench.provenance import device_name


def host(device: torch.device) -> dict:
    """The device and its kind, torch and its CPU threads, and the load average as the result is written:
    other work on the machine skews CPU timings."""
    return {
        "device": device_name(device),
        "device_type": device.type,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "load_average": os.getloadavg()[0],
    }
