"""Generator backends. Each module declares its class with a ``name`` and registers it with
``@GENERATORS.register``; the registry finds every registering module below this package on first lookup."""

from bench.core.specs import GeneratorSpec
from generators.base import Generator
from generators.registry import GENERATORS, build

__all__ = ["GENERATORS", "Generator", "GeneratorSpec", "build"]
