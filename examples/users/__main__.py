"""Run the users example end to end: ``python -m examples.users`` (``make run``).

1. generate a messy ``users`` table in SQLite (``work/users.db``);
2. ``lakeflow init`` the local lake (``work/lake``);
3. ``lakeflow run``: the initial load, published to ``main`` and upserted into
   ``work/warehouse.db``;
4. add new users, updates and a row tied with the last watermark;
5. ``lakeflow run`` again: only the new and changed rows, nothing lost, nothing twice;
6. ``lakeflow runs``: the history.

Everything it writes lives under ``examples/users/work/`` (recreated on every run).
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
from pathlib import Path

from examples.users.generate import add_changes, create_users
from lakeflow.cli import main as lakeflow

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


def main(work: Path = HERE / "work") -> int:
    """Effect. Run the example in ``work``; returns the first non-zero exit code, or 0."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    config = str(CONFIG) if work == HERE / "work" else _copy_config(work)

    first = create_users(work / "users.db")
    print(f"generated {first.height} messy users in {work / 'users.db'}")
    for args in (("init", config), ("run", config)):
        if code := _lakeflow(*args):
            return code
    print(f"\nwarehouse: {_warehouse_rows(work)} rows in processed_users")

    added = add_changes(work / "users.db")
    print(f"\nadded {added.height} rows: new users, updated users and a late tie")
    if code := _lakeflow("run", config):
        return code
    print(f"\nwarehouse: {_warehouse_rows(work)} rows in processed_users")
    return _lakeflow("runs", config)


def _copy_config(work: Path) -> str:
    """The config next to ``work`` (tests run the example in a temporary folder)."""
    target = work.parent / "pipeline.yaml"
    shutil.copy(CONFIG, target)
    return str(target)


if __name__ == "__main__":
    sys.exit(main())
