"""Generate the messy ``users`` source of the example in SQLite (seeded, vectorised).

The mess is the tutorial's: exact duplicate rows, nulls, padded and mixed-case strings, invalid
emails, out-of-range ages and incomes, unknown countries; ``updated_at`` drives incremental
extraction. :func:`add_changes` then adds new users, updates some existing ones and commits a
row whose ``updated_at`` ties the newest one already read: the row a strict ``>`` cursor loses.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import adbc_driver_sqlite.dbapi as sqlite_dbapi
import numpy as np
import polars as pl

__all__ = ["COUNTRIES", "add_changes", "create_users", "read_users"]

COUNTRIES = ("US", "DE", "FR", "GB", "NL", "ES", "IT", "PL", "SE", "CA")
_FIRST = np.array(["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan"])
_LAST = np.array(["smith", "jones", "müller", "dubois", "rossi", "nowak", "garcía", "lee"])
_STATUS = np.array(["active", " Active ", "ACTIVE", "inactive", "pending"])
_DDL = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER NOT NULL,
    name TEXT,
    email TEXT,
    age INTEGER,
    income REAL,
    status TEXT,
    country TEXT,
    created_at TEXT,
    updated_at TIMESTAMP NOT NULL
)
"""


def _timestamps(base: datetime, seconds: np.ndarray) -> list[str]:
    offsets = pl.Series("s", seconds.astype(np.int64) * 1_000_000).cast(pl.Duration("us"))
    stamps = pl.select(pl.lit(base, dtype=pl.Datetime("us")) + offsets).to_series()
    return stamps.dt.strftime("%Y-%m-%d %H:%M:%S").to_list()


def _users(ids: np.ndarray, rng: np.random.Generator, updated: list[str]) -> pl.DataFrame:
    n = len(ids)
    first = rng.choice(_FIRST, n)
    last = rng.choice(_LAST, n)
    names = pl.Series(first).str.to_titlecase() + " " + pl.Series(last)
    emails = pl.Series(first) + "." + pl.Series(last) + pl.Series(ids.astype(str)) + "@example.com"
    frame = pl.DataFrame(
        {
            "id": ids.astype(np.int64),
            "name": names,
            "email": emails,
            "age": rng.integers(14, 90, n),
            "income": np.round(rng.lognormal(10.8, 0.6, n), 2),
            "status": rng.choice(_STATUS, n, p=[0.6, 0.1, 0.1, 0.1, 0.1]),
            "country": rng.choice(np.array(COUNTRIES), n),
            "created_at": _timestamps(datetime(2023, 1, 1), rng.integers(0, 30_000_000, n)),
            "updated_at": updated,
        }
    )
    mess = rng.random((6, n))

    def when(row: int, below: float) -> pl.Expr:
        return pl.lit(pl.Series(mess[row] < below))

    name_col, email = pl.col("name"), pl.col("email")
    age, income = pl.col("age"), pl.col("income")
    return frame.with_columns(
        pl.when(when(0, 0.05))
        .then(pl.lit("  ") + name_col.str.to_uppercase() + pl.lit(" "))
        .otherwise(name_col)
        .alias("name"),
        pl.when(when(1, 0.03))
        .then(email.str.replace("@", " at "))
        .when(when(1, 0.06))
        .then(pl.lit(" ") + email.str.to_uppercase())
        .when(when(1, 0.08))
        .then(None)
        .otherwise(email)
        .alias("email"),
        pl.when(when(2, 0.01)).then(200).when(when(2, 0.03)).then(None).otherwise(age).alias("age"),
        pl.when(when(3, 0.01))
        .then(5e8)
        .when(when(3, 0.02))
        .then(-100.0)
        .when(when(3, 0.04))
        .then(None)
        .otherwise(income)
        .alias("income"),
        pl.when(when(4, 0.02))
        .then(pl.lit("Atlantis"))
        .when(when(4, 0.05))
        .then(pl.lit(" us "))
        .otherwise(pl.col("country"))
        .alias("country"),
        pl.when(when(5, 0.02)).then(None).otherwise(pl.col("status")).alias("status"),
    )


def _write(path: Path, frame: pl.DataFrame) -> None:
    with sqlite3.connect(path) as db:
        db.execute(_DDL)
    with sqlite_dbapi.connect(str(path)) as conn, conn.cursor() as cursor:
        cursor.adbc_ingest("users", frame.to_arrow(), mode="append")
        conn.commit()


def create_users(path: Path, *, rows: int = 2_000, seed: int = 7) -> pl.DataFrame:
    """Effect. Create ``users`` in the SQLite file at ``path`` with ``rows`` messy rows.

    About 1% of the rows are exact duplicates of another row. Returns what was written.
    """
    rng = np.random.default_rng(seed)
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    updated = _timestamps(now - timedelta(days=2), np.sort(rng.integers(0, 86_400, rows)))
    frame = _users(np.arange(1, rows + 1), rng, updated)
    duplicates = frame.sample(n=max(1, rows // 100), seed=seed)
    frame = pl.concat([frame, duplicates])
    _write(path, frame)
    return frame


def read_users(path: Path) -> pl.DataFrame:
    """Effect. Every row of ``users`` (to inspect the source in tests and the example)."""
    with sqlite3.connect(path) as db:
        cursor = db.execute("SELECT * FROM users")
        names = [c[0] for c in cursor.description]
        return pl.DataFrame(cursor.fetchall(), schema=names, orient="row")


def add_changes(path: Path, *, new: int = 500, updated: int = 100, seed: int = 8) -> pl.DataFrame:
    """Effect. Add ``new`` users, re-write ``updated`` existing ones with a newer
    ``updated_at``, and one late user tied with the newest ``updated_at`` already present.

    Returns the added rows.
    """
    rng = np.random.default_rng(seed)
    with sqlite3.connect(path) as db:
        last_id, newest = db.execute("SELECT max(id), max(updated_at) FROM users").fetchone()
    newest_at = datetime.fromisoformat(newest)
    later = _timestamps(newest_at, np.sort(rng.integers(60, 7_200, new + updated)))
    fresh = _users(np.arange(last_id + 1, last_id + 1 + new), rng, later[:new])
    changed_ids = rng.choice(np.arange(1, last_id + 1), updated, replace=False)
    changed = _users(changed_ids, rng, later[new:])
    tie = _users(np.array([last_id + new + 1]), rng, [newest])
    rows = pl.concat([fresh, changed, tie])
    _write(path, rows)
    return rows
