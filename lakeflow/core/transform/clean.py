"""clean: remove duplicates, handle missing values, convert types and clean strings.

Pure. :func:`clean` builds one :class:`~lakeflow.core.stage.Stage` from the ``clean:`` block of a
pipeline config; the steps always run in this documented order, whatever order the keyword
arguments are written in:

1. ``remove_duplicates``
2. ``null_handling`` (entries in the order written)
3. ``type_conversions``
4. ``string_cleaning`` (operations in the order written)

Missing values follow the pandas semantics users migrate from: in a float column NaN counts as
missing, exactly like null. Infinite values are values, not missing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, get_args

import polars as pl
from returns.result import Failure, Result, Success

from lakeflow.core.config import (
    CleanStep,
    Dedupe,
    DedupeKeep,
    NullStrategy,
    OnError,
    StringOp,
    TargetType,
    typed_options,
)
from lakeflow.core.errors import ConversionFailed, InvalidOption, StageError, raise_in_plan
from lakeflow.core.stage import Stage, StageResult
from lakeflow.core.transform._common import (
    dtype_kind,
    invalid,
    median,
    not_missing,
    without_nan,
)

__all__ = [
    "CONVERSION_TARGETS",
    "DEDUPE_KEEP",
    "ISO_DATETIME_FORMATS",
    "NULL_STRATEGIES",
    "ON_ERROR",
    "STRING_OPERATIONS",
    "clean",
    "convert_strictly",
    "first_distinct",
    "parse_iso_datetimes",
]

STAGE: Final = "clean"
NULL_STRATEGIES: Final[tuple[str, ...]] = get_args(NullStrategy)
CONVERSION_TARGETS: Final[tuple[str, ...]] = get_args(TargetType)
STRING_OPERATIONS: Final[tuple[str, ...]] = get_args(StringOp)
DEDUPE_KEEP: Final[tuple[str, ...]] = get_args(DedupeKeep)
ON_ERROR: Final[tuple[str, ...]] = get_args(OnError)
ISO_DATETIME_FORMATS: Final = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
)
"""Formats tried, in order, for ``to: datetime`` without a ``format`` (naive ISO 8601).

The two without fractions come first: Polars parses them on a fast path, about three times
faster than a format with ``%.f``.
"""

_TRUE_WORDS: Final = ("true", "1", "yes", "t", "y")
_FALSE_WORDS: Final = ("false", "0", "no", "f", "n")
# Python's (and so pandas') [^\w\s] with \w as letters, numbers and underscore; combining marks
# are kept too, so decomposed accents (e + U+0301) survive where Python's re would drop them.
_SPECIAL_CHARS: Final = r"[^\p{L}\p{N}\p{M}_\s]"
_MAX_SAMPLES: Final = 5

_TARGET_DTYPES: Final[Mapping[str, pl.DataType]] = {
    "int": pl.Int64(),
    "float": pl.Float64(),
    "numeric": pl.Float64(),
    "str": pl.String(),
    "bool": pl.Boolean(),
    "date": pl.Date(),
    "datetime": pl.Datetime("us"),
}

_SOURCES_FOR: Final[Mapping[str, frozenset[str]]] = {
    "int": frozenset({"int", "float", "decimal", "bool", "string", "categorical", "null"}),
    "float": frozenset({"int", "float", "decimal", "bool", "string", "categorical", "null"}),
    "numeric": frozenset({"int", "float", "decimal", "bool", "string", "categorical", "null"}),
    "str": frozenset(
        {"int", "float", "decimal", "bool", "string", "categorical", "temporal", "null"}
    ),
    "bool": frozenset({"int", "float", "decimal", "bool", "string", "categorical", "null"}),
    "datetime": frozenset({"string", "categorical", "temporal", "null"}),
    "date": frozenset({"string", "categorical", "temporal", "null"}),
}


# ---------------------------------------------------------------------------------------------
# Parsed options


@dataclass(frozen=True, slots=True)
class _Dedupe:
    keys: tuple[str, ...] | None  # None: whole rows
    keep: str
    order_by: str | None


@dataclass(frozen=True, slots=True)
class _NullRule:
    column: str
    strategy: str | None  # None: fill with ``literal``
    literal: object = None


@dataclass(frozen=True, slots=True)
class _Conversion:
    column: str
    target: str
    format: str | None
    on_error: str

    @property
    def target_text(self) -> str:
        return self.target if self.format is None else f"{self.target} (format {self.format!r})"


@dataclass(frozen=True, slots=True)
class _StringRule:
    column: str
    operations: tuple[str, ...]


# ---------------------------------------------------------------------------------------------
# The validated options, as the steps use them


def _rules(
    step: CleanStep,
) -> tuple[_Dedupe | None, tuple[_NullRule, ...], tuple[_Conversion, ...], tuple[_StringRule, ...]]:
    dedupe: _Dedupe | None = None
    if step.remove_duplicates is True:
        dedupe = _Dedupe(None, "first", None)
    elif isinstance(step.remove_duplicates, Dedupe):
        keys = step.remove_duplicates.keys or None
        dedupe = _Dedupe(keys, step.remove_duplicates.keep, step.remove_duplicates.order_by)
    nulls = tuple(
        _NullRule(column, handling, None)
        if isinstance(handling, str)
        else _NullRule(column, None, handling.value)
        for column, handling in step.null_handling.items()
    )
    conversions = tuple(
        _Conversion(column, c.to, c.format, c.on_error)
        for column, c in step.type_conversions.items()
    )
    strings = tuple(_StringRule(column, ops) for column, ops in step.string_cleaning.items())
    return dedupe, nulls, conversions, strings


# ---------------------------------------------------------------------------------------------
# Step 1: duplicates


def _hash_rows(columns: pl.DataFrame) -> pl.Series:
    return columns.hash_rows()


def first_distinct(
    rows: pl.Series,
    *,
    last: bool = False,
    hash_rows: Callable[[pl.DataFrame], pl.Series] = _hash_rows,
) -> pl.Series:
    """Pure. True at the first (``last``: the last) occurrence of each distinct row of ``rows``.

    ``rows`` is a Struct Series (one field per column) or a plain Series. Equality is Polars':
    null equals null, NaN equals NaN, -0.0 equals 0.0. Exact and about twice as fast as
    ``DataFrame.unique``: rows are hashed column by column (``hash_rows``, vectorised); a row
    whose hash occurs once has no duplicate, and only the rows whose hash repeats (the true
    duplicates and any hash collisions) are compared by value. A collision costs time, never a
    row.
    """
    if last:
        return first_distinct(rows.reverse(), hash_rows=hash_rows).reverse()
    columns = rows.struct.unnest() if isinstance(rows.dtype, pl.Struct) else rows.to_frame()
    repeated = hash_rows(columns).is_duplicated()
    if not repeated.any():
        return ~repeated
    positions = repeated.arg_true()
    return (~repeated).scatter(positions, rows.gather(positions).is_first_distinct())


def _distinct_mask(columns: Sequence[str], *, last: bool) -> pl.Expr:
    if len(columns) == 1:
        column = pl.col(columns[0])
        return column.is_last_distinct() if last else column.is_first_distinct()

    def mask(rows: pl.Series) -> pl.Series:
        return first_distinct(rows, last=last)

    return pl.struct(columns).map_batches(mask, return_dtype=pl.Boolean)


def _dedupe(frame: pl.LazyFrame, schema: pl.Schema, rule: _Dedupe) -> pl.LazyFrame:
    """Remove duplicates deterministically; kept rows stay in input order."""
    columns = rule.keys if rule.keys is not None else tuple(schema.names())
    if not columns:
        return frame.head(1)
    if rule.order_by is None:
        return frame.filter(_distinct_mask(columns, last=rule.keep == "last"))
    order = without_nan(pl.col(rule.order_by), schema[rule.order_by])
    # keep: latest. Keep the rows holding their key's greatest order_by (null and NaN are
    # lowest; an all-null group keeps all its rows here), then the last of those in input order.
    greatest = order.eq_missing(order.max().over(list(columns)))
    return frame.filter(greatest).filter(_distinct_mask(columns, last=True))


# ---------------------------------------------------------------------------------------------
# Step 2: missing values

_INT_RANGES: Final = {
    "Int8": (-(2**7), 2**7 - 1),
    "Int16": (-(2**15), 2**15 - 1),
    "Int32": (-(2**31), 2**31 - 1),
    "Int64": (-(2**63), 2**63 - 1),
    "Int128": (-(2**127), 2**127 - 1),
    "UInt8": (0, 2**8 - 1),
    "UInt16": (0, 2**16 - 1),
    "UInt32": (0, 2**32 - 1),
    "UInt64": (0, 2**64 - 1),
    "UInt128": (0, 2**128 - 1),
}


def _strategies_for(kind: str) -> tuple[str, ...]:
    if kind in ("int", "float", "decimal", "null"):
        return NULL_STRATEGIES
    return ("drop", "fill_forward")


def _literal_kind(dtype: pl.DataType) -> str | None:
    kind = dtype_kind(dtype)
    if kind in ("int", "decimal"):
        return "an integer" if kind == "int" else "a number"
    if kind == "float":
        return "a number"
    if kind == "bool":
        return "a boolean"
    if kind in ("string", "categorical"):
        return "a string"
    if dtype == pl.Date:
        return "a date"
    if isinstance(dtype, pl.Datetime):
        return "a date or datetime"
    if dtype == pl.Time:
        return "a time"
    if isinstance(dtype, pl.Duration):
        return "a timedelta"
    if kind == "null":
        return "any"
    return None


def _literal_fits(value: object, dtype: pl.DataType) -> bool:
    kind = dtype_kind(dtype)
    if kind == "null":
        return True
    if isinstance(value, bool):
        return kind == "bool"
    if kind == "int":
        low, high = _INT_RANGES.get(str(dtype), (-(2**63), 2**63 - 1))
        return isinstance(value, int) and low <= value <= high
    if kind in ("float", "decimal"):
        return isinstance(value, int | float)
    if kind == "string":
        return isinstance(value, str)
    if kind == "categorical":
        if isinstance(dtype, pl.Enum):
            return isinstance(value, str) and value in dtype.categories.to_list()
        return isinstance(value, str)
    if dtype == pl.Date:
        return isinstance(value, dt.date) and not isinstance(value, dt.datetime)
    if isinstance(dtype, pl.Datetime):
        return isinstance(value, dt.date)
    if dtype == pl.Time:
        return isinstance(value, dt.time)
    if isinstance(dtype, pl.Duration):
        return isinstance(value, dt.timedelta)
    return False


def _null_problem(rule: _NullRule, dtype: pl.DataType) -> InvalidOption:
    kind = dtype_kind(dtype)
    literal = _literal_kind(dtype)
    allowed = _strategies_for(kind)
    if literal is not None:
        allowed = (*allowed, f"{literal} literal")
    allowed = (*allowed, f"(column {rule.column!r} is {dtype})")
    value = rule.strategy if rule.strategy is not None else rule.literal
    return invalid(STAGE, f"null_handling.{rule.column}", value, allowed, hint=False)


def _fill_expr(rule: _NullRule, dtype: pl.DataType) -> pl.Expr | InvalidOption:
    """The expression that fills ``rule.column`` (every strategy except ``drop``)."""
    column = pl.col(rule.column)
    kind = dtype_kind(dtype)
    if rule.strategy is not None and rule.strategy not in _strategies_for(kind):
        return _null_problem(rule, dtype)
    if rule.strategy == "fill_forward":
        return without_nan(column, dtype).forward_fill()
    if kind == "null":
        if rule.strategy == "fill_zero":
            return column.cast(pl.Int64).fill_null(0)
        if rule.strategy in ("fill_mean", "fill_median"):
            return column  # nothing to average: stays null
        literal = pl.lit(rule.literal, dtype=pl.Int64 if type(rule.literal) is int else None)
        return column.fill_null(literal)
    if rule.strategy == "fill_zero":
        return without_nan(column, dtype).fill_null(pl.lit(0).cast(dtype))
    if rule.strategy in ("fill_mean", "fill_median"):
        values = column.cast(pl.Float64) if kind == "int" else without_nan(column, dtype)
        if rule.strategy == "fill_mean":
            stat = values.mean()
        else:
            stat = values.median() if kind == "decimal" else median(values)
        # The mean of +inf and -inf is NaN: no statistic, so the missing values stay missing.
        stat = stat.cast(dtype) if kind == "decimal" else stat.fill_nan(None)
        return values.fill_null(stat)
    if not _literal_fits(rule.literal, dtype):
        return _null_problem(rule, dtype)
    return without_nan(column, dtype).fill_null(pl.lit(rule.literal).cast(dtype))


def _handle_nulls(
    frame: pl.LazyFrame, schema: pl.Schema, rules: Sequence[_NullRule]
) -> Result[pl.LazyFrame, StageError]:
    """Apply the rules in order; consecutive drops become one filter, fills one projection."""
    drops: list[pl.Expr] = []
    fills: list[pl.Expr] = []
    for rule in rules:
        dtype = schema[rule.column]
        if rule.strategy == "drop":
            if fills:
                frame, fills = frame.with_columns(fills), []
            drops.append(not_missing(pl.col(rule.column), dtype))
            continue
        expr = _fill_expr(rule, dtype)
        if isinstance(expr, InvalidOption):
            return Failure(expr)
        if drops:
            frame, drops = frame.filter(drops), []
        fills.append(expr.alias(rule.column))
    if drops:
        frame = frame.filter(drops)
    if fills:
        frame = frame.with_columns(fills)
    return Success(frame)


# ---------------------------------------------------------------------------------------------
# Step 3: type conversions


def _as_text(column: pl.Expr, kind: str) -> pl.Expr:
    return column.cast(pl.String) if kind == "categorical" else column


def _lenient(column: pl.Expr, dtype: pl.DataType, conversion: _Conversion) -> pl.Expr:
    """Convert without failing: values that cannot be converted become null."""
    kind = dtype_kind(dtype)
    target = conversion.target
    text = _as_text(column, kind)
    if target == "int":
        if kind in ("float", "decimal"):
            whole = column.cast(pl.Int64, strict=False)
            return pl.when(whole.cast(dtype) == column).then(whole)
        if kind in ("string", "categorical"):
            return text.str.strip_chars().cast(pl.Int64, strict=False)
        return column.cast(pl.Int64, strict=False)
    if target in ("float", "numeric"):
        if kind in ("string", "categorical"):
            return text.str.strip_chars().cast(pl.Float64, strict=False)
        return column.cast(pl.Float64, strict=False)
    if target == "str":
        return without_nan(text, dtype).cast(pl.String)
    if target == "bool":
        if kind in ("string", "categorical"):
            words = text.str.strip_chars().str.to_lowercase()
            return words.replace_strict(
                [*_TRUE_WORDS, *_FALSE_WORDS],
                [True] * len(_TRUE_WORDS) + [False] * len(_FALSE_WORDS),
                default=None,
                return_dtype=pl.Boolean,
            )
        if kind in ("int", "float", "decimal"):
            number = without_nan(column, dtype)
            return pl.when(number == 1).then(True).when(number == 0).then(False)
        return column.cast(pl.Boolean)
    if target == "datetime":
        if kind in ("string", "categorical") and conversion.format:
            return text.str.to_datetime(conversion.format, strict=False, time_unit="us")
        if kind in ("string", "categorical"):
            return text.map_batches(
                parse_iso_datetimes, return_dtype=pl.Datetime("us"), is_elementwise=True
            )
        if isinstance(dtype, pl.Datetime):
            return column.dt.cast_time_unit("us")
        return column.cast(pl.Datetime("us"))
    # target == "date"
    if kind in ("string", "categorical"):
        return text.str.to_date(conversion.format or "%Y-%m-%d", strict=False)
    if isinstance(dtype, pl.Datetime):
        return column.dt.date()
    return column.cast(pl.Date)


def parse_iso_datetimes(texts: pl.Series) -> pl.Series:
    """Pure. Parse naive ISO 8601 texts (:data:`ISO_DATETIME_FORMATS`); others become null.

    Vectorised: the whole batch is parsed with the first format, and only the values that did
    not parse are tried with the next one, so uniform data costs one parse (a ``coalesce`` of
    every format costs one parse per format). Formats that both accept a text give it the same
    value, so a value's result never depends on the other values in its batch.
    """
    parsed = texts.str.to_datetime(ISO_DATETIME_FORMATS[0], strict=False, time_unit="us")
    for fmt in ISO_DATETIME_FORMATS[1:]:
        pending = parsed.is_null() & texts.is_not_null()
        if not pending.any():
            break
        positions = pending.arg_true()
        retry = texts.gather(positions).str.to_datetime(fmt, strict=False, time_unit="us")
        parsed = parsed.scatter(positions, retry)
    return parsed


def convert_strictly(
    column: str, target: str, source_is_float: bool
) -> Callable[[Sequence[pl.Series]], pl.Series]:
    """Pure. The per-batch guard of a strict conversion, for ``pl.map_batches``.

    The returned function receives ``[original, converted]`` (converted leniently, so failures
    are nulls). If any value that was present (not null, and not NaN in a float column) became
    null, it aborts the plan with :class:`ConversionFailed` naming the column and up to five
    distinct offending values; otherwise it returns the converted batch unchanged.
    """

    def guard(batch: Sequence[pl.Series]) -> pl.Series:
        original, converted = batch
        present = original.is_not_null()
        if source_is_float:
            present = present & original.is_not_nan()
        failed = present & converted.is_null()
        if failed.any():
            offending = original.filter(failed).unique(maintain_order=True).head(_MAX_SAMPLES)
            samples = tuple(str(v) for v in offending.to_list())
            raise_in_plan(ConversionFailed(STAGE, column, target, samples))
        return converted

    return guard


def _convert(
    frame: pl.LazyFrame, schema: pl.Schema, conversions: Sequence[_Conversion]
) -> Result[pl.LazyFrame, StageError]:
    exprs: list[pl.Expr] = []
    for conversion in conversions:
        dtype = schema[conversion.column]
        kind = dtype_kind(dtype)
        if kind not in _SOURCES_FOR[conversion.target]:
            sources = sorted(t for t, ok in _SOURCES_FOR.items() if kind in ok)
            return Failure(
                invalid(
                    STAGE,
                    f"type_conversions.{conversion.column}",
                    conversion.target,
                    (*sources, f"(column {conversion.column!r} is {dtype})"),
                    hint=False,
                )
            )
        column = pl.col(conversion.column)
        lenient = _lenient(column, dtype, conversion)
        if conversion.on_error == "null" or kind == "null":
            exprs.append(lenient.alias(conversion.column))
            continue
        target_dtype = _TARGET_DTYPES[conversion.target]
        if conversion.target == "datetime":
            target_dtype = frame.select(lenient).collect_schema().dtypes()[0]
        guard = convert_strictly(conversion.column, conversion.target_text, dtype.is_float())
        exprs.append(
            pl.map_batches(
                [column, lenient], guard, return_dtype=target_dtype, is_elementwise=True
            ).alias(conversion.column)
        )
    return Success(frame.with_columns(exprs))


# ---------------------------------------------------------------------------------------------
# Step 4: strings


def _string_op(expr: pl.Expr, operation: str) -> pl.Expr:
    if operation == "strip":
        return expr.str.strip_chars()
    if operation == "lower":
        return expr.str.to_lowercase()
    if operation == "upper":
        return expr.str.to_uppercase()
    if operation == "title":
        return expr.str.to_titlecase()
    return expr.str.replace_all(_SPECIAL_CHARS, "")


def _clean_strings(
    frame: pl.LazyFrame, schema: pl.Schema, rules: Sequence[_StringRule]
) -> Result[pl.LazyFrame, StageError]:
    exprs: list[pl.Expr] = []
    for rule in rules:
        dtype = schema[rule.column]
        if dtype not in (pl.String, pl.Null):
            return Failure(
                invalid(
                    STAGE,
                    f"string_cleaning.{rule.column}",
                    ", ".join(rule.operations),
                    (
                        f"String columns only; column {rule.column!r} is {dtype} "
                        f"(convert it first: type_conversions: {{{rule.column}: str}})",
                    ),
                    hint=False,
                )
            )
        expr = pl.col(rule.column).cast(pl.String)
        for operation in rule.operations:
            expr = _string_op(expr, operation)
        exprs.append(expr.alias(rule.column))
    return Success(frame.with_columns(exprs))


# ---------------------------------------------------------------------------------------------
# The builder


def clean(
    options: CleanStep | None = None,
    /,
    *,
    remove_duplicates: bool | Mapping[str, object] | Dedupe = False,
    null_handling: Mapping[str, object] | None = None,
    type_conversions: Mapping[str, object] | None = None,
    string_cleaning: Mapping[str, object] | None = None,
) -> Stage:
    """Pure. A stage that removes duplicates, fills or drops missing values, converts, cleans text.

    The steps run in this order: duplicates, missing values (entries in the order written),
    type conversions, string cleaning. Every column named must exist in the input: a missing
    one fails at plan time, naming the stage and the columns (the tutorial skipped it
    silently). Invalid options make a failing stage that lists every problem
    (:meth:`Stage.failing`); options that do not fit a column's type (``fill_zero`` on a string
    column, an ``"active"`` literal for an integer column, string operations on a number column)
    fail with :class:`InvalidOption` when the stage is applied, before any data is read.

    Args:
        options: The typed options (a :class:`~lakeflow.core.config.CleanStep`, as a config's
            ``clean:`` step validates into). Or give the keyword arguments below as plain
            values: the same model validates them, and a problem makes a failing stage.
        remove_duplicates: ``True`` removes whole-row duplicates, keeping the first occurrence
            (NaN equals NaN, null equals null, like pandas). ``{keys: [...], keep: ...}`` keeps
            one row per key: ``first`` / ``last`` by input order, or ``latest``, the row with
            the greatest ``order_by`` (null and NaN count as lowest; ties go to the last row in
            input order). Kept rows stay in input order, so the result is deterministic. Exact
            (see :func:`first_distinct`): hashing only speeds it up, a collision never drops a
            row.
        null_handling: ``{column: strategy}``. In a float column NaN counts as missing.

            * ``drop`` removes rows where the column is missing.
            * ``fill_zero`` (numbers), ``fill_mean`` / ``fill_median`` (numbers; the statistic
              of the non-missing values; an integer column becomes Float64, as in pandas),
              ``fill_forward`` (the last present value in input order; leading missing values
              stay missing).
            * any other value is a literal to fill with; it must fit the column's type. A
              string that looks like a strategy (``fil_mean``) is rejected as a likely typo;
              write ``{value: "fill_me"}`` to mean the literal.

            When there is no statistic (every value missing, or the mean of ``+inf`` and
            ``-inf``), ``fill_mean`` / ``fill_median`` leave the missing values null (pandas
            leaves NaN). Infinite values are values: they are never filled.
        type_conversions: ``{column: int|float|str|bool|datetime|date|numeric}`` or
            ``{column: {to: ..., format: "%Y-%m-%d", on_error: fail|null}}``. With
            ``on_error: fail`` (the default for every target except ``numeric``) a value that
            cannot be converted fails the run with :class:`ConversionFailed` naming the column
            and up to five offending values; with ``null`` it becomes null. ``numeric`` is
            Float64 with ``on_error: null`` (pandas' ``to_numeric(errors="coerce")``). Strings
            are stripped before becoming numbers or booleans; floats become integers only when
            they are whole; ``bool`` accepts ``true/false/1/0/yes/no/t/f/y/n`` in any case, and
            the numbers 1 and 0. ``datetime`` without a ``format`` accepts naive ISO 8601
            (:data:`ISO_DATETIME_FORMATS`), surrounding whitespace not included; missing values
            (and NaN) stay missing.
        string_cleaning: ``{column: [strip|lower|upper|title|remove_special_chars, ...]}``,
            applied in the order written, to String columns only. ``remove_special_chars``
            keeps letters, numbers, whitespace and underscore, in any script (pandas'
            ``[^\\w\\s]``), and also combining marks, so decomposed accents survive.

    Example:
        >>> import polars as pl
        >>> stage = clean(
        ...     remove_duplicates=True,
        ...     null_handling={"age": "fill_zero", "status": "active"},
        ...     string_cleaning={"status": ["strip", "lower"]},
        ... )
        >>> frame = pl.LazyFrame({"age": [30, None, 30], "status": [" Active", None, " Active"]})
        >>> stage(frame).unwrap().collect().rows()
        [(30, 'active'), (0, 'active')]
    """
    given = {
        key: value
        for key, value in (
            ("remove_duplicates", remove_duplicates),
            ("null_handling", null_handling),
            ("type_conversions", type_conversions),
            ("string_cleaning", string_cleaning),
        )
        if value is not None and value is not False
    }
    if options is None and not given:
        return Stage(STAGE, Success)
    validated = typed_options(CleanStep, options if options is not None else given, STAGE)
    if isinstance(validated, Failure):
        return Stage.failing(STAGE, *validated.failure())
    step = validated.unwrap()
    dedupe, nulls, conversions, strings = _rules(step)

    def run(frame: pl.LazyFrame) -> StageResult:
        out: Result[pl.LazyFrame, StageError] = Success(frame)
        if dedupe is not None:
            out = out.map(lambda f: _dedupe(f, f.collect_schema(), dedupe))
        if nulls:
            out = out.bind(lambda f: _handle_nulls(f, f.collect_schema(), nulls))
        if conversions:
            out = out.bind(lambda f: _convert(f, f.collect_schema(), conversions))
        if strings:
            out = out.bind(lambda f: _clean_strings(f, f.collect_schema(), strings))
        return out

    return Stage(STAGE, run, requires=step.required_columns())
