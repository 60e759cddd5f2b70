"""The ``lakeflow`` command line: every command takes the pipeline's config file.

Exit codes: 0 ok, 1 pipeline failure (or an unhealthy ``health``), 2 usage or config error,
always before any work. Human output is a line per step while a run progresses and a summary
at the end (stdout); errors and log lines go to stderr (``--log-format``, ``--log-file``:
:mod:`lakeflow.cli.logs`). ``--json`` prints only JSON on stdout. No command
prints a secret. Each group of commands lives in its own module; importing them registers
them on :data:`app`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from lakeflow.cli import audit, history, logs, maintain, planning, running, setup, tables
from lakeflow.cli.common import app

__all__ = ["app", "main"]

_COMMANDS = (audit, history, logs, maintain, planning, running, setup, tables)


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point (``lakeflow`` and ``python -m lakeflow``)."""
    app(args=list(argv) if argv is not None else sys.argv[1:], prog_name="lakeflow")
