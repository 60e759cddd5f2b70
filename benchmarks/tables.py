"""The ``tables`` suite: what publishing a change into a large published table costs.

Effect (registers a suite; contenders write lakes). The size is the number of rows already
**published** (default 10M). ``prepare`` builds, once per size and cached under ``--data-dir``,
two template lakes holding the same users table grown from 20 runs (so the table has ~20 data
files, as a table grown from daily runs does): a Delta table merged by ``id``
(``load.mode: merge``) and a parquet dataset (``load.mode: append``). Every run's untimed
``setup`` clones a template into its ``out_dir`` (hard links to the immutable blobs, a copy of
the metadata) and writes its change set; then exactly one ``lakeflow.run()`` is timed. The
change sets (seeded): 90% updates of published ids, 10% new ids, newer ``ts``.

* ``append-10k`` (baseline): append 10k new rows as a parquet part (``unique: [id]`` of scope
  ``run``);
* ``unique-10k``: the same with ``unique: [id]`` of scope ``published``: the run also reads the
  key column of every published row;
* ``merge-10k-recent``, ``merge-1M-recent``: merge 10k / 1M changed rows whose updated ids are
  among the newest 10% of the table (the usual shape of a change stream);
* ``merge-10k-random``, ``merge-1M-random``: the same with ids drawn from the whole table;
* ``rewrite-10k``: a merge without a table format: read the whole published table, upsert the
  10k rows in Polars and ``overwrite`` the dataset.

Facts (first run): ``bytes_written`` (bytes of new objects under the table's path: data files
and log entries), ``files_written``, ``files_live`` after the run, and for merges delta-rs's
``files_scanned`` / ``files_removed`` (removed = rewritten).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal

from benchmarks.harness import Contender, JSONValue, PrepareContext, Suite, Workload, register

__all__ = ["TABLES", "prepare_tables", "run_change", "setup_change", "table_facts"]

REPOSITORY: Final = "bench"
PIPELINE: Final = "users"
TABLE: Final = "validated_data/users"
TEMPLATE_RUNS: Final = 20
TEMPLATE_VERSION: Final = 2
FACTS: Final = "facts.json"
CHANGES: Final = "changes.parquet"
CHANGE_SETS: Final[dict[str, tuple[int, str]]] = {
    "append-10k": (10_000, "new"),
    "unique-10k": (10_000, "new"),
    "merge-10k-recent": (10_000, "recent"),
    "merge-10k-random": (10_000, "random"),
    "merge-1M-recent": (1_000_000, "recent"),
    "merge-1M-random": (1_000_000, "random"),
    "rewrite-10k": (10_000, "random"),
}


def _rows(ids: Any, ts: int, seed: int) -> Any:
    """Effect (random). Users with the given ids, all at watermark ``ts``."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    n = len(ids)
    return pl.DataFrame(
        {
            "id": ids,
            "email": pl.select(pl.format("u{}@x.io", pl.lit(pl.Series(ids)))).to_series(),
            "age": rng.integers(18, 90, n),
            "income": np.round(rng.lognormal(10.8, 0.6, n), 2),
            "country": rng.choice(np.array(["US", "DE", "FR", "GB"]), n),
            "ts": np.full(n, ts, dtype=np.int64),
        }
    )


def _pipeline(rows: Path, kind: str) -> Any:
    """The benchmark's pipeline publishing ``rows`` as ``kind`` (merge, append, unique, rewrite)."""
    import polars as pl

    from lakeflow.adapters.frame_source import FrameSource
    from lakeflow.core.table import TableOptions
    from lakeflow.core.validate import Checks
    from lakeflow.run import Pipeline

    scope: Literal["run", "published"] = "published" if kind == "unique" else "run"
    checks = Checks(unique=["id"], unique_scopes={"id": scope}, max_invalid_fraction=1.0)
    mode = {"merge": "merge", "rewrite": "overwrite"}.get(kind, "append")
    return Pipeline(
        PIPELINE,
        FrameSource(pl.scan_parquet(rows)),
        checks=checks if kind != "merge" else None,
        load_path=TABLE,
        mode=mode,  # type: ignore[arg-type]
        table=TableOptions(keys=("id",)) if mode == "merge" else TableOptions(),
        keep_raw=False,
    )


def _template(root: Path, size: int, kind: str, seed: int, runs: int) -> None:
    """Effect. A lake whose table holds ``size`` rows, published by ``runs`` runs."""
    import numpy as np
    from returns.result import Failure

    from lakeflow.adapters.local import LocalLake
    from lakeflow.run import run

    lake = LocalLake(root, REPOSITORY, durable=False)
    lake.create_repository()
    step = max(1, size // runs)
    for index, start in enumerate(range(0, size, step)):
        ids = np.arange(start + 1, min(size, start + step) + 1, dtype=np.int64)
        part = root.parent / f"{kind}-part.parquet"
        _rows(ids, index + 1, seed + index).write_parquet(part)
        outcome = run(_pipeline(part, kind), lake)
        if isinstance(outcome, Failure):
            raise RuntimeError(outcome.failure().error.message)
        part.unlink()
    lake.close()


def prepare_tables(ctx: PrepareContext, runs: int = TEMPLATE_RUNS) -> dict[str, JSONValue]:
    """Effect. The cached template lakes for ``ctx.size`` rows published by ``runs`` runs."""
    folder = ctx.data_dir / f"tables-{ctx.size}-{runs}-seed{ctx.seed}-v{TEMPLATE_VERSION}"
    done = folder / "done"
    if not done.exists():
        shutil.rmtree(folder, ignore_errors=True)
        for kind in ("merge", "append"):
            (folder / kind).mkdir(parents=True)
            _template(folder / kind / "lake", ctx.size, kind, ctx.seed, runs)
        done.write_text("ok")
    return {"merge": str(folder / "merge" / "lake"), "append": str(folder / "append" / "lake")}


def _clone(template: Path, target: Path) -> None:
    """Effect. A copy of a lake folder sharing its (immutable) blob files by hard link."""
    shutil.copytree(template / "objects", target / "objects", copy_function=os.link)
    (target / "tmp").mkdir()
    for name in os.listdir(template):
        if name not in ("objects", "tmp"):
            shutil.copy2(template / name, target / name)


def _kind(contender: str) -> str:
    return contender.split("-", 1)[0]


def setup_change(work: Workload) -> None:
    """Effect (untimed). Clone the template lake and write this contender's change set."""
    import numpy as np

    rows, shape = CHANGE_SETS[work.contender]
    kind = _kind(work.contender)
    template = work.input_path("merge" if kind == "merge" else "append")
    _clone(template, work.out_dir / "lake")
    rng = np.random.default_rng(7)
    size = work.size
    rows = min(rows, size)
    if shape == "new":
        ids = np.arange(size + 1, size + rows + 1, dtype=np.int64)
    else:
        low = size - size // 10 if shape == "recent" else 0
        population = np.arange(low + 1, size + 1, dtype=np.int64)
        wanted = min(rows * 9 // 10, len(population))
        updates = rng.choice(population, wanted, replace=False)
        fresh = np.arange(size + 1, size + rows - len(updates) + 1, dtype=np.int64)
        ids = np.concatenate([updates, fresh])
    _rows(ids, TEMPLATE_RUNS + 1, 99).write_parquet(work.out_dir / CHANGES)


def run_change(work: Workload) -> None:
    """Effect (timed). Publish the change set with ``lakeflow.run()``; record what it wrote."""
    import polars as pl
    from returns.result import Failure

    from lakeflow.adapters.lake_helpers import unwrap_io
    from lakeflow.adapters.local import LocalLake
    from lakeflow.lakes import LakeHandle
    from lakeflow.run import run

    kind = _kind(work.contender)
    lake = LocalLake(work.out_dir / "lake", REPOSITORY, durable=False)
    before = {o.path for o in unwrap_io(lake.list_objects(TABLE + "/", ref="main")).unwrap()}
    changes = work.out_dir / CHANGES
    if kind == "rewrite":
        published = LakeHandle(lake).scan(TABLE).collect()
        fresh = pl.read_parquet(changes)
        merged = pl.concat([published.join(fresh, on="id", how="anti"), fresh])
        merged.write_parquet(changes)
    outcome = run(_pipeline(changes, kind), lake)
    if isinstance(outcome, Failure):
        raise RuntimeError(outcome.failure().error.message)
    record = outcome.unwrap()
    after = unwrap_io(lake.list_objects(TABLE + "/", ref="main")).unwrap()
    new = [o for o in after if o.path not in before]
    metrics = (record.table or {}).get("metrics") or {}
    facts: dict[str, JSONValue] = {
        "rows_out": record.rows.valid,
        "bytes_written": sum(o.size for o in new),
        "files_written": len(new),
        "files_live": (record.table or {}).get("live_files", len(after)),  # type: ignore[dict-item]
    }
    if isinstance(metrics, Mapping) and metrics:
        facts["files_scanned"] = metrics.get("num_target_files_scanned")
        facts["files_removed"] = metrics.get("num_target_files_removed")
    if kind == "unique":
        facts["quarantined"] = record.rows.quarantined
    (work.out_dir / FACTS).write_text(json.dumps(facts))
    lake.close()


def table_facts(out_dir: Path) -> dict[str, JSONValue]:
    """Effect. What the timed run wrote (see the module docstring)."""
    found: dict[str, JSONValue] = json.loads((out_dir / FACTS).read_text())
    return found


TABLES = register(
    Suite(
        name="tables",
        description="publish 10k / 1M changed rows into a large published table (size = rows)",
        prepare=prepare_tables,
        contenders=tuple(
            Contender(
                name,
                run_change,
                f"{name}: see benchmarks/tables.py",
                imports=("polars", "deltalake", "lakeflow.run"),
                setup=setup_change,
            )
            for name in CHANGE_SETS
        ),
        baseline="append-10k",
        default_sizes=(10_000_000,),
        output_facts=table_facts,
        packages=("polars", "deltalake"),
    )
)
