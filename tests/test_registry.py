from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

import pytest

import bench.core.registry as registry_module
from bench.core.errors import BenchError
from bench.core.registry import Registry


@dataclass(frozen=True)
class Widget:
    name: str
    aliases: tuple[str, ...] = ()


class FakeEntryPoint:
    def __init__(self, name: str, value: str):
        self.name, self.value, self.dist = name, value, None


def plugins(monkeypatch, group: str, *points: FakeEntryPoint) -> None:
    monkeypatch.setattr(registry_module, "entry_points", lambda group=None, _g=group: list(points) if group == _g else [])


def test_unknown_name_lists_valid_ones():
    reg: Registry[Widget] = Registry("widget", "bench.test-widgets", Widget)
    reg.register(Widget("alpha"))
    reg.register(Widget("beta", aliases=("b",)))
    with pytest.raises(BenchError, match="unknown widget 'gamma'; choose one of: alpha, beta"):
        reg.get("gamma")
    assert reg.get("b") == Widget("beta", ("b",))
    assert reg.aliases_of("beta") == ["b"]


def test_a_name_is_said_once():
    reg: Registry[Widget] = Registry("widget", "bench.test-widgets", Widget)
    with pytest.raises(TypeError, match="say it once"):
        reg.add("alpha", Widget("alpha"))
    with pytest.raises(TypeError, match="say it once"):
        reg.register("alpha")(Widget("alpha"))
    functions: Registry[object] = Registry("mode", "bench.test-modes", object)

    @functions.register("square")
    def square(x):
        return x * x

    assert functions.get("square") is square, "a nameless function is named where it registers"


def test_registration_checks_the_type():
    widgets: Registry[Widget] = Registry("widget", "bench.test-widgets", Widget)
    with pytest.raises(TypeError, match="not a Widget"):
        widgets.add("seven", 7)
    classes: Registry[type] = Registry("backend", "bench.test-backends", BaseException, classes=True)

    @classes.register
    class Fine(ValueError):
        name = "fine"

    assert classes.get("fine") is Fine
    with pytest.raises(TypeError, match="not a subclass of BaseException"):

        @classes.register
        class Wrong:
            name = "wrong"


def test_entry_points_plug_in_lazily_with_their_type_and_name_checked(monkeypatch):
    plugins(monkeypatch, "bench.test-plugins", FakeEntryPoint("json", "json:JSONDecodeError"),
            FakeEntryPoint("misnamed", "tests.test_registry:NAMED"), FakeEntryPoint("dumps", "json:dumps"))
    reg: Registry[type] = Registry("error", "bench.test-plugins", Exception, classes=True)
    import json

    assert reg.names() == ["dumps", "json", "misnamed"]
    assert reg.get("json") is json.JSONDecodeError
    with pytest.raises(BenchError, match="error plugin 'dumps' .* is <function dumps.*not a subclass of Exception"):
        reg.get("dumps")
    with pytest.raises(BenchError, match="calls itself 'named'"):
        reg.get("misnamed")


class NAMED(Exception):
    name = "named"


def test_a_plugin_that_takes_a_builtin_name_is_refused_loudly(monkeypatch, caplog):
    plugins(monkeypatch, "bench.test-clash", FakeEntryPoint("alpha", "json:dumps"), FakeEntryPoint("a", "json:loads"))
    reg: Registry[object] = Registry("widget", "bench.test-clash", object)
    reg.register(Widget("alpha", aliases=("a",)))
    with caplog.at_level(logging.WARNING, logger="bench.plugins"):
        assert reg.names() == ["alpha"]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2 and all("is ignored: the name is taken by bench's own widget" in w for w in warnings)
    assert "widget plugin 'alpha' (json:dumps" in warnings[0]
    assert reg.get("a") == Widget("alpha", ("a",))


def test_discovery_walks_sub_packages_and_imports_only_registering_modules(tmp_path, monkeypatch):
    root = tmp_path / "plugpkg"
    (root / "deep").mkdir(parents=True)
    (root / "__init__.py").write_text("from bench.core.registry import Registry\nTHINGS = Registry('thing', 'bench.test-things', object, discover='plugpkg')\n")
    (root / "top.py").write_text("from plugpkg import THINGS\nTHINGS.add('top', 1)\n")
    (root / "deep" / "__init__.py").write_text("")
    (root / "deep" / "inner.py").write_text("from plugpkg import THINGS\n\n@THINGS.register('inner')\ndef inner():\n    pass\n")
    (root / "deep" / "heavy.py").write_text("raise RuntimeError('a helper module is not imported by discovery')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        import plugpkg

        assert plugpkg.THINGS.names() == ["inner", "top"]
        assert "plugpkg.deep.heavy" not in sys.modules
    finally:
        for name in [m for m in sys.modules if m == "plugpkg" or m.startswith("plugpkg.")]:
            del sys.modules[name]


def test_builtin_registries_are_populated():
    from bench.data.base import DATASETS
    from generators import GENERATORS
    from segmenters import SCHEDULES, SEGMENTERS

    assert {"none", "copy-paste", "import:seas", "dcdganc", "defectgen"} <= set(GENERATORS.names())
    assert GENERATORS.canonical("defect-gen") == "defectgen"
    assert "toy" in DATASETS.names() and DATASETS.canonical("kolektorsdd2") == "ksdd2"
    assert "segformer" in SEGMENTERS.names()
    assert {"smoke", "short", "paper"} <= set(SCHEDULES.names())
