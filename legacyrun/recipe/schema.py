"""JSON Schema export of the recipe models, for editors (recipes/schema/recipe.schema.json)."""

from __future__ import annotations

import json

from legacyrun.recipe.models import Recipe


def schema_text() -> str:
    """Deterministic JSON Schema text of the recipe format."""
    schema = Recipe.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://legacyrun.dev/schema/recipe-1.json"
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


__all__ = ["schema_text"]
