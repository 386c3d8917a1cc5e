"""GPU utilisation sampled while a benchmark runs: how busy the GPU was, beside how fast the work went.

A sampler is a context manager around the timed work; ``summary()`` then says what it saw. It reads the
device through pynvml when that is installed, else through one ``nvidia-smi -lms`` process streaming a
line per reading, else it says "not sampled" and why. On a CPU nothing is sampled.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import threading
import time
from typing import Callable, Sequence

import torch

INTERVAL_S = 0.1


def summarize(percent: Sequence[float], source: str) -> dict:
    """Mean, median, min and max of the readings (percent of time a kernel ran)."""
    if not percent:
        return {"source": source, "samples": 0, "note": "no readings arrived while the work ran"}
    return {"source": source, "samples": len(percent), "mean": statistics.fmean(percent), "median": statistics.median(percent),
            "min": min(percent), "max": max(percent)}


def describe(summary: dict) -> str:
    """``summary()`` in a few words for the markdown tables."""
    if "mean" not in summary:
        return summary.get("note", "not sampled")
    return f"{summary['mean']:.0f} % (max {summary['max']:.0f}, n={summary['samples']})"


class NotSampled:
    """No utilisation readings, with the reason."""

    def __init__(self, reason: str):
        self.reason = reason

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def summary(self) -> dict:
        return {"source": None, "samples": 0, "note": f"not sampled: {self.reason}"}


class PolledSampler:
    """Calls ``read()`` (one percent reading) every ``interval`` seconds in a background thread."""

    def __init__(self, read: Callable[[], float], source: str, interval: float = INTERVAL_S):
        self.read, self.source, self.interval = read, source, interval
        self.readings: list[float] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.readings.append(float(self.read()))
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def summary(self) -> dict:
        return summarize(self.readings, self.source)


class StreamSampler:
    """Reads a command that prints one reading per line until it is stopped (``nvidia-smi -lms``)."""

    def __init__(self, command: Sequence[str], source: str):
        self.command, self.source = list(command), source
        self.readings: list[float] = []
        self._process: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None

    def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            try:
                self.readings.append(float(line.strip().split(",")[0]))
            except ValueError:  # "[N/A]" or a header: not a reading
                continue

    def __enter__(self):
        self._process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def summary(self) -> dict:
        return summarize(self.readings, self.source)


def gpu_id(device: torch.device) -> str:
    """How nvidia-smi and NVML name the device torch calls ``device``: its UUID (CUDA_VISIBLE_DEVICES renumbers
    torch's indices, not the UUIDs), or the index where torch does not report one."""
    properties = torch.cuda.get_device_properties(device)
    uuid = str(getattr(properties, "uuid", "") or "")
    if uuid:
        return uuid if uuid.startswith(("GPU-", "MIG-")) else f"GPU-{uuid}"
    return str(device.index if device.index is not None else torch.cuda.current_device())


def _nvml_reader(identifier: str) -> Callable[[], float] | None:
    try:
        import pynvml
    except ImportError:
        return None
    pynvml.nvmlInit()
    handle = (pynvml.nvmlDeviceGetHandleByUUID(identifier) if identifier.startswith(("GPU-", "MIG-"))
              else pynvml.nvmlDeviceGetHandleByIndex(int(identifier)))
    return lambda: pynvml.nvmlDeviceGetUtilizationRates(handle).gpu


def sampler(device: torch.device):
    """The best sampler available for ``device``: pynvml, nvidia-smi, or none (and why)."""
    if device.type != "cuda":
        return NotSampled(f"the device is a {device.type.upper()}")
    identifier = gpu_id(device)
    reason = "pynvml is not installed"
    try:
        read = _nvml_reader(identifier)
    except Exception as exc:  # noqa: BLE001 - an NVML that does not answer falls back to nvidia-smi
        read, reason = None, f"pynvml failed ({type(exc).__name__}: {exc})"
    if read is not None:
        return PolledSampler(read, "pynvml")
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return NotSampled(f"{reason} and nvidia-smi is not on PATH")
    interval_ms = str(int(INTERVAL_S * 1000))
    command = [smi, "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits", "-i", identifier, "-lms", interval_ms]
    return StreamSampler(command, "nvidia-smi")


def timed(device: torch.device, work: Callable[[], object]) -> tuple[object, float, dict]:
    """Run ``work()`` with the device synchronized before and after: its result, wall seconds and utilisation."""
    synchronize(device)
    with sampler(device) as watch:
        start = time.perf_counter()
        result = work()
        synchronize(device)
        seconds = time.perf_counter() - start
    return result, seconds, watch.summary()


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
