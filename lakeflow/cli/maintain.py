"""Maintenance commands: ``fsck``."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from returns.result import Failure

from lakeflow.adapters.local import LocalLake
from lakeflow.cli.common import ConfigArg, JsonOpt, app, job_of, usage_error
from lakeflow.ports import unwrap_io

__all__ = ["fsck"]


@app.command()
def fsck(
    config: ConfigArg,
    deep: Annotated[
        bool, typer.Option("--deep", help="Also hash every blob against its checksum.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check the lake for damage, naming each damaged object (exit 1 when there is any)."""
    job, console = job_of(config)
    lake = job.lake
    if not isinstance(lake, LocalLake):
        usage_error(f"fsck checks local:// lakes; {lake.url} keeps its own storage", console)
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
