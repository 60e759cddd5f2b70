"""In-memory sources: a Polars DataFrame or LazyFrame as a pipeline's source (effect-free)."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Success

from lakeflow.core.errors import ExtractError
from lakeflow.core.incremental import IncrementalSpec, not_before
from lakeflow.ports import ExtractContext

__all__ = ["FrameSource"]


class FrameSource:
    """A frame already in the process (notebooks, tests): ``extract`` returns it lazily.

    With ``incremental`` the shell keeps only rows after the checkpoint, like any source.
    """

    def __init__(
        self,
        frame: pl.DataFrame | pl.LazyFrame,
        *,
        incremental: IncrementalSpec | None = None,
        name: str = "frame",
    ) -> None:
        self._frame = frame.lazy()
        self._incremental = incremental
        self._name = name

    @property
    def incremental(self) -> IncrementalSpec | None:
        return self._incremental

    def describe(self) -> Mapping[str, object]:
        out: dict[str, object] = {"kind": "frame", "name": self._name}
        if self._incremental is not None:
            out["incremental"] = {
                "column": self._incremental.column,
                "key": list(self._incremental.key),
            }
        return out

    def extract(self, context: ExtractContext) -> IOResult[pl.LazyFrame, ExtractError]:
        frame = self._frame
        if self._incremental is not None and context.watermark is not None:
            # Compares as the core orders rows (text timestamps as instants).
            match not_before(frame, context.watermark):
                case Success(kept):
                    frame = kept
                case Failure(error):
                    return IOFailure(ExtractError(self._name, error.message))
        return IOSuccess(frame)

    def plan_schema(self, context: ExtractContext) -> IOResult[pl.Schema, ExtractError]:
        """Effect. The frame's schema (its plan is resolved, no rows are read)."""
        del context
        try:
            return IOSuccess(self._frame.collect_schema())
        except pl.exceptions.PolarsError as exc:
            return IOFailure(ExtractError(self._name, f"{type(exc).__name__}: {exc}"))
