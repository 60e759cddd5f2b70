"""Commands that look back: ``runs``, ``show`` and ``report``."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Final

import typer
from returns.result import Failure

from lakeflow.adapters.plotly_report import report_html
from lakeflow.cli.common import ConfigArg, Console, JsonOpt, app, fail, job_of, usage_error
from lakeflow.cli.render import summary, table_lines
from lakeflow.core.errors import LakeflowError
from lakeflow.core.records import FailureRecord
from lakeflow.core.report import build_report, parse_since
from lakeflow.pipelines import Job
from lakeflow.run import History, read_history, show_run
from lakeflow.run.monitor import send

EMAIL: Final = frozenset({"email"})

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
    for line in table_lines(record.table):
        console.out(line)


@app.command()
def report(
    config: ConfigArg,
    since: Annotated[
        str, typer.Option(help="The window: 30m, 24h, 7d or 2w back from now.")
    ] = "7d",
    as_json: JsonOpt = False,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            help="Also write the report with charts to this one self-contained HTML file.",
            dir_okay=False,
        ),
    ] = None,
    email: Annotated[
        bool,
        typer.Option("--email", help="Send it to monitoring.alerts.email (the daily summary)."),
    ] = False,
) -> None:
    """Report on recent runs: success rate, durations, rows, quarantine, SLAs, failed rules."""
    window = parse_since(since)
    if window is None:
        usage_error(f"--since {since!r}: expected a duration such as 30m, 24h, 7d or 2w")
    job, console = job_of(config)
    if email and not any(a.channel == "email" for a in job.monitoring.alerters):
        usage_error("--email needs monitoring.alerts.email in the config", console)
    history = history_of(job, console)
    now = datetime.now(UTC)
    built = build_report(
        history.records,
        pipeline=job.pipeline.name,
        since=now - window,
        now=now,
        unreadable=len(history.unreadable),
    )
    if html is not None:
        try:
            page = report_html(built)
        except LakeflowError as exc:
            usage_error(str(exc), console)
        write_atomically(html, page)
    if as_json:
        console.out(json.dumps(built.to_json(), indent=2, sort_keys=True))
    else:
        console.out(built.text())
        if html is not None:
            console.out(f"\nHTML report: {html}")
    if email:
        (delivery,) = send(job.monitoring, built.message(window=since), channels=EMAIL)
        if not delivery.ok:
            fail(f"the report was not sent: {delivery.error}", console)
        if not as_json:
            console.out("report sent by email")


def write_atomically(path: Path, text: str) -> None:
    """Effect. Write ``text`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
