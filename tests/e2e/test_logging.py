"""The CLI's log lines: JSON off a terminal (or with --log-format json), console lines on one,
--log-file, run_id/pipeline/step on every event, and no secret in any line."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.e2e.test_cli import base_config, lakeflow, sqlite_source, write_config
from tests.e2e.test_cli_display import _on_a_terminal
from tests.endpoints import HttpRecorder, SmtpRecorder

SMTP_PASSWORD = "Planted-Smtp-Secret-7731"
HOOK_TOKEN = "planted-hook-token-5512"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _project(tmp_path: Path, env: dict[str, str] | None = None, **extra: object) -> str:
    sqlite_source(tmp_path)
    config = str(write_config(tmp_path, {**base_config(), **extra}))
    assert lakeflow("init", config, env=env).returncode == 0
    return config


def _events(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_json_lines_on_stderr_and_in_the_log_file_carry_run_pipeline_and_step(
    tmp_path: Path,
) -> None:
    """Off a terminal each stderr line is a JSON event with run_id, pipeline and step."""
    config = _project(tmp_path)
    log_file = tmp_path / "logs" / "lakeflow.jsonl"
    done = lakeflow("--log-file", str(log_file), "run", config)
    assert done.returncode == 0, done.stderr
    events = _events(done.stderr)
    steps = [e for e in events if e["event"] == "lakeflow.step"]
    assert {e["step"] for e in steps} >= {"resolve", "extract", "write", "commit", "merge"}
    run_ids = {e["run_id"] for e in steps}
    assert len(run_ids) == 1 and None not in run_ids
    assert all(e["pipeline"] == "users" and "timestamp" in e and "level" in e for e in events)
    assert _events(log_file.read_text()) == events


def test_console_lines_on_a_terminal(tmp_path: Path) -> None:
    """On a terminal, --log-level info shows readable key=value lines, not JSON."""
    shown = ANSI.sub("", _on_a_terminal("--log-level", "info", "run", _project(tmp_path)))
    line = next(x for x in shown.splitlines() if "lakeflow.step" in x and "step=extract" in x)
    assert "pipeline=users" in line and "run_id=" in line
    assert not line.lstrip().startswith("{")


def test_log_format_json_on_a_terminal(tmp_path: Path) -> None:
    """--log-format json gives JSON lines even on a terminal."""
    shown = _on_a_terminal("--log-format", "json", "--log-level", "info", "run", _project(tmp_path))
    lines = [x for x in shown.splitlines() if '"lakeflow.step"' in x]
    assert lines and all(json.loads(x[x.index("{") :])["pipeline"] == "users" for x in lines)


def test_a_planted_secret_is_in_no_log_line(
    tmp_path: Path, http_recorder: HttpRecorder, smtp_server: SmtpRecorder
) -> None:
    """Secrets in the SMTP login and the webhook URL appear in no output, at debug level."""
    monitoring = {
        "sla": {"max_duration_s": 0.001},
        "alerts": {
            "webhook": {"url": f"{http_recorder.url}/status/503/{HOOK_TOKEN}"},
            "email": {
                "to": ["ops@example.com"],
                "smtp": {
                    "host": "127.0.0.1",
                    "port": smtp_server.port,
                    "username": "etl",
                    "password": "${SMTP_PASSWORD}",
                },
            },
            "timeout_seconds": 5,
        },
    }
    env = {"SMTP_PASSWORD": SMTP_PASSWORD}
    config = _project(tmp_path, env, monitoring=monitoring)
    log_file = tmp_path / "all.jsonl"
    done = lakeflow("--log-level", "debug", "--log-file", str(log_file), "run", config, env=env)
    assert done.returncode == 0, done.stderr
    events = _events(done.stderr)
    deliveries = {e["channel"]: e for e in events if e["event"] == "lakeflow.delivery"}
    assert deliveries["webhook"]["ok"] is False and deliveries["email"]["ok"] is False
    assert any(e["event"] == "lakeflow.sla_breach" for e in events)
    everything = done.stdout + done.stderr + log_file.read_text()
    assert SMTP_PASSWORD not in everything and HOOK_TOKEN not in everything
    assert "webhook: NOT sent" in done.stdout and "SLA breach (max_duration_s)" in done.stdout
