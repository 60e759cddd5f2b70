"""Pure table semantics: schema policies, one version per key, options, chosen watermarks."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from returns.result import Failure, Success

from lakeflow.core.config import parse_config
from lakeflow.core.incremental import coerce_value, in_window
from lakeflow.core.table import (
    SCHEMA_POLICIES,
    SchemaPolicy,
    TableOptions,
    conform,
    latest_per_key,
    schema_change,
    widens,
)

TYPES = [pl.Int32(), pl.Int64(), pl.Float32(), pl.Float64(), pl.String(), pl.Boolean()]
NAMES = ["a", "b", "c", "d"]
schemas = st.dictionaries(st.sampled_from(NAMES), st.sampled_from(TYPES), max_size=4).map(pl.Schema)


@given(published=schemas, incoming=schemas, policy=st.sampled_from(SCHEMA_POLICIES))
def test_a_schema_change_follows_the_documented_policy(
    published: pl.Schema, incoming: pl.Schema, policy: SchemaPolicy
) -> None:
    """Added columns need add_columns or evolve, dropped ones evolve, a type change a safe
    widening (strict: only rows narrower than the published type); failures name each column,
    successes keep every published column (at the wider type) and append the new ones."""
    added = [c for c in incoming.names() if c not in published]
    dropped = [c for c in published.names() if c not in incoming]
    changed = [c for c in published.names() if c in incoming and incoming[c] != published[c]]
    widening = [c for c in changed if widens(published[c], incoming[c])]
    narrowing = [c for c in changed if widens(incoming[c], published[c])]
    bad = [c for c in changed if c not in widening and c not in narrowing]
    if policy == "strict":
        bad += added + widening
    if policy != "evolve":
        bad += dropped
    outcome = schema_change(published, incoming, policy, dataset="t", last_run="r1")
    if bad:
        assert isinstance(outcome, Failure)
        mismatch = outcome.failure()
        assert len(mismatch.problems) == len(bad)
        for column in bad:
            assert any(f"'{column}'" in p for p in mismatch.problems)
        assert "left untouched" in mismatch.hint
        return
    assert isinstance(outcome, Success)
    change = outcome.unwrap()
    assert change.schema.names() == [*published.names(), *added]
    for name, dtype in change.schema.items():
        if name in widening or name in added:
            assert dtype == incoming[name]
        else:
            assert dtype == published[name]
    assert (change.added, change.dropped, change.widened) == (
        tuple(added),
        tuple(dropped),
        tuple(widening),
    )


def test_a_first_publish_takes_the_rows_schema() -> None:
    """Nothing published yet: any schema is the dataset's."""
    incoming = pl.Schema({"x": pl.Int8})
    change = schema_change(None, incoming, "strict", dataset="t").unwrap()
    assert change.new and change.schema == incoming


def test_a_changed_type_names_both_types_and_the_last_run() -> None:
    """The failure says which column, what it was, what it is and who published it."""
    failure = schema_change(
        pl.Schema({"age": pl.Int64}),
        pl.Schema({"age": pl.String}),
        "evolve",
        dataset="users",
        last_run="20260101T000000000Z-abcd1234",
    ).failure()
    (problem,) = failure.problems
    assert "'age'" in problem and "Int64" in problem and "String" in problem
    assert "20260101T000000000Z-abcd1234" in problem
    assert "type_conversions" in failure.hint


def test_conform_fits_rows_into_the_new_schema() -> None:
    """Missing columns become typed nulls, narrower ones are cast, new ones are kept last."""
    published = pl.Schema({"id": pl.Int64, "gone": pl.String})
    rows = pl.LazyFrame({"id": [1]}, schema={"id": pl.Int32}).with_columns(new=pl.lit(True))
    change = schema_change(published, rows.collect_schema(), "evolve", dataset="t").unwrap()
    expected = pl.DataFrame(
        {"id": [1], "gone": [None], "new": [True]},
        schema={"id": pl.Int64, "gone": pl.String, "new": pl.Boolean},
    )
    assert_frame_equal(conform(rows, change).collect(), expected)


@given(
    rows=st.lists(st.tuples(st.integers(1, 4), st.integers(0, 3), st.integers(0, 9)), max_size=12),
    seed=st.randoms(use_true_random=False),
)
def test_latest_per_key_does_not_depend_on_row_order(
    rows: list[tuple[int, int, int]], seed: object
) -> None:
    """One row per key, the newest by the order column (ties broken by the other columns):
    the same result whatever order the rows arrive in."""
    frame = pl.DataFrame(rows, schema=["id", "ts", "v"], orient="row")
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=hash(seed) % 1000)
    stage = latest_per_key(["id"], "ts")
    once = stage(frame.lazy()).unwrap().collect().sort("id")
    again = stage(shuffled.lazy()).unwrap().collect().sort("id")
    assert_frame_equal(once, again)
    expected = frame.sort("ts", "v").group_by("id").agg(pl.all().last()).sort("id")
    assert_frame_equal(once, expected.select(once.columns))


def test_table_options_say_what_does_not_fit_a_mode() -> None:
    """merge needs keys and a format that can merge; keys and deletes belong to merge only."""
    assert TableOptions(keys=("id",)).problems("merge") == []
    assert [k for k, _ in TableOptions().problems("merge")] == ["keys"]
    assert [k for k, _ in TableOptions(keys=("id",), format="parquet").problems("merge")] == [
        "format"
    ]
    assert [k for k, _ in TableOptions(delete_column="gone").problems("append")] == [
        "delete_column"
    ]
    assert TableOptions().format_for("merge") == "delta"
    assert TableOptions().format_for("append") == "parquet"


@pytest.mark.parametrize(
    ("load", "problem"),
    [
        ({"mode": "merge"}, "load.keys: required with mode: merge"),
        ({"keys": ["id"]}, "load.keys: only used with mode: merge"),
        ({"mode": "merge", "keys": ["id"], "format": "parquet"}, "load.format: mode: merge"),
        ({"schema": "loose"}, "load.schema: expected one of strict, add_columns, evolve"),
        (
            {
                "mode": "merge",
                "keys": ["id"],
                "delete_column": "gone",
                "database": {"uri": "sqlite:///tmp/x.db", "table": "t"},
            },
            "load.delete_column: deletes are not applied to load.database",
        ),
    ],
)
def test_load_table_options_are_checked_with_their_key_path(
    load: dict[str, object], problem: str
) -> None:
    """Config problems of the table keys name their key path, before any effect."""
    config = {
        "pipeline": "users",
        "lake": {"url": "local://lake", "repository": "etl"},
        "source": {"parquet": {"path": "users.parquet"}},
        "load": {"path": "validated_data/users", **load},
    }
    found = parse_config(config)
    assert isinstance(found, Failure)
    assert any(str(p).startswith(problem) for p in found.failure().problems), found.failure()


@pytest.mark.parametrize(
    ("value", "dtype", "expected"),
    [
        ("42", pl.Int64(), 42),
        ("2.5", pl.Float64(), 2.5),
        ("2024-01-02", pl.Date(), date(2024, 1, 2)),
        ("2024-01-02", pl.Datetime("us"), datetime(2024, 1, 2)),
        ("2024-01-02T10:00:00+02:00", pl.Datetime("us"), datetime(2024, 1, 2, 8)),
        (date(2024, 1, 2), pl.Datetime("us", "UTC"), datetime(2024, 1, 2, tzinfo=UTC)),
        ("2024-01-02 10:00Z", pl.String(), datetime(2024, 1, 2, 10, tzinfo=UTC)),
    ],
)
def test_a_chosen_watermark_takes_the_columns_type(
    value: object, dtype: pl.DataType, expected: object
) -> None:
    """Text or YAML scalars become values of the incremental column's type."""
    assert coerce_value(value, dtype).unwrap() == expected


@pytest.mark.parametrize(
    ("value", "dtype"),
    [("soon", pl.Int64()), ("2024-01-02T10:00", pl.Date()), (True, pl.Int64()), ("x", pl.Date())],
)
def test_a_chosen_watermark_that_does_not_fit_is_refused(value: object, dtype: pl.DataType) -> None:
    """A value that cannot order rows of the column is a failure saying why."""
    assert isinstance(coerce_value(value, dtype), Failure)


def test_a_window_keeps_rows_between_its_bounds() -> None:
    """Both bounds included; ISO text compares as instants; nulls are in no window."""
    frame = pl.LazyFrame(
        {"t": ["2024-01-01T00:00:00+01:00", "2024-01-01 00:30Z", None, "2024-01-02"]}
    )
    low = coerce_value("2024-01-01T00:00Z", pl.String()).unwrap()
    high = coerce_value("2024-01-01T00:30Z", pl.String()).unwrap()
    kept = in_window(frame, "t", low, high).unwrap().collect()["t"].to_list()
    assert kept == ["2024-01-01 00:30Z"]


def test_incremental_initial_is_read_from_the_config() -> None:
    """`incremental.initial` (a YAML date here) becomes the spec's starting value."""
    config = parse_config(
        {
            "pipeline": "users",
            "lake": {"url": "local://lake", "repository": "etl"},
            "source": {
                "parquet": {
                    "path": "users.parquet",
                    "incremental": {"column": "updated_at", "initial": date(2024, 1, 1)},
                }
            },
            "load": {"path": "validated_data/users"},
        }
    ).unwrap()
    spec = config.source.incremental
    assert spec is not None and spec.initial == date(2024, 1, 1)
