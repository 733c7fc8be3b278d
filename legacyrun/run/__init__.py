"""Running recipe tasks: the runner, provenance, and `explain` (failure signatures as data)."""
