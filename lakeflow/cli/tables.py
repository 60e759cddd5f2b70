"""Commands on published datasets as tables: ``backfill``, ``reset``, ``quarantine``,
``optimize``."""

from __future__ import annotations

import json
import sys
from typing import Annotated, NoReturn

import polars as pl
import typer
from returns.result import Result

from lakeflow.cli.common import (
    ConfigArg,
    Console,
    JsonOpt,
    QuietOpt,
    app,
    job_of,
    usage_error,
)
from lakeflow.cli.render import StepDisplay
from lakeflow.cli.running import emit_record
from lakeflow.core.errors import LakeflowError
from lakeflow.core.records import FailureRecord, RunRecord
from lakeflow.core.validate import QUARANTINE_REASONS
from lakeflow.pipelines import Job
from lakeflow.run import backfill as run_backfill
from lakeflow.run import optimize_table, reset_watermark
from lakeflow.run.layout import target_problem
from lakeflow.run.quarantine import quarantine_of, reasons

__all__ = ["backfill", "optimize", "quarantine", "reset"]

TargetOpt = Annotated[
    str | None, typer.Option(help="Branch to publish to (default: the lake's default).")
]


def _target(job: Job, console: Console, target: str | None) -> str:
    branch = job.config.lake.default_branch if target is None else target
    problem = target_problem(branch)
    if problem is not None:
        usage_error(f"--target {branch!r}: {problem}", console)
    return branch


def _finish(
    console: Console, outcome: Result[RunRecord, FailureRecord], *, as_json: bool
) -> NoReturn:
    record: RunRecord | FailureRecord = outcome.value_or(None) or outcome.failure()
    emit_record(console, record, as_json=as_json)
    raise typer.Exit(0 if isinstance(record, RunRecord) else 1)


@app.command()
def backfill(
    config: ConfigArg,
    *,
    start: Annotated[
        str, typer.Option("--from", help="First watermark value to re-extract (included).")
    ],
    end: Annotated[
        str, typer.Option("--to", help="Last watermark value to re-extract (included).")
    ],
    target: TargetOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Re-extract a watermark window and publish it with merge semantics, exactly once.

    Rows already published are updated, never duplicated; the checkpoint stays where it is.
    Refused for append and overwrite datasets (exit 2).
    """
    job, console = job_of(config)
    branch = _target(job, console, target)
    if not as_json and not quiet:
        console.out(f"lakeflow backfill {job.pipeline.name} {start} .. {end} -> {branch}")
    live = sys.stdout.isatty() and sys.stderr.isatty() and not (quiet or as_json)
    with StepDisplay(console, live=live) as display:
        try:
            outcome = run_backfill(
                job.pipeline,
                job.lake,
                start,
                end,
                branch,
                on_event=None if (as_json or quiet) else display,
            )
        except LakeflowError as exc:
            usage_error(str(exc), console)
    _finish(console, outcome, as_json=as_json)


@app.command()
def reset(
    config: ConfigArg,
    to: Annotated[
        str | None,
        typer.Option(help="The new watermark (default: none; the next run starts over)."),
    ] = None,
    target: TargetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Set the pipeline's watermark in a commit of its own (recorded; undo by reverting it)."""
    job, console = job_of(config)
    branch = _target(job, console, target)
    try:
        outcome = reset_watermark(job.pipeline, job.lake, to, branch)
    except LakeflowError as exc:
        usage_error(str(exc), console)
    _finish(console, outcome, as_json=as_json)


@app.command()
def optimize(
    config: ConfigArg,
    retention_hours: Annotated[
        int,
        typer.Option(
            min=0,
            help="Vacuum files removed longer ago than this (delta-rs's default: 168).",
        ),
    ] = 168,
    target_size: Annotated[
        int | None, typer.Option(min=1, help="Bytes per compacted file (delta-rs's default).")
    ] = None,
    target: TargetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Compact the pipeline's Delta table and vacuum files the newest version no longer uses.

    Vacuumed files leave the target's head only: older commits keep them, and the lake's own
    garbage collection deletes their data when no commit references them.
    """
    job, console = job_of(config)
    branch = _target(job, console, target)
    try:
        outcome = optimize_table(
            job.pipeline,
            job.lake,
            branch,
            retention_hours=retention_hours,
            target_size=target_size,
        )
    except LakeflowError as exc:
        usage_error(str(exc), console)
    _finish(console, outcome, as_json=as_json)


@app.command()
def quarantine(
    config: ConfigArg,
    run_id: Annotated[
        str | None,
        typer.Argument(help="A run id (default: the newest run that quarantined rows)."),
    ] = None,
    limit: Annotated[int, typer.Option(min=0, help="Rows to show (0: only the counts).")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Show a run's quarantined rows with their reasons, grouped by rule with counts."""
    job, console = job_of(config)
    try:
        record, rows = quarantine_of(job.lake, job.pipeline.name, run_id)
        counts = reasons(rows).collect()
        total = rows.select(pl.len()).collect().item()
        shown = rows.head(limit).collect()
    except LakeflowError as exc:
        usage_error(str(exc), console)
    except pl.exceptions.PolarsError as exc:
        console.err(f"error: cannot read the quarantine of run {record.run_id}: {exc}")
        raise typer.Exit(1) from None
    if as_json:
        document = {
            "run_id": record.run_id,
            "status": record.status,
            "rows": total,
            "rules": counts.to_dicts(),
            "sample": json.loads(shown.write_json()),
        }
        console.out(json.dumps(document, indent=2, sort_keys=True, default=str))
        return
    console.out(f"run {record.run_id} ({record.status}): {total} quarantined row(s)")
    for rule, count in counts.iter_rows():
        console.out(f"  {count:>9}  {rule}")
    if limit and shown.height:
        console.out(f"first {shown.height} row(s):")
        with pl.Config(tbl_rows=limit, tbl_cols=-1, fmt_str_lengths=60, tbl_width_chars=160):
            console.out(str(shown.select(QUARANTINE_REASONS, pl.exclude(QUARANTINE_REASONS))))
