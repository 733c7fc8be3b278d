"""Sharing recipes: the registry that finds them by name, added sources, exported bundles, trust, and scaffolding
a first recipe from a repository (`legacyrun/recipe/` keeps the format itself)."""
