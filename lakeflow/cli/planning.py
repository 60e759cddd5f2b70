"""``lakeflow check`` (plan a run against the source's schema, reading no row) and ``lakeflow
schema`` (the config's JSON Schema and reference)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from returns.result import Success

from lakeflow.cli.common import ConfigArg, JsonOpt, app, job_of, usage_error
from lakeflow.ports import unwrap_io
from lakeflow.run.check import check_plan
from lakeflow.run.journal import now
from lakeflow.run.layout import target_problem

__all__ = ["check", "schema_command"]


@app.command()
def check(
    config: ConfigArg,
    target: Annotated[
        str | None, typer.Option(help="Branch whose head lake references are read at.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check the config and plan the run against the source's schema (reads no rows).

    Exit 0 when the plan fits the source, 2 with every problem listed when it does not.
    """
    job, console = job_of(config)
    branch = job.config.lake.default_branch if target is None else target
    problem = target_problem(branch)
    if problem is not None:
        usage_error(f"--target {branch!r}: {problem}", console)
    head = unwrap_io(job.lake.resolve(branch))
    base = head.unwrap() if isinstance(head, Success) else branch
    report = check_plan(job.pipeline, job.lake, base, now=now())
    if as_json:
        console.out(json.dumps(report.to_json(), indent=2, sort_keys=True))
        raise typer.Exit(0 if report.ok else 2)
    what = report.source.get("table") or report.source.get("path") or ""
    console.out(f"plan of {job.pipeline.name}: {report.source.get('kind', 'source')} {what}")
    if not report.checked:
        console.out("  the source cannot tell its schema without reading rows: not checked")
        raise typer.Exit(0)
    if report.input_schema:
        console.out(f"  source columns: {', '.join(n for n, _ in report.input_schema)}")
    for found in report.problems:
        console.err(f"  {found.where}: {found.message}")
    if report.ok:
        console.out(f"  ok: {len(report.output_schema)} column(s) reach validation")
        raise typer.Exit(0)
    console.err(f"{len(report.problems)} problem(s); no row was read")
    raise typer.Exit(2)


@app.command("schema")
def schema_command(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the config reference (docs/config.md).")
    ] = False,
) -> None:
    """Print the config's JSON Schema, for editors (see docs/config.md)."""
    from lakeflow.config_docs import reference_markdown, schema_text

    typer.echo(reference_markdown() if markdown else schema_text(), nl=False)
