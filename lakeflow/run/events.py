"""The structured logger every lakeflow event goes through (structlog over the stdlib logger
``lakeflow``).

Effect (logs). A library must not configure logging: events go to the standard library's
``lakeflow`` logger, silent until the application (or the ``lakeflow`` CLI,
:mod:`lakeflow.cli.logs`) configures it. Each event reaches a handler twice over: as a JSON
line in the record's message (readable with any formatter) and as the event's fields in the
record's :data:`EVENT_ATTRIBUTE` attribute, which the CLI renders as console or JSON lines.
Every event carries ``run_id``, ``pipeline`` and ``step`` (``None`` outside a run or step), and
whatever the caller bound with :func:`structlog.contextvars.bind_contextvars`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import MutableMapping
from typing import Any

import structlog

__all__ = ["EVENT_ATTRIBUTE", "REQUIRED_KEYS", "event_logger"]

EVENT_ATTRIBUTE = "lakeflow_event"
"""The ``logging.LogRecord`` attribute holding an event's fields."""
REQUIRED_KEYS = ("run_id", "pipeline", "step")


def _required(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in REQUIRED_KEYS:
        event.setdefault(key, None)
    return event


def _to_stdlib(
    _: Any, __: str, event: MutableMapping[str, Any]
) -> tuple[tuple[str], dict[str, Any]]:
    fields = dict(event)
    text = json.dumps(fields, default=str, sort_keys=True)
    return (text,), {"extra": {EVENT_ATTRIBUTE: fields}}


def event_logger(name: str = "lakeflow") -> Any:
    """Effect-free. A structlog logger writing events to the stdlib logger ``name``."""
    return structlog.wrap_logger(
        logging.getLogger(name),
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _required,
            _to_stdlib,
        ],
    )
