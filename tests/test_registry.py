from __future__ import annotations

import pytest

from bench.core.errors import BenchError
from bench.core.registry import Registry


def test_unknown_name_lists_valid_ones():
    reg: Registry[int] = Registry("widget", "bench.test-widgets")
    reg.add("alpha", 1)
    reg.add("beta", 2, "b")
    with pytest.raises(BenchError, match="unknown widget 'gamma'; choose one of: alpha, beta"):
        reg.get("gamma")
    assert reg.get("b") == 2
    assert reg.aliases_of("beta") == ["b"]


def test_lazy_reference_is_imported_on_first_use():
    reg: Registry[object] = Registry("thing", "bench.test-things")
    reg.add("join", "os.path:join")
    import os.path

    assert reg.get("join") is os.path.join


def test_entry_points_plug_in(monkeypatch):
    import bench.core.registry as registry_module

    class FakeEntryPoint:
        name = "plugin"
        value = "json:dumps"

    monkeypatch.setattr(registry_module, "entry_points", lambda group: [FakeEntryPoint()] if group == "bench.plugins" else [])
    reg: Registry[object] = Registry("plugin", "bench.plugins")
    import json

    assert "plugin" in reg.names()
    assert reg.get("plugin") is json.dumps


def test_builtin_registries_are_populated():
    from bench.data.base import DATASETS
    from generators import GENERATORS
    from segmenters import SCHEDULES, SEGMENTERS

    assert {"none", "copy-paste"} <= set(GENERATORS.names())
    assert "toy" in DATASETS.names()
    assert "segformer" in SEGMENTERS.names()
    assert {"smoke", "short", "paper"} <= set(SCHEDULES.names())
