"""Commands that look back: ``runs``, ``show`` and ``report``."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from returns.result import Failure

from lakeflow.cli.common import ConfigArg, Console, JsonOpt, app, fail, job_of, usage_error
from lakeflow.cli.render import scores, summary
from lakeflow.core.errors import LakeflowError
from lakeflow.core.records import FailureRecord
from lakeflow.pipelines import Job
from lakeflow.run import History, read_history, show_run

__all__ = ["report", "runs_command", "show"]


def history_of(job: Job, console: Console) -> History:
    """Effect. The pipeline's history; exit 1 if the lake cannot be read. Warns about
    records that cannot be read (on stderr), naming each."""
    history = read_history(job.lake, job.pipeline.name)
    if isinstance(history, Failure):
        fail(f"cannot read the run history: {history.failure().message}", console)
    found = history.unwrap()
    for bad in found.unreadable:
        console.err(f"warning: run record {bad.path} cannot be read: {bad.reason}")
    return found


@app.command("runs")
def runs_command(config: ConfigArg, as_json: JsonOpt = False) -> None:
    """List the pipeline's runs, newest first (published and failed)."""
    job, console = job_of(config)
    records = history_of(job, console).records
    if as_json:
        console.out(json.dumps([r.to_json() for r in records], indent=2, sort_keys=True))
        return
    if not records:
        console.out(f"no runs of {job.pipeline.name} yet")
        return
    console.out(
        f"{'run_id':<30} {'status':<22} {'started':<20} {'secs':>7} {'valid':>9} {'quar.':>7}  step"
    )
    for record in records:
        step = record.failed_step if isinstance(record, FailureRecord) else ""
        console.out(
            f"{record.run_id:<30} {record.status:<22} {record.started_at:%Y-%m-%d %H:%M:%S} "
            f"{record.duration_s:7.2f} {record.rows.valid:>9} {record.rows.quarantined:>7}  {step}"
        )


@app.command()
def show(
    config: ConfigArg,
    run_id: Annotated[str, typer.Argument(help="A run id from `lakeflow runs`.")],
    as_json: JsonOpt = False,
) -> None:
    """Show one run's record."""
    job, console = job_of(config)
    try:
        record = show_run(job.lake, run_id, job.pipeline.name)
    except LakeflowError as exc:
        usage_error(str(exc), console)
    if as_json:
        console.out(record.dumps())
        return
    for line in summary(record):
        console.out(line)
    console.out("  outputs:")
    for kind, path in sorted(record.outputs.items()):
        console.out(f"    {kind:<11} {path}")
    if record.validation:
        console.out(f"  validation: {record.validation.get('summary', '')}")


@app.command()
def report(config: ConfigArg, as_json: JsonOpt = False) -> None:
    """Show data-quality scores of recent runs (newest first)."""
    job, console = job_of(config)
    history = [r for r in history_of(job, console).records if r.quality][:20]
    if as_json:
        console.out(
            json.dumps([{"run_id": r.run_id, "quality": r.quality} for r in history], indent=2)
        )
        return
    if not history:
        console.out(f"no quality reports for {job.pipeline.name} yet")
        return
    for record in history:
        console.out(f"{record.run_id}  {record.status:<10} {scores(record.quality)}")
