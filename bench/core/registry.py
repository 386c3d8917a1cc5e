"""Name -> object registries, filled by the objects' own modules and by entry points of other packages.

One registry per kind (datasets, generators, segmenters, ...). A name is said once: an object with a
``name`` attribute (a generator class, a segmenter spec, a protocol) registers under it, with its
``aliases`` attribute if it has one; only a nameless object (a function, a split rule) is given a name
when it registers. Every entry is checked against the registry's type as it registers.

Built-ins register in their own modules. On first lookup the registry imports every module below its
``discover`` package, sub-packages included, whose code registers something (a ``X.register``/``X.add``
call on an upper-case registry name), read from the source before importing: helper modules that load
heavy dependencies (networks, training loops) stay unimported until they are used. Third-party packages
plug in through entry points in the registry's group (``bench.generators`` etc.), loaded on first use;
a plugin whose name is taken is refused with a warning naming both, never dropped silently.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import logging
import pkgutil
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Generic, Iterator, TypeVar

from bench.core.errors import BenchError

T = TypeVar("T")
log = logging.getLogger("bench.plugins")


@dataclass(frozen=True)
class _Plugin:
    """An entry point not loaded yet: ``module:attr`` and the distribution that declares it."""

    value: str
    dist: str

    def load(self):
        module, _, attr = self.value.partition(":")
        obj = importlib.import_module(module)
        for part in attr.split(".") if attr else ():
            obj = getattr(obj, part)
        return obj


class Registry(Generic[T]):
    """Entries of one kind: instances of ``base``, or subclasses of it when ``classes`` is set."""

    def __init__(self, kind: str, group: str, base: type, *, classes: bool = False, discover: str | None = None):
        self.kind = kind
        self.group = group
        self.base = base
        self.classes = classes
        self.discover = discover
        self._entries: dict[str, T | _Plugin] = {}
        self._aliases: dict[str, str] = {}
        self._loaded = False

    # --- registering ------------------------------------------------------------------------------
    def register(self, entry, *aliases: str):
        """``register(obj)``: ``obj`` under its own ``name`` (and ``aliases``); returns ``obj``, so it also
        decorates a class. ``register("name", *aliases)``: a decorator for a nameless object (a function)."""
        if isinstance(entry, str):

            def decorator(obj: T) -> T:
                self.add(entry, obj, *aliases)
                return obj

            return decorator
        if aliases:
            raise TypeError(f"{self.kind} {entry!r}: aliases of a named object belong in its own 'aliases'")
        name = getattr(entry, "name", None)
        if not isinstance(name, str) or not name:
            raise TypeError(f"{self.kind} {entry!r} has no 'name' to register under; give it one or use add(name, obj)")
        self._put(name, entry, tuple(getattr(entry, "aliases", ())))
        return entry

    def add(self, name: str, obj: T, *aliases: str) -> None:
        """Register a nameless object (a function, a rule) under ``name``."""
        if getattr(obj, "name", None) is not None:
            raise TypeError(f"{self.kind} '{name}' carries its own name {obj.name!r}: say it once, with register(obj)")
        self._put(name, obj, aliases)

    def _put(self, name: str, obj: T, aliases: tuple[str, ...]) -> None:
        if not self._admits(obj):
            raise TypeError(f"{self.kind} '{name}' is {obj!r}, not {self._wanted()}")
        existing = self._entries.get(name)
        if existing is not None and existing is not obj:
            raise ValueError(f"{self.kind} '{name}' is registered twice")
        self._entries[name] = obj
        for alias in aliases:
            self._aliases[alias] = name

    def _admits(self, obj) -> bool:
        if self.classes:
            return isinstance(obj, type) and issubclass(obj, self.base)
        return isinstance(obj, self.base)

    def _wanted(self) -> str:
        return f"a subclass of {self.base.__name__}" if self.classes else f"a {self.base.__name__}"

    # --- discovery and plugins ----------------------------------------------------------------------
    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        if self.discover:
            for module in registering_modules(self.discover):
                importlib.import_module(module)
        for ep in entry_points(group=self.group):
            dist = ep.dist.name if getattr(ep, "dist", None) is not None else "an unknown distribution"
            taken = self._aliases.get(ep.name, ep.name)
            if taken in self._entries:
                owner = self._entries[taken]
                by = f"the plugin {owner.value} of {owner.dist}" if isinstance(owner, _Plugin) else f"bench's own {self.kind}"
                log.warning(
                    "%s plugin '%s' (%s, from %s) is ignored: the name is taken by %s; rename the plugin's entry point",
                    self.kind, ep.name, ep.value, dist, by,
                )
                continue
            self._entries[ep.name] = _Plugin(ep.value, dist)

    def _resolve(self, key: str, plugin: _Plugin) -> T:
        """A plugin's object, type and name checked, before anyone uses it."""
        where = f"{self.kind} plugin '{key}' ({plugin.value}, from {plugin.dist})"
        try:
            obj = plugin.load()
        except (ImportError, AttributeError) as exc:
            raise BenchError(f"{where} does not load: {exc}", "fix or uninstall the plugin") from None
        if not self._admits(obj):
            raise BenchError(f"{where} is {obj!r}, not {self._wanted()}", "point the entry point at the right object")
        own = getattr(obj, "name", key)
        if own != key:
            raise BenchError(f"{where} calls itself '{own}'", "name the entry point as the object names itself")
        self._entries[key] = obj
        return obj

    # --- lookup -------------------------------------------------------------------------------------
    def canonical(self, name: str) -> str:
        self._load()
        return self._aliases.get(name, name)

    def get(self, name: str) -> T:
        key = self.canonical(name)
        if key not in self._entries:
            raise BenchError(f"unknown {self.kind} '{name}'", f"choose one of: {', '.join(self.names())}")
        entry = self._entries[key]
        return self._resolve(key, entry) if isinstance(entry, _Plugin) else entry

    def aliases_of(self, name: str) -> list[str]:
        return sorted(a for a, n in self._aliases.items() if n == name)

    def names(self) -> list[str]:
        self._load()
        return sorted(self._entries)

    def __contains__(self, name: str) -> bool:
        return self.canonical(name) in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


def registering_modules(package_name: str) -> list[str]:
    """Modules below ``package_name`` (sub-packages too) whose code registers an entry, without importing them."""
    package = importlib.import_module(package_name)
    found = []
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}.", onerror=_reraise):
        if info.name.rpartition(".")[2].startswith("_"):
            continue
        spec = importlib.util.find_spec(info.name)
        if spec is not None and spec.origin and spec.origin.endswith(".py") and _registers(Path(spec.origin).read_text()):
            found.append(info.name)
    return found


def _registers(source: str) -> bool:
    """Whether the code uses ``.register``/``.add`` of an upper-case name (a registry), called or as a decorator."""
    return any(
        isinstance(node, ast.Attribute)
        and node.attr in ("register", "add")
        and isinstance(node.value, ast.Name)
        and node.value.id.isupper()
        for node in ast.walk(ast.parse(source))
    )


def _reraise(name: str) -> None:
    """A sub-package of a discovered package that fails to import is an error, not a silently missing backend."""
    raise  # noqa: PLE0704  (called by pkgutil inside its except block)

