"""Where a number came from: code version, package versions, device."""

from __future__ import annotations

import platform
import re
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import torch

from bench import __version__

PACKAGES = (
    "torch",
    "torchvision",
    "onedl-mmengine",
    "onedl-mmcv",
    "onedl-mmsegmentation",
    "onedl-mmdetection",
    "torch-fidelity",
    "lpips",
    "numpy",
)


def git_describe() -> str | None:
    repo = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"], cwd=repo, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def package_versions() -> dict[str, str | None]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return versions


def device_name(device: torch.device) -> str:
    """The GPU's name, or the CPU's model as the kernel reports it (the processor type where it does not)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        match = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        if match:
            return match.group(1).strip()
    return platform.processor() or platform.machine()


def provenance(device: torch.device) -> dict:
    return {
        "bench_version": __version__,
        "git": git_describe(),
        "python": platform.python_version(),
        "packages": package_versions(),
        "device": device_name(device) if device.type == "cuda" else f"{device_name(device)} ({torch.get_num_threads()} threads)",
        "platform": platform.platform(),
    }
