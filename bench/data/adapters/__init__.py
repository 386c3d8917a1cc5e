"""Dataset adapters, one module per release layout; each registers itself in ``DATASETS``."""
