"""Commands that run: ``run`` and ``load``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from returns.result import Failure

from lakeflow.cli.common import ConfigArg, Console, JsonOpt, QuietOpt, app, job_of, usage_error
from lakeflow.cli.render import StepDisplay, summary
from lakeflow.core.errors import LakeflowError
from lakeflow.core.records import FailureRecord, RunRecord
from lakeflow.ports import unwrap_io
from lakeflow.run import load_run, run
from lakeflow.run.layout import target_problem

__all__ = ["load", "run_command"]


def emit_record(console: Console, record: RunRecord | FailureRecord, *, as_json: bool) -> None:
    """Effect. Print a record: JSON only with ``--json``, else its summary lines."""
    if as_json:
        console.out(record.dumps())
    else:
        for line in summary(record):
            console.out(line)


@app.command("run")
def run_command(
    config: ConfigArg,
    target: Annotated[
        str | None, typer.Option(help="Branch to publish to (default: the lake's default).")
    ] = None,
    no_merge: Annotated[
        bool, typer.Option("--no-merge", help="Commit on the run branch; do not publish.")
    ] = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Run the pipeline once: extract, transform, validate, publish all or nothing.

    On a terminal a live line shows the running step (and rows read so far); ``--quiet`` and
    ``--json`` show no step lines, and nothing live is shown when stdout is not a terminal.
    """
    job, console = job_of(config)
    branch = job.config.lake.default_branch if target is None else target
    problem = target_problem(branch)
    if problem is not None:
        usage_error(f"--target {branch!r}: {problem}", console)
    if not as_json and not quiet:
        console.out(f"lakeflow run {job.pipeline.name} -> {branch} ({job.lake.url})")
    live = sys.stdout.isatty() and sys.stderr.isatty() and not (quiet or as_json)
    with StepDisplay(console, live=live) as display:
        events = None if (as_json or quiet) else display
        outcome = run(
            job.pipeline,
            job.lake,
            branch,
            merge=not no_merge,
            on_event=events,
            monitoring=job.monitoring,
        )
    record: RunRecord | FailureRecord = outcome.value_or(None) or outcome.failure()
    emit_record(console, record, as_json=as_json)
    missing_repository = (
        isinstance(record, FailureRecord)
        and record.failed_step == "resolve"
        and isinstance(unwrap_io(job.lake.get_repository()), Failure)
    )
    if missing_repository and not as_json:
        console.out(f"  hint: create the repository first: lakeflow init {config}")
    raise typer.Exit(0 if isinstance(record, RunRecord) else 1)


@app.command()
def load(
    config: ConfigArg,
    run_id: Annotated[str, typer.Argument(help="A published run's id.")],
    as_json: JsonOpt = False,
) -> None:
    """Load a published run into the database sink again (idempotent for upsert)."""
    job, console = job_of(config)
    try:
        outcome = load_run(job.pipeline, job.lake, run_id)
    except LakeflowError as exc:
        usage_error(str(exc), console)
    record: RunRecord | FailureRecord = outcome.value_or(None) or outcome.failure()
    if not as_json:
        seconds = record.steps.get("load")
        took = f" in {seconds:.2f}s" if seconds is not None else ""
        console.out(f"lakeflow load {job.pipeline.name} run {run_id}{took}")
    emit_record(console, record, as_json=as_json)
    raise typer.Exit(0 if isinstance(record, RunRecord) else 1)
