"""categorize: label each row by the first bin its value falls in.

Pure. Bins are ranges (``{min, max}``, inclusive, a missing bound is unbounded) or lists of
values; they are tried in the order written and the first match wins. Values that match no bin
get ``default``; missing values (null, and NaN in float columns) stay null.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import polars as pl
from returns.result import Failure, Success

from lakeflow.core.config import Categorization, RangeBin, ValuesBin, typed_options
from lakeflow.core.config.transform import bin_family
from lakeflow.core.stage import Stage, StageResult
from lakeflow.core.transform._common import dtype_kind, invalid, is_missing, literal_text

__all__ = ["categorize"]

_STAGE: Final = "categorize"
_COLUMN_KINDS: Final[Mapping[str, frozenset[str]]] = {
    "number": frozenset({"int", "float", "decimal", "null"}),
    "temporal": frozenset({"temporal", "null"}),
    "string": frozenset({"string", "categorical", "null"}),
    "bool": frozenset({"bool", "null"}),
}


def _matches(column: pl.Expr, dtype: pl.DataType, rule: RangeBin | ValuesBin) -> pl.Expr:
    if isinstance(rule, ValuesBin):
        values = list(rule.values)
        kind = dtype_kind(dtype)
        if kind == "categorical":
            return column.cast(pl.String).is_in(values)
        if kind in ("float", "decimal") or any(isinstance(v, float) for v in values):
            return column.cast(pl.Float64).is_in([float(v) for v in values])  # type: ignore[arg-type]
        return column.is_in(values)
    condition = pl.lit(True)
    if rule.min is not None:
        condition = condition & (column >= pl.lit(rule.min))
    if rule.max is not None:
        condition = condition & (column <= pl.lit(rule.max))
    return condition


def categorize(
    column: str,
    bins: Mapping[str, object] | Categorization,
    into: str | None = None,
    default: str | None = "Other",
) -> Stage:
    """Pure. A stage that adds a label column: the first bin (in the order written) that matches.

    Args:
        column: The column to categorize.
        bins: ``{label: {min: .., max: ..} | [values]}``, or the typed options (a
            :class:`~lakeflow.core.config.Categorization`, as a config's ``categorize:`` step
            validates into; it carries ``into`` and ``default`` and the two arguments below
            are then ignored). Range bounds are inclusive and either may be left out
            (unbounded). A list matches its values exactly. Bounds and values must be
            numbers, dates/datetimes, strings or booleans (all bins of one kind) that fit the
            column's type.
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
    given: object = bins
    if not isinstance(bins, Categorization):
        given = {
            "bins": bins,
            **({} if into is None else {"into": into}),
            **({} if default is None else {"default": default}),
        }
    validated = typed_options(Categorization, given, _STAGE)
    if not isinstance(column, str) or not column:
        return Stage.failing(_STAGE, invalid(_STAGE, "column", column, ("a column name",)))
    if isinstance(validated, Failure):
        return Stage.failing(_STAGE, *validated.failure())
    options = validated.unwrap()
    if not isinstance(bins, Categorization) and default is None:
        options = options.model_copy(update={"default": None})  # a null label
    rules = list(options.bins.values())
    labels = list(options.bins)
    family = bin_family(rules[0])
    target = options.into or f"{column}_category"
    label_default = options.default

    def run(frame: pl.LazyFrame) -> StageResult:
        dtype = frame.collect_schema()[column]
        if family is not None and dtype_kind(dtype) not in _COLUMN_KINDS[family]:
            return Failure(
                invalid(
                    _STAGE,
                    "bins",
                    literal_text(labels),
                    (f"{family} bins for column {column!r}, which is {dtype}",),
                    hint=False,
                )
            )
        source = pl.col(column)
        matched = [
            pl.when(_matches(source, dtype, r)).then(pl.lit(label))
            for label, r in zip(labels, rules, strict=True)
        ]
        labelled = pl.coalesce([*matched, pl.lit(label_default, dtype=pl.String)])
        out = pl.when(is_missing(source, dtype)).then(pl.lit(None, dtype=pl.String))
        return Success(frame.with_columns(out.otherwise(labelled).alias(str(target))))

    return Stage(_STAGE, run, requires=(column,))
