"""The pretrained files DefectDiffu's ``paper`` and ``released`` profiles read, all under
``$BENCH_WEIGHTS/defectdiffu/``; nothing is ever downloaded. Kept free of torch for ``bench weights check``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.core.errors import BenchError
from bench.core.hashing import files_fingerprint
from bench.core.paths import weights_dir

FOLDER = "defectdiffu"


@dataclass(frozen=True)
class WeightSource:
    """One entry under ``$BENCH_WEIGHTS/defectdiffu/``: a single file (``files`` empty) or a folder of ``files``."""

    name: str
    what: str
    source: str
    files: tuple[str, ...] = ()

    def entries(self) -> list[str]:
        """Paths relative to ``$BENCH_WEIGHTS/defectdiffu``."""
        return [f"{self.name}/{f}" for f in self.files] if self.files else [self.name]

    def paths(self, root: Path) -> list[Path]:
        return [root / e for e in self.entries()]


SOURCES: dict[str, WeightSource] = {
    s.name: s
    for s in (
        WeightSource(
            "DiT-XL-2-256x256.pt",
            "DiT-XL/2 ImageNet checkpoint, 256 px",
            "https://dl.fbaipublicfiles.com/DiT/models/DiT-XL-2-256x256.pt (facebookresearch/DiT)",
        ),
        WeightSource(
            "DiT-XL-2-512x512.pt",
            "DiT-XL/2 ImageNet checkpoint, 512 px",
            "https://dl.fbaipublicfiles.com/DiT/models/DiT-XL-2-512x512.pt (facebookresearch/DiT)",
        ),
        WeightSource(
            "sd-vae-ft-mse",
            "Stable Diffusion VAE, diffusers AutoencoderKL folder",
            "huggingface.co/stabilityai/sd-vae-ft-mse",
            ("config.json", "diffusion_pytorch_model.safetensors"),
        ),
        WeightSource(
            "clip-text",
            "CLIP text encoder and tokenizer, transformers CLIPTextModelWithProjection + CLIPTokenizer folder",
            "a CLIP text model saved with save_pretrained, e.g. huggingface.co/openai/clip-vit-base-patch32; "
            "the released code uses OpenAI CLIP RN50 (docs/defectdiffu.md)",
            ("config.json", "model.safetensors", "tokenizer_config.json"),
        ),
    )
}


def root() -> Path:
    base = weights_dir()
    if base is None:
        raise BenchError(
            "defectdiffu needs pretrained weights but BENCH_WEIGHTS is not set",
            "point it at your weights folder (`bench weights check` lists the files) or use profile=toy",
        )
    return base / FOLDER


def require(names: tuple[str, ...], profile: str) -> None:
    """Every file of ``names`` is present, or one line naming the first missing one and where it comes from."""
    base = root()
    for name in names:
        source = SOURCES[name]
        for path in source.paths(base):
            if not path.is_file():
                raise BenchError(
                    f"defectdiffu profile '{profile}' needs {path} ({source.what}), which is missing",
                    f"get it from {source.source}",
                )


def fingerprint(names: tuple[str, ...]) -> str:
    """Names, sizes and modification times of the files ``names`` point at ('' when there are none)."""
    if not names:
        return ""
    base = root()
    return files_fingerprint(base, [p for n in names for p in SOURCES[n].paths(base)])


def listing(users: dict[str, list[str]]) -> list[dict]:
    """One row per file for ``bench weights check``; ``users`` maps a source name to the profiles needing it."""
    base = weights_dir()
    rows = []
    for name, source in SOURCES.items():
        for entry in source.entries():
            path = (base / FOLDER if base else Path("$BENCH_WEIGHTS") / FOLDER) / entry
            rows.append(
                {
                    "file": entry,
                    "present": base is not None and path.is_file(),
                    "used_by": ", ".join(f"defectdiffu {p}" for p in users.get(name, [])),
                    "path": str(path),
                    "source": source.source,
                }
            )
    return rows
