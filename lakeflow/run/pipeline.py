"""The run's domain types: what to run (:class:`Pipeline`), how to retry, what a run reports.

Pure data. A :class:`Pipeline` names a source, a transform stage, checks, the lake output and
database sinks; :class:`RetryPolicy` bounds retries of transient failures; :class:`RunEvent` is
what a run reports as its steps start, end or retry (CLIs, logs, progress displays).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, TypeAlias

import polars as pl

from lakeflow.core.errors import LakeflowError
from lakeflow.core.secrets import Secret
from lakeflow.core.stage import Stage, compose
from lakeflow.core.table import LoadMode, TableOptions, key_rule, latest_per_key
from lakeflow.core.validate import Checks
from lakeflow.ports import BRANCH_ID, Sink, Source

__all__ = ["EventStatus", "Pipeline", "RetryPolicy", "RunEvent", "SourceLike"]

SourceLike: TypeAlias = Source | pl.LazyFrame | pl.DataFrame | str | Path
EventStatus: TypeAlias = Literal["start", "ok", "failed", "retry", "progress"]
"""``progress`` events carry rows read so far (``rows``) while a long step runs."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How the shell retries transient failures (``retryable`` errors) and merge conflicts.

    Attributes:
        max_retries: Retries per step after the first attempt (0 = no retry).
        timeout_seconds: Bound on the time spent retrying one step.
        retry_on_conflict: Times a run re-plans from the target's new head after its merge
            lost a race (each re-plan re-reads the checkpoint, so nothing is published twice).
        initial_backoff_s: First backoff; doubles each retry, with jitter up to the same amount.
        max_backoff_s: Largest single backoff.
    """

    max_retries: int = 3
    timeout_seconds: float = 300.0
    retry_on_conflict: int = 0
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 30.0


@dataclass(frozen=True)
class Pipeline:
    """What to run: a source, a transform stage, checks, the lake output and database sinks.

    Attributes:
        name: Used in branch ids and lake paths: letters, digits, ``_`` and ``-``.
        source: A :class:`Source`; a DataFrame/LazyFrame (wrapped in ``FrameSource``); or a
            local parquet, csv or ndjson file, folder or glob (wrapped in ``FileSource``).
        transform: The composed transform stage (identity by default).
        checks: Validation checks (none by default: every row is valid).
        sinks: Database sinks, loaded after the lake merge from the published rows.
        load_path: Lake folder for validated rows (default ``validated_data/<name>``).
        mode: ``append`` adds the run's rows; ``overwrite`` replaces the dataset; ``merge``
            upserts them by ``table.keys`` into a Delta table (see :class:`TableOptions`).
        table: The dataset's format, merge keys, delete column and schema policy. For
            ``merge`` the newest version of a key wins: by ``table.order_by``, which defaults
            to the source's incremental column.
        keep_raw: Also publish the extracted rows as read, under ``raw/<name>/``.
        retry: Retry policy for transient failures and merge conflicts.
        config_sha256: Hash of the config the pipeline came from, for the run record.
        secrets: Values removed from every record, message and log line.
    """

    name: str
    source: SourceLike
    transform: Stage = field(default_factory=compose)
    checks: Checks | None = None
    sinks: Sequence[Sink] = ()
    load_path: str | None = None
    mode: LoadMode = "append"
    table: TableOptions = field(default_factory=TableOptions)
    keep_raw: bool = True
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    config_sha256: str | None = None
    secrets: Sequence[Secret] = ()

    def __post_init__(self) -> None:
        if not BRANCH_ID.match(self.name) or len(self.name) > 64:
            raise LakeflowError(
                f"pipeline name {self.name!r} must be 1-64 letters, digits, '_' or '-' "
                "(it becomes part of branch ids)"
            )
        problems = self.table.problems(self.mode)
        if problems:
            shown = "; ".join(f"{key}: {problem}" for key, problem in problems)
            raise LakeflowError(f"pipeline {self.name!r}: {shown}")
        if self.mode == "merge" and self.table.order_by is None:
            spec = self.resolved_source().incremental
            if spec is not None:
                object.__setattr__(self, "table", replace(self.table, order_by=spec.column))

    @property
    def format(self) -> Literal["delta", "parquet"]:
        """The format of the published dataset (``delta`` or ``parquet``)."""
        return self.table.format_for(self.mode)

    @property
    def run_transform(self) -> Stage:
        """The stage a run applies: the transform, then for ``merge`` one version per key."""
        if self.mode != "merge":
            return self.transform
        return compose(self.transform, latest_per_key(self.table.keys, self.table.order_by))

    @property
    def run_checks(self) -> Checks:
        """The checks a run applies: the pipeline's, and for ``merge`` a present key."""
        checks = self.checks or Checks()
        if self.mode != "merge":
            return checks
        return replace(checks, rules=(*checks.rules, key_rule(self.table.keys)))

    @property
    def output_path(self) -> str:
        """The lake folder validated rows are published to."""
        return (self.load_path or f"validated_data/{self.name}").strip("/")

    def resolved_source(self) -> Source:
        """The source as a :class:`Source` (frames and file paths wrapped)."""
        from lakeflow.adapters.file_source import FileSource
        from lakeflow.adapters.frame_source import FrameSource

        if isinstance(self.source, pl.DataFrame | pl.LazyFrame):
            return FrameSource(self.source)
        if isinstance(self.source, str | Path):
            return FileSource(self.source)
        return self.source


@dataclass(frozen=True, slots=True)
class RunEvent:
    """A progress event: a step started, finished, failed or is retried."""

    run_id: str
    step: str
    status: EventStatus
    detail: str = ""
    seconds: float | None = None
    rows: int | None = None
