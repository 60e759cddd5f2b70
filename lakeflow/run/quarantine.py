"""The quarantined rows of a run: the rows row-level checks refused, with the rules they broke.

Effect (reads the run history and the lake). A run that quarantined rows wrote them to
``_lakeflow/quarantine/<pipeline>/<run_id>.parquet`` in its commit: on the target when it was
published, on its kept run branch when it failed. :func:`quarantined` finds that file for a run
(the newest run that quarantined rows by default) and returns it as a lazy frame: the rows as
they were, plus ``_lakeflow_failed_rules`` (a list of rule names). :func:`reasons` groups them
by rule, with counts.
"""

from __future__ import annotations

import polars as pl
from returns.result import Failure

from lakeflow.adapters.lake_helpers import unwrap_io
from lakeflow.core.errors import LakeflowError
from lakeflow.core.records import FailureRecord, RunRecord
from lakeflow.core.validate import QUARANTINE_REASONS
from lakeflow.lakes import LakeLike, port_of
from lakeflow.run.history import read_history, show_run

__all__ = ["quarantine_of", "quarantined", "reasons"]


def _newest_with_quarantine(lake: LakeLike, pipeline: str) -> RunRecord | FailureRecord:
    history = read_history(lake, pipeline)
    if isinstance(history, Failure):
        raise LakeflowError(f"cannot read the run history: {history.failure().message}")
    for record in history.unwrap().records:
        if record.outputs.get("quarantine") and record.rows.quarantined > 0:
            return record
    raise LakeflowError(f"no run of {pipeline!r} quarantined any row")


def quarantine_of(
    lake: LakeLike, pipeline: str, run_id: str | None = None
) -> tuple[RunRecord | FailureRecord, pl.LazyFrame]:
    """Effect: a run's record and its quarantined rows (empty when it quarantined none).

    Raises:
        LakeflowError: No such run, no run that quarantined rows (``run_id=None``), or the
            lake cannot be read.
    """
    port = port_of(lake)
    record = (
        show_run(port, run_id, pipeline)
        if run_id is not None
        else _newest_with_quarantine(port, pipeline)
    )
    path = record.outputs.get("quarantine")
    ref = record.merge_commit or record.commit
    if path is None or ref is None:
        empty = pl.LazyFrame(schema={QUARANTINE_REASONS: pl.List(pl.String)})
        return record, empty
    scanned = unwrap_io(port.scan_frame(path, ref=ref))
    if isinstance(scanned, Failure):
        raise LakeflowError(
            f"cannot read the quarantine of run {record.run_id} ({path} at {ref[:12]}): "
            f"{scanned.failure().message}"
        )
    return record, scanned.unwrap()


def quarantined(lake: LakeLike, pipeline: str, run_id: str | None = None) -> pl.LazyFrame:
    """Effect: the quarantined rows of a run (the newest that quarantined rows by default),
    with ``_lakeflow_failed_rules``, as a lazy frame.

    >>> # quarantined(open_lake("local://lake", repository="etl"), "users").collect()
    """
    return quarantine_of(lake, pipeline, run_id)[1]


def reasons(rows: pl.LazyFrame) -> pl.LazyFrame:
    """Pure. How many quarantined rows broke each rule, most first (a row breaking two rules
    counts for both).

    >>> frame = pl.LazyFrame({"id": [1, 2], QUARANTINE_REASONS: [["a", "b"], ["a"]]})
    >>> reasons(frame).collect().rows()
    [('a', 2), ('b', 1)]
    """
    return (
        rows.select(pl.col(QUARANTINE_REASONS).alias("rule"))
        .explode("rule")
        .drop_nulls("rule")
        .group_by("rule")
        .agg(pl.len().alias("rows"))
        .sort(["rows", "rule"], descending=[True, False])
    )
