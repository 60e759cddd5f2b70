"""`lakeflow schema`, and config mistakes caught before any work, as a user meets them."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.e2e.test_cli import ROOT, base_config, lakeflow, sqlite_source, write_config


def test_schema_prints_a_json_schema_the_example_config_satisfies() -> None:
    """`lakeflow schema` prints only a valid JSON Schema that accepts the shipped example."""
    done = lakeflow("schema")
    assert done.returncode == 0, done.stderr
    schema = json.loads(done.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    example = yaml.safe_load((ROOT / "examples" / "users" / "pipeline.yaml").read_text())
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(example)) == []
    assert (ROOT / "docs" / "config.schema.json").read_text() == done.stdout


def test_schema_markdown_prints_the_reference() -> None:
    """`lakeflow schema --markdown` prints the config reference committed as docs/config.md."""
    done = lakeflow("schema", "--markdown")
    assert done.returncode == 0, done.stderr
    assert done.stdout == (ROOT / "docs" / "config.md").read_text()


@pytest.mark.parametrize(
    ("section", "change", "named"),
    [
        ("load", {"path": "validated_data/\x1busers"}, "load.path"),
        ("load", {"path": "validated_data//users"}, "load.path"),
        ("load", {"path": "../outside"}, "load.path"),
        ("source", {"sql": {"uri": "sqlite://users.db", "table": "users\n"}}, "source.sql.table"),
        (
            "source",
            {
                "sql": {
                    "uri": "sqlite://users.db",
                    "table": "users",
                    "partition_on": "id",
                    "partitions": 1_000_000_000_000,
                }
            },
            "source.sql.partitions",
        ),
    ],
)
def test_invalid_config_values_exit_2_before_any_work(
    tmp_path: Path, section: str, change: dict[str, object], named: str
) -> None:
    """Bad lake paths, identifiers and partition counts exit 2 naming the key; no lake is made."""
    sqlite_source(tmp_path)
    config = base_config()
    config[section] = change
    path = write_config(tmp_path, config)
    done = lakeflow("run", str(path))
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{named}: expected" in done.stderr
    assert f"{path}:" in done.stderr  # the file, line and column of the key
    assert not (tmp_path / "lake").exists(), "nothing may happen before the config is valid"


def test_init_refuses_a_control_character_in_the_load_path(tmp_path: Path) -> None:
    """`init` checks the whole config too: a control character in load.path exits 2."""
    config = base_config()
    config["load"] = {"path": "validated_data/users\r"}
    done = lakeflow("init", str(write_config(tmp_path, config)))
    assert done.returncode == 2
    assert "load.path: expected a lake path" in done.stderr
    assert "'validated_data/users\\r'" in done.stderr  # shown escaped, naming the path
    assert not (tmp_path / "lake").exists()
