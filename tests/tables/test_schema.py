"""Schema evolution: every kind of schema change ends in the documented table or a failed run
that leaves main untouched, for parquet (append) datasets and Delta (merge) tables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from lakeflow.adapters.frame_source import FrameSource
from lakeflow.core.table import SchemaPolicy, TableOptions
from lakeflow.run import Pipeline, run
from tests.tables.helpers import TABLE, LakeFactory, failed, head, ok, table_rows

ROOT = Path(__file__).resolve().parents[2]
FIRST = pl.DataFrame(
    {"id": [1, 2], "a": [10, 20], "b": ["x", "y"], "ts": [1, 1]},
    schema={"id": pl.Int64, "a": pl.Int32, "b": pl.String, "ts": pl.Int64},
)
_SECOND = pl.DataFrame(
    {"id": [2, 3], "a": [21, 30], "b": ["y2", "z"], "ts": [2, 2]},
    schema={"id": pl.Int64, "a": pl.Int32, "b": pl.String, "ts": pl.Int64},
)
SECONDS = {
    "same": _SECOND,
    "added": _SECOND.with_columns(c=pl.lit("new")),
    "dropped": _SECOND.drop("b"),
    "widened": _SECOND.with_columns(pl.col("a").cast(pl.Int64) * 1_000_000_000),
    "narrowed": _SECOND.with_columns(pl.col("id").cast(pl.Int32)),
    "retyped": _SECOND.with_columns(pl.col("a").cast(pl.String)),
}
FAILS: dict[tuple[str, SchemaPolicy], tuple[str, ...]] = {
    ("added", "strict"): ("'c'", "String", "new in the rows"),
    ("dropped", "strict"): ("'b'", "missing from the rows", "load.schema: evolve"),
    ("dropped", "add_columns"): ("'b'", "missing from the rows", "load.schema: evolve"),
    ("widened", "strict"): ("'a'", "Int32", "Int64"),
    ("retyped", "strict"): ("'a'", "Int32", "String"),
    ("retyped", "add_columns"): ("'a'", "Int32", "String"),
    ("retyped", "evolve"): ("'a'", "Int32", "String"),
}
POLICIES: tuple[SchemaPolicy, ...] = ("strict", "add_columns", "evolve")


def _pipeline(rows: pl.DataFrame, mode: str, policy: SchemaPolicy) -> Pipeline:
    keys = ("id",) if mode == "merge" else ()
    return Pipeline(
        "users",
        FrameSource(rows),
        load_path=TABLE,
        mode=mode,  # type: ignore[arg-type]
        table=TableOptions(keys=keys, schema=policy),
        keep_raw=False,
    )


def _expected(second: pl.DataFrame, mode: str) -> pl.DataFrame:
    both = pl.concat([FIRST, second], how="diagonal_relaxed")
    if mode == "merge":
        both = both.unique("id", keep="last", maintain_order=True)
    return both.sort("id", "ts")


@pytest.mark.parametrize("mode", ["append", "merge"])
@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("kind", list(SECONDS))
def test_a_schema_change_gives_the_documented_table_or_fails_cleanly(
    lake_factory: LakeFactory, kind: str, policy: SchemaPolicy, mode: str
) -> None:
    """Added, dropped, widened, narrowed and retyped columns under each policy and mode."""
    lake = lake_factory()
    first = ok(run(_pipeline(FIRST, mode, policy), lake))
    before, published = head(lake), table_rows(lake)
    outcome = run(_pipeline(SECONDS[kind], mode, policy), lake)
    named = FAILS.get((kind, policy))
    if named is not None:
        record = failed(outcome)
        assert record.failed_step == "validate" and record.error.kind == "schema_mismatch"
        for word in named:
            assert word in record.error.message, record.error.message
        if kind == "retyped":
            assert first.run_id in record.error.message, "names the run that published it"
        assert "left untouched" in record.error.message
        assert head(lake) == before
        assert_frame_equal(table_rows(lake), published)
        return
    published_record = ok(outcome)
    expected = _expected(SECONDS[kind], mode)
    assert_frame_equal(table_rows(lake).sort("id", "ts"), expected, check_column_order=False)
    assert published_record.table is not None
    assert published_record.table["schema"] == {n: str(t) for n, t in expected.schema.items()}


def test_a_new_source_column_keeps_main_readable_from_the_cli(tmp_path: Path) -> None:
    """Issue 8.4: a column added to the SQLite source between two runs is published as a new
    column (older rows null) and `scan` of the dataset keeps working; with load.schema: strict
    the run exits 1 naming the column and main stays as it was."""
    import sqlite3

    db = tmp_path / "users.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE users (id INTEGER, name TEXT, updated_at INTEGER)")
        conn.executemany("INSERT INTO users VALUES (?, ?, ?)", [(1, "ann", 1), (2, "bob", 1)])
    config = tmp_path / "pipeline.yaml"

    def write_config(policy: str) -> None:
        config.write_text(
            "pipeline: users\n"
            "lake: {url: local://lake, repository: etl-pipeline}\n"
            "source: {sql: {uri: sqlite://users.db, table: users,"
            " incremental: {column: updated_at, key: [id]}}}\n"
            f"load: {{path: validated_data/users, schema: {policy}}}\n"
        )

    def lakeflow(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "lakeflow", *args]
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)

    write_config("strict")
    assert lakeflow("init", str(config)).returncode == 0
    assert lakeflow("run", str(config)).returncode == 0
    with sqlite3.connect(db) as conn:
        conn.execute("ALTER TABLE users ADD COLUMN nickname TEXT")
        conn.execute("INSERT INTO users VALUES (3, 'cy', 2, 'c')")
    refused = lakeflow("run", str(config))
    assert refused.returncode == 1
    assert "'nickname'" in refused.stdout and "load.schema: add_columns" in refused.stdout

    from lakeflow.lakes import open_lake

    lake = open_lake(f"local://{tmp_path / 'lake'}", repository="etl-pipeline")
    assert lake.scan("validated_data/users").collect()["id"].to_list() == [1, 2]
    write_config("add_columns")
    assert lakeflow("run", str(config)).returncode == 0
    rows = lake.scan("validated_data/users").collect().sort("id")
    assert rows["nickname"].to_list() == [None, None, "c"]
