"""A pandera (polars backend) schema or model as more lakeflow rules, in the same single pass.

Pure. pandera validates a ``LazyFrame`` schema-only by default, and forcing data checks makes
it re-run the source plan once per check. Here the schema part (columns, dtypes, ``strict``,
``ordered``) is judged from the input's schema before any data is read, and the data part
becomes row rules evaluated in lakeflow's one pass:

* built-in checks (``eq``, ``ne``, ``gt``, ``ge``, ``lt``, ``le``, ``in_range``, ``isin``,
  ``notin``, ``str_matches``, ``str_contains``, ``str_startswith``, ``str_endswith``,
  ``str_length``, ``unique_values_eq``) are compiled to the same Polars expressions pandera
  itself builds (from each check's statistics), so the results match pandera's;
* ``nullable=False`` (NaN counts as null, as in pandera), ``unique=True`` and the schema's
  ``unique`` (pandera semantics: nulls equal each other; every duplicate is reported);
* any other (custom) check runs through pandera's own check function on the lazy input, and
  its boolean output is joined to the pass column-wise. The input is then cached so it is still
  read once. An ``element_wise`` check runs a Python function per value (slow: prefer
  vectorised checks); a check whose function itself collects and returns a plain ``bool`` has
  read the data while planning (pandera's ``unique_values_eq`` is compiled instead).

Rule names: ``pandera:<column>:<check>`` (``not_nullable``, ``field_uniqueness``, ``dtype``,
``coerce_dtype``, ``column_in_dataframe``, or the check's name), ``pandera:unique:<a>,<b>``,
``pandera:<check>`` for DataFrame-level checks, ``pandera:column_in_schema`` (``strict``) and
``pandera:column_ordering`` (``ordered``). A check with ``raise_warning=True`` is a warning rule.
``coerce=True`` casts like pandera (``strict=False``) and a value that does not convert breaks
``pandera:<column>:coerce_dtype``. Not supported (reported as an invalid option): parsers,
``add_missing_columns``, column ``default`` values, ``strict="filter"``, a schema-wide ``dtype``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, cast

import polars as pl

from lakeflow.core.errors import InvalidOption, StageError
from lakeflow.core.validate.checks import STAGE, PanderaSchema
from lakeflow.core.validate.report import Severity
from lakeflow.core.validate.rules import DatasetRule, duplicated, missing_mask

if TYPE_CHECKING:
    from lakeflow.core.validate.builder import PlanBuilder as _Builder

__all__ = ["add_pandera"]

_PREFIX = "pandera"


def _as_schema(model: PanderaSchema) -> Any | InvalidOption:
    import pandera.polars as pa

    if isinstance(model, type) and issubclass(model, pa.DataFrameModel):
        return model.to_schema()
    if isinstance(model, pa.DataFrameSchema):
        return model
    return InvalidOption(
        STAGE,
        "pandera",
        type(model).__name__,
        ("a pandera.polars DataFrameSchema", "a pandera.polars DataFrameModel subclass"),
    )


def _unsupported(schema: Any) -> list[str]:
    out: list[str] = []
    if schema.parsers:
        out.append("schema parsers")
    if schema.add_missing_columns:
        out.append("add_missing_columns")
    if schema.strict == "filter":
        out.append("strict='filter'")
    if schema.dtype is not None:
        out.append("a schema-wide dtype")
    for name, column in schema.columns.items():
        if column.parsers:
            out.append(f"parsers on column {name!r}")
        if column.default is not None:
            out.append(f"a default on column {name!r}")
    return out


def _dtype_ok(expected: Any, actual: pl.DataType) -> bool:
    from pandera.engines import polars_engine

    try:
        return bool(expected.check(polars_engine.Engine.dtype(actual)))
    except (TypeError, ValueError, NotImplementedError):
        return False


def _kwargs(check: Any) -> dict[str, Any]:
    raw = dict(getattr(check, "_check_kwargs", None) or check.statistics or {})
    return {k: sorted(v, key=repr) if isinstance(v, set | frozenset) else v for k, v in raw.items()}


def _is_builtin(check: Any) -> bool:
    return type(getattr(check, "_check_fn", None)).__name__ == "Dispatcher"


def _builtin(check: Any, column: str) -> pl.Expr | None:
    """The expression pandera's polars backend builds for a built-in check (``None``: custom)."""
    if not _is_builtin(check) or check.element_wise:
        return None
    kw = _kwargs(check)
    col = pl.col(column)
    name = check.name
    simple = {
        "equal_to": lambda: col.eq(kw["value"]),
        "not_equal_to": lambda: col.ne(kw["value"]),
        "greater_than": lambda: col.gt(kw["min_value"]),
        "greater_than_or_equal_to": lambda: col.ge(kw["min_value"]),
        "less_than": lambda: col.lt(kw["max_value"]),
        "less_than_or_equal_to": lambda: col.le(kw["max_value"]),
        "isin": lambda: col.is_in(list(cast(Collection[object], kw["allowed_values"]))),
        "notin": lambda: col.is_in(list(cast(Collection[object], kw["forbidden_values"]))).not_(),
        "str_contains": lambda: col.str.contains(_pattern(kw["pattern"]), literal=False),
        "str_startswith": lambda: col.str.starts_with(kw["string"]),
        "str_endswith": lambda: col.str.ends_with(kw["string"]),
    }
    if name in simple:
        return simple[name]()
    if name == "in_range":
        low = col.ge(kw["min_value"]) if kw.get("include_min", True) else col.gt(kw["min_value"])
        high = col.le(kw["max_value"]) if kw.get("include_max", True) else col.lt(kw["max_value"])
        return low.and_(high)
    if name == "str_matches":
        pattern = _pattern(kw["pattern"])
        return col.str.contains(pattern if pattern.startswith("^") else f"^{pattern}")
    if name == "str_length":
        return _str_length(col, kw)
    return None


def _pattern(value: object) -> str:
    return value.pattern if isinstance(value, re.Pattern) else str(value)


def _str_length(col: pl.Expr, kw: Mapping[str, Any]) -> pl.Expr | None:
    chars = col.str.len_chars()
    exact, low, high = kw.get("exact_value"), kw.get("min_value"), kw.get("max_value")
    if exact is not None:
        return chars.eq(exact)
    if low is None and high is None:
        return None
    if low is None:
        return chars.le(high)
    if high is None:
        return chars.ge(low)
    return chars.is_between(low, high)


def _unique_values_eq(check: Any, column: str) -> pl.Expr | None:
    """Aggregate for ``unique_values_eq``: the distinct non-null values equal ``values``."""
    if not _is_builtin(check) or check.name != "unique_values_eq":
        return None
    values = list(_kwargs(check)["values"])
    col = pl.col(column)
    inside = col.is_in(values) | col.is_null()
    distinct_inside = col.filter(col.is_in(values)).n_unique()
    return inside.all() & (distinct_inside == len(set(values)))


def _selected(builder: _Builder, name: str, column: Any) -> list[str]:
    if not column.regex:
        return [name] if name in builder.schema else []
    pattern = re.compile(column.selector)
    return [c for c in builder.input_columns if pattern.search(c)]


def _run_custom(builder: _Builder, check: Any, key: str) -> str | bool | tuple[str]:
    """Run pandera's own check function lazily; the flag column's name, a bool, or (error,)."""
    from pandera.api.polars.types import PolarsData

    builder.share_input()
    function = partial(check._check_fn, **(check._check_kwargs or {}))
    out: object
    try:
        if check.element_wise:
            selector = pl.col(key)
            out = builder.working.select(selector.map_elements(function, return_dtype=pl.Boolean))
        else:
            out = function(PolarsData(builder.working, key))
        if isinstance(out, bool):
            return out
        if not isinstance(out, pl.LazyFrame):
            return (f"the check returned {type(out).__name__}, not a LazyFrame or bool",)
        names = out.collect_schema().names()
    except Exception as exc:
        return (f"the check raised {type(exc).__name__}: {exc}",)
    flag = builder.internal("pandera")
    combined = pl.all_horizontal(pl.all()) if len(names) > 1 else pl.col(names[0])
    try:
        joined = pl.concat([builder.working, out.select(combined.alias(flag))], how="horizontal")
        builder.schema = joined.collect_schema()
    except pl.exceptions.PolarsError as exc:
        return (f"the check's output cannot be used: {exc}",)
    builder.working = joined
    return flag


def _add_check(builder: _Builder, check: Any, column: str | None, index: int) -> None:
    label = check.name or f"check_{index}"
    name = f"{_PREFIX}:{column}:{label}" if column is not None else f"{_PREFIX}:{label}"
    severity: Severity = "warning" if check.raise_warning else "error"
    expr = _builtin(check, column) if column is not None else None
    aggregate = _unique_values_eq(check, column) if column is not None else None
    message = f"pandera check {label}" + (f" on {column}" if column else "")
    if aggregate is not None:
        builder.add_dataset(
            DatasetRule(name, "pandera", severity, False, message, passed=aggregate)
        )
        return
    if expr is None:
        outcome = _run_custom(builder, check, column or "*")
        if isinstance(outcome, tuple):
            builder.add_dataset(
                DatasetRule(name, "pandera", severity, False, outcome[0], failure=outcome[0])
            )
            return
        if isinstance(outcome, bool):
            builder.add_dataset(
                DatasetRule(name, "pandera", severity, False, message, passed=outcome)
            )
            return
        expr = pl.col(outcome)
    ok = expr.fill_null(True) if check.ignore_na else expr.fill_null(False)
    builder.add_row(
        name,
        "pandera",
        ok,
        message,
        sample=(column,) if column is not None else (),
        severity=severity,
    )


def _add_column(builder: _Builder, schema: Any, column: Any, name: str) -> None:
    dtype = builder.schema[name]
    if column.dtype is not None and _dtype_ok(column.dtype, dtype):
        builder.add_dataset(
            DatasetRule(
                f"{_PREFIX}:{name}:dtype",
                "pandera",
                "error",
                True,
                f"column {name!r} has type {column.dtype}",
                passed=True,
            )
        )
    elif column.dtype is not None:
        if column.coerce or schema.coerce:
            target = column.dtype.type
            builder.replace_column(name, pl.col(name).cast(target, strict=False))
            raw = builder.raw[name]
            builder.add_row(
                f"{_PREFIX}:{name}:coerce_dtype",
                "pandera",
                pl.col(raw).is_null() | pl.col(name).is_not_null(),
                f"{name} must convert to {column.dtype}",
                sample=(raw,),
                schema_rule=True,
            )
        else:
            builder.fail(
                f"{_PREFIX}:{name}:dtype",
                "pandera",
                f"expected column {name!r} to have type {column.dtype}, got {dtype}",
                schema_rule=True,
            )
    dtype = builder.schema[name]
    if not column.nullable:
        builder.add_row(
            f"{_PREFIX}:{name}:not_nullable",
            "pandera",
            ~missing_mask(name, dtype),
            f"non-nullable column {name!r} must not contain null values",
            group="completeness",
            schema_rule=True,
        )
    if column.unique:
        builder.add_row(
            f"{_PREFIX}:{name}:field_uniqueness",
            "pandera",
            ~duplicated([name], builder.schema, nulls_distinct=False),
            f"column {name!r} must be unique (pandera: nulls collide)",
            sample=(name,),
            group="consistency",
        )
    for index, check in enumerate(column.checks):
        _add_check(builder, check, name, index)


def _schema_level(builder: _Builder, schema: Any) -> None:
    names = list(schema.columns)
    if schema.strict is True:
        matched = {c for n, col in schema.columns.items() for c in _selected(builder, n, col)}
        extra = [c for c in builder.input_columns if c not in matched]
        if extra:
            builder.fail(
                f"{_PREFIX}:column_in_schema",
                "pandera",
                f"column(s) {', '.join(map(repr, extra))} not in the schema (strict=True)",
                schema_rule=True,
            )
    if schema.ordered:
        present = [c for c in builder.input_columns if c in names]
        expected = [c for c in names if c in present]
        if present != expected:
            builder.fail(
                f"{_PREFIX}:column_ordering",
                "pandera",
                f"columns out of order: expected {expected}, got {present}",
                schema_rule=True,
            )
    if schema.unique:
        keys: Sequence[Sequence[str]] = (
            [schema.unique] if all(isinstance(x, str) for x in schema.unique) else schema.unique
        )
        for key in keys:
            subset = [c for c in key if c in builder.schema]
            if not subset:
                continue
            builder.add_row(
                f"{_PREFIX}:unique:{','.join(subset)}",
                "pandera",
                ~duplicated(subset, builder.schema, nulls_distinct=False),
                f"({', '.join(subset)}) must be unique (pandera: nulls collide)",
                sample=tuple(subset),
                group="consistency",
            )
    for index, check in enumerate(schema.checks):
        _add_check(builder, check, None, index)


def add_pandera(builder: _Builder, model: PanderaSchema, index: int) -> StageError | None:
    """Pure. Add the rules of one pandera schema/model to ``builder`` (or say why not)."""
    schema = _as_schema(model)
    if isinstance(schema, InvalidOption):
        return schema
    unsupported = _unsupported(schema)
    if unsupported:
        return InvalidOption(
            STAGE,
            f"pandera[{index}] feature",
            ", ".join(unsupported),
            ("columns, dtypes, coerce, nullable, unique, checks, strict=True, ordered",),
        )
    for name, column in schema.columns.items():
        selected = _selected(builder, name, column)
        if not selected:
            if column.required:
                builder.fail(
                    f"{_PREFIX}:{name}:column_in_dataframe",
                    "pandera",
                    f"column {name!r} not in dataframe",
                    schema_rule=True,
                )
            continue
        for present in selected:
            _add_column(builder, schema, column, present)
    _schema_level(builder, schema)
    return None
