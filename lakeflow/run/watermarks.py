"""Chosen watermarks: where a first run starts, a backfill's window, a reset's value.

Effect (asks the source for its schema, never for rows). A watermark given by a person
(``incremental.initial`` in the config, ``lakeflow backfill --from/--to``, ``lakeflow reset
--to``) is text or a YAML scalar; it becomes a value of the incremental column's type here
(:func:`lakeflow.core.incremental.coerce_value`), so it is pushed into the source's query as
that type and compared as the column's values are.

A backfill reads its source through :func:`window_source`: the rows whose incremental column
lies in ``[from, to]``, pushed down as ``column >= from`` like any incremental read. The wrapped
source is not incremental itself, so the run neither filters by nor advances the checkpoint:
it writes the base commit's checkpoint back unchanged (in the same commit as the data, so a
concurrent run still conflicts with it and exactly one publishes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date

import polars as pl
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Result, Success

from lakeflow.adapters.lake_helpers import unwrap_io
from lakeflow.core.errors import ExtractError, StageError, UnusableWatermark
from lakeflow.core.incremental import (
    IncrementalSpec,
    Watermark,
    WatermarkValue,
    in_window,
    starting_watermark,
)
from lakeflow.ports import ExtractContext, Lake, SchemaSource, Source

__all__ = [
    "WindowSource",
    "chosen_watermark",
    "column_type",
    "initial_watermark",
    "window_source",
]


def column_type(source: Source, lake: Lake, base: str) -> Result[pl.DataType | None, StageError]:
    """Effect. The type of the source's incremental column (``None`` when the source cannot
    tell its schema without reading rows)."""
    spec = source.incremental
    if spec is None or not isinstance(source, SchemaSource):
        return Success(None)
    context = ExtractContext(watermark=None, lake=lake, base_ref=base)
    found = unwrap_io(source.plan_schema(context))
    if isinstance(found, Failure):
        return Failure(found.failure())
    schema = found.unwrap()
    if spec.column not in schema:
        names = ", ".join(repr(n) for n in schema.names())
        return Failure(UnusableWatermark(spec.column, f"not found in the source; columns: {names}"))
    return Success(schema[spec.column])


def _guessed(value: object) -> pl.DataType:
    """The column type a value stands for when the source cannot say (custom sources)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return pl.Int64() if isinstance(value, int) else pl.Float64()
    if isinstance(value, date) and not hasattr(value, "hour"):
        return pl.Date()
    return pl.Datetime("us")


def chosen_watermark(
    source: Source, lake: Lake, base: str, value: object
) -> Result[Watermark, StageError]:
    """Effect. ``value`` as a watermark of the source's incremental column (``>= value``)."""
    spec = source.incremental
    if spec is None:
        return Failure(UnusableWatermark("", "the source is not incremental"))
    typed = column_type(source, lake, base)
    if isinstance(typed, Failure):
        return Failure(typed.failure())
    dtype = typed.unwrap() or _guessed(value)
    return starting_watermark(spec, value, dtype).alt(lambda error: error)


def initial_watermark(
    source: Source, lake: Lake, base: str
) -> Result[Watermark | None, StageError]:
    """Effect. Where a run without a checkpoint starts: ``incremental.initial``, or ``None``
    (every row)."""
    spec = source.incremental
    if spec is None or spec.initial is None:
        return Success(None)
    return chosen_watermark(source, lake, base, spec.initial).map(lambda mark: mark)


class WindowSource:
    """A source read for the window ``[start, end]`` of its incremental column (a backfill).

    Not incremental itself: the run does not filter by the checkpoint, nor advance it.
    """

    def __init__(
        self,
        inner: Source,
        spec: IncrementalSpec,
        start: WatermarkValue,
        end: WatermarkValue,
        dtype: str,
    ) -> None:
        self._inner = inner
        self._spec = spec
        self._start = start
        self._end = end
        self._dtype = dtype

    @property
    def incremental(self) -> IncrementalSpec | None:
        """``None``: a backfill does not move the checkpoint."""
        return None

    def describe(self) -> Mapping[str, object]:
        """Pure. The inner source, and the window read."""
        window = {"column": self._spec.column, "from": _shown(self._start), "to": _shown(self._end)}
        return {**self._inner.describe(), "backfill": window}

    def _context(self, context: ExtractContext) -> ExtractContext:
        start = Watermark(self._spec.column, self._start, tuple(self._spec.key), (), self._dtype)
        return replace(context, watermark=start)

    def extract(self, context: ExtractContext) -> IOResult[pl.LazyFrame, ExtractError]:
        """Effect. The inner source read from ``start`` on, kept to the window."""

        def windowed(frame: pl.LazyFrame) -> IOResult[pl.LazyFrame, ExtractError]:
            kept = in_window(frame, self._spec.column, self._start, self._end)
            if isinstance(kept, Failure):
                what = f"the backfill window of {self._spec.column!r}"
                return IOFailure(ExtractError(what, kept.failure().reason))
            return IOSuccess(kept.unwrap())

        return self._inner.extract(self._context(context)).bind(windowed)


class _SchemaWindowSource(WindowSource):
    """A window over a source that can tell its schema without reading rows."""

    def plan_schema(self, context: ExtractContext) -> IOResult[pl.Schema, ExtractError]:
        """Effect. The inner source's schema."""
        inner = self._inner
        assert isinstance(inner, SchemaSource)  # noqa: S101 - chosen by window_source
        return inner.plan_schema(self._context(context))


def _shown(value: WatermarkValue) -> object:
    return value.isoformat() if isinstance(value, date) else value


def window_source(
    source: Source, lake: Lake, base: str, start: object, end: object
) -> Result[WindowSource, StageError]:
    """Effect. ``source`` read for ``[start, end]`` of its incremental column (both included)."""
    spec = source.incremental
    if spec is None:
        return Failure(UnusableWatermark("", "the source is not incremental: nothing to window"))
    low = chosen_watermark(source, lake, base, start)
    high = chosen_watermark(source, lake, base, end)
    if isinstance(low, Failure):
        return Failure(low.failure())
    if isinstance(high, Failure):
        return Failure(high.failure())
    first, last = low.unwrap(), high.unwrap()
    if _after(first.value, last.value):
        reason = (
            f"the window is empty: --from {_shown(first.value)} is after --to {_shown(last.value)}"
        )
        return Failure(UnusableWatermark(spec.column, reason))
    kind = _SchemaWindowSource if isinstance(source, SchemaSource) else WindowSource
    return Success(kind(source, spec, first.value, last.value, first.dtype or ""))


def _after(left: WatermarkValue, right: WatermarkValue) -> bool:
    try:
        return bool(left > right)  # type: ignore[operator]
    except TypeError:
        return False
