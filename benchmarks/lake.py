"""The lake suites: LocalLake commit/merge cost, and the end-to-end overhead of ``run()``.

Effect (registers two suites; contenders write lakes and parquet files).

``lake_ops`` — what publishing costs on a :class:`~lakeflow.adapters.local.LocalLake`
(``durable=True``, the default: blobs, folders and metadata are fsynced). The size is the number
of objects a run publishes (1 or 1,000); every contender's untimed ``setup`` creates a fresh
lake, branches ``bench-run`` off ``main`` and stages that many objects totalling ~10 MB or
~1 GB of random (never deduplicated) bytes on it. Then only one operation is timed:

* ``commit-10MB`` (baseline), ``commit-1GB``: commit the staged objects on ``bench-run``;
* ``merge-10MB``, ``merge-1GB``: (``setup`` also commits) merge ``bench-run`` into ``main``.

Commits and merges move ids, never bytes, so at the same object count the 1 GB cases should
take what the 10 MB cases take: the targets compare each 1 GB case with its 10 MB twin.

``run_overhead`` — what the write-audit-publish transaction adds to a plain Polars job. Every
contender reads the cached users parquet file (:mod:`benchmarks.datasets`), applies the
``transform`` suite's pipeline (``clean >> derive >> keep >> categorize``, built by the same
lakeflow stages, so every contender executes the same Polars plan) and writes parquet:

* ``polars`` (baseline): ``pl.scan_parquet`` -> the transform's plan -> ``sink_parquet`` to a
  local file. No lake, no checks, no record, no durability;
* ``run``: ``lakeflow.run()`` on a LocalLake (repository created in the untimed ``setup``),
  ``FileSource`` parquet source, no checks, ``keep_raw=False``, published to ``main``: resolve,
  run branch, execute, put the part file (moved into the lake, fsynced), quality report, run
  record and checkpoint, commit, merge, branch deletion, run history;
* ``run_raw``: the same with ``keep_raw=True`` (the default): the extracted rows are written a
  second time, under ``raw/``;
* ``run_checks``: ``run`` plus the users example's checks (:data:`USERS_CHECKS`): valid rows
  published, failing rows quarantined with the names of the rules they broke;
* ``run_lake_source``, ``run_lake_source_unverified``: ``run`` reading its rows from the lake
  (``LakeSource``; the untimed ``setup`` puts the users file on ``main``), with the default
  verified reads (the source blob is hashed before Polars scans it) and with
  ``verify_reads=False``: their ratio is what read verification costs.

``--verify`` checks that ``run`` and ``run_raw`` published exactly the rows ``polars`` wrote,
that ``run_checks`` published and quarantined them between its two files, and that every
``lake_ops`` contender's lake holds the staged objects where its operation put them.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from benchmarks.harness import (
    Contender,
    JSONValue,
    PrepareContext,
    Suite,
    Target,
    Workload,
    register,
)
from benchmarks.transform import users_transform

if TYPE_CHECKING:
    from lakeflow.adapters.local import LocalLake

__all__ = [
    "BRANCH",
    "LAKE_OPS",
    "REPOSITORY",
    "RUN_OVERHEAD",
    "USERS_CHECKS",
    "VOLUMES",
    "commit_staged",
    "merge_committed",
    "run_direct",
    "run_lakeflow",
    "run_lakeflow_checks",
    "run_lakeflow_raw",
    "stage",
    "stage_and_commit",
]

REPOSITORY: Final = "bench"
BRANCH: Final = "bench-run"
LAKE_DIR: Final = "lake"
OBJECT_PREFIX: Final = "data/"
STAGED: Final = "staged.json"  # what setup staged, for --verify
VOLUMES: Final[dict[str, int]] = {"10MB": 10_000_000, "1GB": 1_000_000_000}
"""Total bytes a ``lake_ops`` run publishes, by the label its contenders carry."""

PIPELINE: Final = "users"
LAKE_SOURCE: Final = "sources/users"  # where the lake-source contenders read their rows
DIRECT_OUTPUT: Final = "users.parquet"
PUBLISHED: Final = f"validated_data/{PIPELINE}/"
QUARANTINED: Final = f"_lakeflow/quarantine/{PIPELINE}/"
_RNG_CHUNK: Final = 1 << 26  # generate random bytes 64 MiB at a time

# The users example's ``validate:`` block (examples/users/pipeline.yaml) on the transform's
# output, with the benchmark data's countries; a loose max_invalid_fraction so runs publish.
USERS_CHECKS: Final[dict[str, Any]] = {
    "schema": {
        "properties": {
            "id": {"type": "integer", "minimum": 1},
            "name": {"type": "string"},
            "email": {"type": "string", "pattern": r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$"},
            "age": {"type": "integer", "minimum": 0, "maximum": 150},
            "income": {"type": "number", "minimum": 0, "maximum": 10_000_000},
        },
        "required": ["id", "name", "email"],
    },
    "completeness": {"columns": ["id", "name", "email"], "threshold": 0.95},
    "unique": ["id", "email"],
    "references": {"country": {"values": ["US", "DE", "FR", "GB", "IN", "BR", "CA", "JP"]}},
    "rules": [
        {"name": "adult_users_only", "condition": "age >= 18", "severity": "warning"},
        {"name": "positive_income", "condition": "income > 0", "severity": "error"},
    ],
    "max_invalid_fraction": 0.5,
}


# ------------------------------------------------------------------------------------------
# lake_ops: commit and merge of N staged objects totalling B bytes
# ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Staged:
    """A lake handle that ``setup`` left ready for the timed operation (same process)."""

    lake: LocalLake
    objects: int
    total: int


# setup -> timed function hand-off inside one child process, keyed by the run's out_dir.
_READY: dict[str, _Staged] = {}


def _volume(work: Workload) -> str:
    """Pure. The volume label ending the contender's name (``commit-1GB`` -> ``1GB``)."""
    label = work.contender.rsplit("-", 1)[-1]
    if label not in work.inputs:
        raise ValueError(f"contender {work.contender!r} names no prepared volume")
    return label


def _ok(result: Any, what: str) -> Any:
    """Effect boundary. The value inside an ``IOResult``; raise (the run fails) otherwise."""
    from returns.result import Failure

    from lakeflow.adapters.lake_helpers import unwrap_io

    outcome = unwrap_io(result)
    if isinstance(outcome, Failure):
        raise RuntimeError(f"{what} failed: {outcome.failure().message}")
    return outcome.unwrap()


def _commit_metadata(objects: int, total: int) -> dict[str, str]:
    """Pure. String metadata shaped like the shell's (eight keys)."""
    return {
        "lakeflow.run_id": "bench",
        "lakeflow.pipeline": "bench",
        "lakeflow.status": "committed",
        "lakeflow.rows.extracted": str(objects),
        "lakeflow.rows.transformed": str(objects),
        "lakeflow.rows.valid": str(objects),
        "lakeflow.rows.quarantined": "0",
        "lakeflow.bytes": str(total),
    }


def stage(work: Workload) -> None:
    """Effect (untimed setup). A fresh durable lake with the volume's objects staged on a branch.

    Copies every prepared file into the lake (hashed, fsynced, renamed into the blob store)
    under ``data/`` on ``bench-run``, branched off ``main``. Nothing is committed.
    """
    from lakeflow.adapters.local import LocalLake

    source = work.input_path(_volume(work))
    files = sorted(source.iterdir())
    lake = LocalLake(work.out_dir / LAKE_DIR, REPOSITORY)
    _ok(lake.create_repository(), "create_repository")
    _ok(lake.create_branch(BRANCH, "main"), "create_branch")
    total = 0
    for file in files:
        info = _ok(lake.put_file(f"{OBJECT_PREFIX}{file.name}", file, branch=BRANCH), "put_file")
        total += info.size
    _READY[str(work.out_dir)] = _Staged(lake, len(files), total)
    staged = {"objects": len(files), "bytes": total}
    (work.out_dir / STAGED).write_text(json.dumps(staged))


def stage_and_commit(work: Workload) -> None:
    """Effect (untimed setup). :func:`stage`, then commit the branch (so only a merge is left)."""
    stage(work)
    staged = _READY[str(work.out_dir)]  # stays there for merge_committed
    metadata = _commit_metadata(staged.objects, staged.total)
    _ok(staged.lake.commit(BRANCH, "bench: staged objects", metadata), "commit")


def _take(work: Workload) -> _Staged:
    """Effect (module state). The lake this run's setup prepared, handed over once."""
    staged = _READY.pop(str(work.out_dir), None)
    if staged is None:
        raise RuntimeError(f"{work.contender}: its setup did not run in this process")
    return staged


def commit_staged(work: Workload) -> None:
    """Effect (timed). Commit the objects :func:`stage` left on ``bench-run``."""
    staged = _take(work)
    metadata = _commit_metadata(staged.objects, staged.total)
    _ok(staged.lake.commit(BRANCH, "bench: commit staged objects", metadata), "commit")
    staged.lake.close()


def merge_committed(work: Workload) -> None:
    """Effect (timed). Merge ``bench-run`` (committed by :func:`stage_and_commit`) into main."""
    staged = _take(work)
    metadata = {**_commit_metadata(staged.objects, staged.total), "lakeflow.status": "published"}
    _ok(
        staged.lake.merge(BRANCH, "main", message="bench: publish", metadata=metadata),
        "merge",
    )
    staged.lake.close()


def _write_random_files(folder: Path, objects: int, total: int, seed: int) -> None:
    """Effect. ``objects`` files of random bytes summing to ``total`` (all different)."""
    import numpy as np

    folder.mkdir(parents=True)
    rng = np.random.default_rng([seed, objects, total])
    each, extra = divmod(total, objects)
    for index in range(objects):
        size = each + (1 if index < extra else 0)
        with (folder / f"part-{index:05d}.bin").open("wb") as handle:
            while size > 0:
                chunk = min(size, _RNG_CHUNK)
                handle.write(rng.bytes(chunk))
                size -= chunk


@contextlib.contextmanager
def prepare_objects(
    ctx: PrepareContext, volumes: Mapping[str, int] = VOLUMES
) -> Iterator[dict[str, JSONValue]]:
    """Effect. A folder of ``ctx.size`` random files per volume; removed when the size is done.

    Args:
        ctx: ``ctx.size`` is the number of objects (files) per volume.
        volumes: Total bytes by the label the contenders' names end with (``commit-1GB``).
    """
    if ctx.size > 100_000:
        raise ValueError(f"lake_ops sizes are object counts; {ctx.size:,} objects is too many")
    ctx.data_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=f"_lake_ops-{ctx.size}-", dir=ctx.data_dir))
    try:
        inputs: dict[str, JSONValue] = {"objects": ctx.size}
        for label, total in volumes.items():
            _write_random_files(root / label, ctx.size, total, ctx.seed)
            inputs[label] = str(root / label)
        yield inputs
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _published_objects(out_dir: Path) -> tuple[str, int, int]:
    """Effect (reads the lake). (ref, objects, bytes) under ``data/`` where the op put them."""
    from lakeflow.adapters.local import LocalLake

    with LocalLake(out_dir / LAKE_DIR, REPOSITORY) as lake:
        ref = "main" if _ok(lake.list_objects(OBJECT_PREFIX, ref="main"), "list") else BRANCH
        listed = _ok(lake.list_objects(OBJECT_PREFIX, ref=ref), "list_objects")
        pending = _ok(lake.uncommitted(BRANCH), "uncommitted")
    if pending:
        raise RuntimeError(f"{len(pending)} object(s) still uncommitted on {BRANCH}")
    return ref, len(listed), sum(info.size for info in listed)


def verify_objects(outputs: Mapping[str, Path]) -> list[str]:
    """Effect (reads lakes). Problems where an operation did not leave what it should have.

    A ``commit-*`` run must leave every staged object committed on ``bench-run``; a ``merge-*``
    run must leave them on ``main``; in both, exactly the objects and bytes its setup staged,
    and every contender the same number of objects.
    """
    problems: list[str] = []
    counts: set[int] = set()
    for name, out_dir in outputs.items():
        try:
            staged = json.loads((out_dir / STAGED).read_text())
            ref, objects, size = _published_objects(out_dir)
        except Exception as exc:
            problems.append(f"{name}: {type(exc).__name__}: {exc}")
            continue
        want_ref = "main" if name.startswith("merge-") else BRANCH
        if ref != want_ref:
            problems.append(f"{name}: the objects are on {ref}, expected {want_ref}")
        if (objects, size) != (staged["objects"], staged["bytes"]):
            problems.append(
                f"{name}: {objects:,} objects / {size:,} bytes on {ref}, but "
                f"{staged['objects']:,} / {staged['bytes']:,} were staged"
            )
        counts.add(objects)
    if len(counts) > 1:
        problems.append(f"contenders committed different object counts: {sorted(counts)}")
    return problems


def object_facts(out_dir: Path) -> dict[str, JSONValue]:
    """Effect (reads the lake). Where the objects ended up, how many, how many bytes."""
    ref, objects, size = _published_objects(out_dir)
    return {"ref": ref, "objects": objects, "bytes": size}


def _ops_contender(op: str, volume: str) -> Contender:
    """Pure. The contender timing ``op`` (commit or merge) of the ``volume`` objects."""
    setup = stage if op == "commit" else stage_and_commit
    run = commit_staged if op == "commit" else merge_committed
    what = (
        "commit the staged objects on bench-run"
        if op == "commit"
        else "merge the committed bench-run into main (three-way, never fast-forward)"
    )
    return Contender(
        f"{op}-{volume}",
        run,
        f"{what}; {volume} staged in the untimed setup",
        imports=("lakeflow.adapters.local", "lakeflow.adapters.lake_helpers"),
        setup=setup,
    )


def _bytes_target(op: str) -> Target:
    """Pure. ``op`` of 1 GB must take at most 1.5x ``op`` of 10 MB (same object count)."""
    return Target(
        f"{op}-1GB",
        "time",
        1.5,
        reference=f"{op}-10MB",
        label=f"{op} of 1 GB <= 1.5x {op} of 10 MB (does not grow with bytes)",
    )


LAKE_OPS = register(
    Suite(
        name="lake_ops",
        description=(
            "LocalLake (durable) commit and merge of N staged objects totalling ~10 MB vs ~1 GB"
        ),
        prepare=prepare_objects,
        contenders=tuple(_ops_contender(op, v) for op in ("commit", "merge") for v in VOLUMES),
        baseline="commit-10MB",
        targets=(_bytes_target("commit"), _bytes_target("merge")),
        default_sizes=(1, 1_000),
        verify=verify_objects,
        output_facts=object_facts,
        packages=("polars",),
        size_unit="objects",
    )
)


# ------------------------------------------------------------------------------------------
# run_overhead: run() on a LocalLake vs writing the same parquet with Polars
# ------------------------------------------------------------------------------------------


def run_direct(work: Workload) -> None:
    """Effect. The baseline: scan, the same transform plan, ``sink_parquet`` to a local file."""
    import polars as pl

    plan = users_transform()(pl.scan_parquet(work.input_path("users"))).unwrap()
    plan.sink_parquet(work.out_dir / DIRECT_OUTPUT)


def create_lake(work: Workload) -> None:
    """Effect (untimed setup). An empty LocalLake repository, as ``lakeflow init`` leaves it."""
    from lakeflow.adapters.local import LocalLake

    with LocalLake(work.out_dir / LAKE_DIR, REPOSITORY) as lake:
        _ok(lake.create_repository(), "create_repository")


def create_lake_with_source(work: Workload) -> None:
    """Effect (untimed setup). A repository whose ``main`` holds the users file as a dataset."""
    from lakeflow.adapters.local import LocalLake

    with LocalLake(work.out_dir / LAKE_DIR, REPOSITORY) as lake:
        _ok(lake.create_repository(), "create_repository")
        source = work.input_path("users")
        _ok(lake.put_file(f"{LAKE_SOURCE}/part-0.parquet", source, branch="main"), "put_file")
        _ok(lake.commit("main", "bench: the users dataset"), "commit")


def _run(
    work: Workload,
    *,
    keep_raw: bool,
    checks: Mapping[str, Any] | None,
    lake_source: bool = False,
    verify_reads: bool = True,
) -> None:
    """Effect. One ``run()`` of the users pipeline on the lake the setup made."""
    from returns.result import Failure

    from lakeflow.adapters.file_source import FileSource, LakeSource
    from lakeflow.adapters.local import LocalLake
    from lakeflow.core.validate import Checks
    from lakeflow.run import Pipeline, run

    pipeline = Pipeline(
        name=PIPELINE,
        source=(
            LakeSource(LAKE_SOURCE)
            if lake_source
            else FileSource(str(work.input_path("users")), format="parquet")
        ),
        transform=users_transform(),
        checks=None if checks is None else Checks.from_config(dict(checks)).unwrap(),
        keep_raw=keep_raw,
    )
    with LocalLake(work.out_dir / LAKE_DIR, REPOSITORY, verify_reads=verify_reads) as lake:
        outcome = run(pipeline, lake, "main")
    if isinstance(outcome, Failure):
        failed = outcome.failure()
        raise RuntimeError(f"run failed at {failed.failed_step}: {failed.error.message}")
    record = outcome.unwrap()
    if record.status != "published":
        raise RuntimeError(f"run ended {record.status}, not published: {record.note}")


def run_lakeflow(work: Workload) -> None:
    """Effect. ``run()`` with no checks and ``keep_raw=False``: the transaction's own cost."""
    _run(work, keep_raw=False, checks=None)


def run_lakeflow_raw(work: Workload) -> None:
    """Effect. ``run()`` with no checks and ``keep_raw=True`` (the default; a second write)."""
    _run(work, keep_raw=True, checks=None)


def run_lakeflow_checks(work: Workload) -> None:
    """Effect. ``run()`` with the users checks and ``keep_raw=False``."""
    _run(work, keep_raw=False, checks=USERS_CHECKS)


def run_lakeflow_lake_source(work: Workload) -> None:
    """Effect. ``run()`` reading its rows from the lake (``LakeSource``), verified (default)."""
    _run(work, keep_raw=False, checks=None, lake_source=True)


def run_lakeflow_lake_source_unverified(work: Workload) -> None:
    """Effect. The same with ``verify_reads=False``: the blobs are not hashed before the scan."""
    _run(work, keep_raw=False, checks=None, lake_source=True, verify_reads=False)


def prepare_users(ctx: PrepareContext) -> dict[str, JSONValue]:
    """Effect. Generate (or reuse) the cached users parquet file for ``ctx.size`` rows."""
    from benchmarks.datasets import users_parquet

    return {"users": str(users_parquet(ctx.size, ctx.data_dir, seed=ctx.seed))}


def _lake_files(out_dir: Path, prefix: str) -> list[Path]:
    """Effect (reads the lake). Blob files of the parquet objects under ``prefix`` on main."""
    from lakeflow.adapters.local import LocalLake

    with LocalLake(out_dir / LAKE_DIR, REPOSITORY) as lake:
        listed = _ok(lake.list_objects(prefix, ref="main"), "list_objects")
        return [
            _ok(lake.blob_path(info.path, ref="main"), "blob_path")
            for info in listed
            if info.path.endswith(".parquet")
        ]


def _published(out_dir: Path) -> tuple[Any, Any]:
    """Effect (reads outputs). (published rows, quarantined rows or None) as lazy frames."""
    import polars as pl

    direct = out_dir / DIRECT_OUTPUT
    if direct.exists():
        return pl.scan_parquet(direct), None
    valid = _lake_files(out_dir, PUBLISHED)
    if len(valid) != 1:
        raise RuntimeError(f"expected one published part file under {PUBLISHED}, found {valid}")
    quarantine = _lake_files(out_dir, QUARANTINED)
    return pl.scan_parquet(valid[0]), (pl.scan_parquet(quarantine) if quarantine else None)


def verify_runs(outputs: Mapping[str, Path]) -> list[str]:
    """Effect (reads outputs). Every contender published the rows the baseline wrote.

    ``run_checks`` must have published and quarantined them between its valid part file and
    its quarantine file (the quarantine's extra rule-name columns dropped).
    """
    import polars as pl

    from benchmarks.datasets import same_rows

    files: dict[str, Path] = {}
    problems: list[str] = []
    for name, out_dir in outputs.items():
        try:
            valid, quarantine = _published(out_dir)
        except Exception as exc:
            problems.append(f"{name}: {type(exc).__name__}: {exc}")
            continue
        if quarantine is not None:
            columns = valid.collect_schema().names()
            valid = pl.concat([valid, quarantine.select(columns)])
        files[name] = out_dir / f"verify-{name}.parquet"
        valid.sink_parquet(files[name])
    return problems + same_rows(files, reference="polars")


def run_facts(out_dir: Path) -> dict[str, JSONValue]:
    """Effect (reads parquet footers). Rows published (and quarantined) by the run."""
    import polars as pl

    valid, quarantine = _published(out_dir)
    facts: dict[str, JSONValue] = {"rows_out": int(valid.select(pl.len()).collect().item())}
    if quarantine is not None:
        facts["quarantined"] = int(quarantine.select(pl.len()).collect().item())
    return facts


TEN_MILLION: Final = 10_000_000
_RUN_IMPORTS: Final = (
    "polars",
    "returns.result",
    "lakeflow.run",
    "lakeflow.adapters.file_source",
    "lakeflow.adapters.local",
    "lakeflow.core.transform",
    "lakeflow.core.validate",
)

RUN_OVERHEAD = register(
    Suite(
        name="run_overhead",
        description=(
            "run() on a LocalLake (write-audit-publish) vs sink_parquet of the same transform"
        ),
        prepare=prepare_users,
        contenders=(
            Contender(
                "polars",
                run_direct,
                "scan_parquet -> the transform's plan -> sink_parquet to a local file",
                imports=("polars", "lakeflow.core.transform"),
            ),
            Contender(
                "run",
                run_lakeflow,
                "lakeflow.run(): same source and transform, no checks, keep_raw=False, to main",
                imports=_RUN_IMPORTS,
                setup=create_lake,
            ),
            Contender(
                "run_raw",
                run_lakeflow_raw,
                "lakeflow.run() with keep_raw=True (the default): the raw rows written too",
                imports=_RUN_IMPORTS,
                setup=create_lake,
            ),
            Contender(
                "run_checks",
                run_lakeflow_checks,
                "lakeflow.run() with the users example's checks, keep_raw=False",
                imports=_RUN_IMPORTS,
                setup=create_lake,
            ),
            Contender(
                "run_lake_source",
                run_lakeflow_lake_source,
                "lakeflow.run() reading the rows from the lake (LakeSource), reads verified",
                imports=_RUN_IMPORTS,
                setup=create_lake_with_source,
            ),
            Contender(
                "run_lake_source_unverified",
                run_lakeflow_lake_source_unverified,
                "the same with verify_reads=False (the source blob is not hashed)",
                imports=_RUN_IMPORTS,
                setup=create_lake_with_source,
            ),
        ),
        baseline="polars",
        targets=(
            Target(
                "run",
                "time",
                1.15,
                label="run() (no checks, keep_raw=False) <= 1.15x the direct sink_parquet",
                min_size=TEN_MILLION,
            ),
            Target(
                "run_lake_source",
                "time",
                1.10,
                reference="run_lake_source_unverified",
                label="verified lake reads <= 1.10x unverified (run() from a LakeSource)",
                min_size=TEN_MILLION,
            ),
        ),
        default_sizes=(1_000_000, TEN_MILLION),
        verify=verify_runs,
        output_facts=run_facts,
        packages=("polars", "returns", "tenacity", "structlog"),
    )
)
