"""Service levels: which of ``monitoring.sla`` a run broke.

Pure (no clock: the caller passes ``now``). Every check compares one number of the run's record
with its limit and, when broken, says so as a :class:`~lakeflow.core.records.SlaBreach` value.
A breach is a fact about the run, recorded and alerted; it never changes what was published.

>>> from datetime import UTC, datetime, timedelta
>>> from lakeflow.core.config import SlaConfig
>>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
>>> sla = SlaConfig(max_staleness_s=3600)
>>> [b.message for b in freshness(sla, t0, now=t0 + timedelta(hours=2))]
['last published 2.0h ago (at 2026-01-01T00:00:00+00:00); the SLA allows 1.0h']
>>> freshness(sla, t0, now=t0 + timedelta(minutes=30))
()
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime

from lakeflow.core.config.monitoring import SlaConfig
from lakeflow.core.records import FailureRecord, RunRecord, SlaBreach

__all__ = [
    "PUBLISHED",
    "evaluate_sla",
    "freshness",
    "quarantined_fraction",
    "run_errors",
    "success_rate",
]

PUBLISHED = frozenset({"published", "published_not_loaded"})
"""Statuses whose rows reached the target branch (freshness counts them)."""


def success_rate(record: RunRecord | FailureRecord) -> float | None:
    """Pure. ``valid / extracted`` rows of a run, or ``None`` when it read nothing."""
    rows = record.rows
    return rows.valid / rows.extracted if rows.extracted else None


def quarantined_fraction(record: RunRecord | FailureRecord) -> float | None:
    """Pure. ``quarantined / transformed`` rows of a run, or ``None`` when none were validated."""
    rows = record.rows
    return rows.quarantined / rows.transformed if rows.transformed else None


def run_errors(record: RunRecord | FailureRecord) -> int:
    """Pure. The run's errors: each error-severity check that failed, plus its own failure."""
    validation: Mapping[str, object] = record.validation or {}
    rules = validation.get("rules")
    failed = (
        sum(1 for r in rules if isinstance(r, Mapping) and r.get("outcome") == "failed")
        if isinstance(rules, list | tuple)
        else 0
    )
    return failed + (1 if isinstance(record, FailureRecord) else 0)


def _hours(seconds: float) -> str:
    return "never" if math.isinf(seconds) else f"{seconds / 3600:.1f}h"


def freshness(
    sla: SlaConfig, last_published: datetime | None, *, now: datetime
) -> tuple[SlaBreach, ...]:
    """Pure. The freshness breach, if the pipeline last published longer ago than allowed.

    Args:
        sla: The service levels (nothing to check without ``max_staleness_s``).
        last_published: When the last published run ended (``None``: never).
        now: The time to measure from.
    """
    limit = sla.max_staleness_s
    if limit is None:
        return ()
    if last_published is None:
        return (SlaBreach("max_staleness_s", limit, math.inf, "the pipeline never published"),)
    age = (now - last_published).total_seconds()
    if age <= limit:
        return ()
    message = (
        f"last published {_hours(age)} ago (at {last_published.isoformat()}); "
        f"the SLA allows {_hours(limit)}"
    )
    return (SlaBreach("max_staleness_s", limit, age, message),)


def evaluate_sla(
    sla: SlaConfig,
    record: RunRecord | FailureRecord,
    *,
    last_published: datetime | None,
    now: datetime,
) -> tuple[SlaBreach, ...]:
    """Pure. Every service level ``record`` broke, in the order the keys are declared.

    Args:
        sla: The service levels.
        record: The run, as it ended.
        last_published: When the pipeline last published *before* this run (freshness is only
            checked when this run did not publish: a run that published is fresh).
        now: The time freshness is measured at (the end of the run).
    """
    found: list[SlaBreach] = []
    duration = record.duration_s
    if sla.max_duration_s is not None and duration > sla.max_duration_s:
        found.append(
            SlaBreach(
                "max_duration_s",
                sla.max_duration_s,
                duration,
                f"the run took {duration:.1f}s; the SLA allows {sla.max_duration_s:g}s",
            )
        )
    rate = success_rate(record)
    if sla.min_success_rate is not None and rate is not None and rate < sla.min_success_rate:
        rows = record.rows
        found.append(
            SlaBreach(
                "min_success_rate",
                sla.min_success_rate,
                rate,
                f"{rows.valid} of {rows.extracted} extracted rows were valid ({rate:.2%}); "
                f"the SLA requires {sla.min_success_rate:.2%}",
            )
        )
    quarantined = record.rows.quarantined
    if sla.max_quarantined_rows is not None and quarantined > sla.max_quarantined_rows:
        found.append(
            SlaBreach(
                "max_quarantined_rows",
                sla.max_quarantined_rows,
                quarantined,
                f"{quarantined} rows quarantined; the SLA allows {sla.max_quarantined_rows}",
            )
        )
    fraction = quarantined_fraction(record)
    limit = sla.max_quarantined_fraction
    if limit is not None and fraction is not None and fraction > limit:
        found.append(
            SlaBreach(
                "max_quarantined_fraction",
                limit,
                fraction,
                f"{fraction:.2%} of validated rows quarantined; the SLA allows {limit:.2%}",
            )
        )
    errors = run_errors(record)
    if sla.max_errors is not None and errors > sla.max_errors:
        found.append(
            SlaBreach(
                "max_errors",
                sla.max_errors,
                errors,
                f"{errors} error(s) (failed checks and run failures); "
                f"the SLA allows {sla.max_errors}",
            )
        )
    if record.status not in PUBLISHED:
        found.extend(freshness(sla, last_published, now=now))
    return tuple(found)
