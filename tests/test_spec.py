from __future__ import annotations

import dataclasses

import pytest

from bench.core.errors import BenchError
from bench.core.hashing import canonical_json, sha256_text
from bench.core.specs import GeneratorSpec
from bench.runner import effective_spec
from bench.spec import LEGACY_IDENTITY, NO_GENERATOR, RunSpec


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


def test_run_ids_of_records_written_before_identities_grew_still_match():
    """bench.run/1 hashed every spec field, defaults included: those ids are kept."""
    for spec in (RunSpec(), RunSpec(generator=GeneratorSpec.of("copy-paste", max_defects=2), ratio=0.5, seed=4, pretrained=True)):
        v1 = {k: v for k, v in spec.to_dict().items() if k in LEGACY_IDENTITY}  # the fields a bench.run/1 spec had
        assert spec.run_id("m") == sha256_text(canonical_json({"spec": v1, "data": "m"}))[:16]


def test_adding_a_defaulted_spec_field_keeps_every_run_id():
    @dataclasses.dataclass(frozen=True)
    class Grown(RunSpec):
        mixup: float = 0.0

    fields = dict(generator=GeneratorSpec.of("copy-paste"), ratio=0.5, seed=3, pretrained=True)
    old, new = RunSpec(**fields), Grown(**fields)
    assert new.run_id("m") == old.run_id("m")
    assert "mixup" not in new.identity()
    assert Grown(**fields, mixup=0.2).run_id("m") != old.run_id("m"), "a non-default value is a different run"
    assert dataclasses.replace(new, generator=GeneratorSpec("none"), ratio=0.0).normalized().mixup == 0.0


def test_a_generator_version_past_the_first_changes_the_run_id():
    spec = RunSpec(generator=GeneratorSpec.of("copy-paste"), ratio=1.0)
    assert spec.run_id("m") == spec.run_id("m", "1")
    assert spec.run_id("m", "2") != spec.run_id("m")


def test_bumping_a_backends_version_changes_its_run_ids_and_cache_keys(monkeypatch):
    from bench.runner import versioned_run_id
    from generators import GENERATORS
    from generators.synthesize import cache_key

    class Data:
        def content_hash(self):
            return "c" * 64

    spec = RunSpec(generator=GeneratorSpec.of("copy-paste"), ratio=1.0)
    run_id, key = versioned_run_id(spec, "m"), cache_key(spec.generator, Data(), None, 15, 0)
    assert run_id == spec.run_id("m") and key == cache_key(spec.generator, Data(), None, 15, 0, version="1")
    monkeypatch.setattr(GENERATORS.get("copy-paste"), "version", "2")
    assert versioned_run_id(spec, "m") != run_id and versioned_run_id(spec, "m") == spec.run_id("m", "2")
    assert cache_key(spec.generator, Data(), None, 15, 0, version="2") != key
    assert GENERATORS.get("copy-paste").describe()["version"] == "2"


@pytest.mark.parametrize("field, value", [("ratio", -0.5), ("ratio", float("nan")), ("ratio", float("inf")), ("normal_ratio", -1.0)])
def test_amounts_must_be_finite_and_non_negative(field, value):
    with pytest.raises(BenchError, match=f"--{field.replace('_', '-')} must be a finite number >= 0"):
        RunSpec(**{field: value})


@pytest.mark.parametrize("seed", [-1, 1.5, True])
def test_seeds_are_whole_numbers(seed):
    with pytest.raises(BenchError, match="--seed must be a whole number >= 0"):
        RunSpec(seed=seed)


def test_paired_batches_are_a_new_run_where_they_change_training_and_nothing_where_they_cannot():
    setting = dict(generator=GeneratorSpec.of("copy-paste"), ratio=1.0, seed=3)
    before = {k: v for k, v in RunSpec(**setting).to_dict().items() if k in LEGACY_IDENTITY}  # a record written before the field
    pooled, paired = RunSpec(**setting, batches="pooled"), RunSpec(**setting, batches="paired")
    assert pooled.run_id("m") == sha256_text(canonical_json({"spec": before, "data": "m"}))[:16], "pooled is what ran before"
    assert paired.run_id("m") != pooled.run_id("m") and paired.normalized() == paired
    baseline = RunSpec(seed=3, batches="paired").normalized()
    assert baseline.batches == "pooled" and baseline.run_id("m") == RunSpec(seed=3).run_id("m"), "the baseline keeps its id"
    normals = RunSpec(normal_ratio=1.0, batches="paired")
    assert normals.normalized().batches == "paired", "added defect-free images are paired too"
    only = RunSpec(**setting, synthetic_only=True, batches="paired").normalized()
    assert only.batches == "pooled", "no real pairs: nothing to pair"
    with pytest.raises(BenchError, match="batches 'mixed' is not one of paired, pooled"):
        RunSpec(batches="mixed")
