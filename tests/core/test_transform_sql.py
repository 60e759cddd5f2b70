"""SQL expressions as values: parsing never raises, failures name the text, columns are found."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from returns.result import Failure, Success

from lakeflow.core.sql import sql_columns, sql_expr
from lakeflow.errors import InvalidExpression


@given(text=st.text(max_size=40))
@example(text="")
@example(text="a +")
@example(text="1; DROP TABLE users")
@example(text="__import__('os').system('echo pwned')")
def test_sql_expr_never_raises(text: str) -> None:
    """Any text gives a Success or an InvalidExpression naming the stage; nothing is raised."""
    result = sql_expr("derive", text)
    if isinstance(result, Failure):
        failure = result.failure()
        assert isinstance(failure, InvalidExpression)
        assert failure.stage == "derive"
    else:
        assert isinstance(result.unwrap(), pl.Expr)


@pytest.mark.parametrize(
    ("text", "columns"),
    [
        ("age >= 18", ("age",)),
        ("status = 'active'", ("status",)),
        ("floor(income / 10000) * 10000", ("income",)),
        ("a + b * a - c", ("a", "b", "c")),
        ("email LIKE '%@%' AND age IS NOT NULL", ("email", "age")),
        ("1 + 2", ()),
    ],
)
def test_sql_columns_lists_each_referenced_column_once(text: str, columns: tuple[str, ...]) -> None:
    """sql_columns names the input columns an expression reads, once each, in reading order."""
    assert sql_columns(sql_expr("s", text).unwrap()) == columns


def test_python_code_is_never_evaluated() -> None:
    """A Python payload is a parse failure, not code that runs."""
    result = sql_expr("keep", "__import__('os').system('exit 3')")
    assert isinstance(result, Failure)
    assert "__import__" in result.failure().message


@pytest.mark.parametrize("value", [3, None, ["age > 1"], {"x": 1}])
def test_non_text_values_are_invalid_expressions(value: object) -> None:
    """A value that is neither SQL text nor a pl.Expr is an InvalidExpression naming its type."""
    failure = sql_expr("derive", value).failure()
    assert isinstance(failure, InvalidExpression)
    assert type(value).__name__ in failure.reason


def test_polars_expressions_pass_through() -> None:
    """A pl.Expr is returned as it is."""
    expr = pl.col("x") > 1
    result = sql_expr("keep", expr)
    assert isinstance(result, Success)
    assert result.unwrap().meta.eq(expr)


def test_sql_double_slash_is_integer_division() -> None:
    """`//` truncates toward zero (SQL), unlike pandas' floor division; floor() is the migration."""
    frame = pl.DataFrame({"income": [-5, 12345]})
    truncated = frame.select(sql_expr("d", "income // 10000 * 10000").unwrap()).to_series()
    floored = frame.select(sql_expr("d", "floor(income / 10000) * 10000").unwrap()).to_series()
    assert truncated.to_list() == [0, 10000]
    assert floored.to_list() == [-10000.0, 10000.0]
