"""A digest of a fitted generator's networks: the identity of one fitting, recorded with the pairs it made.

Two runs that say they share a fitting (``RunSpec.generator_seed``) show the same digest; a cell resumed
on another machine after its cache was lost, whose generator was fitted again, shows two. The digest is
of the exact bits, so a refit of the same seed on another CPU counts as another fitting, which it is."""

from __future__ import annotations

import hashlib
from typing import Any, Mapping


def state_digest(modules: Mapping[str, Any]) -> str | None:
    """SHA-256 (first 16 hex digits) over every tensor of every module's ``state_dict``, names, dtypes and
    shapes included, in sorted order; None for no modules."""
    if not modules:
        return None
    import torch  # deferred: only learned generators have modules, and they have loaded torch already

    digest = hashlib.sha256()
    for name in sorted(modules):
        for key, value in sorted(modules[name].state_dict().items()):
            tensor = value.detach().to("cpu").contiguous().reshape(-1)
            digest.update(f"{name}.{key}:{tensor.dtype}:{tuple(value.shape)};".encode())
            digest.update(tensor.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]
