"""What a run's target already holds at its base commit: the rows its checks compare against.

Effect (reads the lake at the run's base commit, never at a moving head). ``unique`` keys of
scope ``published`` compare the run's rows with the rows already published
(:func:`with_published_rows`): the dataset is scanned lazily and only its key columns are
read (projection). A run sees the base commit's state: a concurrent run that publishes first
makes this one conflict at its merge, so a check never passes on a state that changed under it.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import polars as pl
from returns.result import Failure, Result, Success

from lakeflow.core.errors import LakeError, StageError
from lakeflow.core.validate import Checks, PublishedRows
from lakeflow.ports import Lake
from lakeflow.run.journal import Journal
from lakeflow.run.pipeline import Pipeline

__all__ = ["published_keys", "with_published_rows"]


def published_keys(pipeline: Pipeline, checks: Checks) -> tuple[str, ...]:
    """Pure. The columns of the published rows the checks read (empty: nothing to read).

    The columns of every ``unique`` key of scope ``published`` and, for ``merge``, the merge
    keys; an ``overwrite`` target replaces what is published, so it reads nothing.
    """
    if pipeline.mode == "overwrite":
        return ()
    columns: dict[str, None] = {}
    for key in checks.unique:
        named = key if isinstance(key, str) else tuple(key)
        if checks.unique_scopes.get(named, "published") != "published":
            continue
        columns.update(dict.fromkeys((named,) if isinstance(named, str) else named))
    if not columns:
        return ()
    if pipeline.mode == "merge":
        columns.update(dict.fromkeys(pipeline.table.keys))
    return tuple(columns)


def with_published_rows(
    pipeline: Pipeline, lake: Lake, journal: Journal, checks: Checks, base: str
) -> Result[Checks, StageError]:
    """Effect. ``checks`` with the rows published at ``base`` (their key columns only), when a
    ``unique`` key of scope ``published`` needs them and the dataset exists."""
    wanted = published_keys(pipeline, checks)
    if not wanted:
        return Success(checks)
    scanned = journal.call("validate", partial(lake.scan_frame, pipeline.output_path, ref=base))
    if isinstance(scanned, Failure):
        error: LakeError = scanned.failure()
        return Success(checks) if error.code == "not_found" else Failure(error)
    frame = scanned.unwrap()
    try:
        present = frame.collect_schema()
    except pl.exceptions.PolarsError as exc:
        reason = f"the published rows of {pipeline.output_path!r} cannot be read: {exc}"
        return Failure(LakeError("scan_frame", reason, "corrupt"))
    projected = frame.select([c for c in wanted if c in present])
    merge_keys = pipeline.table.keys if pipeline.mode == "merge" else ()
    return Success(replace(checks, published=PublishedRows(projected, merge_keys)))
