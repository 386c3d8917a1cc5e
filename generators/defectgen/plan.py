"""Which denoiser runs at which timestep: the two-stage hand-over, decided once, as plain data.

Timesteps count like the DDPM paper: x_T is noise, x_0 the sample, a step maps x_{t_from} to
x_{t_to}. A hand-over mode turns the switch parameter ``u`` into segments (model, start, stop); each
segment continues from whatever the previous one produced, so a segment that does not start where
the previous one stopped is a restart (the released code's behaviour). See docs/defectgen.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.core.errors import BenchError
from bench.core.registry import Registry

Segment = tuple[str, int, int]  # (model role, start timestep, stop timestep)


@dataclass(frozen=True)
class Step:
    model: str  # "large" or "small"
    t_from: int
    t_to: int


HANDOVERS: Registry[Callable[[int, int], list[Segment]]] = Registry("defectgen mode", "bench.defectgen_modes", Callable)


def _check_u(mode: str, u: int, low: int, high: int) -> None:
    if not isinstance(u, int) or isinstance(u, bool) or not low <= u <= high:
        raise BenchError(f"defectgen u={u!r} is out of range for mode '{mode}'", f"use an integer in [{low}, {high}]")


@HANDOVERS.register("paper")
def paper_handover(timesteps: int, u: int) -> list[Segment]:
    """Table 12 as its numbers read: the large model takes the first u steps, t_switch = T - u."""
    _check_u("paper", u, 0, timesteps)
    t_switch = timesteps - u
    return [("large", timesteps, t_switch), ("small", t_switch, 0)]


@HANDOVERS.register("caption")
def caption_handover(timesteps: int, u: int) -> list[Segment]:
    """Table 12's caption taken literally: the small model takes the last u steps, t_switch = u."""
    _check_u("caption", u, 0, timesteps)
    return [("large", timesteps, u), ("small", u, 0)]


@HANDOVERS.register("released")
def released_handover(timesteps: int, u: int) -> list[Segment]:
    """The released inference script: the large model denoises pure noise from t = T - u down to 0,
    then the small model restarts at t = u from that finished sample (``--step_inference u``)."""
    _check_u("released", u, 1, timesteps - 1)
    return [("large", timesteps - u, 0), ("small", u, 0)]


def large_only(timesteps: int) -> list[Segment]:
    """The DDPM baseline: the large model over the whole chain."""
    return [("large", timesteps, 0)]


@dataclass(frozen=True)
class Sampler:
    """``full``: every timestep with the reading's update rule; ``fast``: strided, deterministic DDIM (eta 0)."""

    strided: bool
    update: str | None  # the update rule (diffusion.UPDATES); None: the reading's

    def stride(self, steps: int, timesteps: int) -> int:
        """1 for the full chain; otherwise the stride that makes a whole chain ``steps`` steps long."""
        if not self.strided:
            return 1
        if not isinstance(steps, int) or isinstance(steps, bool) or not 1 <= steps <= timesteps:
            raise BenchError(f"defectgen steps={steps!r} is out of range", f"use an integer in [1, {timesteps}]")
        return math.ceil(timesteps / steps)


SAMPLERS: Registry[Sampler] = Registry("defectgen sampler", "bench.defectgen_samplers", Sampler)
SAMPLERS.add("full", Sampler(strided=False, update=None))
SAMPLERS.add("fast", Sampler(strided=True, update="ddim"))


def plan(segments: Sequence[Segment], stride: int) -> tuple[Step, ...]:
    """Steps of every segment, each segment strided from its start and always ending on its stop."""
    steps: list[Step] = []
    for model, start, stop in segments:
        times = list(range(start, stop, -stride)) + [stop]
        steps.extend(Step(model, a, b) for a, b in zip(times, times[1:]))
    return tuple(steps)
