"""Helpers the latent-diffusion generators share: offline hub loading, a word-level tokenizer, tiny configs,
checkpoint reading.

Nothing here downloads: ``offline_hub()`` puts the Hugging Face libraries into offline mode before they
are first imported, and every pretrained part is read from a local folder with ``local_files_only``. The
word-level tokenizer stands in for CLIP's BPE tokenizer where no vocabulary files are at hand (tiny
random text encoders in tests and CPU profiles): its vocabulary is the sorted words of the prompts it is
built from, so the same prompts always give the same ids. Importing this module costs nothing; torch,
diffusers and transformers load inside the functions that need them.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from bench.core.atomic import write_text_atomic
from bench.core.errors import BenchError

WORDS_FILE = "words.json"  # a saved WordTokenizer, in place of CLIP's vocab.json + merges.txt
SPECIALS = ("<|startoftext|>", "<|endoftext|>", "<|unknown|>")  # ids 0, 1, 2; padding repeats end-of-text


def offline_hub() -> None:
    """Hugging Face libraries read these when first imported: call before importing diffusers/transformers."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+|[^\sa-z0-9]", text.lower())


@dataclass(frozen=True)
class Tokens:
    input_ids: "object"  # torch.LongTensor, batch x max_length


class WordTokenizer:
    """Deterministic word-level tokenizer with CLIP's calling convention (``tok(texts, ...).input_ids``)."""

    def __init__(self, vocabulary: Sequence[str], model_max_length: int):
        self.vocabulary = tuple(vocabulary)
        self.model_max_length = model_max_length
        self._ids = {word: i + len(SPECIALS) for i, word in enumerate(self.vocabulary)}

    @classmethod
    def from_texts(cls, texts: Iterable[str], model_max_length: int) -> "WordTokenizer":
        return cls(sorted({w for text in texts for w in _words(text)}), model_max_length)

    @property
    def vocab_size(self) -> int:
        return len(SPECIALS) + len(self.vocabulary)

    def encode(self, text: str) -> list[int]:
        """Start, word ids (unknown words share one id), end, padded with end to ``model_max_length``."""
        body = [self._ids.get(w, 2) for w in _words(text)][: self.model_max_length - 2]
        ids = [0, *body, 1]
        return ids + [1] * (self.model_max_length - len(ids))

    def __call__(self, texts: Sequence[str], **_ignored) -> Tokens:
        import torch

        return Tokens(torch.tensor([self.encode(t) for t in texts], dtype=torch.long))

    def save_pretrained(self, folder: Path | str) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"vocabulary": list(self.vocabulary), "model_max_length": self.model_max_length})
        write_text_atomic(folder / WORDS_FILE, text)

    @classmethod
    def load(cls, folder: Path | str) -> "WordTokenizer":
        data = json.loads((Path(folder) / WORDS_FILE).read_text())
        return cls(data["vocabulary"], data["model_max_length"])


def require_files(folder: Path, files: Iterable[str], what: str, fix: str) -> None:
    """One line naming the first missing file of a local model folder, before anything loads."""
    for name in files:
        if not (folder / name).is_file():
            raise BenchError(f"{what}: {folder / name} is missing", fix)


def read_checkpoint(path: Path, what: str) -> dict | None:
    """A training checkpoint written by torch.save, None when there is none; a torn file is one line."""
    if not path.is_file():
        return None
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # a torn or foreign file: say which and how to recover
        raise BenchError(f"unreadable {what} checkpoint {path} ({exc})", "delete it to train again") from None


def load_tokenizer(folder: Path):
    """A saved WordTokenizer, else CLIP's tokenizer from its vocabulary files (never downloaded)."""
    if (folder / WORDS_FILE).is_file():
        return WordTokenizer.load(folder)
    offline_hub()
    from transformers import CLIPTokenizer

    return CLIPTokenizer.from_pretrained(folder, local_files_only=True)


def tiny_vae(block_out_channels: Sequence[int], sample_size: int, latent_channels: int = 4):
    """A small random AutoencoderKL: one down/up block per width, so the latent is 2^(len - 1) times smaller."""
    offline_hub()
    from diffusers import AutoencoderKL

    blocks = len(block_out_channels)
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * blocks,
        up_block_types=("UpDecoderBlock2D",) * blocks,
        block_out_channels=tuple(block_out_channels),
        layers_per_block=1,
        latent_channels=latent_channels,
        norm_num_groups=min(8, min(block_out_channels)),
        sample_size=sample_size,
        mid_block_add_attention=False,
    )


def tiny_text_encoder(vocab_size: int, width: int, max_length: int):
    """A small random CLIP text encoder whose special ids match WordTokenizer's (start 0, end and pad 1)."""
    offline_hub()
    from transformers import CLIPTextConfig, CLIPTextModel

    config = CLIPTextConfig(
        vocab_size=vocab_size,
        hidden_size=width,
        intermediate_size=2 * width,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=max_length,
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=1,
    )
    return CLIPTextModel(config)
