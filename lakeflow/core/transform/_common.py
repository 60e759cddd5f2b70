"""Helpers shared by the transform builders: option checks, dtype kinds, missing values.

Pure. Nothing here touches data: these build expressions and failure values.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

import polars as pl
from returns.result import Failure, Result, Success

from lakeflow.core.errors import (
    InvalidExpression,
    InvalidOption,
    StageError,
    catch_engine,
    from_exception,
)
from lakeflow.core.sql import describe_expr

__all__ = [
    "dtype_kind",
    "invalid",
    "is_missing",
    "literal_text",
    "median",
    "not_missing",
    "ordered_unique",
    "resolve_exprs",
    "without_nan",
]


def literal_text(value: object) -> str:
    """Pure. How an option value is shown in a failure (short, single line, never a secret)."""
    if isinstance(value, str):
        return value
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def invalid(
    stage: str, option: str, value: object, allowed: Iterable[str], *, hint: bool = True
) -> InvalidOption:
    """Pure. An :class:`InvalidOption`; with ``hint``, a close allowed name is listed first."""
    allowed_t = tuple(allowed)
    if hint and isinstance(value, str):
        close = difflib.get_close_matches(value.strip().lower(), allowed_t, n=1, cutoff=0.6)
        if close:
            rest = tuple(a for a in allowed_t if a != close[0])
            allowed_t = (f"{close[0]} (did you mean this?)", *rest)
    return InvalidOption(stage, option, literal_text(value), allowed_t)


def ordered_unique(names: Iterable[str]) -> tuple[str, ...]:
    """Pure. ``names`` without repeats, in first-seen order."""
    return tuple(dict.fromkeys(names))


def dtype_kind(dtype: pl.DataType) -> str:
    """Pure. The coarse kind of a dtype: int, float, decimal, bool, string, categorical, ...

    The others are temporal, null (the type of an all-null column) and other.
    """
    if dtype.is_integer():
        return "int"
    if dtype.is_float():
        return "float"
    if dtype.is_decimal():
        return "decimal"
    if dtype == pl.Boolean:
        return "bool"
    if dtype == pl.String:
        return "string"
    if isinstance(dtype, pl.Categorical | pl.Enum):
        return "categorical"
    if dtype.is_temporal():
        return "temporal"
    if dtype == pl.Null:
        return "null"
    return "other"


def without_nan(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Pure. ``expr`` with NaN turned into null for float columns (NaN counts as missing)."""
    return expr.fill_nan(None) if dtype.is_float() else expr


def median(values: pl.Expr) -> pl.Expr:
    """Pure. The median of float ``values`` (missing already removed), correct at infinities.

    Polars interpolates ``a + (b - a) / 2`` between the two middle values, which is NaN for
    ``0`` and ``-inf``; numpy and pandas give ``-inf``. ``a / 2 + b / 2`` gives ``-inf`` there,
    NaN only for ``-inf`` and ``+inf``, and cannot overflow.
    """
    lower = values.quantile(0.5, interpolation="lower")
    higher = values.quantile(0.5, interpolation="higher")
    return lower / 2 + higher / 2


def is_missing(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Pure. True where the value is missing: null, or NaN in a float column (pandas semantics)."""
    return expr.is_null() | expr.is_nan() if dtype.is_float() else expr.is_null()


def not_missing(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Pure. True where the value is present: not null and, for floats, not NaN."""
    return expr.is_not_null() & expr.is_not_nan() if dtype.is_float() else expr.is_not_null()


def _resolve(frame: pl.LazyFrame) -> pl.Schema | BaseException:
    resolved = catch_engine(frame.collect_schema)
    return resolved.unwrap() if isinstance(resolved, Success) else resolved.failure()


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).strip().split("\n\n", 1)[0].split()) or type(exc).__name__


def resolve_exprs(
    stage: str, frame: pl.LazyFrame, exprs: Sequence[tuple[object, pl.Expr]]
) -> Result[pl.Schema, StageError]:
    """Pure. The schema of ``frame.select(exprs)``, resolved without reading any data.

    Each expression comes with the text it was written as; a planning error (for example
    ``name + 1`` on a string column) becomes an :class:`InvalidExpression` naming that text.
    """
    resolved = _resolve(frame.select([e for _, e in exprs]))
    if isinstance(resolved, pl.Schema):
        return Success(resolved)
    for text, expr in exprs:
        single = _resolve(frame.select(expr))
        if not isinstance(single, pl.Schema):
            return Failure(InvalidExpression(stage, describe_expr(text), _reason(single)))
    return Failure(from_exception(resolved, stage=stage))
