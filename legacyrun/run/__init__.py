"""Running recipe tasks: the runner, provenance, GPU selection, the `up` chain and its steps."""
