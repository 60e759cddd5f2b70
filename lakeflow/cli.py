"""The ``lakeflow`` command line: every command takes the pipeline's config file.

Exit codes: 0 ok, 1 pipeline failure (or an unhealthy ``health``), 2 usage or config error.
Human output is a line per step while a run progresses and a summary at the end (stdout);
errors go to stderr. ``--json`` prints only the record, as JSON, on stdout. No command prints
a secret.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from returns.result import Failure, Result

from lakeflow.adapters.lake_helpers import unwrap_io
from lakeflow.adapters.local import LocalLake
from lakeflow.core.errors import ConfigError, LakeflowError
from lakeflow.core.records import FailureRecord, RunRecord
from lakeflow.core.secrets import Secret, scrub
from lakeflow.pipelines import Job, load_job
from lakeflow.shell import HISTORY_BRANCH, RunEvent, load_run, run, runs, show_run

__all__ = ["app", "main"]

STANDARD_BRANCHES = ("staging", "development", "production")
"""Branches ``lakeflow init`` creates from the default branch, as the tutorial sets them up."""

LAYOUT_README = """\
# lakeflow layout

| path | what |
|---|---|
| `<load path>/part-<run_id>.parquet` | validated rows |
| `raw/<pipeline>/<run_id>.parquet` | extracted rows as read |
| `_lakeflow/quarantine/<pipeline>/<run_id>.parquet` | rows that failed row-level checks |
| `_lakeflow/runs/<pipeline>/<run_id>.json` | run records |
| `_lakeflow/quality/<pipeline>/<run_id>.json` | validation report and quality metrics |
| `_lakeflow/checkpoints/<pipeline>.json` | incremental watermarks |

Every run works on its own branch `lakeflow-run-<pipeline>-<run_id>` and is merged only when
every step succeeded; failed runs keep their branch. The `lakeflow-history` branch records
every run.
"""

app = typer.Typer(
    name="lakeflow",
    help="Trustworthy ETL runs on a lakeFS-style lake: publish all or nothing.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

ConfigArg = Annotated[
    Path, typer.Argument(help="The pipeline's YAML config file.", show_default=False)
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")]


class _Console:
    """Output that never shows a secret: every line is scrubbed first."""

    def __init__(self, secrets: Sequence[Secret] = ()) -> None:
        self.secrets = tuple(secrets)

    def out(self, text: str = "") -> None:
        typer.echo(scrub(text, self.secrets))

    def err(self, text: str) -> None:
        typer.echo(scrub(text, self.secrets), err=True)


def _usage_error(message: str, console: _Console | None = None) -> NoReturn:
    (console or _Console()).err(f"error: {message}")
    raise typer.Exit(2)


def _job(config: Path) -> tuple[Job, _Console]:
    built = load_job(config)
    if isinstance(built, Failure):
        error: ConfigError = built.failure()
        _usage_error(error.message)
    job = built.unwrap()
    return job, _Console(job.pipeline.secrets)


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:7.2f}s"


def _print_event(console: _Console) -> Callable[[RunEvent], None]:
    def show(event: RunEvent) -> None:
        if event.status == "start":
            return
        marker = {"ok": "ok", "failed": "FAILED", "retry": "retry"}[event.status]
        console.out(f"  {event.step:<9} {marker:<6} {_seconds(event.seconds)}  {event.detail}")

    return show


def _scores(quality: Mapping[str, object] | None) -> str:
    if not quality:
        return ""
    names = ("completeness", "accuracy", "consistency", "timeliness")
    parts = []
    for name in names:
        value = quality.get(f"{name}_score")
        if isinstance(value, int | float):
            parts.append(f"{name} {value:.2f}")
    overall = quality.get("overall_score")
    head = f"overall {overall:.2f}" if isinstance(overall, int | float) else "overall n/a"
    return f"{head} ({', '.join(parts)})"


def _summary(record: RunRecord | FailureRecord) -> list[str]:
    rows = record.rows
    counts = (
        f"{rows.valid} valid, {rows.quarantined} quarantined of {rows.transformed} rows "
        f"({rows.extracted} extracted, {rows.loaded} loaded)"
    )
    lines: list[str] = []
    if isinstance(record, FailureRecord):
        lines.append(
            f"{record.status.upper()} at {record.failed_step}: run {record.run_id} "
            f"of {record.pipeline} in {record.duration_s:.2f}s"
        )
        lines.append(f"  error: {record.error.kind}: {record.error.message}")
        if record.run_branch:
            lines.append(f"  run branch kept: {record.run_branch} (commit {record.commit})")
        if record.merge_commit:
            lines.append(f"  published at {record.merge_commit}; reload with `lakeflow load`")
    else:
        lines.append(
            f"{record.status} run {record.run_id} of {record.pipeline} to {record.target} "
            f"in {record.duration_s:.2f}s"
        )
        where = record.merge_commit or record.commit
        lines.append(
            f"  commit {where}" + (f" on {record.run_branch}" if record.run_branch else "")
        )
    lines.append(f"  rows: {counts}")
    if record.watermark is not None:
        start = _watermark_text(record.watermark.start)
        end = _watermark_text(record.watermark.end)
        lines.append(f"  watermark {record.watermark.column}: {start} -> {end}")
    if record.quality:
        lines.append(f"  quality: {_scores(record.quality)}")
    if record.note:
        lines.append(f"  note: {record.note}")
    return lines


def _watermark_text(value: object) -> str:
    if isinstance(value, Mapping):
        return str(value.get("value"))
    return "none" if value is None else str(value)


def _emit_record(console: _Console, record: RunRecord | FailureRecord, *, as_json: bool) -> None:
    if as_json:
        console.out(record.dumps())
    else:
        for line in _summary(record):
            console.out(line)


@app.command()
def init(config: ConfigArg) -> None:
    """Create the repository, the standard branches and the layout (idempotent)."""
    job, console = _job(config)
    lake = job.lake
    default = job.config.lake.default_branch
    created = unwrap_io(lake.create_repository(default_branch=default, exist_ok=True))
    if isinstance(created, Failure):
        console.err(f"error: {created.failure().message}")
        raise typer.Exit(1)
    console.out(f"repository {lake.repository} at {lake.url} (default branch {default})")
    for branch in (*STANDARD_BRANCHES, HISTORY_BRANCH):
        existed = unwrap_io(lake.resolve(branch))
        made = unwrap_io(lake.create_branch(branch, default, exist_ok=True))
        if isinstance(made, Failure):
            console.err(f"error: branch {branch}: {made.failure().message}")
            raise typer.Exit(1)
        state = "exists" if not isinstance(existed, Failure) else "created"
        console.out(f"  branch {branch:<17} {state}")
    readme = "_lakeflow/README.md"
    current = unwrap_io(lake.get_bytes(readme, ref=default))
    if current.value_or(b"") != LAYOUT_README.encode():
        put = unwrap_io(
            lake.put_bytes(
                readme, LAYOUT_README.encode(), branch=default, content_type="text/markdown"
            )
        )
        committed = put.bind(
            lambda _: unwrap_io(
                lake.commit(default, "lakeflow: lay out the repository", {"lakeflow.init": "1"})
            )
        )
        if isinstance(committed, Failure):
            console.err(f"error: layout: {committed.failure().message}")
            raise typer.Exit(1)
        console.out(f"  layout {'':<17} created ({readme} on {default})")
    else:
        console.out(f"  layout {'':<17} exists")


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
) -> None:
    """Run the pipeline once: extract, transform, validate, publish all or nothing."""
    job, console = _job(config)
    branch = target or job.config.lake.default_branch
    if not as_json:
        console.out(f"lakeflow run {job.pipeline.name} -> {branch} ({job.lake.url})")
    events = None if as_json else _print_event(console)
    outcome = run(job.pipeline, job.lake, branch, merge=not no_merge, on_event=events)
    record: RunRecord | FailureRecord = outcome.value_or(None) or outcome.failure()
    _emit_record(console, record, as_json=as_json)
    missing_repository = (
        isinstance(record, FailureRecord)
        and record.failed_step == "resolve"
        and isinstance(unwrap_io(job.lake.get_repository()), Failure)
    )
    if missing_repository and not as_json:
        console.out(f"  hint: create the repository first: lakeflow init {config}")
    raise typer.Exit(0 if isinstance(record, RunRecord) else 1)


def _history(job: Job, console: _Console) -> list[RunRecord | FailureRecord]:
    try:
        return runs(job.lake, job.pipeline.name)
    except LakeflowError as exc:
        console.err(f"error: {exc}")
        raise typer.Exit(1) from None


@app.command("runs")
def runs_command(config: ConfigArg, as_json: JsonOpt = False) -> None:
    """List the pipeline's runs, newest first (published and failed)."""
    job, console = _job(config)
    history = _history(job, console)
    if as_json:
        console.out(json.dumps([r.to_json() for r in history], indent=2, sort_keys=True))
        return
    if not history:
        console.out(f"no runs of {job.pipeline.name} yet")
        return
    console.out(
        f"{'run_id':<30} {'status':<22} {'started':<20} {'secs':>7} {'valid':>9} {'quar.':>7}  step"
    )
    for record in history:
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
    job, console = _job(config)
    try:
        record = show_run(job.lake, run_id, job.pipeline.name)
    except LakeflowError as exc:
        _usage_error(str(exc), console)
    if as_json:
        console.out(record.dumps())
        return
    for line in _summary(record):
        console.out(line)
    console.out("  outputs:")
    for kind, path in sorted(record.outputs.items()):
        console.out(f"    {kind:<11} {path}")
    if record.validation:
        console.out(f"  validation: {record.validation.get('summary', '')}")


@app.command()
def load(
    config: ConfigArg,
    run_id: Annotated[str, typer.Argument(help="A published run's id.")],
    as_json: JsonOpt = False,
) -> None:
    """Load a published run into the database sink again (idempotent for upsert)."""
    job, console = _job(config)
    try:
        outcome = load_run(job.pipeline, job.lake, run_id)
    except LakeflowError as exc:
        _usage_error(str(exc), console)
    record: RunRecord | FailureRecord = outcome.value_or(None) or outcome.failure()
    _emit_record(console, record, as_json=as_json)
    raise typer.Exit(0 if isinstance(record, RunRecord) else 1)


def _check(console: _Console, name: str, result: Result[object, object]) -> bool:
    if isinstance(result, Failure):
        failure = result.failure()
        console.out(f"  {name:<9} FAILED  {getattr(failure, 'message', failure)}")
        return False
    console.out(f"  {name:<9} ok")
    return True


@app.command()
def health(config: ConfigArg) -> None:
    """Check that the lake, the source and the database sink are reachable (exit 1 if not)."""
    job, console = _job(config)
    console.out(f"health of {job.pipeline.name}")
    healthy = _check(console, "lake", unwrap_io(job.lake.get_repository()))
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
    raise typer.Exit(0 if healthy else 1)


@app.command()
def report(config: ConfigArg, as_json: JsonOpt = False) -> None:
    """Show data-quality scores of recent runs (newest first)."""
    job, console = _job(config)
    history = [r for r in _history(job, console) if r.quality][:20]
    if as_json:
        console.out(
            json.dumps([{"run_id": r.run_id, "quality": r.quality} for r in history], indent=2)
        )
        return
    if not history:
        console.out(f"no quality reports for {job.pipeline.name} yet")
        return
    for record in history:
        console.out(f"{record.run_id}  {record.status:<10} {_scores(record.quality)}")


@app.command()
def fsck(
    config: ConfigArg,
    deep: Annotated[
        bool, typer.Option("--deep", help="Also hash every blob against its checksum.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check the lake for damage, naming each damaged object (exit 1 when there is any)."""
    job, console = _job(config)
    lake = job.lake
    if not isinstance(lake, LocalLake):
        _usage_error(f"fsck checks local:// lakes; {lake.url} keeps its own storage", console)
    checked = unwrap_io(lake.fsck(deep=deep))
    if isinstance(checked, Failure):
        error = checked.failure()
        if as_json:
            console.out(json.dumps({"ok": False, "problems": [error.message]}, indent=2))
        else:
            console.err(f"error: {error.message}")
        raise typer.Exit(1)
    report = checked.unwrap()
    if as_json:
        console.out(json.dumps(report.to_dict(), indent=2))
    else:
        console.out(
            f"fsck of {lake.repository} at {lake.url}{' (deep)' if deep else ''}: "
            f"{report.commits} commits, {report.objects} objects, {report.blobs_hashed} hashed"
        )
        for problem in report.problems:
            console.out(f"  DAMAGED {problem}")
        console.out(
            "  ok: nothing is damaged" if report.ok else f"  {len(report.problems)} damaged"
        )
    raise typer.Exit(0 if report.ok else 1)


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point (``lakeflow`` and ``python -m lakeflow``)."""
    app(args=list(argv) if argv is not None else sys.argv[1:], prog_name="lakeflow")
