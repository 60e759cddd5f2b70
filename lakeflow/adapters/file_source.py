"""Read parquet, CSV and NDJSON files, and datasets already in the lake, as lazy frames.

Effectful. :class:`FileSource` scans a path or a glob with ``pl.scan_parquet``,
``pl.scan_csv`` or ``pl.scan_ndjson`` (nothing is read until the shell collects, and
Polars pushes filters into the scan); :class:`LakeSource` reads a lake path at the run's
*base commit* (``context.lake.scan_frame(context.base_ref, path)``), never at a moving head.

Both implement the :class:`~lakeflow.ports.Source` port, including incremental reads: with
``incremental=IncrementalSpec("updated_at", key=("id",))`` they keep ``updated_at >= <last
watermark>`` (pushed down into the scan: parquet row groups whose statistics are all older
are skipped) and the shell drops the rows already published at exactly the watermark.

A missing file, a glob that matches nothing, a missing lake path, a missing incremental column
or a watermark of the wrong type is a permanent :class:`ExtractError` naming the path. Paths
with a scheme (``s3://…``) are handed to Polars as they are (untested here); any password
in them is redacted from errors and ``describe()``.
"""

from __future__ import annotations

import errno
import glob as globbing
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Literal, TypeAlias

import polars as pl
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure

from lakeflow.core.errors import ExtractError, LakeError, catch_engine
from lakeflow.core.incremental import IncrementalSpec, Watermark, not_before
from lakeflow.core.secrets import redact_uri, scrub, uri_secrets
from lakeflow.ports import ExtractContext

__all__ = ["FileFormat", "FileSource", "LakeSource"]

FileFormat: TypeAlias = Literal["parquet", "csv", "ndjson"]
_FORMATS: tuple[FileFormat, ...] = ("parquet", "csv", "ndjson")
_SUFFIXES: dict[str, FileFormat] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "csv",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
}
_TRANSIENT_ERRNOS = frozenset({errno.EIO, errno.EAGAIN, errno.ETIMEDOUT, errno.ESTALE})


def _incremental_json(spec: IncrementalSpec | None) -> dict[str, object] | None:
    if spec is None:
        return None
    return {"column": spec.column, "key": list(spec.key)}


def _after(
    frame: pl.LazyFrame,
    spec: IncrementalSpec | None,
    watermark: Watermark | None,
    fail: _Fail,
) -> IOResult[pl.LazyFrame, ExtractError]:
    """Effect (reads a schema). Check the columns and push ``column >= watermark`` down."""
    resolved = catch_engine(frame.collect_schema, OSError, ValueError)
    if isinstance(resolved, Failure):
        exc = resolved.failure()
        return IOFailure(fail(f"cannot read the schema: {_first(exc)}", _transient(exc)))
    schema = resolved.unwrap()
    if spec is None:
        return IOSuccess(frame)
    missing = [c for c in (spec.column, *spec.key) if c not in schema]
    if missing:
        return IOFailure(
            fail(
                f"incremental column(s) {', '.join(map(repr, missing))} not found; "
                f"columns: {', '.join(map(repr, schema.names()))}",
                False,
            )
        )
    if watermark is None:
        return IOSuccess(frame)
    if watermark.column != spec.column:
        return IOFailure(
            fail(
                f"the checkpoint holds a watermark for column {watermark.column!r} but the "
                f"source is incremental by {spec.column!r}; reset the pipeline's checkpoint",
                False,
            )
        )
    # Compares as the core orders rows (text timestamps as instants); a changed type fails.
    filtered = not_before(frame, watermark)
    if isinstance(filtered, Failure):
        return IOFailure(fail(filtered.failure().message, False))
    return IOSuccess(filtered.unwrap())


def _first(exc: BaseException) -> str:
    return str(exc).strip().split("\n\n", 1)[0].strip() or type(exc).__name__


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNOS


class _Fail:
    """Builds scrubbed :class:`ExtractError` values for one source."""

    __slots__ = ("name", "secrets")

    def __init__(self, name: str, path: str) -> None:
        self.name = name
        self.secrets = tuple(uri_secrets(path))

    def __call__(self, reason: str, retryable: bool) -> ExtractError:
        return ExtractError(self.name, scrub(reason, self.secrets), retryable=retryable)


class FileSource:
    """Parquet, CSV or NDJSON files at a path, a folder (parquet) or a glob, scanned lazily.

    Args:
        path: A file, a folder of parquet files, or a glob (``data/2024-*.csv``, ``**`` works).
        format: ``parquet``, ``csv`` or ``ndjson``; guessed from the extension when omitted.
        separator: CSV field separator (one character).
        has_header: Whether CSV files start with a header row.
        try_parse_dates: Parse CSV columns that look like dates or times.
        incremental: Keep only rows at or after the last watermark of this column.
    """

    __slots__ = (
        "_format",
        "_has_header",
        "_incremental",
        "_path",
        "_problems",
        "_separator",
        "_try_parse_dates",
    )

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        format: FileFormat | None = None,
        separator: str = ",",
        has_header: bool = True,
        try_parse_dates: bool = False,
        incremental: IncrementalSpec | None = None,
    ) -> None:
        self._path = os.fspath(path)
        problems: list[str] = []
        guessed = _SUFFIXES.get(Path(self._path).suffix.lower())
        chosen = format if format is not None else guessed
        if chosen not in _FORMATS:
            problems.append(
                f"format {format!r} is not allowed; allowed: {', '.join(_FORMATS)}"
                if format is not None
                else f"cannot tell the format of {self._path!r} from its extension; "
                f"pass format= ({', '.join(_FORMATS)})"
            )
        if not (isinstance(separator, str) and len(separator) == 1):
            problems.append(f"separator must be a single character, got {separator!r}")
        self._format: FileFormat = chosen if chosen in _FORMATS else "parquet"
        self._separator = separator
        self._has_header = has_header
        self._try_parse_dates = try_parse_dates
        self._incremental = incremental
        self._problems = tuple(problems)

    @property
    def incremental(self) -> IncrementalSpec | None:
        """How the source is read incrementally, or ``None`` for a full read every run."""
        return self._incremental

    @property
    def problems(self) -> tuple[str, ...]:
        """Invalid options found at construction (empty when the source is usable)."""
        return self._problems

    @property
    def format(self) -> FileFormat:
        """The file format this source scans."""
        return self._format

    def describe(self) -> Mapping[str, object]:
        """Pure. Kind (the format), path (passwords redacted) and incremental settings."""
        out: dict[str, object] = {"kind": self._format, "path": redact_uri(self._path)}
        if self._format == "csv":
            out["separator"] = self._separator
            out["has_header"] = self._has_header
        incremental = _incremental_json(self._incremental)
        if incremental is not None:
            out["incremental"] = incremental
        return out

    def __repr__(self) -> str:
        return f"FileSource({redact_uri(self._path)!r}, format={self._format!r})"

    def extract(self, context: ExtractContext) -> IOResult[pl.LazyFrame, ExtractError]:
        """Effect. Check the path exists and plan the scan (rows are read when collected)."""
        return self.read(context.watermark)

    def read(self, watermark: Watermark | None = None) -> IOResult[pl.LazyFrame, ExtractError]:
        """Effect. Like :meth:`extract` without a lake: for notebooks and tests."""
        spec = self._incremental
        return self._scanned(spec, watermark if spec is not None else None)

    def _scanned(
        self, spec: IncrementalSpec | None, watermark: Watermark | None
    ) -> IOResult[pl.LazyFrame, ExtractError]:
        fail = _Fail(f"{self._format} {redact_uri(self._path)}", self._path)
        if self._problems:
            return IOFailure(fail("; ".join(self._problems), False))
        missing = self._missing()
        if missing is not None:
            return IOFailure(fail(missing, False))
        scanned = catch_engine(self._scan, OSError, ValueError)
        if isinstance(scanned, Failure):
            exc = scanned.failure()
            return IOFailure(fail(f"cannot scan: {_first(exc)}", _transient(exc)))
        return _after(scanned.unwrap(), spec, watermark, fail)

    def check(self) -> IOResult[None, ExtractError]:
        """Effect. Do the files exist and is their schema readable (for ``lakeflow health``)?"""
        return self.read().map(lambda _: None)

    def plan_schema(self, context: ExtractContext) -> IOResult[pl.Schema, ExtractError]:
        """Effect. The files' schema (parquet footers; a CSV's header and inference sample)."""
        del context
        return self._scanned(None, None).bind(_schema_of(f"{self._format} {self._path}"))

    def _missing(self) -> str | None:
        """Effect. Why the local path cannot be scanned, or ``None`` (remote paths: ``None``)."""
        path = self._path
        if "://" in path:
            return None
        if any(ch in path for ch in "*?["):
            if not globbing.glob(path, recursive=True):
                return f"no file matches {path!r}"
            return None
        if not os.path.exists(path):
            return f"file not found: {path!r}"
        if os.path.isdir(path) and self._format != "parquet":
            return f"{path!r} is a folder: use a glob such as {path.rstrip('/') + '/*'!r}"
        return None

    def _scan(self) -> pl.LazyFrame:
        if self._format == "csv":
            return pl.scan_csv(
                self._path,
                separator=self._separator,
                has_header=self._has_header,
                try_parse_dates=self._try_parse_dates,
            )
        if self._format == "ndjson":
            return pl.scan_ndjson(self._path)
        return pl.scan_parquet(self._path)


class LakeSource:
    """A parquet dataset already in the lake, read at the run's base commit.

    Args:
        path: A lake path: one parquet object, or a folder of ``*.parquet`` parts.
        incremental: Keep only rows at or after the last watermark of this column.
    """

    __slots__ = ("_incremental", "_path")

    def __init__(self, path: str, *, incremental: IncrementalSpec | None = None) -> None:
        self._path = path
        self._incremental = incremental

    @property
    def incremental(self) -> IncrementalSpec | None:
        """How the source is read incrementally, or ``None`` for a full read every run."""
        return self._incremental

    def describe(self) -> Mapping[str, object]:
        """Pure. Kind, lake path and incremental settings."""
        out: dict[str, object] = {"kind": "lake", "path": self._path}
        incremental = _incremental_json(self._incremental)
        if incremental is not None:
            out["incremental"] = incremental
        return out

    def __repr__(self) -> str:
        return f"LakeSource({self._path!r})"

    def extract(self, context: ExtractContext) -> IOResult[pl.LazyFrame, ExtractError]:
        """Effect. Plan a scan of the lake path at ``context.base_ref``."""
        fail = _Fail(f"lake path {self._path!r}", self._path)
        spec = self._incremental
        watermark = context.watermark if spec is not None else None

        def lake_failure(error: LakeError) -> ExtractError:
            reason = error.reason
            if error.code == "not_found":
                reason = f"not found at the run's base commit {context.base_ref}: {reason}"
            return fail(reason, error.retryable)

        def checked(frame: pl.LazyFrame) -> IOResult[pl.LazyFrame, ExtractError]:
            return _after(frame, spec, watermark, fail)

        return (
            context.lake.scan_frame(self._path, ref=context.base_ref)
            .alt(lake_failure)
            .bind(checked)
        )

    def plan_schema(self, context: ExtractContext) -> IOResult[pl.Schema, ExtractError]:
        """Effect. The lake dataset's schema at the run's base commit (no rows read)."""
        name = f"lake path {self._path!r}"
        return (
            context.lake.scan_frame(self._path, ref=context.base_ref)
            .alt(lambda error: ExtractError(name, error.message, retryable=error.retryable))
            .bind(_schema_of(name))
        )


def _schema_of(name: str) -> Callable[[pl.LazyFrame], IOResult[pl.Schema, ExtractError]]:
    """Effect. A function resolving a planned scan's schema, its failure a value."""

    def resolve(frame: pl.LazyFrame) -> IOResult[pl.Schema, ExtractError]:
        resolved = catch_engine(frame.collect_schema, OSError)
        if isinstance(resolved, Failure):
            exc = resolved.failure()
            return IOFailure(ExtractError(name, f"{type(exc).__name__}: {exc}"))
        return IOSuccess(resolved.unwrap())

    return resolve
