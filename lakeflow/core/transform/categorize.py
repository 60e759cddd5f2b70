"""categorize: label each row by the first bin its value falls in.

Pure. Bins are ranges (``{min, max}``, inclusive, a missing bound is unbounded) or lists of
values; they are tried in the order written and the first match wins. Values that match no bin
get ``default``; missing values (null, and NaN in float columns) stay null.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import polars as pl
from returns.result import Failure, Success

from lakeflow.core.errors import StageError
from lakeflow.core.stage import Stage, StageResult
from lakeflow.core.transform._common import dtype_kind, invalid, is_missing, literal_text

__all__ = ["categorize"]

_STAGE: Final = "categorize"
_BIN_SHAPES: Final = (
    "{min: <value>, max: <value>} (inclusive; either may be left out)",
    "[values]",
)
_COLUMN_KINDS: Final[Mapping[str, frozenset[str]]] = {
    "number": frozenset({"int", "float", "decimal", "null"}),
    "temporal": frozenset({"temporal", "null"}),
    "string": frozenset({"string", "categorical", "null"}),
    "bool": frozenset({"bool", "null"}),
}


@dataclass(frozen=True, slots=True)
class _Bin:
    label: str
    low: object = None
    high: object = None
    values: tuple[object, ...] | None = None


def _family(value: object) -> str | None:
    """The kind of column a bound or listed value can be compared with; None when unusable."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "number"
    if isinstance(value, float):
        return None if math.isnan(value) else "number"
    if isinstance(value, dt.date):
        return "temporal"
    if isinstance(value, str):
        return "string"
    return None


def _ordered(low: object, high: object) -> bool:
    """True when ``low <= high`` (a date and a datetime are compared as datetimes)."""
    if isinstance(low, dt.date) and isinstance(high, dt.date):
        as_dt = [
            v if isinstance(v, dt.datetime) else dt.datetime(v.year, v.month, v.day)
            for v in (low, high)
        ]
        try:
            return as_dt[0] <= as_dt[1]
        except TypeError:  # naive vs aware datetimes
            return False
    if isinstance(low, int | float) and isinstance(high, int | float):
        return low <= high
    return False


def _parse_bin(
    label: str, spec: object, problems: list[StageError]
) -> tuple[_Bin, set[str]] | None:
    option = f"bins.{label}"
    if isinstance(spec, Mapping):
        unknown = [k for k in spec if k not in ("min", "max")]
        problems.extend(invalid(_STAGE, f"{option} key", k, ("min", "max")) for k in unknown)
        bounds = {k: spec[k] for k in ("min", "max") if spec.get(k) is not None}
        families = {_family(v) for v in bounds.values()}
        bad = [v for v in bounds.values() if _family(v) not in ("number", "temporal")]
        problems.extend(
            invalid(_STAGE, option, v, ("a number, date or datetime bound",), hint=False)
            for v in bad
        )
        if unknown or bad:
            return None
        if len(families) > 1:
            problems.append(
                invalid(_STAGE, option, spec, ("min and max of the same kind",), hint=False)
            )
            return None
        low, high = bounds.get("min"), bounds.get("max")
        if low is not None and high is not None and not _ordered(low, high):
            problems.append(invalid(_STAGE, option, spec, ("min <= max",), hint=False))
            return None
        return _Bin(label, low, high), {f for f in families if f is not None}
    if isinstance(spec, Sequence) and not isinstance(spec, str):
        values = tuple(spec)
        families = {_family(v) for v in values}
        if not values or None in families or len(families) > 1:
            problems.append(
                invalid(
                    _STAGE,
                    option,
                    spec,
                    ("a non-empty list of values of one kind (no NaN, no null)",),
                    hint=False,
                )
            )
            return None
        return _Bin(label, values=values), {f for f in families if f is not None}
    problems.append(invalid(_STAGE, option, spec, _BIN_SHAPES, hint=False))
    return None


def _matches(column: pl.Expr, dtype: pl.DataType, rule: _Bin) -> pl.Expr:
    if rule.values is not None:
        values = list(rule.values)
        kind = dtype_kind(dtype)
        if kind == "categorical":
            return column.cast(pl.String).is_in(values)
        if kind in ("float", "decimal") or any(isinstance(v, float) for v in values):
            return column.cast(pl.Float64).is_in([float(v) for v in values])  # type: ignore[arg-type]
        return column.is_in(values)
    condition = pl.lit(True)
    if rule.low is not None:
        condition = condition & (column >= pl.lit(rule.low))
    if rule.high is not None:
        condition = condition & (column <= pl.lit(rule.high))
    return condition


def categorize(
    column: str,
    bins: Mapping[str, object],
    into: str | None = None,
    default: str | None = "Other",
) -> Stage:
    """Pure. A stage that adds a label column: the first bin (in the order written) that matches.

    Args:
        column: The column to categorize.
        bins: ``{label: {min: .., max: ..} | [values]}``. Range bounds are inclusive and either
            may be left out (unbounded); ``float("inf")`` works too. A list matches its values
            exactly. Bounds and values must be numbers, dates/datetimes, strings or booleans
            that fit the column's type.
        into: The new column's name; ``f"{column}_category"`` by default.
        default: The label of non-missing values that match no bin (``None``: null).

    Missing values (null, and NaN in a float column) get a null label, never ``default``: the
    pandas version this replaces labels NaN as ``"Other"``. Infinite values are values.

    Example:
        >>> import polars as pl
        >>> bins = {"Low": {"min": 0, "max": 30000}, "High": {"min": 30001}}
        >>> frame = pl.LazyFrame({"income": [100.0, 50000.0, -5.0, None]})
        >>> categorize("income", bins)(frame).unwrap().collect()["income_category"].to_list()
        ['Low', 'High', 'Other', None]
    """
    problems: list[StageError] = []
    # Config values arrive untyped: check them at run time whatever the annotations say.
    given: tuple[object, object, object, object] = (column, bins, into, default)
    given_column, given_bins, given_into, given_default = given
    if not isinstance(given_column, str) or not given_column:
        problems.append(invalid(_STAGE, "column", given_column, ("a column name",), hint=False))
    target = given_into if given_into is not None else f"{column}_category"
    if not isinstance(target, str) or not target:
        problems.append(invalid(_STAGE, "into", given_into, ("a column name",), hint=False))
    if given_default is not None and not isinstance(given_default, str):
        problems.append(invalid(_STAGE, "default", given_default, ("a string label", "null")))
    rules: list[_Bin] = []
    families: set[str] = set()
    if not isinstance(given_bins, Mapping) or not given_bins:
        problems.append(
            invalid(_STAGE, "bins", bins, ("a non-empty mapping of label to bin",), hint=False)
        )
    else:
        for label, spec in given_bins.items():
            if not isinstance(label, str):
                problems.append(invalid(_STAGE, "bin label", label, ("a string",), hint=False))
                continue
            parsed = _parse_bin(label, spec, problems)
            if parsed is not None:
                rules.append(parsed[0])
                families |= parsed[1]
        if len(families) > 1:
            problems.append(
                invalid(
                    _STAGE,
                    "bins",
                    ", ".join(sorted(families)),
                    ("bounds and values of one kind for all bins",),
                    hint=False,
                )
            )
    if problems:
        return Stage.failing(_STAGE, *problems)
    family = next(iter(families)) if families else None

    def run(frame: pl.LazyFrame) -> StageResult:
        dtype = frame.collect_schema()[column]
        if family is not None and dtype_kind(dtype) not in _COLUMN_KINDS[family]:
            return Failure(
                invalid(
                    _STAGE,
                    "bins",
                    literal_text(dict(bins)),
                    (f"{family} bins for column {column!r}, which is {dtype}",),
                    hint=False,
                )
            )
        source = pl.col(column)
        labels = [pl.when(_matches(source, dtype, r)).then(pl.lit(r.label)) for r in rules]
        labelled = pl.coalesce([*labels, pl.lit(default, dtype=pl.String)])
        out = pl.when(is_missing(source, dtype)).then(pl.lit(None, dtype=pl.String))
        return Success(frame.with_columns(out.otherwise(labelled).alias(str(target))))

    return Stage(_STAGE, run, requires=(column,))
