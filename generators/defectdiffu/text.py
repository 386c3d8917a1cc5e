"""Prompt embeddings, computed once per prompt and kept with the trained model: sampling never needs the
text encoder.

Every text a model trains or samples with is known at ``fit`` (the defect words, ``good``, the product
and the null product), so the bank holds them all: the L2-normalised pooled CLIP vector (what the
released code feeds the adaLN conditioning, OpenAI CLIP's ``encode_text``), the token sequence (the
paper's cross-attention keys) and, per text, weights picking out its defect word from the tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import torch

from bench.core.errors import BenchError
from generators.defectdiffu import weights
from generators.defectdiffu.config import TEMPLATE, Profile
from generators.defectdiffu.dit import Conditions
from generators.diffusion_common import load_local, load_state, offline, save_state, tiny_text_encoder, word_tokenizer

BANK = "text.pt"


@dataclass(frozen=True)
class TextBank:
    texts: tuple[str, ...]
    pooled: torch.Tensor  # T x text_dim
    tokens: torch.Tensor  # T x L x context_dim
    focus: torch.Tensor  # T x L

    @property
    def text_dim(self) -> int:
        return self.pooled.shape[1]

    @property
    def context_dim(self) -> int:
        return self.tokens.shape[2]

    def _rows(self, texts: Sequence[str]) -> torch.Tensor:
        index = {t: i for i, t in enumerate(self.texts)}
        unknown = [t for t in texts if t not in index]
        if unknown:
            raise BenchError(f"defectdiffu has no embedding for the prompt {unknown[0]!r}", "fit the generator again")
        return torch.tensor([index[t] for t in texts])

    def conditions(self, triples: Sequence[tuple[str, str, str]], with_tokens: bool) -> Conditions:
        """Conditions for (background, defect, fused) texts, one triple per sample."""
        background, defect, fused = (self._rows([t[i] for t in triples]) for i in range(3))
        return Conditions(
            self.pooled[background], self.pooled[defect], self.pooled[fused],
            self.tokens[defect] if with_tokens else None, self.focus[defect] if with_tokens else None,
        )

    def save(self, path: Path) -> None:
        save_state({"texts": list(self.texts), "pooled": self.pooled, "tokens": self.tokens, "focus": self.focus}, path)

    @classmethod
    def load(cls, path: Path) -> "TextBank | None":
        if not path.is_file():
            return None
        state = load_state(path, "defectdiffu text embeddings", "delete it to embed the prompts again")
        return cls(tuple(state["texts"]), state["pooled"], state["tokens"], state["focus"])


def focus_weights(input_ids: torch.Tensor, eos_id: int, prefix: int) -> torch.Tensor:
    """Uniform weights on the tokens after ``<start>`` and the template's ``prefix`` words, up to ``<end>``:
    the defect word of "a photo of {defect}". A text without such tokens weighs its end token."""
    weights = torch.zeros(input_ids.shape, dtype=torch.float32)
    for row, ids in enumerate(input_ids.tolist()):
        end = ids.index(eos_id) if eos_id in ids else len(ids) - 1
        start = min(1 + prefix, end)
        weights[row, start:end] = 1.0
        if start == end:
            weights[row, end] = 1.0
    return weights / weights.sum(1, keepdim=True)


@torch.no_grad()
def embed(texts: Iterable[str], tokenizer, encoder, max_length: int) -> TextBank:
    """Run the text encoder once over ``texts`` (no attention mask: CLIP's causal mask, as OpenAI's encode_text)."""
    texts = tuple(sorted(set(texts)))
    batch = tokenizer(list(texts), padding="max_length", max_length=max_length, truncation=True, return_tensors="pt")
    prefix = len(tokenizer(TEMPLATE.format("").strip(), add_special_tokens=False)["input_ids"])
    out = encoder(input_ids=batch["input_ids"])
    pooled = out.text_embeds / out.text_embeds.norm(dim=-1, keepdim=True)
    return TextBank(texts, pooled.float(), out.last_hidden_state.float(), focus_weights(batch["input_ids"], tokenizer.eos_token_id, prefix))


def build_bank(profile: Profile, texts: list[str], seed: int) -> TextBank:
    """Embed ``texts`` with the profile's encoder: a random tiny CLIP text model over a word-level
    vocabulary of the texts themselves, or the CLIP folder under ``$BENCH_WEIGHTS``."""
    if profile.text == "tiny":
        tokenizer = word_tokenizer(texts, profile.max_tokens)
        encoder = tiny_text_encoder(tokenizer, profile.text_width, seed)
        return embed(texts, tokenizer, encoder, profile.max_tokens)
    offline()
    from transformers import AutoTokenizer, CLIPTextModelWithProjection

    folder = weights.root() / profile.text
    tokenizer = load_local(AutoTokenizer.from_pretrained, folder, "CLIP tokenizer")
    encoder = load_local(CLIPTextModelWithProjection.from_pretrained, folder, "CLIP text encoder").eval()
    return embed(texts, tokenizer, encoder, min(profile.max_tokens, tokenizer.model_max_length))
