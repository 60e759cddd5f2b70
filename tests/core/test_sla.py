"""SLA evaluation, alert decisions and the records' new fields (pure, no clock)."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from lakeflow.core.alerts import alert_for
from lakeflow.core.config import SlaConfig
from lakeflow.core.records import Delivery, RowCounts, SlaBreach, encode_json, record_from_json
from lakeflow.core.secrets import Secret
from lakeflow.core.sla import evaluate_sla, freshness, run_errors
from tests.sample_records import T0, failed, published

NOW = T0 + timedelta(days=1)


def checks(sla: SlaConfig, record: object, last: object = None) -> list[str]:
    return [b.check for b in evaluate_sla(sla, record, last_published=last, now=NOW)]  # type: ignore[arg-type]


def test_each_key_is_checked_against_the_record() -> None:
    """Every SLA key compares its number of the run with its limit; all breaches are listed."""
    record = published()  # 12 s, 90 of 100 valid, 5 of 95 quarantined, 1 failed rule
    strict = SlaConfig(
        max_duration_s=10,
        min_success_rate=0.95,
        max_quarantined_rows=4,
        max_quarantined_fraction=0.05,
        max_errors=0,
        max_staleness_s=60,
    )
    assert checks(strict, record) == [
        "max_duration_s",
        "min_success_rate",
        "max_quarantined_rows",
        "max_quarantined_fraction",
        "max_errors",
    ], "a published run is fresh: freshness is not checked"
    loose = SlaConfig(
        max_duration_s=12,
        min_success_rate=0.9,
        max_quarantined_rows=5,
        max_quarantined_fraction=0.06,
        max_errors=1,
    )
    assert checks(loose, record) == []


def test_breach_messages_say_the_numbers() -> None:
    """A breach holds the limit, the actual value and a sentence with both."""
    (breach,) = evaluate_sla(
        SlaConfig(max_duration_s=0.001), published(), last_published=None, now=NOW
    )
    assert (breach.limit, breach.actual) == (0.001, 12.0)
    assert breach.message == "the run took 12.0s; the SLA allows 0.001s"


def test_a_failed_run_counts_as_an_error_and_is_checked_for_freshness() -> None:
    """A failed run has one error, and freshness is measured from the last published run."""
    record = failed()
    assert run_errors(record) == 1
    sla = SlaConfig(max_errors=0, max_staleness_s=3600)
    assert checks(sla, record, NOW - timedelta(hours=2)) == ["max_errors", "max_staleness_s"]
    assert checks(sla, record, NOW - timedelta(minutes=5)) == ["max_errors"]
    (never,) = freshness(sla, None, now=NOW)
    assert math.isinf(never.actual) and never.message == "the pipeline never published"


def test_rates_are_not_checked_on_runs_that_read_nothing() -> None:
    """No rows extracted: no success rate or quarantine fraction to judge."""
    empty = published(rows=RowCounts())
    assert checks(SlaConfig(min_success_rate=1.0, max_quarantined_fraction=0.0), empty) == []


@given(
    valid=st.integers(0, 10**6),
    dropped=st.integers(0, 10**6),
    quarantined=st.integers(0, 10**6),
    min_rate=st.floats(0, 1),
    max_fraction=st.floats(0, 1),
    max_rows=st.integers(0, 10**6),
)
def test_row_checks_breach_exactly_when_the_definition_says(
    valid: int, dropped: int, quarantined: int, min_rate: float, max_fraction: float, max_rows: int
) -> None:
    """success = valid/extracted < min; fraction = quarantined/transformed > max; rows > max."""
    transformed = valid + quarantined
    rows = RowCounts(transformed + dropped, transformed, valid, quarantined, valid)
    sla = SlaConfig(
        min_success_rate=min_rate,
        max_quarantined_fraction=max_fraction,
        max_quarantined_rows=max_rows,
    )
    found = set(checks(sla, published(rows=rows)))
    extracted = rows.extracted
    assert ("min_success_rate" in found) == (extracted > 0 and valid / extracted < min_rate)
    assert ("max_quarantined_fraction" in found) == (
        transformed > 0 and quarantined / transformed > max_fraction
    )
    assert ("max_quarantined_rows" in found) == (quarantined > max_rows)


def test_alert_decisions() -> None:
    """Failures, published_not_loaded and breaches alert; a success only when asked."""
    breach = SlaBreach("max_duration_s", 1, 12, "too slow")
    ok = published()
    assert alert_for(ok) is None
    assert alert_for(ok, on_success=True) is not None
    assert alert_for(replace(ok, sla=(breach,))).data["kind"] == "sla"  # type: ignore[union-attr]
    assert alert_for(failed()).data["kind"] == "failure"  # type: ignore[union-attr]
    not_loaded = failed(status="published_not_loaded", failed_step="load")
    assert alert_for(not_loaded).data["kind"] == "published_not_loaded"  # type: ignore[union-attr]


def test_alerts_scrub_secrets_a_message_still_holds() -> None:
    """A secret that reached a record's message is not in any shape of the alert."""
    leaked = failed().error
    record = failed(error=replace(leaked, message="auth failed for pw Hunter2-Planted"))
    message = alert_for(record, secrets=[Secret("Hunter2-Planted")])
    assert message is not None
    shown = message.subject + message.text + json.dumps(message.data) + json.dumps(message.slack)
    assert "Hunter2-Planted" not in shown and "auth failed for pw ***" in message.text


def test_records_round_trip_breaches_and_deliveries() -> None:
    """sla and deliveries survive JSON; sla=None (not checked) stays distinct from []."""
    record = failed(
        sla=(SlaBreach("max_errors", 0, 1, "1 error"),),
        deliveries=(Delivery("webhook", False, 3, "answered 503"),),
    )
    assert record_from_json(json.loads(encode_json(record.to_json()))) == record
    unchecked = published()
    assert record_from_json(json.loads(encode_json(unchecked.to_json()))).sla is None
    clean = published(sla=())
    assert record_from_json(json.loads(encode_json(clean.to_json()))).sla == ()


def test_records_written_before_slas_still_read() -> None:
    """A record without sla/deliveries keys (an older lakeflow's) reads with none of either."""
    old = published().to_json()
    del old["sla"], old["deliveries"]
    record = record_from_json(json.loads(encode_json(old)))
    assert record.sla is None and record.deliveries == ()
