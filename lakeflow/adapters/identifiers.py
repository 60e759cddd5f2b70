"""SQL identifiers and typed literals for the SQL adapters: validated, quoted, never pasted raw.

Pure. connectorx has no bind parameters, so the few values lakeflow puts into SQL (watermarks,
partition bounds) are rendered as typed literals from their Python type, per dialect, and every
table and column name is validated and quoted before it reaches a database.

>>> quote_table("sales.orders", "postgresql")
'"sales"."orders"'
>>> sql_literal("O'Brien", "postgresql")
"'O''Brien'"
>>> print(at_or_after('"ts"', datetime(2024, 1, 2, 3, 4, 5), "sqlite"))
julianday("ts") >= julianday('2024-01-02 03:04:05.000000')
>>> validate_identifier("users; drop table users; --")
Traceback (most recent call last):
...
ValueError: invalid SQL identifier 'users; drop table users; --': ...
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal, TypeAlias

from lakeflow.core.incremental import TIMESTAMP_TEXT

__all__ = [
    "Dialect",
    "at_or_after",
    "dialect_of",
    "quote_columns",
    "quote_identifier",
    "quote_table",
    "split_table",
    "sql_literal",
    "table_problem",
    "text_at_or_after",
    "validate_identifier",
]

Dialect: TypeAlias = Literal["postgresql", "sqlite", "mysql", "mssql", "oracle", "other"]

_SCHEMES: dict[str, Dialect] = {
    "postgres": "postgresql",
    "postgresql": "postgresql",
    "redshift": "postgresql",
    "sqlite": "sqlite",
    "mysql": "mysql",
    "mariadb": "mysql",
    "mssql": "mssql",
    "oracle": "oracle",
}
_MAX_IDENTIFIER = 128
# A name: a letter or underscore, then letters, digits, underscores or `$` (any Unicode letter).
# Always used with fullmatch: `$` alone would also accept a name followed by a newline.
_IDENTIFIER = re.compile(r"[^\W\d][\w$]*")


def dialect_of(uri: str) -> Dialect:
    """Pure. The SQL dialect of a connection URI, from its scheme (``other`` if unknown)."""
    scheme = uri.split(":", 1)[0].lower()
    return _SCHEMES.get(scheme.split("+", 1)[0], "other")


def validate_identifier(name: str) -> str:
    """Pure. ``name`` if it is a plain SQL name; raises ``ValueError`` naming the rule otherwise.

    Letters, digits, underscores and ``$`` only, not starting with a digit, at most 128
    characters. Names are quoted when used, so case is kept exactly and reserved words work.
    """
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name) or len(name) > _MAX_IDENTIFIER:
        raise ValueError(
            f"invalid SQL identifier {name!r}: use letters, digits and underscores, not starting "
            f"with a digit, at most {_MAX_IDENTIFIER} characters (and '.' only between schema "
            "and table); nothing was sent to the database"
        )
    return name


def split_table(table: str) -> tuple[str, ...]:
    """Pure. ``[catalog.][schema.]table`` split into validated parts; raises ``ValueError``."""
    parts = table.split(".") if isinstance(table, str) else [table]
    if not 1 <= len(parts) <= 3:
        raise ValueError(
            f"invalid table name {table!r}: expected [schema.]table; nothing was sent to the "
            "database"
        )
    try:
        return tuple(validate_identifier(p) for p in parts)
    except ValueError:
        raise ValueError(
            f"invalid table name {table!r}: each part of [schema.]table must use letters, "
            "digits and underscores, not start with a digit; nothing was sent to the database"
        ) from None


def table_problem(table: str) -> str | None:
    """Pure. Why ``table`` is not a valid ``[schema.]table`` name, or ``None`` when it is."""
    try:
        split_table(table)
    except ValueError as exc:
        return str(exc)
    return None


def quote_identifier(name: str, dialect: Dialect) -> str:
    """Pure. ``name`` validated and quoted for ``dialect`` (``"x"``, ```x``` or ``[x]``)."""
    validate_identifier(name)
    if dialect == "mysql":
        return f"`{name}`"
    if dialect == "mssql":
        return f"[{name}]"
    return f'"{name}"'


def quote_table(table: str, dialect: Dialect) -> str:
    """Pure. ``[schema.]table`` validated and quoted part by part."""
    return ".".join(quote_identifier(p, dialect) for p in split_table(table))


def quote_columns(names: Sequence[str], dialect: Dialect) -> str:
    """Pure. A comma-separated list of quoted column names."""
    return ", ".join(quote_identifier(n, dialect) for n in names)


def _string_literal(text: str, dialect: Dialect) -> str:
    if "\x00" in text:
        raise ValueError("a SQL string literal cannot contain a NUL character")
    quoted = text.replace("'", "''")
    if "\\" in text and dialect in ("postgresql", "mysql"):
        # PostgreSQL E'' strings and MySQL's default mode treat backslash as an escape.
        quoted = quoted.replace("\\", "\\\\")
        return f"E'{quoted}'" if dialect == "postgresql" else f"'{quoted}'"
    return f"'{quoted}'"


def _timestamp_text(value: datetime) -> str:
    # isoformat, not strftime: strftime("%Y") does not pad years before 1000 on every platform.
    return value.isoformat(sep=" ", timespec="microseconds")


def sql_literal(value: object, dialect: Dialect) -> str:
    """Pure. A typed SQL literal for a watermark or bound; raises ``ValueError`` if impossible.

    ``int``/``float``/``Decimal`` as numbers (NaN and infinities refused); ``date`` and
    ``datetime`` as typed literals (naive ``TIMESTAMP``, aware ``TIMESTAMPTZ`` in UTC on
    PostgreSQL; SQLite keeps time as text, so its literals are ISO text in UTC); ``str`` quoted
    with quotes doubled (and backslashes escaped where the dialect treats them as escapes).
    """
    if isinstance(value, bool) or value is None:
        raise ValueError(f"cannot use {value!r} as a SQL bound: use a number, date, time or text")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        if not math.isfinite(value):
            raise ValueError(f"cannot use the non-finite number {value!r} as a SQL bound")
        if isinstance(value, Decimal):
            return format(value, "f")
        if (
            dialect == "sqlite"
            and value != 0
            and not _SQLITE_EXACT <= abs(value) <= 1 / _SQLITE_EXACT
        ):
            return _exact_product(value)
        return repr(value)
    if isinstance(value, datetime):
        return _datetime_literal(value, dialect)
    if isinstance(value, date):
        text = value.isoformat()
        if dialect == "sqlite":
            return f"'{text}'"
        if dialect == "mssql":
            return f"CAST('{text}' AS DATE)"
        return f"DATE '{text}'"
    if isinstance(value, str):
        return _string_literal(value, dialect)
    raise ValueError(f"cannot use a {type(value).__name__} value as a SQL bound")


_SQLITE_EXACT = 2.0**-900
"""SQLite's own decimal parser is off by one unit in the last place for some numbers far from
1 (seen near 1e-293 with SQLite 3.40); between 2**-900 and 2**900 shortest reprs parse back."""


def _exact_product(value: float) -> str:
    """Pure. ``value`` as an exact product SQLite evaluates bit for bit: an integer mantissa
    (exact up to 2**53) times powers of two in SQLite's exactly-parsed range."""
    mantissa, exponent = math.frexp(value)
    digits = int(mantissa * 2**53)
    power = exponent - 53
    factors = []
    while power != 0:
        step = max(-800, min(800, power))
        factors.append(repr(2.0**step))
        power -= step
    return "(" + " * ".join([str(digits), *factors]) + ")"


def _datetime_literal(value: datetime, dialect: Dialect) -> str:
    aware = value.tzinfo is not None and value.utcoffset() is not None
    utc = value.astimezone(UTC).replace(tzinfo=None) if aware else value
    text = _timestamp_text(utc)
    if dialect == "postgresql":
        return f"TIMESTAMPTZ '{text}+00:00'" if aware else f"TIMESTAMP '{text}'"
    if dialect == "sqlite":
        return f"'{text}'"
    if dialect == "mssql":
        return f"CAST('{text}' AS DATETIME2)"
    return f"TIMESTAMP '{text}'"


def at_or_after(column_sql: str, value: object, dialect: Dialect) -> str:
    """Pure. A SQL condition ``column >= value`` that never drops a row at or after ``value``.

    ``column_sql`` must already be quoted. On SQLite, times are text in several formats
    (``2024-01-01 12:00:00``, ``2024-01-01T12:00:00.5``), and comparing text would drop a row
    written ``12:00:00`` against a bound ``12:00:00.000000``; both sides go through
    ``julianday`` instead, which parses every ISO form (millisecond resolution: a few extra
    rows may be read, never fewer; the shell removes the extra ones).
    """
    literal = sql_literal(value, dialect)
    if dialect == "sqlite" and isinstance(value, date):
        return f"julianday({column_sql}) >= julianday({literal})"
    return f"{column_sql} >= {literal}"


# Text lakeflow reads as a timestamp (lakeflow.core.incremental.TIMESTAMP_TEXT), as a POSIX
# regular expression for PostgreSQL, and text that ends in a time with a zone.
_PG_TIMESTAMP = r"^\s*" + re.sub(r"\(\?P<\w+>", "(", TIMESTAMP_TEXT) + r"\s*$"
_PG_ZONED = r"[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?\s*([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)\s*$"
# The common forms of TIMESTAMP_TEXT as SQLite GLOB patterns (exact lengths): SQLite's julianday
# reads them as lakeflow does. Its parser also accepts text lakeflow does not (two spaces, more
# fraction digits) and normalises impossible values (24:00, February 30): such text is kept.
_D = "[0-9]"
_SQLITE_DATE = f"{_D * 4}-{_D * 2}-{_D * 2}"
_SQLITE_TIMESTAMPS = (
    _SQLITE_DATE,
    *(
        f"{_SQLITE_DATE}[T ]{_D * 2}:{_D * 2}{seconds}{zone}"
        for seconds in ("", f":{_D * 2}", f":{_D * 2}.{_D * 3}", f":{_D * 2}.{_D * 6}")
        for zone in ("", "Z", f"[+-]{_D * 2}:{_D * 2}")
    ),
)


def text_at_or_after(column_sql: str, instant: datetime, dialect: Dialect) -> str | None:
    """Pure. A SQL condition keeping every row of a *text* timestamp column at or after ``instant``.

    The text is compared as an instant (text without a zone is UTC), never as text, and rows
    whose text is not a timestamp are kept too (the shell then reports them): a superset of
    the rows lakeflow selects exactly afterwards, never fewer. ``None`` when the dialect has no
    such condition here (every row is read then). ``column_sql`` must already be quoted.

    SQLite compares the common ISO forms through ``julianday`` (millisecond resolution, rounded
    the same way on both sides) and keeps text in other forms, which lakeflow then filters
    exactly (read again each run). PostgreSQL casts text lakeflow reads as a timestamp
    (:data:`~lakeflow.core.incremental.TIMESTAMP_TEXT`) with a zone to ``timestamptz`` and
    without one to ``timestamp`` at UTC, so the session's time zone plays no part; other text
    (February 30 included) is kept.
    """
    aware = instant.astimezone(UTC) if instant.tzinfo is not None else instant.replace(tzinfo=UTC)
    literal = _datetime_literal(aware, dialect)
    if dialect == "sqlite":
        c = column_sql
        # julianday also reads bare numbers (as Julian days), 'now' and lenient forms: only the
        # common forms, with a possible date and hour, go through it; other text is kept.
        forms = " OR ".join(f"{c} GLOB '{pattern}'" for pattern in _SQLITE_TIMESTAMPS)
        plain = (
            f"({forms}) AND substr({c}, 1, 4) BETWEEN '0002' AND '9998' "
            f"AND date(julianday(substr({c}, 1, 10))) IS substr({c}, 1, 10) "
            f"AND (length({c}) = 10 OR substr({c}, 12, 2) < '24')"
        )
        return (
            f"CASE WHEN {plain} THEN julianday({c}) >= julianday({literal}) "
            f"OR julianday({c}) IS NULL ELSE {c} IS NOT NULL END"
        )
    if dialect == "postgresql":
        text = f"CAST({column_sql} AS text)"
        as_instant = (
            f"CASE WHEN {text} ~ '{_PG_ZONED}' THEN CAST({text} AS timestamptz) "
            f"ELSE CAST({text} AS timestamp) AT TIME ZONE 'UTC' END"
        )
        # Nested CASEs: PostgreSQL evaluates them in order (unlike AND), so a cast only ever
        # sees text in lakeflow's form, in years 0002-9998 (0001 and 9999 may leave Python's
        # range in UTC), on a real calendar day (February 30 would make the cast fail).
        day = f"substring({text} from '^\\s*([0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}})')"
        first = f"CAST(substr({day}, 1, 8) || '01' AS date)"
        real_day = f"to_char({first} + (CAST(substr({day}, 9, 2) AS int) - 1), 'YYYY-MM-DD')"
        return (
            f"CASE WHEN {text} ~ '{_PG_TIMESTAMP}' "
            f"THEN CASE WHEN substr({day}, 1, 4) COLLATE \"C\" BETWEEN '0002' AND '9998' "
            f"THEN CASE WHEN {real_day} = {day} THEN {as_instant} >= {literal} "
            "ELSE TRUE END ELSE TRUE END "
            f"ELSE {column_sql} IS NOT NULL END"
        )
    return None
