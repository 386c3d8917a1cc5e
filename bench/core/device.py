"""Which device a command runs on, from ``--device`` (auto, cpu or cuda). Its own module at the bottom, so that
asking loads torch only when the question is asked, never the runner and the model stack behind it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.core.errors import BenchError

if TYPE_CHECKING:
    import torch

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(requested: str) -> "torch.device":
    """``auto``: CUDA where it is available, else the CPU; ``cuda`` without a CUDA device is an error."""
    if requested not in DEVICES:
        raise BenchError(f"unknown device '{requested}'", "choose auto, cpu or cuda")
    import torch  # deferred: listing and planning commands never ask

    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise BenchError("--device cuda requested but no CUDA device is available", "use --device cpu or auto")
    return torch.device(requested)
