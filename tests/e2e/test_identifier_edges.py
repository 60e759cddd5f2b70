"""Names with a trailing newline (or other trailing whitespace) never pass a name check.

A pattern anchored with ``$`` and applied with ``re.match`` accepts ``"users\\n"``: the name then
fails later, after work was done. Every check matches the whole name, so such names are config
errors (exit 2, before any work) wherever lakeflow takes a name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lakeflow.adapters.db_sink import DatabaseSink
from lakeflow.adapters.sql_source import SqlSource
from lakeflow.core.incremental import IncrementalSpec
from lakeflow.core.validate import Checks
from lakeflow.testing.postgres import EmbeddedPostgres
from tests.e2e.test_cli import base_config, lakeflow, sqlite_source, write_config

NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True)
TRAILERS = st.sampled_from(["\n", "\r\n", "\n\n", "\r", " ", "\t", "\x0b", "\x0c", "\x85"])
URI = "postgresql://etl:pw@127.0.0.1:1/db"


@given(name=NAMES, trailer=TRAILERS)
def test_names_with_trailing_whitespace_are_refused_by_every_adapter(
    name: str, trailer: str, postgres: EmbeddedPostgres
) -> None:
    """A table, column, key or database name followed by a newline (or other whitespace) is
    refused up front by the SQL source, the database sink and the test PostgreSQL helper."""
    bad = name + trailer
    assert SqlSource(URI, table=bad).problems
    assert SqlSource(URI, table=f"public.{bad}").problems
    assert SqlSource(URI, table="t", incremental=IncrementalSpec(bad)).problems
    assert SqlSource(URI, table="t", incremental=IncrementalSpec("ts", (bad,))).problems
    assert SqlSource(URI, table="t", partition_on=bad, partitions=2).problems
    assert DatabaseSink(URI, bad).problems
    assert DatabaseSink(URI, "t", mode="upsert", keys=(bad,)).problems
    with pytest.raises(ValueError, match="must match"):
        postgres.create_database(bad.lower())
    assert SqlSource(URI, table=name).problems == ()


@given(target=st.from_regex(r"[a-z_]{1,8}\.[a-z_]{1,8}:[A-Z][a-z]{0,8}", fullmatch=True))
def test_pandera_targets_with_a_trailing_newline_are_refused(target: str) -> None:
    """`validate.pandera: "pkg.module:Model\\n"` is a config problem, not an import attempt."""
    assert Checks.from_config({"pandera": [target]}).map(lambda _: True).value_or(False)
    refused = Checks.from_config({"pandera": [target + "\n"]})
    assert not refused.map(lambda _: True).value_or(False)
    assert "validate.pandera" in str(refused.failure())


PLACES = {
    "source table": ("source", "sql", "table"),
    "incremental column": ("source", "sql", "incremental", "column"),
    "incremental key": ("source", "sql", "incremental", "key", 0),
    "sink table": ("load", "database", "table"),
    "sink key": ("load", "database", "keys", 0),
}


@pytest.mark.parametrize("place", list(PLACES))
def test_the_cli_refuses_a_name_with_a_trailing_newline_before_any_work(
    tmp_path: Path, place: str
) -> None:
    """`lakeflow run` exits 2 naming the key when a SQL name ends in a newline; no lake is made."""
    sqlite_source(tmp_path)
    config = base_config()
    config["load"] = {
        "path": "validated_data/users",
        "database": {
            "uri": f"sqlite://{tmp_path / 'out.db'}",
            "table": "processed",
            "mode": "upsert",
            "keys": ["id"],
        },
    }
    *parents, last = PLACES[place]
    node: Any = config
    for part in parents:
        node = node[part]
    node[last] = str(node[last]) + "\n"
    done = lakeflow("run", str(write_config(tmp_path, config)))
    assert done.returncode == 2, done.stdout + done.stderr
    assert ".".join(str(p) for p in PLACES[place][:2]) in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "lake").exists(), "nothing may happen before the config is valid"
