"""What every ``lakeflow`` command shares: the app, options, secret-free output, exit codes.

Effect (prints, exits). Exit codes: 0 ok, 1 pipeline failure (or an unhealthy ``health``), 2
usage or config error — always before any work. Human output goes to stdout, errors to
stderr; ``--json`` prints only JSON on stdout. No command prints a secret: every line is
scrubbed of the pipeline's secrets first.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from returns.result import Failure

from lakeflow.core.errors import ConfigError
from lakeflow.core.secrets import Secret, scrub
from lakeflow.pipelines import Job, load_job

__all__ = [
    "ConfigArg",
    "Console",
    "JsonOpt",
    "QuietOpt",
    "app",
    "fail",
    "job_of",
    "usage_error",
]

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
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print only the summary: no step lines, no progress.")
]


class Console:
    """Output that never shows a secret: every line is scrubbed first."""

    def __init__(self, secrets: Sequence[Secret] = ()) -> None:
        self.secrets = tuple(secrets)

    def scrub(self, text: str) -> str:
        """Pure. ``text`` without the console's secrets."""
        return scrub(text, self.secrets)

    def out(self, text: str = "") -> None:
        """Effect. Print a line on stdout."""
        typer.echo(scrub(text, self.secrets))

    def err(self, text: str) -> None:
        """Effect. Print a line on stderr."""
        typer.echo(scrub(text, self.secrets), err=True)


def usage_error(message: str, console: Console | None = None) -> NoReturn:
    """Effect. Say what is wrong with the command line or config and exit 2."""
    (console or Console()).err(f"error: {message}")
    raise typer.Exit(2)


def fail(message: str, console: Console) -> NoReturn:
    """Effect. Say what failed (an operational fault, not a usage error) and exit 1."""
    console.err(f"error: {message}")
    raise typer.Exit(1)


def job_of(config: Path) -> tuple[Job, Console]:
    """Effect. The config's job and a console that hides its secrets; exit 2 if it is bad."""
    built = load_job(config)
    if isinstance(built, Failure):
        error: ConfigError = built.failure()
        usage_error(error.message)
    job = built.unwrap()
    from lakeflow.cli.logs import bind_job  # the logging options' module imports this one

    bind_job(job.pipeline.name, job.pipeline.secrets)
    return job, Console(job.pipeline.secrets)
