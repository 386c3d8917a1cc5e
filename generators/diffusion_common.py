"""Shared by the latent-diffusion generators (DefectDiffu, DefectSynth): the hub libraries in offline mode,
local-only loading, torch state files, and the tiny stand-ins (word-level tokenizer, CLIP text encoder,
VAE) that let tests and CPU profiles run without weights.

bench never downloads weights. ``offline()`` sets the hub libraries' offline switches before they are
imported, and every ``from_pretrained`` goes through ``load_local``, which passes ``local_files_only``
and turns a missing or unreadable folder into one line naming it. Importing this module costs nothing;
torch, diffusers and transformers load inside the functions that need them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable, Sequence, TypeVar

from bench.core.atomic import atomic_file
from bench.core.errors import BenchError

T = TypeVar("T")

# Special tokens of the word-level tokenizer, ids 0..3. The end token is deliberately not id 2:
# transformers' CLIP text model treats eos_token_id == 2 as a legacy config and pools at argmax(ids).
PAD, UNK, BOS, EOS = "<|pad|>", "<|unk|>", "<|startoftext|>", "<|endoftext|>"


def offline() -> None:
    """Switch huggingface_hub, transformers and diffusers to offline mode; call before importing them."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ["DIFFUSERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def load_local(load: Callable[..., T], folder: Path, what: str, **kwargs) -> T:
    """``load(folder, local_files_only=True)``: a missing or unreadable folder is one line, never a download."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BenchError(f"{what} folder {folder} is missing", "see `bench weights check` for what to put there")
    try:
        return load(str(folder), local_files_only=True, **kwargs)
    except (OSError, ValueError, EnvironmentError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BenchError(f"cannot load {what} from {folder} ({first})", "see `bench weights check`") from None


def require_files(folder: Path, files: Iterable[str], what: str, fix: str) -> None:
    """One line naming the first missing file of a local model folder, before anything loads."""
    for name in files:
        if not (folder / name).is_file():
            raise BenchError(f"{what}: {folder / name} is missing", fix)


def save_state(state, path: Path) -> None:
    """``torch.save`` to a temporary sibling renamed into place: a reader never sees a torn file."""
    import torch

    with atomic_file(path) as tmp:
        torch.save(state, tmp)


def load_state(path: Path, what: str, fix: str, weights_only: bool = True):
    """``torch.load`` on the CPU; a torn or foreign file is one line naming it and how to recover."""
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=weights_only)
    except Exception as exc:  # any unpickling failure: say which file
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BenchError(f"unreadable {what} {path} ({detail})", fix) from None


def read_checkpoint(path: Path, what: str) -> dict | None:
    """A training checkpoint (optimizer state and all), None when there is none yet."""
    return load_state(path, f"{what} checkpoint", "delete it to train again", weights_only=False) if path.is_file() else None


def word_tokenizer(texts: Iterable[str], max_length: int):
    """A deterministic word-level tokenizer whose vocabulary is the sorted words of ``texts``.

    It stands in for CLIP's byte-pair tokenizer where no vocabulary files are available: lower-cased
    words and punctuation marks, ``<|startoftext|> words <|endoftext|>``, padded to ``max_length``. It is a
    ``PreTrainedTokenizerFast``: callers tokenize, save and load it exactly as a ``CLIPTokenizer``."""
    offline()
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    pre = pre_tokenizers.Whitespace()
    words = sorted({w for text in texts for w, _ in pre.pre_tokenize_str(text.lower())})
    vocab = {token: i for i, token in enumerate([PAD, UNK, BOS, EOS, *words])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A {EOS}", special_tokens=[(BOS, vocab[BOS]), (EOS, vocab[EOS])]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=PAD, unk_token=UNK, model_max_length=max_length
    )


def load_tokenizer(folder: Path):
    """A saved tokenizer, the word-level stand-in or CLIP's own vocabulary files alike (never downloaded)."""
    offline()
    from transformers import AutoTokenizer

    return load_local(AutoTokenizer.from_pretrained, folder, "tokenizer")


def _seeded(seed: int | None, build: Callable[[], T]) -> T:
    """``build()`` under ``seed`` without touching the global generator, or under the caller's when None."""
    if seed is None:
        return build()
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def tiny_text_encoder(tokenizer, width: int, seed: int | None = None, projection: bool = True):
    """A randomly initialised CLIP text encoder (2 layers) over ``tokenizer``'s vocabulary: with a
    projection (``text_embeds``, DefectDiffu's pooled vector) or without (hidden states, what SD reads)."""
    offline()
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    config = CLIPTextConfig(
        vocab_size=len(tokenizer),
        hidden_size=width,
        intermediate_size=2 * width,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=tokenizer.model_max_length,
        projection_dim=width,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    model = CLIPTextModelWithProjection if projection else CLIPTextModel
    return _seeded(seed, lambda: model(config).eval())


def tiny_vae(channels: Sequence[int], latent_channels: int = 4, seed: int | None = None, sample_size: int | None = None):
    """A small ``AutoencoderKL``: one block per width, downsampling 2 ** (len(channels) - 1), no mid attention."""
    offline()
    from diffusers import AutoencoderKL

    extra = {} if sample_size is None else {"sample_size": sample_size}
    return _seeded(seed, lambda: AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * len(channels),
        up_block_types=("UpDecoderBlock2D",) * len(channels),
        block_out_channels=tuple(channels),
        layers_per_block=1,
        latent_channels=latent_channels,
        norm_num_groups=min(8, min(channels)),
        mid_block_add_attention=False,
        **extra,
    ))
