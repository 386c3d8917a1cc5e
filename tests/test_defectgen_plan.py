"""Which denoiser runs at which timestep, for every hand-over mode and both samplers."""

from __future__ import annotations

import pytest

from bench.core.errors import BenchError
from generators.defectgen.plan import HANDOVERS, SAMPLERS, large_only, plan

T = 1000


def models_by_t_from(steps):
    return {s.t_from: s.model for s in steps}


def assert_one_chain(steps, start):
    assert steps[0].t_from == start and steps[-1].t_to == 0
    assert all(a.t_to == b.t_from for a, b in zip(steps, steps[1:])), "a restart inside a continuous chain"


def test_paper_mode_gives_the_large_model_the_first_u_steps():
    steps = plan(HANDOVERS.get("paper")(T, 50), stride=1)
    assert len(steps) == T
    assert_one_chain(steps, T)
    by_t = models_by_t_from(steps)
    assert [t for t, m in by_t.items() if m == "large"] == list(range(1000, 950, -1))  # t > t_switch = T - u
    assert all(by_t[t] == "small" for t in range(950, 0, -1))  # t <= t_switch


def test_caption_mode_gives_the_small_model_the_last_u_steps():
    steps = plan(HANDOVERS.get("caption")(T, 50), stride=1)
    assert_one_chain(steps, T)
    by_t = models_by_t_from(steps)
    assert [t for t, m in by_t.items() if m == "small"] == list(range(50, 0, -1))
    assert all(by_t[t] == "large" for t in range(1000, 50, -1))


def test_released_mode_runs_the_large_model_to_zero_then_restarts_the_small_one_at_u():
    steps = plan(HANDOVERS.get("released")(T, 400), stride=1)
    large = [s for s in steps if s.model == "large"]
    small = [s for s in steps if s.model == "small"]
    assert steps[: len(large)] == tuple(large), "large first, then small"
    assert_one_chain(large, 600)  # from pure noise at t = T - u = 600, not at T
    assert_one_chain(small, 400)  # restarts at t = u from the large model's finished sample
    assert len(large) == 600 and len(small) == 400


@pytest.mark.parametrize("u, expected", [(0, {"small"}), (T, {"large"})])
def test_paper_mode_extremes_use_one_model(u, expected):
    steps = plan(HANDOVERS.get("paper")(T, u), stride=1)
    assert {s.model for s in steps} == expected and len(steps) == T


def test_fast_sampler_strides_but_lands_on_the_switch():
    stride = SAMPLERS.get("fast").stride(50, T)
    assert stride == 20
    steps = plan(HANDOVERS.get("paper")(T, 50), stride)
    assert_one_chain(steps, T)
    assert all(s.t_from > 950 for s in steps if s.model == "large")
    assert all(s.t_from <= 950 for s in steps if s.model == "small")
    assert [s.t_to for s in steps if s.model == "large"][-1] == 950
    assert len(steps) == 51  # 50 strided steps plus the one the switch splits
    assert SAMPLERS.get("full").stride(50, T) == 1


def test_ddpm_is_the_large_model_alone():
    steps = plan(large_only(T), 1)
    assert_one_chain(steps, T)
    assert {s.model for s in steps} == {"large"}


@pytest.mark.parametrize(
    "mode, u", [("paper", -1), ("paper", T + 1), ("caption", 2.5), ("released", 0), ("released", T), ("paper", "50")]
)
def test_out_of_range_u_is_a_user_error(mode, u):
    with pytest.raises(BenchError, match="u="):
        HANDOVERS.get(mode)(T, u)


def test_unknown_mode_and_bad_steps_are_user_errors():
    with pytest.raises(BenchError, match="unknown defectgen mode 'sd'"):
        HANDOVERS.get("sd")
    with pytest.raises(BenchError, match="steps=0"):
        SAMPLERS.get("fast").stride(0, T)
