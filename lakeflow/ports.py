"""Ports: the protocols the shell talks to. Adapters implement them; the shell sequences them.

Lakes, sources and sinks carry the data; :class:`Alerter` and :class:`MetricsPublisher` carry
what a run reports about itself (alerts, metrics).

The :class:`Lake` port mirrors lakeFS (repository, branches, objects, commits, merges) so that
the lakeFS adapter is a thin mapping and the embedded ``LocalLake`` behaves the same. Every
operation returns an ``IOResult`` with a :class:`LakeError` value; nothing here raises for an
expected failure. Notebook helpers that raise (``scan``, ``head``, ``branches``, ``log``) are
not part of the port: :func:`lakeflow.lakes.open_lake` returns them on a
:class:`~lakeflow.lakes.LakeHandle` wrapped around a :class:`Lake`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol, TypeAlias, TypeVar, runtime_checkable

import polars as pl
from returns.io import IOFailure, IOResult
from returns.result import Failure, Result, Success
from returns.unsafe import unsafe_perform_io

from lakeflow.core.alerts import DeliveryError, Message
from lakeflow.core.errors import ExtractError, LakeError, LoadError
from lakeflow.core.incremental import IncrementalSpec, Watermark
from lakeflow.core.records import FailureRecord, RunRecord

__all__ = [
    "BRANCH_ID",
    "Alerter",
    "BranchInfo",
    "Change",
    "ChangeType",
    "CommitInfo",
    "ExtractContext",
    "Lake",
    "MergeStrategy",
    "MetricsPublisher",
    "ObjectInfo",
    "RepositoryInfo",
    "SchemaSource",
    "Sink",
    "Source",
    "unwrap_io",
]

BRANCH_ID = re.compile(r"^\w[-\w]*\Z", re.ASCII)
"""lakeFS branch ids: a word character, then word characters or dashes (no ``/`` or ``.``)."""

T = TypeVar("T")
E = TypeVar("E")

MergeStrategy: TypeAlias = Literal["dest-wins", "source-wins"] | None
ChangeType: TypeAlias = Literal["added", "removed", "changed"]


@dataclass(frozen=True, slots=True)
class RepositoryInfo:
    """A repository: its id and default branch."""

    id: str
    default_branch: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class BranchInfo:
    """A branch and the commit it points at."""

    name: str
    commit_id: str


@dataclass(frozen=True, slots=True)
class CommitInfo:
    """One commit. ``parents`` is ``[dest, source]`` for merge commits."""

    id: str
    parents: tuple[str, ...]
    message: str
    metadata: Mapping[str, str]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """An object's stats at a ref (``checksum`` is the content hash)."""

    path: str
    size: int
    checksum: str
    content_type: str
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Change:
    """One path that differs between two refs, or is uncommitted on a branch."""

    path: str
    type: ChangeType


@runtime_checkable
class Lake(Protocol):
    """A versioned object store bound to one repository, with lakeFS semantics.

    Only ``IOResult`` operations: an implementation writes each exactly once, and notebook
    conveniences that raise live beside the port (:class:`lakeflow.lakes.LakeHandle`). One
    argument order everywhere: an object operation takes the **path first**; the ref it reads
    at is the keyword ``ref=``, the branch it writes to the keyword ``branch=``.

    Branch ids match :data:`BRANCH_ID`. Writes go to a branch's uncommitted (staging) area and
    become visible at a commit id only when committed. Commits, merges and reverts move a
    branch head atomically (compare-and-swap): a concurrent move makes one of them fail with a
    ``conflict`` :class:`LakeError` (``retryable`` when retrying can succeed, such as a lost race
    on a head). Content read back is what was written: damage found on read is a ``corrupt``
    error naming the object, never different bytes.
    """

    @property
    def url(self) -> str:
        """Where the lake lives, without secrets (``local:///abs/path``, ``lakefs://host``)."""
        ...

    @property
    def repository(self) -> str:
        """The repository id this handle is bound to."""
        ...

    # -- repository ---------------------------------------------------------------------------
    def create_repository(
        self, *, default_branch: str = "main", exist_ok: bool = False
    ) -> IOResult[RepositoryInfo, LakeError]:
        """Create the repository with an initial empty commit on ``default_branch``."""
        ...

    def get_repository(self) -> IOResult[RepositoryInfo, LakeError]:
        """The repository's info; ``not_found`` if it was never created."""
        ...

    # -- branches and refs --------------------------------------------------------------------
    def create_branch(
        self, name: str, source: str, *, exist_ok: bool = False
    ) -> IOResult[str, LakeError]:
        """Create ``name`` at ``source`` (a branch or commit id); returns the commit id."""
        ...

    def delete_branch(self, name: str) -> IOResult[None, LakeError]:
        """Delete a branch (its commits stay reachable by id); the default branch is refused."""
        ...

    def list_branches(self) -> IOResult[tuple[BranchInfo, ...], LakeError]:
        """All branches, sorted by name."""
        ...

    def resolve(self, ref: str) -> IOResult[str, LakeError]:
        """The commit id a branch name or commit id (or unique prefix) points at."""
        ...

    def discard_changes(self, branch: str) -> IOResult[None, LakeError]:
        """Drop every uncommitted change on ``branch`` (lakeFS' branch reset)."""
        ...

    # -- objects (path first) -----------------------------------------------------------------
    def put_bytes(
        self,
        path: str,
        data: bytes,
        *,
        branch: str,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> IOResult[ObjectInfo, LakeError]:
        """Stage an object from bytes on ``branch`` (visible after the next commit)."""
        ...

    def put_file(
        self,
        path: str,
        source: Path,
        *,
        branch: str,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
        move: bool = False,
    ) -> IOResult[ObjectInfo, LakeError]:
        """Stage an object from a local file, streamed (never the whole file in memory).

        With ``move=True`` the caller gives the file away: the lake may rename it into its
        store (no second copy) or delete it after uploading.
        """
        ...

    def delete_object(self, path: str, *, branch: str) -> IOResult[None, LakeError]:
        """Stage the removal of ``path`` on ``branch``."""
        ...

    def get_bytes(self, path: str, *, ref: str) -> IOResult[bytes, LakeError]:
        """An object's content at ``ref`` (a branch sees its uncommitted writes), verified."""
        ...

    def stat(self, path: str, *, ref: str) -> IOResult[ObjectInfo, LakeError]:
        """An object's stats at ``ref``; ``not_found`` if absent."""
        ...

    def list_objects(
        self, prefix: str = "", *, ref: str
    ) -> IOResult[tuple[ObjectInfo, ...], LakeError]:
        """Objects under ``prefix`` at ``ref``, sorted by path."""
        ...

    def scan_frame(self, path: str, *, ref: str) -> IOResult[pl.LazyFrame, LakeError]:
        """A lazy frame over the dataset at ``path``: a parquet object, a Delta table (its live
        rows at ``ref``, never removed files), or every ``*.parquet`` under a folder (parts of
        different schemas are read with their columns unified; missing ones are null).

        The data is verified against its checksums before the frame is returned, unless the
        lake was opened with read verification turned off. Implementations delegate to
        :func:`lakeflow.adapters.table_scan.scan_dataset`, so every lake reads datasets alike.
        """
        ...

    def local_files(
        self, paths: Sequence[str], *, ref: str
    ) -> IOResult[tuple[Path, ...], LakeError]:
        """Local files holding the objects' content at ``ref``, in order, for readers that
        need files (Polars scans, delta-rs): read-only, verified like ``scan_frame``.

        The embedded lake returns its content-addressed blob files themselves (no copy: never
        write to one, link it); lakeFS returns downloads kept until the lake is closed.
        A missing path is ``not_found``, damage ``corrupt``.
        """
        ...

    # -- commits, merges, history -------------------------------------------------------------
    def uncommitted(self, branch: str) -> IOResult[tuple[Change, ...], LakeError]:
        """Staged changes on ``branch`` that differ from its head commit."""
        ...

    def commit(
        self,
        branch: str,
        message: str,
        metadata: Mapping[str, str] | None = None,
        *,
        allow_empty: bool = False,
    ) -> IOResult[CommitInfo, LakeError]:
        """Commit the branch's staged changes; ``invalid`` when there are none and not allowed."""
        ...

    def merge(
        self,
        source: str,
        dest_branch: str,
        *,
        message: str = "",
        metadata: Mapping[str, str] | None = None,
        strategy: MergeStrategy = None,
    ) -> IOResult[str, LakeError]:
        """Three-way merge of ``source`` into ``dest_branch``; returns the merge commit id.

        Always creates a commit with parents ``[dest head, source commit]`` (never a fast
        forward). A path changed differently on both sides since the merge base is a
        ``conflict`` unless ``strategy`` picks a side. A destination with uncommitted changes
        is refused (``invalid``).
        """
        ...

    def revert(
        self,
        branch: str,
        commit: str,
        *,
        parent_number: int = 1,
        message: str = "",
        metadata: Mapping[str, str] | None = None,
    ) -> IOResult[CommitInfo, LakeError]:
        """Commit on ``branch`` the undoing of what ``commit`` changed against a parent.

        ``parent_number`` picks the parent (1-based) the change is measured against: for a
        merge commit, 1 undoes what the merge brought into its destination. A path that
        changed on ``branch`` since ``commit`` in another way is a ``conflict``; a branch with
        uncommitted changes, or a revert that would change nothing, is ``invalid``.
        """
        ...

    def log_commits(
        self, ref: str, *, limit: int | None = None
    ) -> IOResult[tuple[CommitInfo, ...], LakeError]:
        """Commits reachable from ``ref``, newest first."""
        ...

    def diff(self, left: str, right: str) -> IOResult[tuple[Change, ...], LakeError]:
        """Changes on ``right`` since its merge base with ``left`` (lakeFS' three-dot diff)."""
        ...


@dataclass(frozen=True, slots=True)
class ExtractContext:
    """What a source may use to plan its read.

    Attributes:
        watermark: The checkpoint read at the run's base commit (``None`` on a first run or
            for a non-incremental source). A source should push ``column >= value`` down
            into its query; the shell then drops the rows already published at ``value``.
        lake: The run's lake, for sources that read lake paths.
        base_ref: The run's base commit id: lake paths are read there, never at a moving head.
        on_rows: Sources that read in batches call it with the number of rows read so far,
            for progress displays (optional; never required for correctness).
    """

    watermark: Watermark | None
    lake: Lake
    base_ref: str
    on_rows: Callable[[int], None] | None = None


@runtime_checkable
class Source(Protocol):
    """Where a pipeline's rows come from.

    ``describe()`` never includes secrets. ``extract`` returns a lazy frame; the shell caches
    it so that every output of the run (raw copy, valid rows, quarantine, counts) reads the
    source once. A source may read eagerly inside ``extract`` (connectorx does) so that
    connection errors surface there, as retryable :class:`ExtractError` values.
    """

    @property
    def incremental(self) -> IncrementalSpec | None:
        """How the source is read incrementally, or ``None`` for a full read every run."""
        ...

    def describe(self) -> Mapping[str, object]:
        """What the run record says about this source (kind, table, query...), secret-free."""
        ...

    def extract(self, context: ExtractContext) -> IOResult[pl.LazyFrame, ExtractError]:
        """Plan (or perform) the read for one run."""
        ...


@runtime_checkable
class SchemaSource(Source, Protocol):
    """A source that can say what :meth:`~Source.extract` would produce without reading rows.

    The shell checks a run's whole plan against this schema before extracting anything
    (``lakeflow check``, and every run), so a typo in a column fails in milliseconds.
    """

    def plan_schema(self, context: ExtractContext) -> IOResult[pl.Schema, ExtractError]:
        """The schema of the rows ``extract`` would return (reading no rows)."""
        ...


@runtime_checkable
class Sink(Protocol):
    """A destination outside the lake (a database table), loaded after the lake merge."""

    def describe(self) -> Mapping[str, object]:
        """What the run record says about this sink, secret-free."""
        ...

    def load(self, frame: pl.LazyFrame) -> IOResult[int, LoadError]:
        """Load ``frame``; returns how many rows were inserted or changed."""
        ...


@runtime_checkable
class Alerter(Protocol):
    """An alert channel (email, webhook): delivers a :class:`~lakeflow.core.alerts.Message`.

    One call is one attempt, bounded by the channel's own timeout; the shell retries
    ``retryable`` failures (:func:`lakeflow.run.retry.retrying`) within the run's alert budget.
    """

    @property
    def channel(self) -> str:
        """The channel's name in records and logs (``email``, ``webhook``)."""
        ...

    def send(self, message: Message) -> IOResult[None, DeliveryError]:
        """Deliver ``message`` once."""
        ...


@runtime_checkable
class MetricsPublisher(Protocol):
    """Where a run's metrics go (a Pushgateway, a node-exporter textfile)."""

    @property
    def channel(self) -> str:
        """The target's name in records and logs (``pushgateway``, ``textfile``)."""
        ...

    def publish(self, record: RunRecord | FailureRecord) -> IOResult[None, DeliveryError]:
        """Publish the metrics of the run ``record`` describes, once."""
        ...


def unwrap_io(result: IOResult[T, E]) -> Result[T, E]:
    """Effect boundary: the ``Result`` inside an ``IOResult`` (the shell, notebooks, tests)."""
    if isinstance(result, IOFailure):
        return Failure(unsafe_perform_io(result.failure()))
    return Success(unsafe_perform_io(result.unwrap()))
