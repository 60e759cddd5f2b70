"""The config's JSON Schema, generated from the models (for editors and ``lakeflow schema``).

Pure. Point a YAML language server at it for completion, hover docs and inline errors; see
``docs/config.md``. The schema accepts what :func:`~lakeflow.core.config.parse_config`
accepts, except what needs more than a schema can say (cross-key rules such as "exactly one of
``table`` and ``query``", SQL that parses, environment variables that are set).
"""

from __future__ import annotations

from typing import Any, Final

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue

from lakeflow.core.config.pipeline import PipelineConfig

__all__ = ["SCHEMA_DIALECT", "json_schema"]

SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"


class _Generator(GenerateJsonSchema):
    """Pydantic's generator without a title on every field (the key says it already)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        del schema
        return False

    def sort(self, value: JsonSchemaValue, parent_key: str | None = None) -> JsonSchemaValue:
        """Keep keys in declaration order (examples read as they are written)."""
        del parent_key
        return value


def json_schema() -> dict[str, Any]:
    """Pure. The JSON Schema (draft 2020-12) of a pipeline config file."""
    schema = PipelineConfig.model_json_schema(schema_generator=_Generator)
    return {"$schema": SCHEMA_DIALECT, **schema}
