"""Small HTML tables for notebooks and emails (``_repr_html_`` of records, reports, validation).

Pure. Every value is escaped; numbers are right-aligned. The markup is plain ``<table>`` with
inline styles only, so it reads the same in Jupyter, VS Code, GitHub and an email client.

>>> print(table(["rule", "rows"], [["adult <18", 3]]).count("<td"), escape("<18"))
2 &lt;18
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape

__all__ = ["cell", "fields_table", "table", "titled"]

_TABLE = 'style="border-collapse:collapse;font-family:sans-serif;font-size:13px"'
_TH = 'style="text-align:left;padding:2px 8px;border-bottom:1px solid #999"'
_TD = 'style="padding:2px 8px;border-bottom:1px solid #eee;{align}"'


def cell(value: object) -> str:
    """Pure. A value as table-cell text: floats to 4 significant digits, ``None`` as ``-``."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _td(value: object) -> str:
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    align = "text-align:right" if numeric else "text-align:left"
    return f"<td {_TD.format(align=align)}>{escape(cell(value))}</td>"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Pure. An HTML table with ``headers`` and one row per item of ``rows``."""
    head = "".join(f"<th {_TH}>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_td(v) for v in row) + "</tr>" for row in rows)
    return f"<table {_TABLE}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def fields_table(fields: Mapping[str, object]) -> str:
    """Pure. A two-column table: one row per field name and its value."""
    return table(["field", "value"], [[name, value] for name, value in fields.items()])


def titled(title: str, *parts: str) -> str:
    """Pure. ``parts`` under a bold title, in one ``<div>``."""
    return (
        f'<div><p style="font-family:sans-serif;font-weight:bold">{escape(title)}</p>'
        + "".join(parts)
        + "</div>"
    )
