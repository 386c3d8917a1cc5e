"""Shared test helpers: seeded data builders and the tolerances of the determinism contract."""
