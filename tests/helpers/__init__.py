"""Shared test helpers: seeded builders of release and import layouts, single pairs, and the tolerances of the
determinism contract. Tests import them from here, never from one another."""
