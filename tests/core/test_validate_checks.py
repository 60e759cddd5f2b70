"""Checks from the config block: the DESIGN.md shape decodes; every problem is reported at once."""

from __future__ import annotations

from datetime import date, timedelta

import pandera.polars as pa
from hypothesis import example, given
from hypothesis import strategies as st
from returns.result import Failure, Success

from lakeflow.core.config import key_path
from lakeflow.core.errors import ConfigError
from lakeflow.core.validate import (
    Checks,
    DatasetRef,
    PanderaRef,
    Property,
    Quality,
    ValuesRef,
    resolve_pandera,
)

DESIGN_BLOCK = {
    "schema": {
        "properties": {
            "id": {"type": "integer", "minimum": 1},
            "age": {"type": "integer", "minimum": 0, "maximum": 150},
        },
        "required": ["id", "email"],
    },
    "completeness": {"columns": ["id", "name", "email"], "threshold": 0.95},
    "unique": ["id", "email"],
    "references": {"country": {"values": ["US", "DE", "FR"]}},
    "rules": [{"name": "adult", "condition": "age >= 18", "severity": "warning"}],
    "max_invalid_fraction": 0.05,
}


def _problems(config: object) -> list[tuple[str, str]]:
    result = Checks.from_config(config)  # type: ignore[arg-type]
    assert isinstance(result, Failure), result
    failure = result.failure()
    assert isinstance(failure, ConfigError)
    return [(p.path, p.message) for p in failure.problems]


def test_design_example_block_decodes() -> None:
    """The validate: block of DESIGN.md decodes into the matching Checks."""
    checks = Checks.from_config(DESIGN_BLOCK).unwrap()
    assert checks.schema is not None
    assert checks.schema.properties["age"] == Property(type="integer", minimum=0, maximum=150)
    assert checks.schema.required == ("id", "email")
    assert checks.completeness is not None and checks.completeness.threshold == 0.95
    assert checks.unique == ("id", "email")
    assert checks.references == {"country": ValuesRef(["US", "DE", "FR"])}
    assert [(r.name, r.condition, r.severity) for r in checks.rules] == [
        ("adult", "age >= 18", "warning")
    ]
    assert (checks.max_invalid_fraction, checks.enforce) == (0.05, True)


def test_every_problem_is_reported_at_once_with_its_path() -> None:
    """Unknown keys (with a suggestion), wrong types and bad values are all listed together."""
    problems = _problems(
        {
            "schema": {
                "properties": {
                    "age": {"type": "int", "minimum": "zero", "maxmum": 3},
                    "email": {"pattern": "(("},
                },
                "required": "id",
            },
            "completness": {},
            "unique": [["a", 3]],
            "references": {"c": {"values": [1], "dataset": "x", "key": "k"}},
            "rules": [
                {"name": "r", "condition": "age >=", "severity": "fatal"},
                {"name": "s", "condition": "age > 1"},
                {"name": "s", "condition": "age > 2"},
            ],
            "max_invalid_fraction": 2,
            "enforce": "yes",
        }
    )
    paths = [path for path, _ in problems]
    assert paths == [  # in the order they are written
        "validate.schema.properties.age.type",
        "validate.schema.properties.age.minimum",
        "validate.schema.properties.age.maxmum",
        "validate.schema.properties.email.pattern",
        "validate.schema.required",
        "validate.completness",
        "validate.unique[0][1]",
        "validate.references.c",
        "validate.rules[0].condition",
        "validate.rules[0].severity",
        "validate.max_invalid_fraction",
        "validate.enforce",
    ]
    messages = dict(problems)
    assert "did you mean 'completeness'" in messages["validate.completness"]
    assert "did you mean 'maximum'" in messages["validate.schema.properties.age.maxmum"]
    assert "did you mean 'integer'" in messages["validate.schema.properties.age.type"]


def test_semantic_problems_are_reported_too() -> None:
    """Bad regexes, SQL and out-of-range numbers are reported together; then duplicate names."""
    problems = _problems(
        {
            "schema": {"properties": {"email": {"pattern": "(("}}},
            "completeness": {"columns": ["a"], "threshold": 1.5},
            "rules": [
                {"name": "r", "condition": "age >="},
                {"name": "r", "condition": "age > 1"},
            ],
            "max_invalid_fraction": 2,
        }
    )
    paths = [path for path, _ in problems]
    assert paths == [
        "validate.schema.properties.email.pattern",
        "validate.completeness.threshold",
        "validate.rules[0].condition",
        "validate.max_invalid_fraction",
    ]
    assert "unclosed group" in dict(problems)["validate.schema.properties.email.pattern"]
    duplicate = _problems(
        {"rules": [{"name": "r", "condition": "a"}, {"name": "r", "condition": "b"}]}
    )
    assert duplicate == [("validate.rules[1].name", "duplicate rule name 'r' (also rules[0])")]


def test_lake_references_pandera_paths_and_quality_decode_unresolved() -> None:
    """dataset references and pandera import paths wait for the shell to resolve them."""
    checks = Checks.from_config(
        {
            "references": {"country": {"dataset": "ref/countries", "key": "code"}},
            "pandera": "models.users:UserModel",
            "quality": {"timestamp_column": "updated_at", "freshness_hours": 6},
            "unique": [["first", "last"], "id"],
            "schema": {"properties": {"born": {"type": "date", "minimum": "1900-01-01"}}},
            "enforce": False,
        }
    ).unwrap()
    assert checks.references["country"] == DatasetRef("ref/countries", "code")
    assert checks.pandera == (PanderaRef("models.users:UserModel"),)
    assert checks.quality == Quality("updated_at", timedelta(hours=6))
    assert checks.unique == (("first", "last"), "id")
    assert checks.schema is not None
    assert checks.schema.properties["born"].minimum == date(1900, 1, 1)
    assert checks.enforce is False


def test_resolve_pandera_loads_each_import_path() -> None:
    """resolve_pandera replaces import paths with what the loader returns."""
    schema = pa.DataFrameSchema({"a": pa.Column(int)})
    checks = Checks.from_config({"pandera": ["m:A"]}).unwrap()
    resolved = resolve_pandera(checks, lambda target: schema if target == "m:A" else None)
    assert resolved.pandera == (schema,)


def test_empty_block_means_no_checks() -> None:
    """An empty validate block decodes to checks that accept everything."""
    checks = Checks.from_config({}).unwrap()
    assert (checks.schema, checks.unique, checks.rules, checks.max_invalid_fraction) == (
        None,
        (),
        (),
        0.0,
    )


@given(key=st.text(min_size=1, max_size=12).filter(lambda k: k not in DESIGN_BLOCK))
@example(key="~")
@example(key="~tag")
def test_any_unknown_top_level_key_is_reported_with_its_path(key: str) -> None:
    """Whatever the unknown key, the problem names it and the rest still decodes."""
    problems = _problems({**DESIGN_BLOCK, key: 1})
    assert [path for path, _ in problems] == [key_path(("validate", key))]


@given(fraction=st.floats(allow_nan=True, allow_infinity=True))
def test_max_invalid_fraction_accepts_exactly_the_unit_interval(fraction: float) -> None:
    """Only numbers between 0 and 1 (inclusive) are accepted."""
    result = Checks.from_config({"max_invalid_fraction": fraction})
    assert isinstance(result, Success) == (0.0 <= fraction <= 1.0)


def test_checks_accept_plain_python_collections() -> None:
    """Lists and dicts given in Python are normalised to immutable values."""
    checks = Checks(unique=["a", ["b", "c"], ["d"]], pandera=pa.DataFrameSchema({}))
    assert checks.unique == ("a", ("b", "c"), "d")
    assert len(checks.pandera) == 1
    assert Property(enum=[1, 2]).enum == (1, 2)
