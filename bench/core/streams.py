"""Random streams by name, and how a run's training batches draw their pairs.

A run's seed feeds several independent streams (the segmenter's initial weights, the real pairs of each
batch, the added pairs that share its slots, the generator's samples). Each stream that did not exist
before streams were named gets its own seed from the run's seed and the stream's name, so runs of one
seed share every stream they can, and a benchmark can move one stream while holding the others.
"""

from __future__ import annotations

import hashlib

# How a training batch draws from the real pairs and the pairs a run adds (synthetic, defect-free):
# paired  - the real pairs' stream draws a whole batch exactly as a real-only run of the seed does, and a
#           fixed share of its slots is given to added pairs drawn from a stream of their own, so adding data
#           never reshuffles the real pairs (common random numbers between a setting and its baseline);
# pooled  - one stream draws every slot from all pairs stacked together (the behaviour before ``paired``).
BATCHES = ("paired", "pooled")
PAIRED, POOLED = BATCHES


def named_seed(seed: int, name: str) -> int:
    """The seed of stream ``name`` of a run seeded ``seed``: 63 bits of SHA-256, the same on every machine."""
    return int.from_bytes(hashlib.sha256(f"{name}:{int(seed)}".encode()).digest()[:8], "big") >> 1
