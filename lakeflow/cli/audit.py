"""Audit commands: ``publish``, ``discard`` and ``prune`` the runs kept on their branches.

``lakeflow run CONFIG --no-merge`` commits a run on its branch without publishing it; after a
person audited that branch, ``publish`` merges it into its target (refused if another run
published from the same base meanwhile) or ``discard`` drops it. ``prune`` deletes the kept
branches of failed and discarded runs older than an age.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import timedelta
from typing import Annotated, Final

import typer
from returns.result import Failure

from lakeflow.cli.common import ConfigArg, JsonOpt, QuietOpt, app, fail, job_of, usage_error
from lakeflow.cli.render import StepDisplay
from lakeflow.cli.running import emit_record
from lakeflow.core.errors import LakeflowError
from lakeflow.core.records import FailureRecord, RunRecord
from lakeflow.run import PrunedBranch, discard_run, prune_runs, publish_run

__all__ = ["discard", "parse_age", "prune", "publish"]

RunIdArg = Annotated[str, typer.Argument(help="The run's id (`lakeflow runs` lists them).")]

_AGE: Final = re.compile(r"\s*(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>[smhdw])\s*", re.ASCII)
_UNITS: Final = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> timedelta | None:
    """Pure. ``7d``, ``12h``, ``30m``, ``45s`` or ``2w`` as a duration; ``None`` otherwise.

    >>> parse_age("7d")
    datetime.timedelta(days=7)
    >>> parse_age("1.5h")
    datetime.timedelta(seconds=5400)
    >>> parse_age("7 days") is None
    True
    """
    match = _AGE.fullmatch(text)
    if match is None:
        return None
    return timedelta(**{_UNITS[match["unit"]]: float(match["amount"])})


@app.command()
def publish(
    config: ConfigArg, run_id: RunIdArg, as_json: JsonOpt = False, quiet: QuietOpt = False
) -> None:
    """Publish a run committed with --no-merge, after auditing its branch.

    Merges the run's audited commit into its target and loads the database sink, as the run
    would have. Refused, publishing nothing, when another run published from the same base
    meanwhile (its rows would be published twice): discard it and run again.
    """
    job, console = job_of(config)
    live = sys.stdout.isatty() and sys.stderr.isatty() and not (quiet or as_json)
    if not as_json and not quiet:
        console.out(f"lakeflow publish {job.pipeline.name} run {run_id} ({job.lake.url})")
    with StepDisplay(console, live=live) as display:
        try:
            outcome = publish_run(
                job.pipeline, job.lake, run_id, on_event=None if (as_json or quiet) else display
            )
        except LakeflowError as exc:
            usage_error(str(exc), console)
    record: RunRecord | FailureRecord = outcome.value_or(None) or outcome.failure()
    emit_record(console, record, as_json=as_json)
    raise typer.Exit(0 if isinstance(record, RunRecord) else 1)


@app.command()
def discard(config: ConfigArg, run_id: RunIdArg, as_json: JsonOpt = False) -> None:
    """Drop a run that was never published: delete its kept branch, record it discarded."""
    job, console = job_of(config)
    try:
        outcome = discard_run(job.pipeline.name, job.lake, run_id)
    except LakeflowError as exc:
        usage_error(str(exc), console)
    if isinstance(outcome, Failure):
        fail(outcome.failure().message, console)
    record = outcome.unwrap()
    if as_json:
        console.out(record.dumps())
        return
    console.out(f"discarded run {run_id} of {job.pipeline.name}; its record stays in the history")


def _row(item: PrunedBranch) -> dict[str, object]:
    return {
        "branch": item.branch,
        "run_id": item.run_id,
        "status": item.status,
        "age_s": round(item.age.total_seconds(), 3),
        **({"kept_because": item.reason} if item.reason else {}),
    }


@app.command()
def prune(
    config: ConfigArg,
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than", help="Only runs that ended longer ago: 7d, 12h, 30m, 45s, 2w."
        ),
    ],
    include_committed: Annotated[
        bool,
        typer.Option(
            "--include-committed",
            help="Also delete branches of committed runs that were never published.",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only say which branches would be deleted.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete kept run branches of failed and discarded runs older than an age.

    Their records stay in the history. Runs committed with `--no-merge` that still wait to
    be published are kept unless `--include-committed`.
    """
    age = parse_age(older_than)
    if age is None:
        usage_error(f"--older-than {older_than!r}: expected an age such as 7d, 12h, 30m or 2w")
    job, console = job_of(config)
    pruned = prune_runs(
        job.pipeline.name,
        job.lake,
        age,
        include_committed=include_committed,
        dry_run=dry_run,
    )
    if isinstance(pruned, Failure):
        fail(pruned.failure().message, console)
    report = pruned.unwrap()
    if as_json:
        data = {
            "dry_run": report.dry_run,
            "pruned": [_row(i) for i in report.pruned],
            "kept": [_row(i) for i in report.kept],
        }
        console.out(json.dumps(data, indent=2, sort_keys=True))
        return
    verb = "would delete" if dry_run else "deleted"
    console.out(
        f"prune {job.pipeline.name} (older than {older_than}): {verb} {len(report.pruned)} "
        f"run branch(es), kept {len(report.kept)}"
    )
    for item in report.pruned:
        console.out(f"  {verb:<12} {item.branch} ({item.status})")
    for item in report.kept:
        console.out(f"  {'kept':<12} {item.branch} ({item.status}): {item.reason}")
