"""Run metrics pushed to a real local HTTP endpoint and written as textfiles, read back with
prometheus-client's own text parser."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from returns.io import IOSuccess

from lakeflow.adapters.prometheus_metrics import PushgatewayMetrics, TextfileMetrics
from lakeflow.core.records import SlaBreach
from lakeflow.core.secrets import Secret
from tests.endpoints import HttpRecorder
from tests.sample_records import failed, published


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample in an exposition text, keyed by name and labels."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(
    found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return found[(name, frozenset({"pipeline": "users", **labels}.items()))]


def test_push_uses_the_batch_job_convention_and_carries_every_metric(
    http_recorder: HttpRecorder,
) -> None:
    """A run's metrics are POSTed to /metrics/job/<pipeline> and parse back to its values."""
    breach = SlaBreach("max_duration_s", 10.0, 12.0, "too slow")
    record = published(pipeline="push_users", sla=(breach,))
    target = PushgatewayMetrics(Secret(f"{http_recorder.url}/pg1"))
    assert target.publish(record) == IOSuccess(None)
    (request,) = http_recorder.at("/pg1/")
    assert request.method == "POST"  # only the metrics sent are replaced in the group
    assert request.path == "/pg1/metrics/job/push_users"
    found = {
        (name, frozenset((k, v) for k, v in labels if k != "pipeline")): v
        for (name, labels), v in samples(request.body.decode()).items()
    }

    def got(name: str, **labels: str) -> float:
        return found[(name, frozenset(labels.items()))]

    assert got("lakeflow_run_duration_seconds") == 12.0
    assert got("lakeflow_step_duration_seconds", step="extract") == 6.0
    assert [
        got("lakeflow_run_rows", stage=s) for s in ("extracted", "valid", "quarantined", "loaded")
    ] == [100, 90, 5, 90]
    assert got("lakeflow_run_status", status="published") == 1
    assert got("lakeflow_run_status", status="failed") == 0
    assert got("lakeflow_run_success") == 1
    assert got("lakeflow_quality_score", score="overall") == 0.93
    assert got("lakeflow_last_success_timestamp_seconds") == record.finished_at.timestamp()
    assert got("lakeflow_run_retries") == 1  # extract needed two attempts
    assert got("lakeflow_sla_breaches") == 1
    assert got("lakeflow_sla_breach", check="max_duration_s") == 1
    assert got("lakeflow_sla_breach", check="max_errors") == 0


def test_a_failed_run_does_not_push_a_last_success(http_recorder: HttpRecorder) -> None:
    """A failed run's push leaves the gateway's last success alone (it is not in the body)."""
    target = PushgatewayMetrics(Secret(f"{http_recorder.url}/pg2"))
    assert target.publish(failed()) == IOSuccess(None)
    (request,) = http_recorder.at("/pg2/")
    names = {name for name, _ in samples(request.body.decode())}
    assert "lakeflow_last_success_timestamp_seconds" not in names
    assert "lakeflow_run_success" in names


def test_textfile_is_replaced_and_keeps_the_last_success(tmp_path: Path) -> None:
    """The .prom file parses; after a failed run it still says when the last success was."""
    target = TextfileMetrics(tmp_path)
    ok = published()
    assert target.publish(ok) == IOSuccess(None)
    assert target.publish(replace(failed(), pipeline="users")) == IOSuccess(None)
    found = samples(target.path_of("users").read_text())
    assert value(found, "lakeflow_run_success") == 0
    assert value(found, "lakeflow_run_status", status="failed") == 1
    assert value(found, "lakeflow_last_success_timestamp_seconds") == ok.finished_at.timestamp()
    assert [p.name for p in tmp_path.iterdir()] == ["lakeflow_users.prom"]  # no temp file left


def test_textfile_that_cannot_be_written_is_a_final_failure(tmp_path: Path) -> None:
    """A folder that is a file is a delivery failure value, not an exception."""
    (tmp_path / "taken").write_text("not a folder")
    result = TextfileMetrics(tmp_path / "taken").publish(published())
    assert not isinstance(result, IOSuccess)
    assert TextfileMetrics(tmp_path / "new" / "dir").publish(published()) == IOSuccess(None)
