"""Recipes: the strict YAML format (models), loading with precise errors, schema export, where a recipe file is
(refs). Finding recipes by name, sources, bundles and trust are legacyrun.share's."""

from legacyrun.recipe.loader import LoadedRecipe, load_path, parse_text, recipe_hash
from legacyrun.recipe.models import Recipe

__all__ = ["LoadedRecipe", "Recipe", "load_path", "parse_text", "recipe_hash"]
