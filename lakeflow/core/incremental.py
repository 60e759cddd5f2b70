"""Incremental extraction: watermarks that lose no late row and publish none twice.

Pure. A strict ``column > last`` cursor loses rows committed later with a value *equal* to the
last watermark. lakeflow reads with an overlap (``column >= last``) and excludes the rows it
already published at exactly ``last`` by their key. The checkpoint therefore stores the
watermark value *and* the keys of the rows published at that value, and the column's type.

Columns order rows by value: numbers, dates, datetimes, and **text holding ISO 8601
timestamps**, which is compared as *instants*, never as text. ``2024-01-01T10:00:00+02:00``,
``2024-01-01 09:00:00Z`` and ``2024-01-01T08:30:00.5`` are three instants in that order, while
their texts sort the other way round; a text comparison would never publish a row written later
with another UTC offset, another separator or a fraction (see :func:`text_instant` for the forms
accepted; text without an offset is UTC). A text value that is not such a timestamp fails the
run (:class:`~lakeflow.core.errors.UnusableWatermark`) instead of being skipped, and so does a
column whose type changed since the checkpoint was written (TEXT → DATETIME, INT → TEXT): no
row is ever lost silently.

Every function returns failures as values; none raises for data or checkpoint problems.

>>> import polars as pl
>>> wm = Watermark("ts", 2, key_columns=("id",), keys=((1,),))
>>> frame = pl.LazyFrame({"id": [1, 2, 3], "ts": [2, 2, 3]})
>>> after_watermark(frame, wm).unwrap().collect()["id"].to_list()
[2, 3]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal, TypeAlias

import polars as pl
from returns.result import Failure, Result, Success

from lakeflow.core.errors import UnusableWatermark

__all__ = [
    "TIMESTAMP_TEXT",
    "IncrementalSpec",
    "Watermark",
    "WatermarkValue",
    "advance",
    "after_watermark",
    "coerce_value",
    "in_window",
    "not_before",
    "starting_watermark",
    "text_instant",
    "watermark_family",
    "watermark_stats",
]

WatermarkValue: TypeAlias = datetime | date | int | float | str
Family: TypeAlias = Literal["number", "date", "datetime", "datetime_tz", "text"]
"""How a watermark column orders rows: what its values are compared as."""

_ROW_KEY = "__lakeflow_row_key"
_INSTANT = pl.Datetime("us", "UTC")
_MAX_SAMPLES = 5
TIMESTAMP_TEXT = (
    r"(?P<date>[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01]))"
    r"(?:[Tt ](?P<hm>(?:[01][0-9]|2[0-3]):[0-5][0-9])"
    r"(?::(?P<s>[0-5][0-9])(?:\.(?P<f>[0-9]{1,9}))?)?"
    r"\s*(?:(?P<z>[Zz])|(?P<oh>[+-](?:0[0-9]|1[0-5]))(?::?(?P<om>[0-5][0-9]))?)?)?"
)
"""The text :func:`text_instant` reads as a timestamp (a regular expression, unanchored).

ISO 8601 as databases and programs write it: a date, then optionally a time (``T``, ``t`` or
one space), seconds, a fraction (``.`` and up to 9 digits) and a zone (``Z``, or an offset
``±HH``, ``±HHMM``, ``±HH:MM`` up to 15:59). Adapters that push a bound into SQL derive their
patterns from this one, so that the database and lakeflow agree on what is a timestamp.
"""
_CANONICAL_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%:z"
_ACCEPTED_FORMS = (
    "YYYY-MM-DD[(T| )HH:MM[:SS[.fraction]][Z|±HH[:MM]]], e.g. 2024-01-01T10:00:00.5+02:00"
)


@dataclass(frozen=True, slots=True)
class IncrementalSpec:
    """Extract incrementally by ``column``; ``key`` identifies a row (all columns if empty).

    ``initial`` is where a first run (no checkpoint yet) starts: rows at or after it.
    """

    column: str
    key: tuple[str, ...] = ()
    initial: WatermarkValue | None = None


@dataclass(frozen=True, slots=True)
class Watermark:
    """The highest ``column`` value published, and the keys of the rows published at it.

    ``dtype`` is the column's Polars type when the watermark was taken (``None`` in checkpoints
    written before lakeflow recorded it). For a text column ``value`` is the UTC instant of the
    newest row, not its text.
    """

    column: str
    value: WatermarkValue
    key_columns: tuple[str, ...] = ()
    keys: tuple[tuple[object, ...], ...] = ()
    dtype: str | None = None

    def to_json(self) -> dict[str, object]:
        """Pure. A JSON-able dict with the value's type, so it round-trips exactly."""
        out: dict[str, object] = {
            "column": self.column,
            "value": _encode(self.value),
            "key_columns": list(self.key_columns),
            "keys": [[_encode_key(v) for v in key] for key in self.keys],
        }
        if self.dtype is not None:
            out["dtype"] = self.dtype
        return out

    @staticmethod
    def from_json(data: Mapping[str, object]) -> Watermark:
        """Pure. The inverse of :meth:`to_json`; raises ``ValueError`` on a malformed dict."""
        raw_value = data["value"]
        if not isinstance(raw_value, Mapping):
            raise ValueError("watermark value must be a {type, value} mapping")
        key_columns = data.get("key_columns", [])
        keys = data.get("keys", [])
        if not isinstance(key_columns, list) or not isinstance(keys, list):
            raise ValueError("watermark key_columns and keys must be lists")
        dtype = data.get("dtype")
        if dtype is not None and not isinstance(dtype, str):
            raise ValueError("watermark dtype must be a string")
        return Watermark(
            column=str(data["column"]),
            value=_decode(raw_value),
            key_columns=tuple(str(c) for c in key_columns),
            keys=tuple(tuple(_decode_key(v) for v in key) for key in keys),
            dtype=dtype,
        )


def _encode(value: WatermarkValue) -> dict[str, object]:
    if isinstance(value, datetime):
        return {"type": "datetime", "value": value.isoformat()}
    if isinstance(value, date):
        return {"type": "date", "value": value.isoformat()}
    if isinstance(value, bool):  # bool is an int subclass: refuse it explicitly
        raise ValueError("a boolean column cannot be a watermark")
    if isinstance(value, int):
        return {"type": "int", "value": value}
    if isinstance(value, float):
        return {"type": "float", "value": value}
    return {"type": "str", "value": value}


def _decode(data: Mapping[str, object]) -> WatermarkValue:
    kind, value = data.get("type"), data.get("value")
    if kind == "datetime" and isinstance(value, str):
        return datetime.fromisoformat(value)
    if kind == "date" and isinstance(value, str):
        return date.fromisoformat(value)
    if kind == "int" and isinstance(value, int):
        return value
    if kind == "float" and isinstance(value, int | float):
        return float(value)
    if kind == "str" and isinstance(value, str):
        return value
    raise ValueError(f"unsupported watermark value {data!r}")


def _encode_key(value: object) -> object:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date):
        return _encode(value)
    return {"type": "str", "value": str(value)}


def _decode_key(value: object) -> object:
    if isinstance(value, Mapping):
        return _decode(value)
    return value


# -- ordering -----------------------------------------------------------------------------------


def text_instant(text: pl.Expr) -> pl.Expr:
    """Pure. ISO 8601 text as a UTC instant (``Datetime("us", "UTC")``); other text is null.

    Accepted: ``YYYY-MM-DD``, optionally followed by a time after ``T``, ``t`` or one space
    (``HH:MM``, ``HH:MM:SS``, ``HH:MM:SS.f`` with up to 9 fraction digits, truncated to
    microseconds) and a zone (``Z``, ``±HH``, ``±HHMM`` or ``±HH:MM`` up to 15:59; none means
    UTC); see :data:`TIMESTAMP_TEXT`.
    Surrounding whitespace is ignored. Impossible dates and times (``2024-02-30``) and instants
    outside years 1 to 9999 in UTC are null.

    >>> frame = pl.DataFrame({"t": ["2024-01-01T10:00:00+02:00", "2024-01-01 09:00Z", "x"]})
    >>> [str(v) for v in frame.select(text_instant(pl.col("t")))["t"]]
    ['2024-01-01 08:00:00+00:00', '2024-01-01 09:00:00+00:00', 'None']
    """
    parts = text.str.strip_chars().str.extract_groups(f"^{TIMESTAMP_TEXT}$")
    field = parts.struct.field
    offset = (
        pl.when(field("oh").is_not_null())
        .then(pl.concat_str([field("oh"), pl.lit(":"), field("om").fill_null("00")]))
        .otherwise(pl.lit("+00:00"))
    )
    canonical = pl.concat_str(
        [
            field("date"),
            pl.lit("T"),
            field("hm").fill_null("00:00"),
            pl.lit(":"),
            field("s").fill_null("00"),
            pl.lit("."),
            field("f").fill_null("0"),
            offset,
        ]
    )
    parsed = canonical.str.to_datetime(
        _CANONICAL_FORMAT, strict=False, time_unit="us", time_zone="UTC"
    )
    # Instants Python cannot hold (0001-01-01T00:00+01:00 is in year 0) have no place either.
    representable = parsed.is_between(
        pl.lit(datetime.min.replace(tzinfo=UTC), dtype=_INSTANT),
        pl.lit(datetime.max.replace(tzinfo=UTC), dtype=_INSTANT),
    )
    return pl.when(representable).then(parsed).name.keep()


def _family_of(dtype: pl.DataType) -> Family | None:
    if dtype.is_integer() or dtype.is_float():
        return "number"
    if isinstance(dtype, pl.Datetime):
        return "datetime" if dtype.time_zone is None else "datetime_tz"
    if dtype == pl.Date:
        return "date"
    if dtype == pl.String:
        return "text"
    return None


def _family_of_name(name: str) -> Family | None:
    """The family of a dtype recorded in a checkpoint as ``str(dtype)``."""
    if name.startswith(("Int", "UInt", "Float")):
        return "number"
    if name.startswith("Datetime"):
        return "datetime" if "time_zone=None" in name else "datetime_tz"
    if name == "Date":
        return "date"
    if name == "String":
        return "text"
    return None


def watermark_family(watermark: Watermark) -> Family:
    """Pure. How ``watermark`` orders rows: from the recorded column type, else its value."""
    if watermark.dtype is not None:
        family = _family_of_name(watermark.dtype)
        if family is not None:
            return family
    value = watermark.value
    if isinstance(value, datetime):
        return "datetime" if value.tzinfo is None else "datetime_tz"
    if isinstance(value, date):
        return "date"
    if isinstance(value, str):
        return "text"
    return "number"


@dataclass(frozen=True, slots=True)
class _Order:
    """How one column orders rows: its sort key, and the text values that have no place."""

    key: pl.Expr  # the column as a comparable value (a UTC instant for text)
    unplaced: pl.Expr | None  # text present but not a timestamp (None for typed columns)


def _order(column: str, dtype: pl.DataType) -> _Order | None:
    if dtype == pl.Null:
        return _Order(pl.col(column), None)
    family = _family_of(dtype)
    if family is None:
        return None
    if family == "text":
        key = text_instant(pl.col(column))
        return _Order(key, pl.col(column).is_not_null() & key.is_null())
    return _Order(pl.col(column), None)


def _unsupported(column: str, dtype: pl.DataType) -> UnusableWatermark:
    return UnusableWatermark(
        column,
        f"a {dtype} column cannot order rows; use an integer, float, date, datetime or "
        "ISO 8601 timestamp text column (or convert it in a query)",
    )


def _schema_of(frame: pl.LazyFrame, column: str) -> Result[pl.Schema, UnusableWatermark]:
    try:
        return Success(frame.collect_schema())
    except pl.exceptions.PolarsError as exc:
        reason = str(exc).strip().split("\n\n", 1)[0]
        return Failure(UnusableWatermark(column, f"cannot read the input's schema: {reason}"))


def _bound(
    watermark: Watermark, dtype: pl.DataType
) -> Result[tuple[_Order, pl.Expr], UnusableWatermark]:
    """The column's order and the watermark as a literal of the same type, or why not."""
    column = watermark.column
    order = _order(column, dtype)
    if order is None:
        return Failure(_unsupported(column, dtype))
    if dtype == pl.Null:  # no value at all: nothing to compare (no row will be selected)
        return Success((order, pl.lit(None)))
    was = watermark_family(watermark)
    now = _family_of(dtype)
    if was != now:
        recorded = watermark.dtype or f"{type(watermark.value).__name__} values"
        return Failure(
            UnusableWatermark(
                column,
                f"its type changed since the checkpoint was written: it was {recorded}, it is "
                f"{dtype} now, so its values no longer compare with the checkpoint "
                f"({_show(watermark.value)}); convert it back to the former type in a query, "
                "or reset the pipeline's checkpoint to read every row again",
            )
        )
    value = watermark.value
    if now == "text":
        instant = _instant_of(value)
        if instant is None:
            return Failure(
                UnusableWatermark(
                    column,
                    f"the checkpoint's value {_show(value)} is not an ISO 8601 timestamp "
                    f"({_ACCEPTED_FORMS}); reset the pipeline's checkpoint",
                )
            )
        return Success((order, pl.lit(instant, dtype=_INSTANT)))
    if isinstance(dtype, pl.Datetime):  # same unit and zone as the column: exact comparison
        return Success((order, pl.lit(value).cast(dtype)))
    return Success((order, pl.lit(value)))


def _instant_of(value: WatermarkValue) -> datetime | None:
    """A text column's checkpoint value as a UTC instant (older checkpoints hold the text)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        return None
    parsed = pl.DataFrame({"t": [value]}).select(text_instant(pl.col("t"))).item()
    return parsed if isinstance(parsed, datetime) else None


def _show(value: object) -> str:
    return repr(value.isoformat()) if isinstance(value, date) else repr(value)


def _check_column(
    frame: pl.LazyFrame, column: str, spec: IncrementalSpec | None
) -> Result[pl.Schema, UnusableWatermark]:
    if spec is not None and spec.column != column:
        return Failure(
            UnusableWatermark(
                column,
                f"the checkpoint holds a watermark for column {column!r} but the source is "
                f"incremental by {spec.column!r}; reset the pipeline's checkpoint to change "
                "the column",
            )
        )
    schema = _schema_of(frame, column)
    if isinstance(schema, Success) and column not in schema.unwrap():
        names = ", ".join(repr(n) for n in schema.unwrap().names())
        return Failure(UnusableWatermark(column, f"not found in the input; columns: {names}"))
    return schema


def not_before(
    frame: pl.LazyFrame, watermark: Watermark
) -> Result[pl.LazyFrame, UnusableWatermark]:
    """Pure. Rows at or after ``watermark`` (a superset of :func:`after_watermark`'s rows).

    What a source pushes into its scan: it keeps ties (the shell removes the published ones by
    key) and text that is not a timestamp (so that :func:`watermark_stats` reports it).
    """
    checked = _check_column(frame, watermark.column, None)
    if isinstance(checked, Failure):
        return Failure(checked.failure())
    bounded = _bound(watermark, checked.unwrap()[watermark.column])
    if isinstance(bounded, Failure):
        return Failure(bounded.failure())
    order, bound = bounded.unwrap()
    keep = order.key >= bound
    if order.unplaced is not None:
        keep = keep | order.unplaced
    return Success(frame.filter(keep))


def after_watermark(
    frame: pl.LazyFrame, watermark: Watermark | None, spec: IncrementalSpec | None = None
) -> Result[pl.LazyFrame, UnusableWatermark]:
    """Pure. Rows newer than ``watermark``, plus rows *at* it whose key was not yet published.

    Rows with a null watermark column are never selected once a watermark exists (they have
    no position in the order); the first run (no watermark) keeps every row. Text values that
    are not timestamps are kept, so that :func:`advance` fails naming them. Fails when the
    column is missing, has a type that cannot order rows, or changed type since ``watermark``
    was taken. With ``spec``, the first run checks the column too.
    """
    if watermark is None:
        if spec is None:
            return Success(frame)
        checked = _check_column(frame, spec.column, spec)
        if isinstance(checked, Failure):
            return Failure(checked.failure())
        dtype = checked.unwrap()[spec.column]
        if _order(spec.column, dtype) is None:
            return Failure(_unsupported(spec.column, dtype))
        return Success(frame)
    checked = _check_column(frame, watermark.column, spec)
    if isinstance(checked, Failure):
        return Failure(checked.failure())
    schema = checked.unwrap()
    bounded = _bound(watermark, schema[watermark.column])
    if isinstance(bounded, Failure):
        return Failure(bounded.failure())
    order, value = bounded.unwrap()
    if schema[watermark.column] == pl.Null:
        return Success(frame.filter(pl.lit(value=False)))
    unplaced = order.unplaced if order.unplaced is not None else pl.lit(value=False)
    if not watermark.keys:
        return Success(frame.filter((order.key >= value) | unplaced))
    key_columns = list(watermark.key_columns) or schema.names()
    key_type = (
        pl.Struct({c: schema[c] for c in key_columns})
        if all(c in schema for c in key_columns)
        else None
    )
    seen = pl.Series(
        _ROW_KEY,
        [dict(zip(key_columns, k, strict=True)) for k in watermark.keys],
        dtype=key_type,
        strict=False,
    )
    at_value = order.key == value
    already = _key_expr(key_columns).is_in(seen.implode())
    return Success(frame.filter((order.key > value) | (at_value & ~already) | unplaced))


def _key_expr(columns: list[str]) -> pl.Expr:
    return pl.struct([pl.col(c) for c in columns]).alias(_ROW_KEY)


def watermark_stats(frame: pl.LazyFrame, spec: IncrementalSpec) -> pl.LazyFrame:
    """Pure. A one-row plan: the newest value, the keys of the rows at it, and for a text
    column the count and a few samples of the values that are not timestamps.

    The plan fails when executed if the column is missing; call :func:`after_watermark`
    first, which checks it.
    """
    schema = frame.collect_schema()
    key_columns = list(spec.key) or schema.names()
    dtype = schema.get(spec.column)
    order = _order(spec.column, dtype) if dtype is not None else None
    key = order.key if order is not None else pl.col(spec.column)
    newest = key.max()
    columns = [
        newest.alias("max"),
        _key_expr(key_columns).filter(key == newest).implode().alias("keys"),
    ]
    if order is not None and order.unplaced is not None:
        bad = pl.col(spec.column).filter(order.unplaced)
        columns.append(order.unplaced.sum().alias("unplaced"))
        columns.append(bad.head(_MAX_SAMPLES).implode().alias("unplaced_samples"))
    return frame.select(columns)


def advance(
    previous: Watermark | None,
    stats: Mapping[str, object],
    spec: IncrementalSpec,
    schema: Mapping[str, pl.DataType],
) -> Result[Watermark | None, UnusableWatermark]:
    """Pure. The checkpoint after publishing the rows summarised by ``stats``.

    ``stats`` is the collected row of :func:`watermark_stats` as a dict, ``schema`` the schema
    of the frame it summarised. With no new rows the previous watermark stands. When the new
    max equals the previous value (only late ties arrived) the published keys accumulate, so
    no tie is ever published twice. Fails when a text column holds values that are not
    timestamps (they have no place in the order: publishing around them would lose them).
    """
    column = spec.column
    unplaced = stats.get("unplaced")
    if isinstance(unplaced, int) and unplaced > 0:
        samples = stats.get("unplaced_samples")
        shown = ", ".join(repr(s) for s in samples) if isinstance(samples, list) else ""
        return Failure(
            UnusableWatermark(
                column,
                f"{unplaced} value(s) are not ISO 8601 timestamps ({shown}), so they have no "
                f"place in the order of the rows; expected {_ACCEPTED_FORMS}. Fix them in the "
                "source, or convert the column in a query",
            )
        )
    new_max = stats.get("max")
    if new_max is None:
        return Success(previous)
    dtype = schema.get(column)
    if (
        isinstance(new_max, bool)
        or not isinstance(new_max, datetime | date | int | float)
        or dtype is None
    ):
        shown_type = dtype if dtype is not None else type(new_max).__name__
        return Failure(
            UnusableWatermark(
                column,
                f"a {shown_type} column cannot order rows; use an integer, float, date, "
                "datetime or ISO 8601 timestamp text column",
            )
        )
    key_columns = tuple(spec.key) or tuple(schema)
    raw_keys = stats.get("keys") or []
    if not isinstance(raw_keys, list):
        return Failure(UnusableWatermark(column, "the keys at the watermark are not a list"))
    keys = tuple(tuple(k[c] for c in key_columns) for k in raw_keys)
    if previous is not None and _same_instant(previous.value, new_max):
        merged = dict.fromkeys(previous.keys)
        merged.update(dict.fromkeys(keys))
        keys = tuple(merged)
    return Success(Watermark(column, new_max, key_columns, keys, str(dtype)))


def _same_instant(previous: WatermarkValue, new: WatermarkValue) -> bool:
    """Whether two watermark values are the same point (text checkpoints may hold text)."""
    if isinstance(previous, str) and isinstance(new, datetime):
        return _instant_of(previous) == new
    return previous == new


# -- chosen starting points: incremental.initial, lakeflow reset --to, lakeflow backfill --------


def coerce_value(value: object, dtype: pl.DataType) -> Result[WatermarkValue, str]:
    """Pure. ``value`` (a config scalar or command-line text) as a watermark of a ``dtype`` column.

    Numbers for numeric columns, a date for a date column, a datetime for a datetime column
    (a date is its midnight; an aware value is converted to UTC for a naive column; naive values
    are taken as UTC for an aware column), a UTC instant for ISO 8601 text columns. Returns why
    not when the value cannot order rows of that column.

    >>> coerce_value("2024-01-02", pl.Datetime("us")).unwrap()
    datetime.datetime(2024, 1, 2, 0, 0)
    >>> coerce_value("7", pl.Int64()).unwrap()
    7
    """
    family = _family_of(dtype)
    shown = _show(value)
    if family is None:
        return Failure(f"a {dtype} column cannot order rows")
    if isinstance(value, bool):
        return Failure(f"{shown} is a boolean, not a watermark")
    if family == "number":
        if isinstance(value, int | float):
            return Success(value)
        if isinstance(value, str):
            for convert in (int, float):
                try:
                    return Success(convert(value.strip()))
                except ValueError:
                    continue
        return Failure(f"{shown} is not a number (the column is {dtype})")
    instant = _as_datetime(value)
    if instant is None:
        return Failure(f"{shown} is not a date or an ISO 8601 timestamp (the column is {dtype})")
    if family == "date":
        if isinstance(value, datetime) or (isinstance(value, str) and len(value.strip()) > 10):
            return Failure(f"{shown} is not a date (the column is {dtype})")
        return Success(instant.date())
    if family == "datetime":
        if instant.tzinfo is not None:
            instant = instant.astimezone(UTC).replace(tzinfo=None)
        return Success(instant)
    return Success(instant.astimezone(UTC) if instant.tzinfo else instant.replace(tzinfo=UTC))


def _as_datetime(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return _instant_of(text)


def starting_watermark(
    spec: IncrementalSpec, value: object, dtype: pl.DataType
) -> Result[Watermark, UnusableWatermark]:
    """Pure. A watermark at ``value`` with no row published at it yet (rows ``>= value`` follow).

    What ``incremental.initial`` makes a first run start from, and what ``lakeflow reset --to``
    sets. ``dtype`` is the column's type, recorded so later runs check it.
    """
    coerced = coerce_value(value, dtype)
    if isinstance(coerced, Failure):
        return Failure(UnusableWatermark(spec.column, coerced.failure()))
    return Success(Watermark(spec.column, coerced.unwrap(), tuple(spec.key), (), str(dtype)))


def in_window(
    frame: pl.LazyFrame, column: str, start: WatermarkValue, end: WatermarkValue
) -> Result[pl.LazyFrame, UnusableWatermark]:
    """Pure. Rows whose ``column`` lies between ``start`` and ``end``, both included.

    The bounds compare as the column's values do (instants for ISO 8601 text). Rows whose
    column is null, or text that is not a timestamp, lie in no window.

    >>> frame = pl.LazyFrame({"ts": [1, 2, 3, 4]})
    >>> in_window(frame, "ts", 2, 3).unwrap().collect()["ts"].to_list()
    [2, 3]
    """
    checked = _check_column(frame, column, None)
    if isinstance(checked, Failure):
        return Failure(checked.failure())
    dtype = checked.unwrap()[column]
    bounds = []
    for value in (start, end):
        bounded = _bound(Watermark(column, value, dtype=str(dtype)), dtype)
        if isinstance(bounded, Failure):
            return Failure(bounded.failure())
        bounds.append(bounded.unwrap())
    (order, low), (_, high) = bounds
    return Success(frame.filter(order.key.is_between(low, high)))
