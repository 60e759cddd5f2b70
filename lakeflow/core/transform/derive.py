"""derive and keep: new columns and row filters from SQL expressions (or Polars expressions).

Pure. SQL text is parsed by Polars' SQL expression parser (:func:`lakeflow.core.sql.sql_expr`);
nothing is ever evaluated as Python. Differences from the pandas ``eval``/``query`` strings users
migrate from:

* compare with ``=`` and quote strings with single quotes: ``status = 'active'`` (in SQL
  ``"active"`` is a column name);
* ``a // b`` is SQL integer division: it truncates toward zero and fails on NaN or infinite
  floats. The pandas idiom ``income // 10000 * 10000`` is ``floor(income / 10000) * 10000``;
* ``AND`` / ``OR`` / ``NOT`` instead of ``&`` / ``|`` / ``~``; ``x IS NULL`` instead of
  ``x.isna()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import polars as pl
from returns.result import Failure, Success

from lakeflow.core.errors import InvalidExpression, StageError
from lakeflow.core.sql import describe_expr, sql_columns, sql_expr
from lakeflow.core.stage import Stage, StageResult
from lakeflow.core.transform._common import invalid, ordered_unique, resolve_exprs

__all__ = ["derive", "keep"]

_DERIVE: Final = "derive"
_KEEP: Final = "keep"


def derive(columns: Mapping[str, object]) -> Stage:
    """Pure. A stage that adds (or replaces) one column per entry, computed from an expression.

    Entries are computed in the order written, so a later expression may use an earlier derived
    column. Independent entries are computed together in one projection.

    Args:
        columns: ``{name: "SQL expression" | pl.Expr}``, e.g.
            ``{"income_bracket": "floor(income / 10000) * 10000"}``.

    Returns:
        The stage. Every expression that does not parse is reported at once
        (:class:`InvalidExpression`); columns an expression reads must exist in the input (or
        be derived earlier), and a type error such as ``name + 1`` on a string column is an
        :class:`InvalidExpression` when the stage is applied, before any data is read.

    Example:
        >>> import polars as pl
        >>> stage = derive({"bracket": "floor(income / 10000) * 10000", "twice": "bracket * 2"})
        >>> stage(pl.LazyFrame({"income": [12345, 67890]})).unwrap().collect().rows()
        [(12345, 10000.0, 20000.0), (67890, 60000.0, 120000.0)]
    """
    problems: list[StageError] = []
    given: object = columns  # config values arrive untyped: check at run time
    if not isinstance(given, Mapping):
        return Stage.failing(
            _DERIVE, invalid(_DERIVE, "derive", given, ("{name: expression}",), hint=False)
        )
    parsed: list[tuple[str, object, pl.Expr]] = []
    for name, text in given.items():
        if not isinstance(name, str) or not name:
            problems.append(invalid(_DERIVE, "derived column name", name, ("a non-empty string",)))
            continue
        match sql_expr(_DERIVE, text):
            case Success(expr):
                parsed.append((name, text, expr))
            case Failure(problem):
                problems.append(problem)
    if problems:
        return Stage.failing(_DERIVE, *problems)

    # Group entries into projections: an entry that reads a name derived in the current group
    # starts a new group, so it sees the derived value (sequential semantics, few projections).
    groups: list[list[tuple[str, object, pl.Expr]]] = [[]]
    required: list[str] = []
    derived: set[str] = set()
    for name, text, expr in parsed:
        reads = sql_columns(expr)
        required.extend(c for c in reads if c not in derived)
        if any(c in {n for n, _, _ in groups[-1]} for c in reads):
            groups.append([])
        groups[-1].append((name, text, expr))
        derived.add(name)

    def run(frame: pl.LazyFrame) -> StageResult:
        for group in groups:
            named = [(text, expr.alias(name)) for name, text, expr in group]
            checked = resolve_exprs(_DERIVE, frame, named)
            if isinstance(checked, Failure):
                return Failure(checked.failure())
            frame = frame.with_columns([e for _, e in named])
        return Success(frame)

    return Stage(_DERIVE, run, requires=ordered_unique(required))


def keep(*conditions: object) -> Stage:
    """Pure. A stage that keeps the rows where every condition holds (SQL ``WHERE`` semantics).

    A condition that evaluates to null (for example ``age >= 18`` where ``age`` is null) does not
    hold, so the row is dropped, as in SQL. NaN compares as a value (Polars semantics: NaN is
    greater than every number and equal to itself). With no conditions every row is kept.

    Args:
        *conditions: SQL strings such as ``"age >= 18"`` or ``"status = 'active'"``, or boolean
            ``pl.Expr``.

    Returns:
        The stage. Every condition that does not parse is reported at once; a condition that is
        not boolean (``"age + 1"``) is an :class:`InvalidExpression` when the stage is applied.

    Example:
        >>> import polars as pl
        >>> stage = keep("age >= 18", "status = 'active'")
        >>> frame = pl.LazyFrame({"age": [17, 30, None], "status": ["active"] * 3})
        >>> stage(frame).unwrap().collect().rows()
        [(30, 'active')]
    """
    problems: list[StageError] = []
    parsed: list[tuple[object, pl.Expr]] = []
    for text in conditions:
        match sql_expr(_KEEP, text):
            case Success(expr):
                parsed.append((text, expr))
            case Failure(problem):
                problems.append(problem)
    if problems:
        return Stage.failing(_KEEP, *problems)
    required = ordered_unique(c for _, e in parsed for c in sql_columns(e))
    if not parsed:
        return Stage(_KEEP, Success)

    def run(frame: pl.LazyFrame) -> StageResult:
        named = [
            (text, expr.alias(f"__lakeflow_condition_{i}")) for i, (text, expr) in enumerate(parsed)
        ]
        checked = resolve_exprs(_KEEP, frame, named)
        if isinstance(checked, Failure):
            return Failure(checked.failure())
        predicates: list[pl.Expr] = []
        for (text, expr), dtype in zip(parsed, checked.unwrap().dtypes(), strict=True):
            if dtype not in (pl.Boolean, pl.Null):
                return Failure(
                    InvalidExpression(
                        _KEEP, describe_expr(text), f"a condition must be boolean, this is {dtype}"
                    )
                )
            # An untyped null condition (``NULL``) holds for no row.
            predicates.append(expr if dtype == pl.Boolean else expr.cast(pl.Boolean))
        return Success(frame.filter(predicates))

    return Stage(_KEEP, run, requires=required)
