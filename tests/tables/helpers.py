"""Helpers for the table tests: lakes of both kinds, merge pipelines and their change-log sources.

``lake_factory`` (a fixture, parametrised ``local`` / ``lakefs``) makes fresh repositories on
the embedded lake or on the session's lakeFS double; hypothesis tests call it once per example.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest
from returns.result import Result, Success

from lakeflow.adapters.frame_source import FrameSource
from lakeflow.adapters.lake_helpers import unwrap_io
from lakeflow.adapters.lakefs import LakeFSLake
from lakeflow.adapters.local import LocalLake
from lakeflow.core.incremental import IncrementalSpec
from lakeflow.core.records import FailureRecord, RunRecord
from lakeflow.core.secrets import Secret
from lakeflow.core.table import TableOptions
from lakeflow.core.validate import Checks, Rule
from lakeflow.lakes import LakeHandle
from lakeflow.ports import Lake
from lakeflow.run import Pipeline, RetryPolicy

LakeFactory = Callable[[], Lake]
TABLE = "validated_data/users"
FAST = RetryPolicy(max_retries=2, timeout_seconds=30, initial_backoff_s=0.001, max_backoff_s=0.01)
_numbers = itertools.count(1)


@pytest.fixture(params=["local", "lakefs"])
def lake_factory(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LakeFactory]:
    """Fresh repositories (with ``main``) on the embedded lake, or on the lakeFS double."""
    made: list[LakeFSLake] = []
    if request.param == "local":
        root = tmp_path_factory.mktemp("lakes")

        def local() -> Lake:
            lake = LocalLake(root, f"repo-{next(_numbers):05d}", durable=False)
            unwrap_io(lake.create_repository()).unwrap()
            return lake

        yield local
        return
    server = request.getfixturevalue("lakefs_server_session")

    def lakefs() -> Lake:
        name = f"tables-{next(_numbers):05d}"
        lake = LakeFSLake(
            server.endpoint,
            name,
            access_key_id=Secret(server.access_key_id),
            secret_access_key=Secret(server.secret_access_key),
            storage_namespace=f"local://lakeflow-tables/{name}",
        )
        unwrap_io(lake.create_repository()).unwrap()
        made.append(lake)
        return lake

    yield lakefs
    for lake in made:
        lake.close()


def events(rows: list[tuple[int, int, int, bool]]) -> pl.DataFrame:
    """A change log: ``(seq, id, v, deleted)`` rows; ``ts`` is the sequence number."""
    return pl.DataFrame(
        {
            "seq": [r[0] for r in rows],
            "ts": [r[0] for r in rows],
            "id": [r[1] for r in rows],
            "v": [r[2] for r in rows],
            "deleted": [r[3] for r in rows],
        },
        schema={
            "seq": pl.Int64,
            "ts": pl.Int64,
            "id": pl.Int64,
            "v": pl.Int64,
            "deleted": pl.Boolean,
        },
    )


def merge_pipeline(
    source: pl.DataFrame | pl.LazyFrame,
    *,
    checks: Checks | None = None,
    retry_on_conflict: int = 0,
    name: str = "users",
) -> Pipeline:
    """A pipeline merging a change log by ``id`` (``deleted`` removes), incremental by ``ts``;
    rows with a negative ``v`` are quarantined."""
    rule = Rule("non_negative", "v >= 0")
    policy = RetryPolicy(
        max_retries=2,
        timeout_seconds=30,
        retry_on_conflict=retry_on_conflict,
        initial_backoff_s=0.001,
        max_backoff_s=0.01,
    )
    return Pipeline(
        name,
        FrameSource(source, incremental=IncrementalSpec("ts", ("seq",))),
        checks=checks or Checks(rules=[rule], max_invalid_fraction=1.0),
        load_path=TABLE,
        mode="merge",
        table=TableOptions(keys=("id",), delete_column="deleted"),
        keep_raw=False,
        retry=policy,
    )


def table_rows(lake: Lake, ref: str = "main", path: str = TABLE) -> pl.DataFrame:
    """The published table at ``ref`` (its live rows), sorted by id."""
    return LakeHandle(lake).scan(path, ref=ref).collect().sort("id")


def head(lake: Lake, ref: str = "main") -> str:
    """The commit ``ref`` points at."""
    return unwrap_io(lake.resolve(ref)).unwrap()


def ok(outcome: Result[RunRecord, FailureRecord]) -> RunRecord:
    """The record of a published run (the test fails with the failure record otherwise)."""
    assert isinstance(outcome, Success), outcome.failure().dumps()
    record: RunRecord = outcome.unwrap()
    return record


def failed(outcome: Result[RunRecord, FailureRecord]) -> FailureRecord:
    """The record of a failed run (the test fails if it published)."""
    assert not isinstance(outcome, Success), outcome.unwrap().dumps()
    record: FailureRecord = outcome.failure()
    return record


def lake_paths(lake: Lake, prefix: str, ref: str = "main") -> list[str]:
    """Object paths under ``prefix`` at ``ref``."""
    return [o.path for o in unwrap_io(lake.list_objects(prefix, ref=ref)).unwrap()]


def write_parquet(frame: pl.DataFrame, path: Path) -> Path:
    """``frame`` written to ``path``."""
    frame.write_parquet(path)
    return path


class RacingLake:
    """A lake proxy that runs ``other`` (another run, on the real lake) right before the first
    merge into ``main``: two runs from one base, the second publishing first."""

    def __init__(self, lake: Lake, other: Callable[[], object]) -> None:
        self._lake = lake
        self._other: Callable[[], object] | None = other

    def __getattr__(self, name: str) -> object:
        return getattr(self._lake, name)

    def merge(self, source: str, dest_branch: str, **options: object) -> object:
        """Let the other run publish first, then merge as asked."""
        if self._other is not None and dest_branch == "main":
            other, self._other = self._other, None
            other()
        return self._lake.merge(source, dest_branch, **options)  # type: ignore[arg-type]
