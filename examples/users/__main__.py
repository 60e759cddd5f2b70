"""Run the users example end to end: ``python -m examples.users`` (``make run``).

1. generate a messy ``users`` table in SQLite (``work/users.db``);
2. ``lakeflow init`` the local lake (``work/lake``);
3. ``lakeflow run``: the initial load, merged by ``id`` into the Delta table
   ``validated_data/users`` on ``main`` and upserted into ``work/warehouse.db``;
4. add new users, updates and a row tied with the last watermark;
5. ``lakeflow run`` again: only the new and changed rows, nothing lost, nothing twice; main's
   table still holds one row per user, like the warehouse;
6. ``lakeflow runs``: the history; ``lakeflow report --html``: the report with charts
   (``work/report.html``, one file that opens offline).

Monitoring (``monitoring:`` in the config): each run is checked against its SLAs, alerts go
by email and webhook when a run fails or breaks one, and metrics are written for
node-exporter's textfile collector (``work/metrics/``).

Everything it writes lives under ``examples/users/work/`` (recreated on every run).
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
from pathlib import Path

import polars as pl

from examples.users.generate import add_changes, create_users
from lakeflow.cli import main as lakeflow
from lakeflow.lakes import open_lake

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "pipeline.yaml"


def _lakeflow(*args: str) -> int:
    print(f"\n$ lakeflow {' '.join(_relative(a) for a in args)}", flush=True)
    try:
        lakeflow(list(args))
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


def _relative(arg: str) -> str:
    path = Path(arg)
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else arg


def _warehouse_rows(work: Path) -> int:
    with sqlite3.connect(work / "warehouse.db") as db:
        (count,) = db.execute("SELECT count(*) FROM processed_users").fetchone()
    return int(count)


def _published(work: Path) -> str:
    """What main's merged table holds: rows and distinct users (one row per user)."""
    lake = open_lake(f"local://{work / 'lake'}", repository="etl-pipeline")
    table = lake.scan("validated_data/users").select(
        pl.len().alias("rows"), pl.col("id").n_unique().alias("users")
    )
    rows, users = table.collect().row(0)
    return f"lake: {rows} rows for {users} users in validated_data/users on main"


def main(work: Path = HERE / "work", config_file: Path | None = None) -> int:
    """Effect. Run the example in ``work``; returns the first non-zero exit code, or 0.

    ``config_file`` replaces the example's config (it must sit next to ``work``).
    """
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    if config_file is not None:
        config = str(config_file)
    else:
        config = str(CONFIG) if work == HERE / "work" else _copy_config(work)

    first = create_users(work / "users.db")
    print(f"generated {first.height} messy users in {work / 'users.db'}")
    for args in (("init", config), ("run", config)):
        if code := _lakeflow(*args):
            return code
    print(f"\nwarehouse: {_warehouse_rows(work)} rows in processed_users")
    print(_published(work))

    added = add_changes(work / "users.db")
    print(f"\nadded {added.height} rows: new users, updated users and a late tie")
    if code := _lakeflow("run", config):
        return code
    print(f"\nwarehouse: {_warehouse_rows(work)} rows in processed_users")
    print(_published(work))
    if code := _lakeflow("runs", config):
        return code
    return _lakeflow("report", config, "--html", str(work / "report.html"))


def _copy_config(work: Path) -> str:
    """The config next to ``work`` (tests run the example in a temporary folder)."""
    target = work.parent / "pipeline.yaml"
    shutil.copy(CONFIG, target)
    return str(target)


if __name__ == "__main__":
    sys.exit(main())
