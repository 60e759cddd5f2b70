"""The report as ONE self-contained HTML file with charts drawn by plotly (``lakeflow[report]``).

Pure apart from importing plotly: :func:`report_html` returns the page as text. plotly.js is
inlined once (``include_plotlyjs=True``, the copy shipped inside the plotly wheel), so the file
opens offline, attaches to a ticket and never calls a CDN. Charts: duration per run over time,
rows per run over time (extracted, valid, quarantined), the quality score over time and the
quarantine reasons (rows per failed rule); each point's hover names its run and status. The
summary and per-run tables follow (:meth:`~lakeflow.core.report.Report.html_tables`). A script
at the top writes any JavaScript error into ``#lakeflow-js-errors``, so a headless browser (and
the test that drives one) can see that the charts drew.
"""

from __future__ import annotations

from html import escape
from typing import Any

from lakeflow.core.errors import LakeflowError
from lakeflow.core.report import Report, RunRow

__all__ = ["CHART_IDS", "report_html"]

CHART_IDS = ("chart-duration", "chart-rows", "chart-quality", "chart-quarantine")
_STATUS_COLOURS = {
    "published": "#2ca02c",
    "committed": "#1f77b4",
    "published_not_loaded": "#ff7f0e",
    "failed": "#d62728",
}
_ERRORS_SCRIPT = """<script>
window.addEventListener("error", function (e) {
  var box = document.getElementById("lakeflow-js-errors");
  if (box) { box.textContent += (e.message || "error") + "\\n"; box.hidden = false; }
});
</script>"""
_STYLE = """<style>
body { font-family: sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 16px; }
.chart { border: 1px solid #ddd; border-radius: 4px; padding: 4px; }
#lakeflow-js-errors { color: #b00; white-space: pre; }
</style>"""


def _plotly() -> tuple[Any, Any]:
    try:
        import plotly.graph_objects as go
        import plotly.io as pio
    except ImportError as exc:  # the optional extra is not installed
        raise LakeflowError(
            "the HTML report draws its charts with plotly: pip install 'lakeflow[report]'"
        ) from exc
    return go, pio


def _hover(rows: tuple[RunRow, ...]) -> list[str]:
    return [
        f"{r.run_id}<br>{r.status}" + (f" at {r.failed_step}" if r.failed_step else "")
        for r in rows
    ]


def _layout(title: str, y: str) -> dict[str, object]:
    return {
        "title": {"text": title},
        "template": "plotly_white",
        "height": 360,
        "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
        "yaxis": {"title": {"text": y}, "rangemode": "tozero"},
        "xaxis": {"title": {"text": "run started (UTC)"}},
        "legend": {"orientation": "h", "y": -0.25},
    }


def _figures(report: Report) -> list[tuple[str, Any]]:
    go, _ = _plotly()
    runs = report.runs
    when = [r.started_at for r in runs]
    hover = _hover(runs)
    colours = [_STATUS_COLOURS.get(r.status, "#7f7f7f") for r in runs]
    duration = go.Figure(
        go.Scatter(
            x=when,
            y=[r.duration_s for r in runs],
            mode="lines+markers",
            name="duration",
            marker={"color": colours, "size": 9},
            line={"color": "#999"},
            text=hover,
            hovertemplate="%{text}<br>%{y:.2f}s<extra></extra>",
        ),
        layout=_layout("Duration per run", "seconds"),
    )
    rows = go.Figure(layout=_layout("Rows per run", "rows"))
    for stage, colour in (
        ("extracted", "#1f77b4"),
        ("valid", "#2ca02c"),
        ("quarantined", "#d62728"),
    ):
        rows.add_trace(
            go.Scatter(
                x=when,
                y=[getattr(r, stage) for r in runs],
                mode="lines+markers",
                name=stage,
                line={"color": colour},
                text=hover,
                hovertemplate="%{text}<br>%{y:,} " + stage + "<extra></extra>",
            )
        )
    scored = [r for r in runs if r.quality is not None]
    quality = go.Figure(
        go.Scatter(
            x=[r.started_at for r in scored],
            y=[r.quality for r in scored],
            mode="lines+markers",
            name="overall score",
            line={"color": "#9467bd"},
            text=_hover(tuple(scored)),
            hovertemplate="%{text}<br>score %{y:.3f}<extra></extra>",
        ),
        layout=_layout("Quality score per run (overall, 0-1)", "score"),
    )
    quality.update_yaxes(range=[0, 1.05], rangemode=None)
    reasons = [(rule, rows_) for rule, _, rows_ in report.failed_rules if rows_ > 0][:15]
    quarantine = go.Figure(
        go.Bar(
            x=[n for _, n in reversed(reasons)],
            y=[rule for rule, _ in reversed(reasons)],
            orientation="h",
            marker={"color": "#d62728"},
            name="rows",
            hovertemplate="%{y}: %{x:,} rows<extra></extra>",
        ),
        layout=_layout("Quarantine reasons (rows per failed rule)", ""),
    )
    quarantine.update_layout(
        xaxis={"title": {"text": "rows quarantined"}}, yaxis={"automargin": True}
    )
    return list(zip(CHART_IDS, (duration, rows, quality, quarantine), strict=True))


def report_html(report: Report) -> str:
    """The report as one HTML page with its charts and tables (plotly.js inlined).

    Raises:
        LakeflowError: plotly is not installed (``pip install 'lakeflow[report]'``).
    """
    _, pio = _plotly()
    title = f"lakeflow report: {report.pipeline}"
    window = f"{report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC"
    if report.runs:
        divs = []
        for index, (div_id, figure) in enumerate(_figures(report)):
            div = pio.to_html(
                figure,
                full_html=False,
                include_plotlyjs=index == 0,
                div_id=div_id,
                config={"displaylogo": False, "responsive": True},
            )
            divs.append(f'<div class="chart">{div}</div>')
        charts = '<div class="charts">' + "".join(divs) + "</div>"
    else:
        charts = "<p>No runs in this window.</p>"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title>{_STYLE}{_ERRORS_SCRIPT}</head><body>"
        f"<h1>{escape(title)}</h1><p>{escape(window)}; {report.total} run(s)</p>"
        '<div id="lakeflow-js-errors" hidden></div>'
        f"{charts}<h2>Summary and runs</h2>{report.html_tables()}"
        "</body></html>\n"
    )
