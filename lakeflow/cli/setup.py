"""Set-up commands: ``init`` and ``health``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from returns.result import Failure, Result

from lakeflow.cli.common import ConfigArg, Console, app, fail, job_of
from lakeflow.pipelines import Job
from lakeflow.ports import Lake, unwrap_io
from lakeflow.run import init_lake
from lakeflow.run.monitor import check_freshness

__all__ = ["health", "init"]


@app.command()
def init(
    config: ConfigArg,
    discard_uncommitted: Annotated[
        bool,
        typer.Option(
            "--discard-uncommitted",
            help="Drop uncommitted changes on the default and standard branches (listed).",
        ),
    ] = False,
) -> None:
    """Create the repository, the standard branches and the layout (idempotent, resumable).

    On lakeFS the repository is created in `lake.storage_namespace`, and with
    `lake.protect_target: true` the default branch is protected: only merges reach it.
    """
    job, console = job_of(config)
    lake = job.lake
    settings = job.config.lake
    done = init_lake(
        lake,
        default_branch=settings.default_branch,
        discard_uncommitted=discard_uncommitted,
        protect_default=settings.protect_target,
    )
    if isinstance(done, Failure):
        fail(done.failure().message, console)
    report = done.unwrap()
    state = "created" if report.created_repository else "exists"
    console.out(
        f"repository {lake.repository} at {lake.url} ({state}; default branch "
        f"{report.default_branch})"
    )
    for branch, branch_state in report.branches.items():
        console.out(f"  branch {branch:<17} {branch_state}")
    console.out(f"  layout {'':<17} {report.layout}")
    if report.protected is not None:
        console.out(f"  protected {report.protected:<14} only merges reach it")
    if discard_uncommitted:
        if not report.discarded:
            console.out("  discarded                no uncommitted changes")
        for branch, changes in report.discarded.items():
            console.out(f"  discarded on {branch}: {len(changes)} uncommitted change(s)")
            for change in changes:
                console.out(f"    {change.type:<8} {change.path}")


def _check(console: Console, name: str, result: Result[object, object]) -> bool:
    if isinstance(result, Failure):
        failure = result.failure()
        console.out(f"  {name:<9} FAILED  {getattr(failure, 'message', failure)}")
        return False
    console.out(f"  {name:<9} ok")
    return True


def _lake_health(console: Console, lake: Lake) -> bool:
    """Effect. Check the lake: each part of a lake that reports parts (lakeFS' endpoint,
    credentials, repository), else that its repository can be read."""
    parts = getattr(lake, "health", None)
    if not callable(parts):
        return _check(console, "lake", unwrap_io(lake.get_repository()))
    healthy = True
    for part, result in parts():
        outcome = unwrap_io(result)
        if isinstance(outcome, Failure):
            console.out(f"  lake {part:<12} FAILED  {outcome.failure().message}")
            healthy = False
        else:
            console.out(f"  lake {part:<12} ok      {outcome.unwrap()}")
    return healthy


@app.command()
def health(config: ConfigArg) -> None:
    """Check that the lake, the source and the database sink are reachable, and that the
    pipeline published recently enough (``monitoring.sla.max_staleness_s``); exit 1 if not.

    On lakeFS the lake's endpoint, credentials and repository are checked in turn, and the
    first that fails is named.
    """
    job, console = job_of(config)
    console.out(f"health of {job.pipeline.name}")
    healthy = _lake_health(console, job.lake)
    source = job.pipeline.resolved_source()
    check = getattr(source, "check", None)
    if callable(check):
        healthy &= _check(console, "source", unwrap_io(check()))
    schema = getattr(source, "schema", None)
    if healthy and callable(schema):
        columns = unwrap_io(schema())
        if not isinstance(columns, Failure):
            for name, dtype in columns.unwrap().items():
                console.out(f"    {name}: {dtype}")
    for sink in job.pipeline.sinks:
        sink_check = getattr(sink, "check", None)
        if callable(sink_check):
            healthy &= _check(console, "database", unwrap_io(sink_check()))
    healthy &= _freshness(console, job)
    raise typer.Exit(0 if healthy else 1)


def _freshness(console: Console, job: Job) -> bool:
    """Effect. ``monitoring.sla.max_staleness_s`` against the last published run."""
    sla = job.monitoring.sla
    if sla is None or sla.max_staleness_s is None:
        return True
    stale = check_freshness(job.monitoring, job.lake, job.pipeline.name, now=datetime.now(UTC))
    console.out(f"  {'freshness':<9} {'FAILED  ' + stale if stale else 'ok'}")
    return not stale
