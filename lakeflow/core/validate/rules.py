"""Compiled rules: every check becomes a row rule (a boolean expression) or a dataset rule.

Pure. These are the internal building blocks :func:`~lakeflow.core.validate.plan_validation`
assembles into one lazy plan. A row rule's ``ok`` expression is ``True`` for a row that passes
and is never null; a dataset rule is known from the schema or computed by aggregates in the
statistics row.

Coercion (``schema.coerce: true``) casts columns whose type differs from the declared one:
========  ==================================================================================
integer   strings are trimmed and parsed; floats must be integral (1.0 -> 1, 1.5 fails)
number    strings are trimmed and parsed (``nan``/``inf`` parse); other numbers are cast
string    any primitive value is rendered as text
boolean   strings ``true/false/t/f/yes/no/y/n/1/0`` (any case, trimmed); numbers 1 and 0
datetime  strings in ISO 8601 (``YYYY-MM-DD``, with `` `` or ``T`` and ``HH:MM:SS[.f]``);
          dates become midnight
date      strings ``YYYY-MM-DD``; datetimes keep their date
========  ==================================================================================

A value that does not convert breaks ``schema:<column>:type`` for its row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal, TypeAlias, cast

import polars as pl
from polars._typing import PolarsDataType

from lakeflow.core.config.validate import ColumnType as TypeName
from lakeflow.core.validate.report import RuleKind, Severity

__all__ = [
    "DatasetRule",
    "Group",
    "Hasher",
    "RowRule",
    "coerced",
    "comparable",
    "distinct_rows",
    "duplicated",
    "family_of",
    "missing_mask",
    "render_samples",
    "temporal_literal",
    "timely_mask",
    "type_matches",
    "values_series",
]

Group: TypeAlias = Literal["accuracy", "consistency", "completeness", "none"]
"""Which quality score a row rule counts towards (``none``: only recorded, like ``info`` rules)."""

SAMPLES = 5


@dataclass(frozen=True, slots=True)
class RowRule:
    """A rule judged per row.

    Attributes:
        name: Unique among all rules; listed in ``_lakeflow_failed_rules``.
        kind: The check family.
        severity: ``error`` rules decide validity; ``warning`` rules count and make the report
            a warning; ``info`` rules are only recorded.
        group: The quality score the rule counts towards.
        schema_rule: Whether failures count as schema violations.
        ok: Boolean expression, true when the row passes; never null.
        sample: Columns (of the working frame) sampled for failing rows (empty: no samples).
        message: What the rule requires, in words.
    """

    name: str
    kind: RuleKind
    severity: Severity
    group: Group
    schema_rule: bool
    ok: pl.Expr
    sample: tuple[str, ...]
    message: str


@dataclass(frozen=True, slots=True)
class DatasetRule:
    """A rule judged on the whole dataset.

    Exactly one of ``failure`` / ``skipped`` / ``observed`` / ``passed`` decides it:
    ``failure`` and ``skipped`` are known from the schema (a message); ``observed`` is an
    aggregate fraction compared with ``threshold``; ``passed`` is an aggregate boolean (or a
    boolean already known at plan time).

    Attributes:
        missing: Aggregate count reported as the rule's failed rows (missing values).
    """

    name: str
    kind: RuleKind
    severity: Severity
    schema_rule: bool
    message: str
    failure: str | None = None
    skipped: str | None = None
    observed: pl.Expr | None = None
    threshold: float | None = None
    missing: pl.Expr | None = None
    passed: pl.Expr | bool | None = None


def family_of(dtype: pl.DataType) -> str:
    """Pure. The JSON-Schema-like type family of a Polars dtype (``other`` when none fits)."""
    if dtype.is_integer():
        return "integer"
    if dtype.is_numeric():
        return "number"
    if dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum):
        return "string"
    if dtype == pl.Boolean:
        return "boolean"
    if isinstance(dtype, pl.Datetime):
        return "datetime"
    if dtype == pl.Date:
        return "date"
    return "other"


def missing_mask(column: str, dtype: pl.DataType) -> pl.Expr:
    """Pure. True where the value is missing: null, or NaN in a float column."""
    expr = pl.col(column).is_null()
    if dtype.is_float():
        expr = expr | pl.col(column).is_nan()
    return expr


def _hash64(expr: pl.Expr) -> pl.Expr:
    return expr.hash(seed=0x1A4E)


Hasher: TypeAlias = Callable[[pl.Expr], pl.Expr]
"""Maps a key expression to a UInt64 hash (swappable so tests can force collisions)."""


def duplicated(
    columns: Sequence[str],
    schema: pl.Schema,
    *,
    nulls_distinct: bool,
    hasher: Hasher = _hash64,
) -> pl.Expr:
    """Pure. True for every row whose key value occurs more than once (never null).

    Numeric keys use ``is_duplicated`` directly. Other keys (strings, composites) first find
    candidate rows whose 64-bit hash repeats, then verify them exactly, so a hash collision can
    never mark a unique row: measured 2x faster than ``is_duplicated`` on 10M strings.

    Args:
        columns: The key's columns.
        schema: The frame's schema (to pick the strategy).
        nulls_distinct: ``True`` for SQL semantics (a key with a null part never collides);
            ``False`` for pandera's (nulls equal each other).
        hasher: The candidate filter; any function works (collisions only cost time).
    """
    names = list(columns)
    key = pl.col(names[0]) if len(names) == 1 else pl.struct(names)
    has_null = pl.any_horizontal([pl.col(c).is_null() for c in names])
    if len(names) == 1 and (schema[names[0]].is_numeric() or schema[names[0]].is_temporal()):
        dup = key.is_duplicated()
        return (dup & ~has_null) if nulls_distinct else dup
    if not nulls_distinct and len(names) > 1:
        return key.is_duplicated()
    hashed = hasher(key)
    candidate = hashed.is_duplicated() & ~has_null
    exact = candidate & pl.when(candidate).then(key).is_duplicated()
    if nulls_distinct:
        return exact
    # pandera semantics for one column: nulls are equal to each other.
    return pl.when(has_null).then(has_null.sum() > 1).otherwise(exact)


def _as_text(dtype: pl.DataType) -> bool:
    """Whether ``cast(pl.String)`` renders this dtype."""
    return (
        not dtype.is_nested()
        and dtype not in (pl.Object, pl.Binary)
        and not isinstance(dtype, pl.Duration)
    )


def _json_safe(dtype: PolarsDataType) -> bool:
    """Whether ``struct.json_encode`` can write this dtype (Polars panics on binary)."""
    if dtype in (pl.Binary, pl.Object):
        return False
    if isinstance(dtype, pl.List | pl.Array):
        return _json_safe(dtype.inner)
    if isinstance(dtype, pl.Struct):
        return all(_json_safe(f.dtype) for f in dtype.fields)
    return True


def _json_field(column: str, dtype: pl.DataType) -> pl.Expr | None:
    if dtype == pl.Binary:
        return pl.col(column).bin.encode("hex")
    return pl.col(column) if _json_safe(dtype) else None


def render_samples(columns: Sequence[str], schema: pl.Schema, failing: pl.Expr) -> pl.Expr:
    """Pure. Aggregate: the first :data:`SAMPLES` failing values as ``list[str]``.

    One column of a primitive type is rendered as text; several columns (or a nested type) as
    a JSON object keyed by column. Rows are filtered before rendering, so only the sampled
    values are converted. Binary is shown as hex; values JSON cannot hold (binary inside
    nested types) are left out.
    """
    if len(columns) == 1 and _as_text(schema[columns[0]]):
        picked = pl.col(columns[0]).filter(failing).head(SAMPLES)
        return picked.cast(pl.String, strict=False).implode()
    if len(columns) == 1 and schema[columns[0]] == pl.Binary:
        picked = pl.col(columns[0]).filter(failing).head(SAMPLES)
        return picked.bin.encode("hex").implode()
    fields = [f for c in columns if (f := _json_field(c, schema[c])) is not None]
    if not fields:
        return pl.lit([], dtype=pl.List(pl.String))
    rows = pl.struct(fields).filter(failing).head(SAMPLES)
    return rows.struct.json_encode().implode()


def as_utc(moment: datetime) -> datetime:
    """Pure. ``moment`` as an aware UTC datetime (naive values are taken as UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def temporal_literal(value: date | datetime, dtype: pl.DataType) -> pl.Expr | None:
    """Pure. ``value`` as a literal comparable with a column of ``dtype`` (``None``: cannot).

    Date columns take dates; datetime columns take datetimes (naive ones are UTC for aware
    columns) or dates (midnight).
    """
    if dtype == pl.Date:
        if isinstance(value, datetime):
            return None
        return pl.lit(value, dtype=pl.Date)
    if not isinstance(dtype, pl.Datetime):
        return None
    moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
    unit = dtype.time_unit
    if dtype.time_zone is None:
        naive = moment if moment.tzinfo is None else as_utc(moment).replace(tzinfo=None)
        return pl.lit(naive).cast(pl.Datetime(unit))
    aware = as_utc(moment)
    return pl.lit(aware).cast(pl.Datetime(unit, "UTC")).dt.convert_time_zone(dtype.time_zone)


def timely_mask(
    column: str, dtype: pl.DataType, now: datetime, freshness: timedelta
) -> pl.Expr | None:
    """Pure. True where the timestamp lies within ``[now - freshness, now]`` (null: False)."""
    if dtype == pl.Date:
        ts = pl.col(column).cast(pl.Datetime("us"))
        ts_dtype: pl.DataType = pl.Datetime("us")
    elif isinstance(dtype, pl.Datetime):
        ts, ts_dtype = pl.col(column), dtype
    else:
        return None
    upper = cast(pl.Expr, temporal_literal(now, ts_dtype))
    lower = cast(pl.Expr, temporal_literal(now - freshness, ts_dtype))
    return ts.is_between(lower, upper, closed="both").fill_null(False)


def _row_hash(columns: Sequence[str]) -> pl.Expr:
    """Per-column hashes with distinct seeds, xor-combined (25% cheaper than a struct hash)."""
    combined = pl.col(columns[0]).hash(seed=0x5EED)
    for index, column in enumerate(columns[1:], start=1):
        combined = combined ^ pl.col(column).hash(seed=0x5EED + index)
    return combined


def distinct_rows(columns: Sequence[str]) -> pl.Expr:
    """Pure. Aggregate: the number of distinct rows over ``columns``, counted by 64-bit hash.

    Exact unless two different rows share a hash, which can only undercount by one per
    colliding pair; the chance is about n^2 / 2^65 (3e-6 for 10M rows). Polars hashes NaN,
    -0.0 and null consistently with equality. It feeds a quality *metric*, never a decision:
    checks that quarantine rows (``unique``) compare values exactly. Verifying the colliding
    hashes as well cost 2.9 s against 0.6 s here at 10M rows, on every run, checks or not.
    """
    if not columns:
        return pl.len().clip(upper_bound=1)
    return _row_hash(columns).n_unique()


# ---------------------------------------------------------------------------------------------
# Coercion and value lists
# ---------------------------------------------------------------------------------------------

_TRUE_WORDS = ("true", "t", "yes", "y", "1")
_FALSE_WORDS = ("false", "f", "no", "n", "0")
_DATETIME_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d")


def coerced(column: str, source: pl.DataType, target: TypeName) -> pl.Expr:
    """Pure. ``column`` cast to ``target`` leniently: a value that does not convert is null."""
    col = pl.col(column)
    text = col.cast(pl.String).str.strip_chars() if family_of(source) == "string" else None
    if target == "integer":
        if text is not None:
            return text.cast(pl.Int64, strict=False)
        if source.is_float():
            return pl.when(col.round(0) == col).then(col).cast(pl.Int64, strict=False)
        return col.cast(pl.Int64, strict=False)
    if target == "number":
        return (text if text is not None else col).cast(pl.Float64, strict=False)
    if target == "string":
        return col.cast(pl.String, strict=False)
    if target == "boolean":
        if text is not None:
            words = dict.fromkeys(_TRUE_WORDS, True) | dict.fromkeys(_FALSE_WORDS, False)
            return text.str.to_lowercase().replace_strict(
                words, default=None, return_dtype=pl.Boolean
            )
        return pl.when(col == 1).then(True).when(col == 0).then(False)
    if target == "datetime":
        if text is not None:
            parsed = [
                text.str.to_datetime(fmt, strict=False, time_unit="us") for fmt in _DATETIME_FORMATS
            ]
            return pl.coalesce(parsed)
        return col.cast(pl.Datetime("us"), strict=False)
    if text is not None:  # date
        return text.str.to_date("%Y-%m-%d", strict=False)
    if isinstance(source, pl.Datetime):
        return col.dt.date()
    return col.cast(pl.Date, strict=False)


def type_matches(declared: TypeName, dtype: pl.DataType) -> bool:
    """Pure. Whether a column of ``dtype`` is of the declared type family (integers are numbers)."""
    family = family_of(dtype)
    return family == declared or (declared == "number" and family == "integer")


def values_series(values: Sequence[object], dtype: pl.DataType) -> pl.Series | str:
    """Pure. The reference/enum values as a Series comparable with the column (or why not)."""
    try:
        series = pl.Series("values", list(values), strict=False)
        if family_of(dtype) == "string":
            return series.cast(pl.String)
        return series.cast(dtype)
    except (pl.exceptions.PolarsError, TypeError, ValueError, OverflowError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"values {list(values)[:5]!r} do not fit a {dtype} column ({reason})"


def comparable(column: str, dtype: pl.DataType) -> pl.Expr:
    """Pure. The column as compared with listed values (string-like columns as text)."""
    col = pl.col(column)
    return col.cast(pl.String) if family_of(dtype) == "string" else col
