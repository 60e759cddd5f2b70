"""SQL expressions as values: parse a SQL string (or accept a ``pl.Expr``) without ever raising.

Pure. Strings are parsed by Polars' own SQL expression parser (:func:`polars.sql_expr`); nothing
is ever evaluated as Python. A string that does not parse is an :class:`InvalidExpression`
failure naming the stage and the text, so config validation can report it before any effect.

SQL, not Python: compare with ``=`` (``==`` is accepted too), quote strings with single quotes
(``status = 'active'``; ``"active"`` names a *column*), and combine with ``AND``/``OR``/``NOT``.
``a // b`` is SQL integer division (it truncates toward zero and fails on NaN or infinite
floats); pandas' ``income // 10000 * 10000`` is ``floor(income / 10000) * 10000`` here.

>>> import polars as pl
>>> sql_expr("keep", "age >= 18").map(sql_columns).unwrap()
('age',)
>>> sql_expr("keep", "age >=").failure().message
"stage 'keep': invalid SQL expression 'age >=': unable to parse 'age >=' as Expr"
>>> sql_columns(pl.col("a") + pl.col("b") * pl.col("a"))
('a', 'b')
"""

from __future__ import annotations

from typing import TypeAlias

import polars as pl
from returns.result import Failure, Result, Success

from lakeflow.core.errors import InvalidExpression, catch_engine

__all__ = ["SqlText", "describe_expr", "sql_columns", "sql_expr"]

SqlText: TypeAlias = str | pl.Expr
"""What the builders accept wherever an expression goes: SQL text or a Polars expression."""

_MAX_SHOWN = 200


def describe_expr(text_or_expr: object) -> str:
    """Pure. A short, single-line text for an expression, for failure messages."""
    text = text_or_expr if isinstance(text_or_expr, str) else str(text_or_expr)
    text = " ".join(text.split())
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().split("\n\n", 1)[0].strip()
    return " ".join(text.split()) or type(exc).__name__


def sql_expr(stage: str, text_or_expr: object) -> Result[pl.Expr, InvalidExpression]:
    """Pure. Parse SQL text into a ``pl.Expr`` (an expression passes through unchanged).

    Args:
        stage: The stage name the failure will carry.
        text_or_expr: A SQL expression string such as ``"age >= 18"``, or a ``pl.Expr``.

    Returns:
        ``Success(expr)``, or ``Failure(InvalidExpression)`` for text that does not parse, an
        empty text, or a value that is neither a string nor an expression.
    """
    if isinstance(text_or_expr, pl.Expr):
        return Success(text_or_expr)
    if not isinstance(text_or_expr, str):
        return Failure(
            InvalidExpression(
                stage,
                describe_expr(text_or_expr),
                "expected a SQL expression string or a polars expression, "
                f"got {type(text_or_expr).__name__}",
            )
        )
    if not text_or_expr.strip():
        return Failure(InvalidExpression(stage, text_or_expr, "the expression is empty"))
    return catch_engine(lambda: pl.sql_expr(text_or_expr)).alt(
        lambda exc: InvalidExpression(stage, describe_expr(text_or_expr), _reason(exc))
    )


def sql_columns(expr: pl.Expr) -> tuple[str, ...]:
    """Pure. The input column names ``expr`` reads, each once, in order of first reference.

    Wildcards and regex selections (``pl.all()``, ``pl.col("^x.*$")``) name no column here.
    """
    return tuple(dict.fromkeys(expr.meta.root_names()))
