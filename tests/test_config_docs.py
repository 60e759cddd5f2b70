"""The config's JSON Schema and reference: current in the repository, and true to the models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given
from pydantic import BaseModel, RootModel

from lakeflow.config_docs import reference_markdown, schema_text
from lakeflow.core import config as cfg
from lakeflow.core.config import json_schema, parse_config
from tests.core.config_strategies import pipeline_configs

ROOT = Path(__file__).resolve().parent.parent
VALIDATOR = jsonschema.Draft202012Validator(json_schema())


def errors_of(document: object) -> list[str]:
    """Why the JSON Schema rejects ``document`` (empty when it accepts it)."""
    return [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(document)]


def test_committed_reference_is_current() -> None:
    """docs/config.md is what `lakeflow schema --markdown` generates from the models today."""
    committed = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    assert committed == reference_markdown(), "run: lakeflow schema --markdown > docs/config.md"


def test_committed_schema_is_current() -> None:
    """docs/config.schema.json is what `lakeflow schema` prints today."""
    committed = (ROOT / "docs" / "config.schema.json").read_text(encoding="utf-8")
    assert committed == schema_text(), "run: lakeflow schema > docs/config.schema.json"


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    """Editors can load it: it is itself valid against the JSON Schema meta-schema."""
    jsonschema.Draft202012Validator.check_schema(json_schema())


@pytest.mark.parametrize("path", sorted((ROOT / "examples").rglob("*.yaml")), ids=lambda p: p.name)
def test_schema_accepts_every_example_config(path: Path) -> None:
    """Every example config in the repository validates against the schema (and the models)."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert errors_of(document) == []
    assert parse_config(document, {}).unwrap().pipeline


@given(data=pipeline_configs())
def test_schema_accepts_what_parse_config_accepts(data: dict[str, Any]) -> None:
    """A config the models accept, and its normal form, are accepted by the schema too."""
    config = parse_config(data).unwrap()
    assert errors_of(data) == []
    assert errors_of(json.loads(json.dumps(config.to_dict()))) == []


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"load": {"path": "x", "moed": "append"}}, ["load"]),
        ({"load": {"path": "x", "mode": "apend"}}, ["load", "mode"]),
        ({"source": {"parquet": {"path": "a"}, "csv": {"path": "b"}}}, ["source"]),
        ({"source": {"sql": {"uri": "sqlite:///x", "table": "t", "partitions": 0}}}, ["source"]),
        ({"load": {"path": "/abs"}}, ["load", "path"]),
        ({"run": {"batch_size": "1000"}}, ["run", "batch_size"]),
    ],
)
def test_schema_rejects_mistakes_an_editor_should_underline(
    change: dict[str, object], where: list[str]
) -> None:
    """Unknown keys, wrong values, two source kinds and out-of-range numbers are errors."""
    document: dict[str, object] = {
        "pipeline": "users",
        "lake": {"url": "local://lake", "repository": "etl"},
        "source": {"parquet": {"path": "x"}},
        "load": {"path": "out"},
        **change,
    }
    found = list(VALIDATOR.iter_errors(document))
    assert found
    assert any(list(e.absolute_path)[: len(where)] == where for e in found)


def models() -> list[type[BaseModel]]:
    """Every model the config package exports."""
    return [
        value
        for name in cfg.__all__
        if isinstance(value := getattr(cfg, name), type) and issubclass(value, BaseModel)
    ]


@pytest.mark.parametrize("model", models(), ids=lambda m: m.__name__)
def test_every_model_documents_itself_with_a_valid_example(model: type[BaseModel]) -> None:
    """Each section has a description and an example that validates; each key a description."""
    if model is cfg.ConfigModel:
        return
    assert (model.__doc__ or "").strip(), f"{model.__name__} has no docstring"
    if not issubclass(model, RootModel):
        for name, info in model.model_fields.items():
            assert info.description, f"{model.__name__}.{name} has no docstring"
    extra = model.model_config.get("json_schema_extra")
    examples = extra.get("examples") if isinstance(extra, dict) else None
    assert isinstance(examples, list) and examples, f"{model.__name__} has no example"
    for example in examples:
        model.model_validate(example)
