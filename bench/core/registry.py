"""Name -> object registries, filled by decorators, lazy ``module:attr`` strings and entry points.

One registry per kind (datasets, generators, segmenters, ...). Built-in entries register themselves
with a decorator in their own module; the registry imports every module of its ``discover`` package on
first lookup, so adding a backend means adding a file. Third-party packages plug in by declaring an
entry point in the registry's group (``bench.generators`` etc.) without forking.
"""

from __future__ import annotations

import importlib
import pkgutil
from importlib.metadata import entry_points
from typing import Callable, Generic, Iterator, TypeVar

from bench.core.errors import BenchError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, group: str, discover: str | None = None):
        self.kind = kind
        self.group = group
        self.discover = discover
        self._entries: dict[str, T | str] = {}
        self._aliases: dict[str, str] = {}
        self._plugins_loaded = False

    def register(self, name: str, *aliases: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            self.add(name, obj, *aliases)
            return obj

        return decorator

    def add(self, name: str, obj: T | str, *aliases: str) -> None:
        """Register ``obj`` (or a lazy ``"module:attr"`` reference to it) under ``name``."""
        existing = self._entries.get(name)
        if existing is not None and existing is not obj and not isinstance(existing, str):
            raise ValueError(f"{self.kind} '{name}' is registered twice")
        self._entries[name] = obj
        for alias in aliases:
            self._aliases[alias] = name

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        if self.discover:
            package = importlib.import_module(self.discover)
            for info in pkgutil.iter_modules(package.__path__):
                if not info.name.startswith("_"):
                    importlib.import_module(f"{self.discover}.{info.name}")
        for ep in entry_points(group=self.group):
            if ep.name not in self._entries:
                self._entries[ep.name] = ep.value

    def canonical(self, name: str) -> str:
        self._load_plugins()
        return self._aliases.get(name, name)

    def get(self, name: str) -> T:
        key = self.canonical(name)
        if key not in self._entries:
            raise BenchError(
                f"unknown {self.kind} '{name}'", f"choose one of: {', '.join(self.names())}"
            )
        entry = self._entries[key]
        if isinstance(entry, str):
            module, _, attr = entry.partition(":")
            entry = getattr(importlib.import_module(module), attr)
            self._entries[key] = entry
        return entry

    def aliases_of(self, name: str) -> list[str]:
        return sorted(a for a, n in self._aliases.items() if n == name)

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted(self._entries)

    def __contains__(self, name: str) -> bool:
        return self.canonical(name) in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
