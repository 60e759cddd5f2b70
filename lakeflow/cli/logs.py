"""How the ``lakeflow`` CLI logs: the global ``--log-format``, ``--log-level`` and ``--log-file``.

Effect (configures the standard library's logging, once per command). The library only emits
structlog events to the ``lakeflow`` logger (:mod:`lakeflow.run.events`); the CLI renders them
to stderr as readable console lines on a terminal and as JSON lines otherwise (or always with
``--log-format json``), and as JSON lines to ``--log-file``. Every line carries ``run_id``,
``pipeline`` and ``step``, and every line is scrubbed of the pipeline's secrets (the pipeline
and its secrets are bound when the config is loaded, :func:`bind_job`). On a terminal the step
lines on stdout already show a run's progress, so the default level there is ``warning``;
elsewhere it is ``info``. Other libraries' records go through the same handlers at
``warning`` and above.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import structlog
import typer

from lakeflow.cli.common import app
from lakeflow.core.secrets import Secret, scrub
from lakeflow.environment import LOG_FILE_ENV, LOG_FORMAT_ENV, LOG_LEVEL_ENV
from lakeflow.run.events import EVENT_ATTRIBUTE, REQUIRED_KEYS

__all__ = ["LogFormat", "bind_job", "configure_logging"]


class LogFormat(StrEnum):
    """How log lines look: ``auto`` is console on a terminal, JSON otherwise."""

    AUTO = "auto"
    CONSOLE = "console"
    JSON = "json"


class _State:
    handlers: list[logging.Handler] = []  # noqa: RUF012 - module state, replaced per command
    secrets: tuple[Secret, ...] = ()
    pipeline: str | None = None


class _EventFormatter(logging.Formatter):
    """Renders a record's lakeflow event (or any library's record) with a structlog renderer."""

    def __init__(self, renderer: Any) -> None:
        super().__init__()
        self.renderer = renderer

    def format(self, record: logging.LogRecord) -> str:
        event = getattr(record, EVENT_ATTRIBUTE, None)
        if isinstance(event, dict):
            fields = dict(event)
        else:
            fields = {
                "event": record.getMessage(),
                "logger": record.name,
                "level": record.levelname.lower(),
                "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(),
            }
            if record.exc_info:
                fields["exception"] = self.formatException(record.exc_info)
        for key in REQUIRED_KEYS:
            fields.setdefault(key, None)
        if fields.get("pipeline") is None:
            fields["pipeline"] = _State.pipeline
        rendered = self.renderer(None, record.levelname.lower(), fields)
        return scrub(str(rendered), _State.secrets)


def _renderer(log_format: LogFormat, stream_is_terminal: bool) -> Any:
    console = log_format is LogFormat.CONSOLE or (
        log_format is LogFormat.AUTO and stream_is_terminal
    )
    if console:
        return structlog.dev.ConsoleRenderer(colors=stream_is_terminal, sort_keys=False)
    return structlog.processors.JSONRenderer(sort_keys=True, default=str)


def configure_logging(
    log_format: LogFormat = LogFormat.AUTO,
    level: str | None = None,
    log_file: Path | None = None,
) -> None:
    """Effect. Route lakeflow's events (and other libraries' warnings) to stderr and a file.

    Replaces what an earlier call installed, so calling it per command is safe.
    """
    root, ours = logging.getLogger(), logging.getLogger("lakeflow")
    for handler in _State.handlers:
        root.removeHandler(handler)
        handler.close()
    terminal = sys.stderr.isatty()
    chosen = (level or ("warning" if terminal else "info")).upper()
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setLevel(chosen)
    stderr.setFormatter(_EventFormatter(_renderer(log_format, terminal)))
    handlers: list[logging.Handler] = [stderr]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        to_file = logging.FileHandler(log_file, encoding="utf-8")
        to_file.setLevel((level or "info").upper())
        to_file.setFormatter(_EventFormatter(_renderer(LogFormat.JSON, False)))
        handlers.append(to_file)
    for handler in handlers:
        root.addHandler(handler)
    _State.handlers = handlers
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)
    ours.setLevel(min(h.level for h in handlers))


def bind_job(pipeline: str, secrets: Sequence[Secret]) -> None:
    """Effect. Name the pipeline on every line and hide its secrets from every line."""
    _State.pipeline = pipeline
    _State.secrets = tuple(secrets)
    structlog.contextvars.bind_contextvars(pipeline=pipeline)


LevelOpt = Annotated[
    str | None,
    typer.Option(
        "--log-level",
        envvar=LOG_LEVEL_ENV,
        help="debug, info, warning or error (default: warning on a terminal, else info).",
        show_default=False,
    ),
]


@app.callback()
def _logging_options(
    log_format: Annotated[
        LogFormat,
        typer.Option(
            "--log-format",
            envvar=LOG_FORMAT_ENV,
            help="Log lines on stderr: console on a terminal and JSON otherwise (auto).",
            case_sensitive=False,
        ),
    ] = LogFormat.AUTO,
    log_level: LevelOpt = None,
    log_file: Annotated[
        Path | None,
        typer.Option(
            "--log-file",
            envvar=LOG_FILE_ENV,
            help="Also append JSON log lines to this file.",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Trustworthy ETL runs on a lakeFS-style lake: publish all or nothing."""
    if log_level is not None and log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise typer.BadParameter(
            f"{log_level!r} is not one of debug, info, warning, error", param_hint="--log-level"
        )
    configure_logging(log_format, log_level, log_file)
