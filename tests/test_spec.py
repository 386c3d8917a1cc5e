from __future__ import annotations

import pytest

from bench.core.errors import BenchError
from bench.core.specs import GeneratorSpec
from bench.spec import NO_GENERATOR, RunSpec


def test_learned_generator_without_profile_follows_the_schedule():
    spec = RunSpec(generator=GeneratorSpec.of("defectgen"), ratio=1.0, schedule="smoke").normalized()
    assert dict(spec.generator.params) == {"profile": "smoke"}
    explicit = RunSpec(generator=GeneratorSpec.of("dcdganc", profile="paper"), ratio=1.0, schedule="smoke")
    assert explicit.normalized().generator == GeneratorSpec.of("dcdganc", profile="paper")


def test_baselines_keep_their_parameters_and_ratio_zero_shares_the_baseline():
    spec = RunSpec(generator=GeneratorSpec.of("copy-paste", max_defects=2), ratio=0.5)
    assert spec.normalized() == spec
    assert RunSpec(generator=GeneratorSpec.of("defectgen"), ratio=0.0).normalized().generator == NO_GENERATOR


def test_run_id_depends_on_spec_and_data():
    spec = RunSpec(generator=GeneratorSpec.of("copy-paste"), ratio=1.0)
    assert spec.run_id("a") == spec.run_id("a") != spec.run_id("b")
    assert RunSpec(generator=GeneratorSpec.of("copy-paste"), ratio=1.0, seed=1).run_id("a") != spec.run_id("a")


@pytest.mark.parametrize("field, value", [("ratio", -0.5), ("ratio", float("nan")), ("ratio", float("inf")), ("normal_ratio", -1.0)])
def test_amounts_must_be_finite_and_non_negative(field, value):
    with pytest.raises(BenchError, match=f"--{field.replace('_', '-')} must be a finite number >= 0"):
        RunSpec(**{field: value})


@pytest.mark.parametrize("seed", [-1, 1.5, True])
def test_seeds_are_whole_numbers(seed):
    with pytest.raises(BenchError, match="--seed must be a whole number >= 0"):
        RunSpec(seed=seed)
