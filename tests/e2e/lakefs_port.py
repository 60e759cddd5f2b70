"""The old Lake port's argument order over a LakeFSLake, for the shell as it is on main.

``LakeFSLake`` implements the narrow port (path first, ``ref=``/``branch=`` keywords); the shell
on main still calls the old one (``get_bytes(ref, path)``, ``put_file(branch, path, file)``).
:class:`OldPortView` only reorders arguments — every call goes to the real LakeFSLake over
real HTTP — so that ``lakeflow.run.run`` can be proven on lakeFS today. When the narrow port
lands, pass the LakeFSLake itself and delete this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import polars as pl
from returns.io import IOResult

from lakeflow.adapters.lake_helpers import NotebookHelpers
from lakeflow.adapters.lakefs import LakeFSLake
from lakeflow.core.errors import LakeError
from lakeflow.ports import (
    BranchInfo,
    Change,
    CommitInfo,
    MergeStrategy,
    ObjectInfo,
    RepositoryInfo,
)

OCTET = "application/octet-stream"


class OldPortView(NotebookHelpers):
    """A LakeFSLake seen through the old port's argument order (see the module docstring)."""

    def __init__(self, lake: LakeFSLake) -> None:
        self.lake = lake

    @property
    def url(self) -> str:
        return self.lake.url

    @property
    def repository(self) -> str:
        return self.lake.repository

    def create_repository(
        self, *, default_branch: str = "main", exist_ok: bool = False
    ) -> IOResult[RepositoryInfo, LakeError]:
        return self.lake.create_repository(default_branch=default_branch, exist_ok=exist_ok)

    def get_repository(self) -> IOResult[RepositoryInfo, LakeError]:
        return self.lake.get_repository()

    def create_branch(
        self, name: str, source: str, *, exist_ok: bool = False
    ) -> IOResult[str, LakeError]:
        return self.lake.create_branch(name, source, exist_ok=exist_ok)

    def delete_branch(self, name: str) -> IOResult[None, LakeError]:
        return self.lake.delete_branch(name)

    def list_branches(self) -> IOResult[tuple[BranchInfo, ...], LakeError]:
        return self.lake.list_branches()

    def resolve(self, ref: str) -> IOResult[str, LakeError]:
        return self.lake.resolve(ref)

    def put_bytes(
        self,
        branch: str,
        path: str,
        data: bytes,
        *,
        content_type: str = OCTET,
        metadata: Mapping[str, str] | None = None,
    ) -> IOResult[ObjectInfo, LakeError]:
        return self.lake.put_bytes(
            path, data, branch=branch, content_type=content_type, metadata=metadata
        )

    def put_file(
        self,
        branch: str,
        path: str,
        source: Path,
        *,
        content_type: str = OCTET,
        metadata: Mapping[str, str] | None = None,
        move: bool = False,
    ) -> IOResult[ObjectInfo, LakeError]:
        return self.lake.put_file(
            path, source, branch=branch, content_type=content_type, metadata=metadata, move=move
        )

    def delete_object(self, branch: str, path: str) -> IOResult[None, LakeError]:
        return self.lake.delete_object(path, branch=branch)

    def get_bytes(self, ref: str, path: str) -> IOResult[bytes, LakeError]:
        return self.lake.get_bytes(path, ref=ref)

    def stat(self, ref: str, path: str) -> IOResult[ObjectInfo, LakeError]:
        return self.lake.stat(path, ref=ref)

    def list_objects(
        self, ref: str, prefix: str = ""
    ) -> IOResult[tuple[ObjectInfo, ...], LakeError]:
        return self.lake.list_objects(prefix, ref=ref)

    def scan_frame(self, ref: str, path: str) -> IOResult[pl.LazyFrame, LakeError]:
        return self.lake.scan_frame(path, ref=ref)

    def uncommitted(self, branch: str) -> IOResult[tuple[Change, ...], LakeError]:
        return self.lake.uncommitted(branch)

    def commit(
        self,
        branch: str,
        message: str,
        metadata: Mapping[str, str] | None = None,
        *,
        allow_empty: bool = False,
    ) -> IOResult[CommitInfo, LakeError]:
        return self.lake.commit(branch, message, metadata, allow_empty=allow_empty)

    def merge(
        self,
        source: str,
        dest_branch: str,
        *,
        message: str = "",
        metadata: Mapping[str, str] | None = None,
        strategy: MergeStrategy = None,
    ) -> IOResult[str, LakeError]:
        return self.lake.merge(
            source, dest_branch, message=message, metadata=metadata, strategy=strategy
        )

    def log_commits(
        self, ref: str, *, limit: int | None = None
    ) -> IOResult[tuple[CommitInfo, ...], LakeError]:
        return self.lake.log_commits(ref, limit=limit)

    def diff(self, left: str, right: str) -> IOResult[tuple[Change, ...], LakeError]:
        return self.lake.diff(left, right)
