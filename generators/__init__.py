"""Generator backends. Each module registers its class with ``@GENERATORS.register(name)``;
the registry imports every module of this package on first lookup."""

from bench.core.registry import Registry
from bench.core.specs import GeneratorSpec
from generators.base import Generator

GENERATORS: Registry[type[Generator]] = Registry("generator", "bench.generators", discover="generators")

__all__ = ["GENERATORS", "Generator", "GeneratorSpec"]
