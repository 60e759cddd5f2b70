"""aggregate: one row per group with flat, predictable column names (``income_mean``).

Pure. Aggregations skip missing values (null, and NaN in float columns), like pandas. The output
is sorted by the group keys (nulls last), so it is deterministic whatever the input order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final, get_args

import polars as pl
from returns.result import Failure, Success

from lakeflow.core.config import AggregateStep, AggregationName, typed_options
from lakeflow.core.stage import Stage, StageResult
from lakeflow.core.transform._common import (
    dtype_kind,
    invalid,
    median,
    ordered_unique,
    without_nan,
)

__all__ = ["AGGREGATIONS", "aggregate"]

_STAGE: Final = "aggregate"
AGGREGATIONS: Final[tuple[str, ...]] = get_args(AggregationName)

_ALLOWED_FOR: Final[Mapping[str, tuple[str, ...]]] = {
    "int": AGGREGATIONS,
    "float": AGGREGATIONS,
    "decimal": AGGREGATIONS,
    "bool": ("mean", "count", "sum", "min", "max", "n_unique"),
    "temporal": ("mean", "median", "count", "min", "max", "n_unique"),
    "string": ("count", "min", "max", "n_unique"),
    "categorical": ("count", "n_unique"),
    "null": AGGREGATIONS,
    "other": ("count", "n_unique"),
}


def _aggregation(column: str, dtype: pl.DataType, operation: str) -> pl.Expr:
    if dtype == pl.Null:  # an all-null column without a type: aggregate it as numbers
        dtype = pl.Float64()
        values = pl.col(column).cast(dtype)
    else:
        values = without_nan(pl.col(column), dtype)
    if operation == "mean":
        return values.mean()
    if operation == "median":
        kind = dtype_kind(dtype)
        if kind in ("int", "float", "decimal"):
            return median(values.cast(pl.Float64))
        return values.median()
    if operation == "count":
        return values.count().cast(pl.Int64)
    if operation == "sum":
        return values.sum()
    if operation == "min":
        return values.min()
    if operation == "max":
        return values.max()
    if operation == "std":
        return values.std(ddof=1)
    return values.drop_nulls().n_unique().cast(pl.Int64)


def aggregate(
    group_by: str | Sequence[str] | AggregateStep = (),
    aggregations: Mapping[str, object] | None = None,
) -> Stage:
    """Pure. A stage that groups rows and aggregates columns into ``<column>_<aggregation>``.

    Args:
        group_by: Key column(s), or the typed options (an
            :class:`~lakeflow.core.config.AggregateStep`, as a config's ``aggregate:`` step
            validates into). Null keys form their own group (SQL ``GROUP BY``; pandas drops
            them by default). With no keys the whole input is one group: one output row.
        aggregations: ``{column: [mean|median|count|sum|min|max|std|n_unique, ...]}``
            (validated by the same model).

    Semantics (pandas' defaults, missing values skipped): ``count`` counts non-missing values;
    ``std`` is the sample standard deviation (ddof=1; null for a single value); ``n_unique``
    counts distinct non-missing values; ``sum`` of no values is 0; ``mean``/``median``/``min``/
    ``max`` of no values are null. Output columns: the keys, then the aggregations in the order
    written; rows sorted by the keys with nulls last.

    Example:
        >>> import polars as pl
        >>> stage = aggregate(group_by=["g"], aggregations={"x": ["count", "mean"]})
        >>> frame = pl.LazyFrame({"g": ["b", "a", "b"], "x": [1.0, None, 3.0]})
        >>> stage(frame).unwrap().collect().rows()
        [('a', 0, None), ('b', 2, 2.0)]
    """
    given: object = group_by
    if not isinstance(given, AggregateStep):
        keys = [group_by] if isinstance(group_by, str) else group_by
        given = {"group_by": keys, "aggregations": aggregations}
    validated = typed_options(AggregateStep, given, _STAGE)
    if isinstance(validated, Failure):
        return Stage.failing(_STAGE, *validated.failure())
    step = validated.unwrap()
    keys = step.group_by
    wanted = [(column, op) for column, ops in step.aggregations.items() for op in ops]

    def run(frame: pl.LazyFrame) -> StageResult:
        schema = frame.collect_schema()
        exprs: list[pl.Expr] = []
        for column, op in wanted:
            dtype = schema[column]
            allowed = _ALLOWED_FOR[dtype_kind(dtype)]
            if op not in allowed:
                return Failure(
                    invalid(
                        _STAGE,
                        f"aggregations.{column}",
                        op,
                        (*allowed, f"(column {column!r} is {dtype})"),
                        hint=False,
                    )
                )
            exprs.append(_aggregation(column, dtype, op).alias(f"{column}_{op}"))
        if not keys:
            return Success(frame.select(exprs))
        grouped = frame.group_by(list(keys)).agg(exprs)
        return Success(grouped.sort(list(keys), nulls_last=True))

    return Stage(_STAGE, run, requires=ordered_unique([*keys, *(c for c, _ in wanted)]))
