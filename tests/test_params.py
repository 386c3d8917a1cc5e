"""Declared parameters: unknown names, wrong types and values out of range are one-line errors before work."""

from __future__ import annotations

from typing import Annotated

import pytest

from bench.core.errors import BenchError
from bench.core.params import OneOf, Range, check_params, declared_class_params, declared_params, effective_params, task_params
from bench.core.specs import GeneratorSpec, TaskRef
from generators import GENERATORS
from generators.registry import build, checked_params


class Backend:
    def __init__(
        self,
        count: Annotated[int, Range(1, 8)] = 2,
        scale: Annotated[float, Range(0, 1, high_open=True)] = 0.5,
        mode: Annotated[str, OneOf("fast", "full")] = "full",
        label: int | str | None = None,
        flag: bool = False,
        area: tuple[float, float] = (0.1, 0.2),
    ):
        pass


DECLARED = declared_params(Backend.__init__)


def check(**values):
    return check_params("backend 'b'", DECLARED, values)


def test_values_are_converted_to_their_declared_types():
    out = check(count=3.0, scale=0, label=2, area=[0.2, 0.3], flag=True)
    assert out == {"count": 3, "scale": 0.0, "label": 2, "area": (0.2, 0.3), "flag": True}
    assert type(out["count"]) is int and type(out["scale"]) is float and type(out["area"]) is tuple
    assert check(label=None) == {"label": None}


@pytest.mark.parametrize(
    "values, message",
    [
        ({"foo": 1}, r"unknown parameter\(s\) foo; its parameters: count \(int, \[1, 8\], default 2\)"),
        ({"count": "abc"}, r"parameter count='abc' has the wrong type; expected count \(int"),
        ({"count": 2.5}, "parameter count=2.5 has the wrong type"),
        ({"count": True}, "parameter count=True has the wrong type"),
        ({"count": 9}, r"parameter count=9 is out of range; expected count \(int, \[1, 8\]"),
        ({"scale": 1.0}, r"scale=1.0 is out of range; expected scale \(float, \[0, 1\)"),
        ({"scale": float("nan")}, "scale=nan is not a finite number"),
        ({"scale": float("inf")}, "scale=inf is not a finite number"),
        ({"mode": "ddim"}, "mode='ddim' is out of range; expected mode .*one of fast, full"),
        ({"flag": "yes"}, "flag='yes' has the wrong type"),
        ({"count": None}, "parameter count cannot be null"),
    ],
)
def test_bad_values_are_one_line_errors_naming_parameter_value_and_allowed(values, message):
    with pytest.raises(BenchError, match=message) as info:
        check(**values)
    assert "\n" not in str(info.value) and str(info.value).startswith("backend 'b':")


def test_effective_params_fill_every_default():
    assert effective_params(DECLARED, {"count": 4}) == {
        "count": 4, "scale": 0.5, "mode": "full", "label": None, "flag": False, "area": (0.1, 0.2)
    }


def test_every_registered_generator_declares_parameters_that_resolve():
    for name in GENERATORS.names():
        declared = GENERATORS.get(name).declared()
        described = GENERATORS.get(name).describe()
        assert set(described["params"]) == set(declared) == set(described["param_types"])


@pytest.mark.parametrize(
    "spec, message",
    [
        (GeneratorSpec.of("copy-paste", max_defects="abc"), "generator 'copy-paste': parameter max_defects='abc' has the wrong type"),
        (GeneratorSpec.of("copy-paste", foo=1), r"generator 'copy-paste': unknown parameter\(s\) foo; its parameters: max_defects"),
        (GeneratorSpec.of("copy-paste", max_defects=0), "max_defects=0 is out of range"),
        (GeneratorSpec.of("poisson", shapes="blob"), "shapes='blob' is out of range; expected shapes .*one of real, hmi"),
        (GeneratorSpec.of("augment", brightness=1.5), "brightness=1.5 is out of range"),
    ],
)
def test_generator_parameters_are_checked_before_the_backend_is_built(spec, message):
    with pytest.raises(BenchError, match=message):
        checked_params(spec)
    with pytest.raises(BenchError, match=message):
        build(spec)


class Extended(Backend):
    def __init__(self, extra: Annotated[int, Range(0, 3)] = 1, **common):
        super().__init__(**common)


def test_parameters_passed_on_to_the_base_are_declared_once_in_the_base():
    declared = declared_class_params(Extended)
    assert list(declared) == [*DECLARED, "extra"] and declared["count"] == DECLARED["count"]
    assert check_params("backend 'e'", declared, {"extra": 3, "count": 4}) == {"extra": 3, "count": 4}
    with pytest.raises(BenchError, match="unknown parameter"):
        check_params("backend 'e'", declared, {"common": 1})
    assert list(GENERATORS.get("import:defectdiffu").declared()) == ["path", "defect_class", "threshold", "trained_on", "tile", "padding"]


def test_a_task_parameter_names_another_task_and_is_checked_like_any_other():
    dcdganc = GENERATORS.get("dcdganc").declared()
    assert task_params(dcdganc, {"source": "toy/wood", "alpha": 0.5}) == {"source": TaskRef("toy", "wood", "ds-5shot")}
    assert task_params(dcdganc, {"source": None}) == {}
    with pytest.raises(BenchError, match=r"parameter source='toy' is out of range; expected source .*DATASET/CATEGORY\[/SPLIT\]"):
        checked_params(GeneratorSpec.of("dcdganc", source="toy"))
