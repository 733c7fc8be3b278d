"""Recipes: the strict YAML format (models), loading with precise errors, schema export, the registry."""

from legacyrun.recipe.loader import LoadedRecipe, load_path, parse_text, recipe_hash
from legacyrun.recipe.models import Recipe
from legacyrun.recipe.registry import available, find, load

__all__ = ["LoadedRecipe", "Recipe", "available", "find", "load", "load_path", "parse_text", "recipe_hash"]
