"""Test helpers for runs: lakes, sources and a fault-injecting Lake proxy.

``FaultyLake`` delegates every call to a real :class:`LocalLake` and replaces the result of one
chosen operation with a failure (or runs a hook before it). It stands in for the failures a
real remote lake produces (a 503 on upload, a lost race on merge) that a local disk does not.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import polars as pl
from returns.io import IOFailure, IOResult, IOSuccess

from lakeflow.adapters.lake_helpers import unwrap_io
from lakeflow.adapters.local import LocalLake
from lakeflow.core.errors import ExtractError, LakeError
from lakeflow.core.incremental import IncrementalSpec
from lakeflow.lakes import LakeHandle
from lakeflow.ports import ExtractContext, Lake

_numbers = itertools.count()


def new_lake(root: Path, *, durable: bool = False) -> LocalLake:
    """A LocalLake with a created repository (default branch ``main``)."""
    lake = LocalLake(root, f"repo-{next(_numbers):05d}", durable=durable)
    unwrap_io(lake.create_repository()).unwrap()
    return lake


def head(lake: Lake, ref: str = "main") -> str:
    """The commit ``ref`` points at."""
    return unwrap_io(lake.resolve(ref)).unwrap()


def paths(lake: Lake, ref: str = "main", prefix: str = "") -> list[str]:
    """Object paths at ``ref``."""
    return [o.path for o in unwrap_io(lake.list_objects(prefix, ref=ref)).unwrap()]


def published(lake: Lake, folder: str, ref: str = "main") -> pl.DataFrame:
    """Every row published under ``folder`` at ``ref`` (empty frame when there is none)."""
    if not paths(lake, ref, folder + "/"):
        return pl.DataFrame()
    return LakeHandle(lake).scan(folder, ref=ref).collect()


class FailingSource:
    """A source whose extract fails with ``error`` (a dead server, a bad query)."""

    def __init__(self, error: ExtractError) -> None:
        self.error = error
        self.calls = 0

    @property
    def incremental(self) -> IncrementalSpec | None:
        return None

    def describe(self) -> Mapping[str, object]:
        return {"kind": "failing"}

    def extract(self, context: ExtractContext) -> IOResult[pl.LazyFrame, ExtractError]:
        self.calls += 1
        return IOFailure(self.error)


class FlakySource:
    """A source that fails ``failures`` times with a retryable error, then returns ``frame``."""

    def __init__(self, frame: pl.DataFrame, failures: int) -> None:
        self.frame = frame
        self.failures = failures
        self.calls = 0

    @property
    def incremental(self) -> IncrementalSpec | None:
        return None

    def describe(self) -> Mapping[str, object]:
        return {"kind": "flaky"}

    def extract(self, context: ExtractContext) -> IOResult[pl.LazyFrame, ExtractError]:
        self.calls += 1
        if self.calls <= self.failures:
            return IOFailure(ExtractError("flaky", "connection reset by peer", retryable=True))
        return IOSuccess(self.frame.lazy())


class FaultyLake:
    """A LocalLake proxy: ``fail[op]`` replaces the n-th call of ``op`` with a LakeError,
    ``before[op]`` runs a hook before each call of ``op``."""

    def __init__(self, lake: LocalLake) -> None:
        self._lake = lake
        self.fail: dict[str, tuple[int, LakeError]] = {}
        self.before: dict[str, Callable[[], None]] = {}
        self.calls: dict[str, int] = {}

    @property
    def scratch_dir(self) -> Path:
        return self._lake.scratch_dir

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._lake, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            hook = self.before.get(name)
            if hook is not None:
                hook()
            planned = self.fail.get(name)
            if planned is not None and planned[0] == self.calls[name]:
                return IOFailure(planned[1])
            return target(*args, **kwargs)

        return call
