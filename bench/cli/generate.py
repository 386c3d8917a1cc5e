from __future__ import annotations

import shutil
import time
from pathlib import Path

import click

from bench.cli import options
from bench.core.atomic import atomic_dir
from bench.core.errors import BenchError
from bench.core.jsonfile import dumps
from bench.core.paths import writable_dir
from bench.core.specs import GeneratorSpec, TaskRef
from bench.report.format import percent
from generators import GENERATORS, build


@click.command()
@click.option("--generator", "-g", required=True, help="Generator spec: NAME or NAME(key=value,...) (`bench generators list`).")
@options.multi("--gen-param", metavar="KEY=VALUE", help="Generator parameter.")
@click.option("--path", "import_path", default=None, help="Folder of a published tool's output (import:* generators; same as --gen-param path=DIR).")
@click.option("--n", "n", required=True, type=click.IntRange(1, 1_000_000), help="Number of pairs to generate.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Where to write the pair set (replaced if it exists).")
@options.task
@options.seed
@click.option("--schedule", default=None,
              help="Train a learned generator at the profile it declares for this schedule, as `bench run` does "
                   "(short and cpu: the CPU toy profile, paper: the published one) [default: the backend's default profile].")
@click.option("--check", is_flag=True, help="Print the sanity report: empty masks, sizes, class histogram, memorization rate.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary (with the sanity report).")
def generate(generator, gen_param, import_path, n, out, dataset, data_root, category, split, image_size, seed, schedule, check, as_json):
    """Generate N pairs with a generator fitted on a task's training split and write them as a pair set."""
    # deferred: generating and its sanity report load torch and OpenCV, which `bench --help` does without
    from bench.data.tasks import Tasks
    from bench.runner import load_sources, scheduled
    from generators.sanity import sanity_report
    from generators.synthesize import read_sanity, synthesize

    spec = options.generator_spec(generator, gen_param, GENERATORS.canonical)
    GENERATORS.get(spec.name)  # fail on unknown names before touching data
    if import_path is not None:
        spec = GeneratorSpec.of(spec.name, **dict(spec.params), path=str(Path(import_path).expanduser().resolve()))
    if schedule is not None:
        spec = scheduled(spec, schedule)
    backend = build(spec)  # bad parameters fail here, before any data is loaded
    out = _writable_out(Path(out))

    tasks = Tasks(progress=True)
    task = TaskRef(dataset, category, split, image_size)
    data = tasks.load(task, data_root)
    train, normals = data.train, data.normals
    sources = load_sources(spec, tasks, dataset, data_root, task)
    t0 = time.perf_counter()
    generated, cache_hit = synthesize(spec, train, normals, n, seed, progress=True, sources=sources, generator=backend)
    seconds = time.perf_counter() - t0
    target = _copy_set(generated.root, out)
    report = read_sanity(generated) or sanity_report(generated, train, progress=True)

    summary = {
        "generator": spec.to_dict(),
        "n": len(generated),
        "seed": seed,
        "task": str(task),
        "cache_hit": cache_hit,
        "seconds": round(seconds, 4),
        "out": str(target),
    }
    if as_json:
        click.echo(dumps({**summary, "sanity": report}))
        return
    source = "from cache" if cache_hit else "generated"
    click.echo(f"{source}: {len(generated)} pairs of {spec} on {summary['task']} seed={seed} in {seconds:.3f} s -> {target}")
    if check:
        click.echo(format_sanity(report))


def format_sanity(report: dict) -> str:
    mem = report["memorization"]
    rate = percent(mem["rate"], digits=1, sign="%")
    lines = [
        f"pairs: {report['pairs']}",
        f"empty masks: {report['empty_masks']}" + _ids(report["empty_mask_ids"], report["empty_masks"]),
        *_degenerate_lines(report),
        f"size mismatches (vs training sizes {', '.join(report['train_sizes'])}): {report['size_mismatches']}"
        + _ids(report["size_mismatch_ids"], report["size_mismatches"]),
        "class histogram: "
        + ", ".join(f"{name} {h['pairs']} pairs / {h['pixels']} px" for name, h in report["class_histogram"].items()),
        f"memorization rate: {rate} ({mem['near_duplicates']} near-duplicates, distance < {mem['threshold']}; {mem['variant']})",
    ]
    return "\n".join(lines)


def _degenerate_lines(report: dict) -> list[str]:
    """Whole-picture and large masks (a report written before they were counted has none)."""
    found, ids = report.get("degenerate_masks"), report.get("degenerate_mask_ids", {})
    if found is None:
        return []
    share = f"{100 * found['share']:g}%"
    return [f"whole-picture masks: {found['whole']}" + _ids(ids.get("whole", []), found["whole"]),
            f"masks over {share} of the picture: {found['large']}" + _ids(ids.get("large", []), found["large"])
            + f" (training masks cover at most {100 * report['train_mask_share_max']:.1f}%)"]


def _ids(ids: list[str], count: int) -> str:
    return f" ({', '.join(ids)}{', ...' if count > len(ids) else ''})" if ids else ""


def _writable_out(out: Path) -> Path:
    """``--out`` may be new, empty or an older pair set; never replace someone's other files. Its folder must
    be writable, checked before anything is generated."""
    out = out.expanduser().resolve()
    if out.exists() and not (out / "meta.json").is_file() and (not out.is_dir() or any(out.iterdir())):
        raise BenchError(f"--out {out} exists and is not a pair set", "choose a new folder or remove it first")
    writable_dir(out.parent, "the folder of --out")
    return out


def _copy_set(source: Path, out: Path) -> Path:
    with atomic_dir(out) as tmp:
        shutil.copytree(source, tmp, dirs_exist_ok=True)
    return out


COMMANDS = [generate]
