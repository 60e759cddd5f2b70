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
_IDENTIFIER = re.compile(r"[^\W\d][\w$]*")  # matched in full: `$` would accept "name\n"


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
        return repr(value) if isinstance(value, float) else format(value, "f")
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
