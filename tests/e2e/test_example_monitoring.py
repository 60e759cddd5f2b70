"""The users example with its monitoring block, end to end: alerts by email (a real SMTP server)
and webhook, metrics to a Pushgateway-like endpoint and a textfile, and the HTML report drawn
by a real browser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from examples.users.__main__ import CONFIG, main
from lakeflow.lakes import open_lake
from lakeflow.run import runs
from tests.browser import needs_chromium, rendered_dom, screenshot
from tests.endpoints import HttpRecorder, SmtpRecorder

CHARTS = ("chart-duration", "chart-rows", "chart-quality", "chart-quarantine")


@pytest.fixture(scope="module")
def example(
    tmp_path_factory: pytest.TempPathFactory,
    http_recorder: HttpRecorder,
    smtp_server: SmtpRecorder,
) -> Path:
    """The example run in a temporary folder with its own config, its alert channels pointed
    at the local servers (through the variables the config reads) and, because the example
    writes a textfile by default, a Pushgateway URL added. Returns the work folder."""
    root = tmp_path_factory.mktemp("example")
    config = yaml.safe_load(CONFIG.read_text())
    config["monitoring"]["prometheus"]["pushgateway"] = f"{http_recorder.url}/example-pg"
    config_file = root / "pipeline.yaml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SMTP_HOST", "127.0.0.1")
        env.setenv("SMTP_PORT", str(smtp_server.port))
        env.setenv("ALERT_WEBHOOK", f"{http_recorder.url}/example-hook")
        env.setenv("ALERT_ON_SUCCESS", "true")
        assert main(root / "work", config_file) == 0
    return root / "work"


def test_the_example_alerts_and_publishes_metrics_for_each_run(
    example: Path, http_recorder: HttpRecorder, smtp_server: SmtpRecorder
) -> None:
    """Both runs mail and post an alert naming them and push metrics that match their records."""
    lake = open_lake(f"local://{example / 'lake'}", repository="etl-pipeline")
    records = sorted(runs(lake, "users"), key=lambda r: r.started_at)
    assert [r.status for r in records] == ["published", "published"]
    assert all(r.sla == () for r in records), "the example meets its own SLAs"
    assert all(
        {d.channel for d in r.deliveries if d.ok} == {"email", "webhook", "pushgateway", "textfile"}
        for r in records
    )
    mails = smtp_server.to("data-team@example.com")
    posts = http_recorder.at("/example-hook")
    for record in records:
        assert sum(record.run_id in m["Subject"] for m in mails) == 1
        assert sum(record.run_id in p.json()["text"] for p in posts) == 1
    pushes = http_recorder.at("/example-pg/metrics/job/users")
    assert len(pushes) == 2
    last = {
        (s.name, s.labels.get("stage")): s.value
        for family in text_string_to_metric_families(pushes[-1].body.decode())
        for s in family.samples
    }
    assert last[("lakeflow_run_rows", "valid")] == records[-1].rows.valid
    assert last[("lakeflow_run_success", None)] == 1
    textfile = (example / "metrics" / "lakeflow_users.prom").read_text()
    assert f'run_id="{records[-1].run_id}"' in textfile


@needs_chromium
def test_the_example_report_draws_its_runs_in_a_browser(example: Path, tmp_path: Path) -> None:
    """report.html is one offline file whose four charts chromium draws, showing both runs."""
    page = example / "report.html"
    source = page.read_text()
    assert not re.search(r"<script[^>]+src=", source), "no external script: works offline"
    assert not re.search(r"<link[^>]+href=\"?https?:", source)
    lake = open_lake(f"local://{example / 'lake'}", repository="etl-pipeline")
    run_ids = [r.run_id for r in runs(lake, "users")]
    assert all(run_id in source for run_id in run_ids), "each run is in the charts' data"

    dom = rendered_dom(page, tmp_path / "profile")
    errors = re.search(r'<div id="lakeflow-js-errors"[^>]*>(.*?)</div>', dom, re.S)
    assert errors is not None and errors.group(1) == "", errors and errors.group(1)
    drawn = {}
    for chart in CHARTS:
        start = dom.index(f'id="{chart}"')
        end = min(
            (
                dom.find(f'id="{c}"', start + 1)
                for c in CHARTS
                if dom.find(f'id="{c}"', start + 1) > 0
            ),
            default=len(dom),
        )
        part = dom[start:end]
        assert 'class="main-svg"' in part, f"{chart} has no drawing"
        drawn[chart] = part.count('class="point"')
    assert drawn["chart-duration"] == len(run_ids)  # one marker per run
    assert drawn["chart-quality"] == len(run_ids)
    assert drawn["chart-rows"] == 3 * len(run_ids)  # extracted, valid, quarantined
    assert drawn["chart-quarantine"] > 0  # a bar per failed rule
    png = screenshot(page, tmp_path / "report.png", tmp_path / "profile")
    assert png.stat().st_size > 10_000
