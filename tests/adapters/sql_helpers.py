"""Test helpers for the SQL adapter tests: set up rows in real databases, unwrap IO results."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
from returns.io import IOResult
from returns.primitives.exceptions import UnwrapFailedError
from returns.unsafe import unsafe_perform_io

from lakeflow.core.incremental import (
    IncrementalSpec,
    Watermark,
    advance,
    after_watermark,
    watermark_stats,
)

T = TypeVar("T")
E = TypeVar("E")


def ok(result: IOResult[T, E]) -> T:
    """The success value of an IOResult; fails the test with the failure otherwise."""
    try:
        return unsafe_perform_io(result.unwrap())
    except UnwrapFailedError:
        failure = unsafe_perform_io(result.failure())
        raise AssertionError(f"expected success, got {failure!r}") from None


def err(result: IOResult[T, E]) -> E:
    """The failure value of an IOResult; fails the test if it succeeded."""
    try:
        return unsafe_perform_io(result.failure())
    except UnwrapFailedError:
        value = unsafe_perform_io(result.unwrap())
        raise AssertionError(f"expected a failure, got success {value!r}") from None


class Database:
    """Runs setup SQL with ``?`` placeholders in a real PostgreSQL or SQLite database."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.kind = "sqlite" if uri.startswith("sqlite") else "postgresql"

    @property
    def path(self) -> Path:
        """The SQLite file behind a ``sqlite://`` URI."""
        return Path(self.uri.split("://", 1)[1])

    def execute(self, sql: str, rows: Sequence[Sequence[Any]] | None = None) -> None:
        """Run one statement (for each row of parameters, when given) and commit."""
        if self.kind == "sqlite":
            with sqlite3.connect(self.path) as conn:
                if rows is None:
                    conn.execute(sql)
                else:
                    conn.executemany(sql, rows)
            conn.close()
            return
        import adbc_driver_postgresql.dbapi as pg

        numbered = sql
        for i in range(1, sql.count("?") + 1):
            numbered = numbered.replace("?", f"${i}", 1)
        with pg.connect(self.uri, autocommit=True) as conn, conn.cursor() as cur:
            if rows is None:
                cur.execute(numbered)
            else:
                cur.executemany(numbered, list(rows))

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """All rows of a query."""
        if self.kind == "sqlite":
            with sqlite3.connect(self.path) as conn:
                rows = conn.execute(sql).fetchall()
            conn.close()
            return rows
        import adbc_driver_postgresql.dbapi as pg

        with pg.connect(self.uri, autocommit=True) as conn, conn.cursor() as cur:
            cur.execute(sql)
            fetched: list[tuple[Any, ...]] = cur.fetchall()
            return fetched


def publish(
    frame: pl.LazyFrame, previous: Watermark | None, spec: IncrementalSpec
) -> tuple[pl.DataFrame, Watermark | None]:
    """Do what the shell does with an extracted frame: drop published rows, advance, persist.

    The checkpoint goes through JSON like the real one, so a watermark that does not survive
    serialisation would fail here.
    """
    new = after_watermark(frame, previous, spec).unwrap().collect()
    stats = watermark_stats(new.lazy(), spec).collect().row(0, named=True)
    nxt = advance(previous, stats, spec, new.schema).unwrap()
    return new, (Watermark.from_json(nxt.to_json()) if nxt is not None else None)
