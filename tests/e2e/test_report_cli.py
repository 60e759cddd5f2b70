"""`lakeflow report` and `lakeflow health` on a real project's history (subprocesses)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_cli import base_config, lakeflow, sqlite_source, write_config
from tests.endpoints import SmtpRecorder


def _project(tmp_path: Path, monitoring: dict[str, object] | None = None) -> str:
    sqlite_source(tmp_path)
    extra = {"monitoring": monitoring} if monitoring else {}
    config = str(write_config(tmp_path, {**base_config(), **extra}))
    assert lakeflow("init", config).returncode == 0
    return config


def test_report_json_sums_up_the_history(tmp_path: Path) -> None:
    """Two runs (one with data, one with none): the JSON report counts both, with their rows."""
    config = _project(tmp_path, {"sla": {"max_quarantined_rows": 0}})
    for _ in range(2):
        assert lakeflow("run", config).returncode == 0
    done = lakeflow("report", config, "--since", "1h", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["runs"], report["succeeded"], report["success_rate"]) == (2, 2, 1.0)
    assert report["rows"] == {"extracted": 20, "valid": 15, "quarantined": 5, "loaded": 0}
    assert report["sla_breaches"] == 1  # the first run quarantined the minors
    assert report["failed_rules"][0]["rows"] == 5
    assert len(report["per_run"]) == 2
    text = lakeflow("report", config).stdout
    assert "- Total runs: 2" in text and "- SLA breaches: 1 (max_quarantined_rows 1)" in text


def test_report_email_is_the_daily_summary(tmp_path: Path, smtp_server: SmtpRecorder) -> None:
    """--email sends the summary (text and an HTML table) to monitoring.alerts.email."""
    email = {"to": ["daily@example.com"], "smtp": {"host": "127.0.0.1", "port": smtp_server.port}}
    config = _project(tmp_path, {"alerts": {"email": email}})
    assert lakeflow("run", config).returncode == 0
    done = lakeflow("report", config, "--since", "24h", "--email")
    assert done.returncode == 0, done.stderr
    (mail,) = smtp_server.to("daily@example.com")
    assert mail["Subject"] == "Daily report: users (last 24h)"
    plain, html = (
        bytes(part.get_payload(decode=True)).decode()
        for part in mail.walk()
        if part.get_content_maintype() == "text"
    )
    assert "- Total runs: 1" in plain and "- Successful runs: 1" in plain
    assert "<table" in html


def test_report_refuses_bad_options_before_any_work(tmp_path: Path) -> None:
    """A bad --since, and --email without an email channel, exit 2 saying why."""
    config = _project(tmp_path)
    bad = lakeflow("report", config, "--since", "soon")
    assert bad.returncode == 2 and "--since 'soon'" in bad.stderr
    no_mail = lakeflow("report", config, "--email")
    assert no_mail.returncode == 2 and "monitoring.alerts.email" in no_mail.stderr


def test_health_fails_when_the_pipeline_is_stale(tmp_path: Path) -> None:
    """max_staleness_s: health is unhealthy before any publish, and healthy right after one."""
    config = _project(tmp_path, {"sla": {"max_staleness_s": 3600}})
    never = lakeflow("health", config)
    assert (
        never.returncode == 1 and "freshness FAILED  the pipeline never published" in never.stdout
    )
    assert lakeflow("run", config).returncode == 0
    fresh = lakeflow("health", config)
    assert fresh.returncode == 0, fresh.stdout
    assert "freshness ok" in fresh.stdout
