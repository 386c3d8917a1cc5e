"""The floor plan (docs/design.md, "Layers"): every module of the project stands on one layer and imports
only what stands below it or in its own part, module-level and function-level imports alike. A function
imports project code only to defer a heavy dependency, and says so in a comment."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bench", "generators", "segmenters")

# Lowest first. A layer holds parts; a part is named by its module prefixes. Parts of one layer do not
# import each other: data, metrics, generators and segmenters know nothing of one another.
LAYERS: tuple[tuple[tuple[str, ...], ...], ...] = (
    (("bench.core", "bench"),),  # the kernel, and the package face (its version)
    (("bench.data",), ("bench.metrics",), ("generators",), ("segmenters",), ("bench.spec",), ("bench.provenance",)),
    (("bench.records",),),  # typed records hold run specs
    (("bench.runner",), ("bench.report",), ("bench.alignment",), ("bench.regress",)),  # alignment trains a segmenter to judge generated sets; regress compares records with golden files
    (("bench.executors",),),
    (("bench.protocols",),),
    (("bench.api",),),  # the library entry point: what the command line calls, for notebooks and other tools
    (("bench.perf",),),  # benchmarks: anything below, never the command line
    (("bench.cli", "bench.__main__"),),
)

# Third-party packages whose import costs a noticeable fraction of a second or more (numpy: about 0.2 s of CPU,
# as much as the rest of `bench --help`).
HEAVY = {"numpy", "torch", "torchvision", "mmengine", "mmseg", "mmcv", "mmdet", "pandas", "matplotlib", "scipy", "sklearn",
         "ray", "diffusers", "transformers", "lpips", "torch_fidelity", "cv2"}


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported module (a submodule where ``from package import submodule``)
    line: int
    local: bool  # inside a function
    runtime: bool  # executed when the module (or the function) runs; False under ``if TYPE_CHECKING``


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if not all((ROOT.joinpath(*parts[:i]) / "__init__.py").is_file() for i in range(1, len(parts))):
                continue  # not importable as a module (segmenters/configs/ holds MMSegmentation config files)
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


@cache
def imports_of(name: str) -> tuple[Import, ...]:
    known = modules()
    path = known[name]
    found: list[Import] = []

    def visit(node: ast.AST, local: bool, runtime: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend(Import(name, a.name, child.lineno, local, runtime) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:  # relative: resolve against this module's package
                    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                    base = ".".join(package[: len(package) - child.level + 1] + ([base] if base else []))
                for alias in child.names:
                    target = f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                    found.append(Import(name, target, child.lineno, local, runtime))
            else:
                inner = local or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                visit(child, inner, runtime and not _type_checking(child))

    visit(ast.parse(path.read_text()), False, True)
    return tuple(found)


def project(target: str) -> bool:
    return target.split(".")[0] in PACKAGES


def part_of(name: str) -> tuple[int, tuple[str, ...]]:
    """(layer, part) of a module: the part with the longest prefix that names it."""
    best = None
    for level, parts in enumerate(LAYERS):
        for part in parts:
            for prefix in part:
                if (name == prefix or name.startswith(prefix + ".")) and (best is None or len(prefix) > best[0]):
                    best = (len(prefix), level, part)
    assert best is not None, f"{name} stands on no layer: add it to LAYERS in {Path(__file__).name}"
    return best[1], best[2]


def loads_on_import(name: str) -> set[str]:
    """Top-level packages, project or third party, that importing ``name`` loads (module-level code only)."""
    seen: set[str] = set()
    pending = [name]
    loaded: set[str] = set()
    known = modules()
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        seen.add(module)
        parents = [".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)]
        for target in [*parents, *(i.target for i in imports_of(module) if i.runtime and not i.local)]:
            loaded.add(target.split(".")[0])
            if target in known:
                pending.append(target)
            elif project(target):
                pending.append(target.rpartition(".")[0])
    return loaded


def test_every_module_stands_on_a_layer():
    for name in modules():
        part_of(name)


def test_no_import_runs_upward_or_sideways():
    wrong = []
    for name in modules():
        level, part = part_of(name)
        for imp in dict.fromkeys(imports_of(name)):
            if not project(imp.target):
                continue
            target_level, target_part = part_of(imp.target)
            if target_part != part and target_level >= level:
                kind = "function-level" if imp.local else "module-level"
                wrong.append(f"{name}:{imp.line} ({kind}) imports {imp.target}: layer {level} {part[0]} -> layer {target_level} {target_part[0]}")
    assert not wrong, "\n".join(wrong)


def test_function_level_imports_of_project_code_defer_a_heavy_dependency_and_say_so():
    wrong = []
    for name, path in modules().items():
        lines = path.read_text().splitlines()
        for imp in dict.fromkeys(imports_of(name)):
            if not (imp.local and project(imp.target)):
                continue
            heavy = loads_on_import(imp.target) & HEAVY
            start = imp.line - 1
            while start > 0 and lines[start - 1].strip().startswith(("from ", "import ")):
                start -= 1  # the comment may head a block of such imports
            said = any("deferred" in line for line in lines[max(start - 1, 0) : imp.line])
            if not heavy:
                wrong.append(f"{name}:{imp.line} imports {imp.target} in a function, but it loads nothing heavy: import it at the top")
            elif not said:
                wrong.append(f"{name}:{imp.line} defers {imp.target} ({', '.join(sorted(heavy))}) without a '# deferred: why' comment")
    assert not wrong, "\n".join(wrong)


def test_the_checks_see_what_they_check():
    """The walker finds imports at module and function level and what they load, so passing means something."""
    runner = {i.target for i in imports_of("bench.runner") if not i.local}
    assert {"bench.data.tasks", "generators.synthesize", "segmenters.train"} <= runner
    compute = [i for i in imports_of("bench.executors.base") if i.local and i.target == "bench.runner"]
    assert compute and "torch" in loads_on_import("bench.runner")
    assert "torch" not in loads_on_import("generators") and "torch" not in loads_on_import("bench.data.base")
    assert part_of("bench.data.adapters.toy")[1] == ("bench.data",) and part_of("bench")[0] == 0
