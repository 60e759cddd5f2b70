"""Connection plumbing shared by the SQL source and the database sink.

Effectful where it says so. Parses connection URIs once (dialect, TCP endpoints, SQLite path,
the secrets to scrub), checks reachability with a short socket timeout *before* a driver is
involved (connectorx's pool otherwise retries an unreachable server for ~30 s), logs in once
through ADBC on PostgreSQL so that a wrong password fails in milliseconds instead of after
connectorx's retries, and sorts driver errors into retryable and permanent.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from lakeflow.adapters.identifiers import Dialect, dialect_of
from lakeflow.core.secrets import Secret, normalize_uri, redact_uri, scrub, uri_secrets

__all__ = [
    "ConnectionTarget",
    "conversion_problem",
    "first_line",
    "is_retryable",
    "parse_target",
]

_DEFAULT_PORTS: dict[Dialect, int] = {
    "postgresql": 5432,
    "mysql": 3306,
    "mssql": 1433,
    "oracle": 1521,
}
# connectorx-only query parameters that libpq (ADBC) rejects.
_CONNECTORX_PARAMS = frozenset({"cxprotocol"})

# Checked first: a wrong password is wrapped by connectorx in "timed out waiting for connection".
_PERMANENT = re.compile(
    r"authentication failed|no pg_hba\.conf entry|role \S+ does not exist"
    r"|database \S+ does not exist|permission denied|syntax error|does not exist|no such table"
    r"|no such column|not implemented|unsupported|invalid input|violates|out of range"
    r"|SQLSTATE: (?:22|23|28|3D|42)",
    re.IGNORECASE,
)
_TRANSIENT = re.compile(
    r"connection refused|connection reset|broken pipe|timed out|timeout|could not connect"
    r"|server closed the connection|terminating connection|connection (?:closed|lost)"
    r"|the database system is (?:starting up|shutting down|in recovery mode)"
    r"|too many (?:connections|clients)|remaining connection slots|could not serialize access"
    r"|deadlock detected|lock_timeout|canceling statement due to (?:statement|lock) timeout"
    r"|database (?:table )?is locked|SQLITE_BUSY|no route to host|network is unreachable"
    r"|temporary failure in name resolution|failed to lookup address|name or service not known"
    r"|SQLSTATE: (?:08|40001|40P01|53|55P03|57P0|57014)",
    re.IGNORECASE,
)
_RETRYABLE_SQLSTATES = ("08", "40001", "40P01", "53", "55P03", "57P0", "57014")


def is_retryable(text: str, sqlstate: str | None = None) -> bool:
    """Pure. Whether a driver error is transient (network, locks, overload) or permanent."""
    if sqlstate:
        return sqlstate.upper().startswith(_RETRYABLE_SQLSTATES)
    if _PERMANENT.search(text):
        return False
    return _TRANSIENT.search(text) is not None


# connectorx names the position of the column whose value it could not convert, not the column.
_CONVERSION = re.compile(
    r"Conversion error from type (?P<kind>\w+) at index: (?P<index>\d+), (?P<why>.*)"
)


def conversion_problem(text: str, column_names: Callable[[], Sequence[str]]) -> str | None:
    """Effect (``column_names`` may query). A driver's failed value conversion, naming the column.

    connectorx reports ``Conversion error from type Text at index: 3, trailing input`` when a
    SQLite ``DATETIME`` column holds text it cannot read as a time (a zone suffix, another
    layout). ``None`` for other errors.
    """
    found = _CONVERSION.search(text)
    if found is None:
        return None
    names = column_names()
    index = int(found["index"])
    name = names[index] if index < len(names) else None
    column = repr(name) if name is not None else f"number {index + 1}"
    cast = f'CAST("{name}" AS TEXT) AS "{name}"' if name is not None else "CAST(... AS TEXT)"
    return (
        f"cannot read column {column}: a {found['kind']} value could not be converted to the "
        f"column's declared type ({first_line(found['why'], 200)}); connectorx reads SQLite "
        "DATETIME values written as YYYY-MM-DD HH:MM:SS[.ffffff] only: select the column as "
        f"text in a query ({cast}) or fix the values"
    )


def first_line(text: str, limit: int = 600) -> str:
    """Pure. The first non-empty paragraph of a driver message, shortened to ``limit``."""
    stripped = text.strip()
    cut = stripped.split("\n\n", 1)[0].strip()
    return cut if len(cut) <= limit else cut[: limit - 1] + "…"


def _endpoints(netloc: str, default_port: int | None) -> tuple[tuple[str, int], ...]:
    """Pure. ``host[:port]`` pairs from a URI authority (several for PostgreSQL multi-host)."""
    hostpart = netloc.rsplit("@", 1)[-1]
    found: list[tuple[str, int]] = []
    for item in hostpart.split(","):
        if not item:
            continue
        match = re.fullmatch(
            r"\[(?P<v6>[^\]]+)\](?::(?P<p6>\d+))?|(?P<h>[^:]*)(?::(?P<p>\d+))?", item
        )
        if match is None:
            continue
        host = match["v6"] or match["h"] or ""
        port_text = match["p6"] or match["p"]
        port = int(port_text) if port_text else default_port
        if host and port is not None:
            found.append((unquote(host), port))
    return tuple(found)


def driver_errors() -> tuple[type[Exception], ...]:
    """Effect (imports the drivers). What the SQL drivers raise for a failed connection or
    statement: connectorx's ``RuntimeError``, ADBC's DB-API errors, pyarrow's errors, socket
    and OS errors, ``sqlite3`` errors. Adapters catch these (and panics) — nothing broader, so a
    bug in lakeflow is never reported as a database failure."""
    import sqlite3

    import adbc_driver_manager
    import pyarrow

    return (RuntimeError, adbc_driver_manager.Error, pyarrow.ArrowException, OSError, sqlite3.Error)


@dataclass(frozen=True, slots=True)
class ConnectionTarget:
    """A parsed connection URI. Holds the URI as a :class:`Secret`; ``display`` is redacted."""

    uri: Secret
    dialect: Dialect
    display: str
    endpoints: tuple[tuple[str, int], ...]
    sqlite_path: Path | None
    secrets: tuple[Secret, ...]

    def scrub(self, text: str) -> str:
        """Pure. ``text`` without this URI's password (raw or percent-decoded)."""
        return scrub(text, self.secrets)

    def connectorx_uri(self) -> str:
        """Pure. The URI connectorx takes (SQLite: ``sqlite://`` + absolute path)."""
        if self.sqlite_path is not None:
            return "sqlite://" + quote(str(self.sqlite_path))
        return self.uri.reveal()

    def adbc_uri(self, connect_timeout: float) -> str:
        """Pure. The URI ADBC takes: ``file:`` for SQLite; libpq URI with a connect timeout."""
        if self.sqlite_path is not None:
            return "file:" + quote(str(self.sqlite_path))
        parts = urlsplit(self.uri.reveal())
        query = [(k, v) for k, v in parse_qsl(parts.query) if k not in _CONNECTORX_PARAMS]
        if not any(k == "connect_timeout" for k, _ in query):
            query.append(("connect_timeout", str(max(1, round(connect_timeout)))))
        scheme = "postgresql" if self.dialect == "postgresql" else parts.scheme
        return urlunsplit((scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))

    def unreachable(self, timeout: float) -> str | None:
        """Effect. Why no endpoint accepts a TCP connection within ``timeout`` s, else ``None``.

        URIs without a TCP host (SQLite, unix sockets) are not checked here.
        """
        reasons: list[str] = []
        for host, port in self.endpoints:
            try:
                with socket.create_connection((host, port), timeout=timeout):
                    return None
            except OSError as exc:
                reasons.append(f"{host}:{port}: {exc.strerror or exc}")
        if not reasons:
            return None
        return "cannot reach the database server (" + "; ".join(reasons) + ")"

    def login_error(self, connect_timeout: float) -> Exception | None:
        """Effect. Log in once through ADBC's libpq (PostgreSQL); the error, or ``None``.

        Uses the low-level driver API: it avoids importing the DB-API layer (~0.2 s).
        """
        import adbc_driver_manager
        import adbc_driver_postgresql

        try:
            database = adbc_driver_postgresql.connect(self.adbc_uri(connect_timeout))
        except driver_errors() as exc:  # the driver's errors become values at the boundary
            return exc
        try:
            adbc_driver_manager.AdbcConnection(database).close()
        except driver_errors() as exc:
            return exc
        finally:
            database.close()
        return None

    @contextmanager
    def adbc_connection(self, connect_timeout: float) -> Iterator[Any]:
        """Effect. An ADBC DB-API connection (autocommit off), closed afterwards."""
        if self.sqlite_path is not None:
            import adbc_driver_sqlite.dbapi as sqlite_dbapi

            conn = sqlite_dbapi.connect(self.adbc_uri(connect_timeout))
        elif self.dialect == "postgresql":
            import adbc_driver_postgresql.dbapi as pg_dbapi

            conn = pg_dbapi.connect(self.adbc_uri(connect_timeout))
        else:
            raise ValueError(f"no ADBC driver for {self.dialect} URIs (PostgreSQL and SQLite)")
        try:
            yield conn
        finally:
            conn.close()


def parse_target(uri: str | Secret) -> ConnectionTarget | str:
    """Pure. A :class:`ConnectionTarget`, or a secret-free message saying what is wrong."""
    raw = uri.reveal() if isinstance(uri, Secret) else uri
    secrets = tuple(uri_secrets(raw)) if isinstance(raw, str) else ()
    if not isinstance(raw, str) or "://" not in raw:
        return "the connection URI must look like scheme://… (postgresql://, sqlite:///path)"
    display = redact_uri(raw)
    dialect = dialect_of(raw)
    if dialect == "sqlite":
        rest = raw.split("://", 1)[1]
        if "?" in rest or not rest:
            return (
                f"{display}: a SQLite URI is sqlite:///absolute/path.db (or sqlite://relative.db); "
                "query parameters are not supported"
            )
        path = Path(unquote(rest)).expanduser().absolute()
        return ConnectionTarget(Secret(raw), dialect, display, (), path, secrets)
    # Drivers disagree on unencoded user-info (libpq splits at the first '@', connectorx at the
    # last): hand every driver the same, percent-encoded form.
    normalized = normalize_uri(raw)
    try:
        parts = urlsplit(normalized)
    except ValueError as exc:
        return f"{display}: not a valid URI ({scrub(str(exc), secrets)})"
    endpoints = _endpoints(parts.netloc, _DEFAULT_PORTS.get(dialect))
    return ConnectionTarget(Secret(normalized), dialect, display, endpoints, None, secrets)
