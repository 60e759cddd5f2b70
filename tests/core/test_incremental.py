"""Watermarks: an overlap with key exclusion loses no tied row and publishes none twice."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lakeflow.core.incremental import (
    IncrementalSpec,
    Watermark,
    advance,
    after_watermark,
    watermark_stats,
)

SPEC = IncrementalSpec("ts", ("id",))


def _publish(table: pl.DataFrame, wm: Watermark | None) -> tuple[pl.DataFrame, Watermark | None]:
    """One incremental run: push `ts >= value` down, drop published ties, advance."""
    frame = table.lazy()
    if wm is not None:
        frame = frame.filter(pl.col("ts") >= wm.value)
    extracted = after_watermark(frame, wm, SPEC).unwrap().collect()
    stats = watermark_stats(extracted.lazy(), SPEC).collect().row(0, named=True)
    return extracted, advance(wm, stats, SPEC, extracted.schema).unwrap()


# Each batch arrives later; its timestamps are never below what was already there (a row
# committed later carries a timestamp >= the max at that time), but often EQUAL to it.
batches = st.lists(
    st.lists(st.integers(0, 3), min_size=0, max_size=6),
    min_size=1,
    max_size=6,
)


@given(batches=batches)
def test_every_row_is_published_exactly_once_across_runs(batches: list[list[int]]) -> None:
    """Runs between arriving batches publish the union of all rows, each exactly once."""
    rows: list[dict[str, int]] = []
    published: list[int] = []
    wm: Watermark | None = None
    next_id = 0
    floor = 0
    for steps in batches:
        for step in steps:
            rows.append({"id": next_id, "ts": floor + step})
            next_id += 1
        if rows:
            floor = max(r["ts"] for r in rows)
        table = pl.DataFrame(rows, schema={"id": pl.Int32, "ts": pl.Int64})
        extracted, wm = _publish(table, wm)
        published.extend(extracted["id"].to_list())
    assert sorted(published) == list(range(next_id))


def test_a_strict_greater_than_cursor_would_lose_the_late_tie() -> None:
    """The case that motivates the design: a late row equal to the watermark is kept."""
    first = pl.DataFrame({"id": [1, 2], "ts": [5, 5]})
    _, wm = _publish(first, None)
    assert wm == Watermark("ts", 5, ("id",), ((1,), (2,)), dtype="Int64")
    late = pl.concat([first, pl.DataFrame({"id": [3], "ts": [5]})])
    again, wm2 = _publish(late, wm)
    assert again["id"].to_list() == [3]
    assert wm2 is not None
    assert set(wm2.keys) == {(1,), (2,), (3,)}, "keys at an unchanged value accumulate"


def test_no_new_rows_keeps_the_watermark() -> None:
    """An empty extract leaves the checkpoint as it was."""
    wm = Watermark("ts", 5, ("id",), ((1,),))
    schema = {"id": pl.Int64(), "ts": pl.Int64()}
    assert advance(wm, {"max": None, "keys": []}, SPEC, schema).unwrap() == wm


@pytest.mark.parametrize(
    "value",
    [7, 2.5, "2024-01-01", date(2024, 1, 2), datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC)],
)
def test_watermarks_round_trip_through_json_with_their_type(value: object) -> None:
    """The checkpoint file restores the exact value and type, keys included."""
    wm = Watermark("ts", value, ("id", "day"), ((1, date(2024, 1, 1)), (None, None)))  # type: ignore[arg-type]
    assert Watermark.from_json(wm.to_json()) == wm


def test_booleans_are_refused_as_watermarks() -> None:
    """A boolean column cannot order rows; saying so beats a silent int conversion."""
    with pytest.raises(ValueError, match="boolean"):
        Watermark("flag", True).to_json()


def test_key_types_follow_the_frame_not_python() -> None:
    """Published keys match narrow integer key columns (int32, uint8...)."""
    frame = pl.LazyFrame({"id": pl.Series([1, 2, 3], dtype=pl.UInt8), "ts": [1, 1, 2]})
    wm = Watermark("ts", 1, ("id",), ((1,),))
    assert after_watermark(frame, wm).unwrap().collect()["id"].to_list() == [2, 3]


def test_without_key_columns_the_whole_row_is_the_key() -> None:
    """With no key configured, rows are told apart by all their columns."""
    spec = IncrementalSpec("ts")
    frame = pl.DataFrame({"v": ["a", "b"], "ts": [1, 1]})
    stats = watermark_stats(frame.lazy(), spec).collect().row(0, named=True)
    wm = advance(None, stats, spec, frame.schema).unwrap()
    assert wm is not None
    later = pl.concat([frame, pl.DataFrame({"v": ["c"], "ts": [1]})])
    assert after_watermark(later.lazy(), wm).unwrap().collect()["v"].to_list() == ["c"]


# -- columns that cannot order rows, and checkpoints that no longer fit ----------------------------


@pytest.mark.parametrize(
    "dtype", [pl.Boolean(), pl.Decimal(10, 2), pl.List(pl.Int64()), pl.Categorical()]
)
def test_columns_that_cannot_order_rows_are_refused_as_values(dtype: pl.DataType) -> None:
    """A boolean, decimal, list or categorical column is refused on the first run already,
    as a failure value naming the column and its type (never an exception)."""
    frame = pl.LazyFrame({"id": [1], "ts": pl.Series([None], dtype=dtype)})
    failure = after_watermark(frame, None, SPEC).failure()
    assert "'ts'" in failure.message and str(dtype).split("(")[0] in failure.message


def test_a_missing_incremental_column_is_a_failure_value() -> None:
    """The column not being in the input is reported with the columns that are."""
    failure = after_watermark(pl.LazyFrame({"id": [1]}), None, SPEC).failure()
    assert "'ts'" in failure.message and "'id'" in failure.message


def test_a_checkpoint_from_before_instants_still_compares_text_as_instants() -> None:
    """A text checkpoint written before lakeflow stored instants (no dtype, the text itself)
    is read as the instant it denotes: later rows in other forms are kept, the tie is not."""
    old = Watermark("ts", "2024-01-01T10:00:00+02:00", ("id",), ((1,),))
    frame = pl.LazyFrame(
        {
            "id": [1, 2, 3, 4],
            "ts": ["2024-01-01 08:00:00", "2024-01-01T08:00:00Z", "2024-01-01 09:00", "2023-12-31"],
        }
    )
    kept = after_watermark(frame, old, SPEC).unwrap().collect()
    assert kept["id"].to_list() == [2, 3]
    stats = watermark_stats(kept.lazy(), SPEC).collect().row(0, named=True)
    new = advance(old, stats, SPEC, kept.schema).unwrap()
    assert new is not None
    assert new.value == datetime(2024, 1, 1, 9, tzinfo=UTC) and new.dtype == "String"
    assert Watermark.from_json(new.to_json()) == new
