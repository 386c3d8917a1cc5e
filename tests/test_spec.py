from __future__ import annotations

import pytest

from bench.core.errors import BenchError
from bench.core.specs import GeneratorSpec
from bench.runner import effective_spec
from bench.spec import NO_GENERATOR, RunSpec


def test_learned_generator_without_profile_follows_the_schedule():
    spec = effective_spec(RunSpec(generator=GeneratorSpec.of("defectgen"), ratio=1.0, schedule="smoke"))
    assert dict(spec.generator.params) == {"profile": "smoke"}
    explicit = RunSpec(generator=GeneratorSpec.of("dcdganc", profile="paper"), ratio=1.0, schedule="smoke")
    assert effective_spec(explicit).generator == GeneratorSpec.of("dcdganc", profile="paper")
    assert effective_spec(RunSpec(generator=GeneratorSpec.of("copy-paste"), ratio=1.0, schedule="smoke")).generator == GeneratorSpec("copy-paste")


def test_baselines_keep_their_parameters_and_ratio_zero_shares_the_baseline():
    spec = RunSpec(generator=GeneratorSpec.of("copy-paste", max_defects=2), ratio=0.5)
    assert spec.normalized() == spec
    assert RunSpec(generator=GeneratorSpec.of("defectgen"), ratio=0.0).normalized().generator == NO_GENERATOR
    assert effective_spec(RunSpec(generator=GeneratorSpec.of("defectgen"), ratio=0.0)).generator == NO_GENERATOR


def test_a_spec_value_does_not_depend_on_the_generator_registry():
    """Normalizing is a rule on the values alone: a generator nobody registered normalizes as any other."""
    spec = RunSpec(generator=GeneratorSpec.of("not-registered", profile="x"), ratio=1.0)
    assert spec.normalized() is spec
    assert RunSpec(generator=GeneratorSpec("not-registered"), ratio=0.0).normalized().generator == NO_GENERATOR
    with pytest.raises(BenchError, match="unknown generator 'not-registered'"):
        effective_spec(RunSpec(generator=GeneratorSpec("not-registered"), ratio=1.0))


def test_run_id_depends_on_spec_and_data():
    spec = RunSpec(generator=GeneratorSpec.of("copy-paste"), ratio=1.0)
    assert spec.run_id("a") == spec.run_id("a") != spec.run_id("b")
    assert RunSpec(generator=GeneratorSpec.of("copy-paste"), ratio=1.0, seed=1).run_id("a") != spec.run_id("a")


def test_negative_ratio_is_rejected():
    with pytest.raises(BenchError, match="--ratio must be >= 0"):
        RunSpec(ratio=-0.5)
