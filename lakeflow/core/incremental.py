"""Incremental extraction: watermarks that lose no late row and publish none twice.

Pure. A strict ``column > last`` cursor loses rows committed later with a value *equal* to the
last watermark. lakeflow reads with an overlap (``column >= last``) and excludes the rows it
already published at exactly ``last`` by their key. The checkpoint therefore stores the
watermark value *and* the keys of the rows published at that value.

>>> import polars as pl
>>> wm = Watermark("ts", 2, key_columns=("id",), keys=((1,),))
>>> frame = pl.LazyFrame({"id": [1, 2, 3], "ts": [2, 2, 3]})
>>> after_watermark(frame, wm).collect()["id"].to_list()
[2, 3]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeAlias

import polars as pl

__all__ = [
    "IncrementalSpec",
    "Watermark",
    "WatermarkValue",
    "advance",
    "after_watermark",
    "watermark_stats",
]

WatermarkValue: TypeAlias = datetime | date | int | float | str
_ROW_KEY = "__lakeflow_row_key"


@dataclass(frozen=True, slots=True)
class IncrementalSpec:
    """Extract incrementally by ``column``; ``key`` identifies a row (all columns if empty)."""

    column: str
    key: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Watermark:
    """The highest ``column`` value published, and the keys of the rows published at it."""

    column: str
    value: WatermarkValue
    key_columns: tuple[str, ...] = ()
    keys: tuple[tuple[object, ...], ...] = ()

    def to_json(self) -> dict[str, object]:
        """Pure. A JSON-able dict with the value's type, so it round-trips exactly."""
        return {
            "column": self.column,
            "value": _encode(self.value),
            "key_columns": list(self.key_columns),
            "keys": [[_encode_key(v) for v in key] for key in self.keys],
        }

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
        return Watermark(
            column=str(data["column"]),
            value=_decode(raw_value),
            key_columns=tuple(str(c) for c in key_columns),
            keys=tuple(tuple(_decode_key(v) for v in key) for key in keys),
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


def _key_expr(columns: Sequence[str]) -> pl.Expr:
    return pl.struct([pl.col(c) for c in columns]).alias(_ROW_KEY)


def after_watermark(frame: pl.LazyFrame, watermark: Watermark | None) -> pl.LazyFrame:
    """Pure. Rows newer than ``watermark``, plus rows *at* it whose key was not yet published.

    Rows with a null watermark column are never selected once a watermark exists (they have
    no position in the order); the first run (no watermark) keeps every row.
    """
    if watermark is None:
        return frame
    column = pl.col(watermark.column)
    value = pl.lit(watermark.value)
    if not watermark.keys:
        return frame.filter(column >= value)
    schema = frame.collect_schema()
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
    at_value = column == value
    already = _key_expr(key_columns).is_in(seen.implode())
    return frame.filter((column > value) | (at_value & ~already))


def watermark_stats(frame: pl.LazyFrame, spec: IncrementalSpec) -> pl.LazyFrame:
    """Pure. A one-row plan: the max of the column and the keys of the rows at that max."""
    key_columns = list(spec.key) or frame.collect_schema().names()
    column = pl.col(spec.column)
    return frame.select(
        column.max().alias("max"),
        _key_expr(key_columns).filter(column == column.max()).implode().alias("keys"),
    )


def advance(
    previous: Watermark | None,
    stats: Mapping[str, object],
    spec: IncrementalSpec,
    columns: Sequence[str],
) -> Watermark | None:
    """Pure. The checkpoint after publishing the rows summarised by ``stats``.

    ``stats`` is the collected row of :func:`watermark_stats` as a dict. With no new rows the
    previous watermark stands. When the new max equals the previous value (only late ties
    arrived) the published keys accumulate, so no tie is ever published twice.
    """
    new_max = stats.get("max")
    if new_max is None:
        return previous
    if not isinstance(new_max, datetime | date | int | float | str):
        raise ValueError(f"cannot use a {type(new_max).__name__} column as a watermark")
    key_columns = tuple(spec.key) or tuple(columns)
    raw_keys = stats.get("keys") or []
    if not isinstance(raw_keys, list):
        raise ValueError("watermark keys must be a list of structs")
    keys = tuple(tuple(k[c] for c in key_columns) for k in raw_keys)
    if previous is not None and previous.value == new_max:
        merged = dict.fromkeys(previous.keys)
        merged.update(dict.fromkeys(keys))
        keys = tuple(merged)
    return Watermark(spec.column, new_max, key_columns, keys)
