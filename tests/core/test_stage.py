"""Stages: composition laws, wrapping user functions, plan-time column checks."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from returns.pipeline import flow
from returns.pointfree import bind
from returns.result import Failure, Result, Success

from lakeflow import Stage, compose, stage
from lakeflow.core.stage import StageResult
from lakeflow.errors import LakeflowError, MissingColumns, StageError, StageFailed
from lakeflow.testing.sources import counting_source


def _frame(values: list[int]) -> pl.LazyFrame:
    return pl.LazyFrame({"x": values}, schema={"x": pl.Int64})


def _add(n: int) -> Stage:
    return Stage(f"add{n}", lambda f: Success(f.with_columns(pl.col("x") + n)))


def _mul(n: int) -> Stage:
    return Stage(f"mul{n}", lambda f: Success(f.with_columns(pl.col("x") * n)))


def _fails(reason: str) -> Stage:
    return Stage("fails", lambda f: Failure(StageFailed("fails", reason)))


def _collect(result: StageResult) -> pl.DataFrame:
    return result.unwrap().collect()


values = st.lists(st.integers(-1000, 1000), max_size=20)
small = st.integers(-5, 5)


@given(values=values, a=small, b=small)
def test_composition_equals_applying_in_order(values: list[int], a: int, b: int) -> None:
    """`a >> b` gives the same frame as applying `a`, then `b`."""
    frame = _frame(values)
    composed = _collect((_add(a) >> _mul(b))(frame))
    stepwise = _collect(_add(a)(frame).bind(_mul(b)))
    assert_frame_equal(composed, stepwise)


@given(values=values, a=small, b=small, c=small)
def test_composition_is_associative(values: list[int], a: int, b: int, c: int) -> None:
    """`(a >> b) >> c` and `a >> (b >> c)` build equal results."""
    frame = _frame(values)
    left = _collect(((_add(a) >> _mul(b)) >> _add(c))(frame))
    right = _collect((_add(a) >> (_mul(b) >> _add(c)))(frame))
    assert_frame_equal(left, right)


@given(values=values, a=small)
def test_identity_is_neutral(values: list[int], a: int) -> None:
    """The empty composition is a two-sided identity for `>>`."""
    frame = _frame(values)
    expected = _collect(_add(a)(frame))
    assert_frame_equal(_collect((compose() >> _add(a))(frame)), expected)
    assert_frame_equal(_collect((_add(a) >> compose())(frame)), expected)


def test_composition_short_circuits_on_first_failure() -> None:
    """After a Failure the later stages are never called."""
    called: list[str] = []

    def spy(frame: pl.LazyFrame) -> StageResult:
        called.append("spy")
        return Success(frame)

    result = (_fails("boom") >> Stage("spy", spy))(_frame([1]))
    assert called == []
    failure = result.failure()
    assert isinstance(failure, StageFailed)
    assert failure.reason == "boom"


def test_stages_compose_with_returns_flow() -> None:
    """A stage is a plain callable that works with `flow` and `bind`."""
    result: Result[pl.LazyFrame, StageError] = flow(
        Success(_frame([1, 2])), bind(_add(1)), bind(_mul(10))
    )
    assert _collect(result)["x"].to_list() == [20, 30]


def test_stage_decorator_wraps_plain_and_result_functions() -> None:
    """Plain LazyFrame functions and Result-returning functions both become stages."""

    @stage
    def plain(frame: pl.LazyFrame) -> pl.LazyFrame:
        return frame.with_columns(pl.col("x") + 1)

    @stage(name="checked")
    def checked(frame: pl.LazyFrame) -> StageResult:
        return Failure(StageFailed("checked", "no"))

    as_function = stage(lambda f: f.filter(pl.col("x") > 1), name="filtered")
    assert plain.name == "plain"
    assert _collect((plain >> as_function)(_frame([0, 1, 2]))).to_dict(as_series=False) == {
        "x": [2, 3]
    }
    assert isinstance(checked(_frame([1])).failure(), StageFailed)


def test_missing_columns_fail_at_plan_time_naming_stage_and_columns() -> None:
    """A stage that uses absent columns fails before any data is read, naming them all."""

    source, reads = counting_source(pl.DataFrame({"x": [1]}))

    declared = stage(lambda f: f.select("a", "b"), name="needs_ab", requires=["a", "x", "b"])
    failure = declared(source).failure()
    assert failure == MissingColumns("needs_ab", ("a", "b"), ("x",))
    assert "needs_ab" in failure.message and "'a', 'b'" in failure.message

    undeclared = stage(lambda f: f.select(pl.col("ghost") + 1), name="uses_ghost")
    found = undeclared(source).failure()
    assert isinstance(found, MissingColumns)
    assert found.stage == "uses_ghost" and found.missing == ("ghost",)
    assert reads == [0]


def test_returning_a_dataframe_is_a_bug_that_raises() -> None:
    """Collecting inside a stage is a programming error, so it raises, with advice."""
    eager = stage(lambda f: f.collect(), name="eager")  # type: ignore[arg-type,return-value]
    with pytest.raises(LakeflowError, match="stay lazy"):
        eager(_frame([1]))


def test_user_exceptions_that_are_not_polars_errors_propagate() -> None:
    """Exceptions are bugs: a user's ValueError is not swallowed into a Failure."""

    def broken(frame: pl.LazyFrame) -> pl.LazyFrame:
        raise ValueError("bug")

    with pytest.raises(ValueError, match="bug"):
        stage(broken)(_frame([1]))


def test_failing_stage_reports_its_problems_and_composition_keeps_them() -> None:
    """Option problems found at build time travel through composition for config checks."""
    bad = Stage.failing("bad", StageFailed("bad", "one"), StageFailed("bad", "two"))
    combined = _add(1) >> bad >> _fails("later")
    assert [p.message for p in combined.problems] == [
        "stage 'bad' failed: one",
        "stage 'bad' failed: two",
    ]
    assert combined(_frame([1])).failure() == StageFailed("bad", "one")
    with pytest.raises(LakeflowError):
        Stage.failing("empty")
