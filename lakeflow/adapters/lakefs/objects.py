"""Objects on lakeFS: streamed uploads, verified downloads, listings and lazy frames.

Effect. Inputs arrive checked (by :class:`~lakeflow.adapters.lakefs.lake.LakeFSLake`); every
request goes through the session's boundary, so failures are :class:`LakeError` values.

Reads are verified: the bytes are hashed as they stream in and compared with the checksum
lakeFS sends as the object's ``ETag`` (MD5 or SHA-256, see
:func:`~lakeflow.adapters.lakefs.transport.checksum_kind`); a mismatch is ``corrupt``, naming
the object, its ref and both digests. ``local_files`` gives readers that need files (Polars,
delta-rs) verified local copies (:class:`~lakeflow.adapters.lakefs.downloads.DownloadCache`),
one download per content not already copied.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from lakefs_sdk.models.path_list import PathList
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure

from lakeflow.adapters.lake_helpers import lake_error_from_os, unwrap_io
from lakeflow.adapters.lakefs.downloads import DownloadCache
from lakeflow.adapters.lakefs.errors import HttpAnswer, status_error
from lakeflow.adapters.lakefs.session import Session, failure_of, object_info
from lakeflow.adapters.lakefs.transport import Downloaded
from lakeflow.core.errors import LakeError
from lakeflow.ports import ObjectInfo

__all__ = ["Objects"]


class Objects:
    """Effect. The object operations of one lake (see the module docstring).

    Args:
        session: The lake's session.
        downloads: Where ``scan`` keeps its local copies.
        verify_reads: Hash what ``scan`` downloads (``read`` always hashes).
    """

    def __init__(self, session: Session, downloads: DownloadCache, *, verify_reads: bool) -> None:
        self._s = session
        self._sdk = session.sdk
        self._repo = session.repository
        self._downloads = downloads
        self._verify = verify_reads

    # -- writes ---------------------------------------------------------------------------------
    def upload(
        self,
        op: str,
        path: str,
        body: BinaryIO,
        *,
        branch: str,
        content_type: str,
        metadata: Mapping[str, str],
    ) -> IOResult[ObjectInfo, LakeError]:
        """Effect. Stage ``body`` (streamed) as ``path`` on ``branch``.

        Safe to retry: uploading the same bytes to the same path again stages the same object,
        and a dropped upload stages nothing.
        """
        return self._s.call(
            op,
            lambda: object_info(
                self._s.transport.upload(
                    self._repo, branch, path, body, content_type=content_type, metadata=metadata
                )
            ),
            branch=branch,
        )

    def upload_file(
        self,
        path: str,
        source: Path,
        *,
        branch: str,
        content_type: str,
        metadata: Mapping[str, str],
        move: bool,
    ) -> IOResult[ObjectInfo, LakeError]:
        """Effect. Stage a local file, streamed; with ``move`` delete it once lakeFS has it."""
        op = "put_file"
        try:
            handle = open(source, "rb")  # noqa: SIM115 - closed right after the upload
        except OSError as exc:
            return IOFailure(lake_error_from_os(op, exc, what=f"local file {source}"))
        with handle:
            done = self.upload(
                op, path, handle, branch=branch, content_type=content_type, metadata=metadata
            )
        if move and failure_of(done) is None:
            Path(source).unlink(missing_ok=True)
        return done

    def delete(self, path: str, *, branch: str) -> IOResult[None, LakeError]:
        """Effect. Stage the removal of ``path`` (lakeFS' batch delete: a missing path is fine)."""
        op = "delete_object"

        def delete() -> list[Any]:
            paths = PathList.from_dict({"paths": [path]})
            answer = self._sdk.objects_api.delete_objects(self._repo, branch, paths)
            return list(answer.errors or ())  # the batch call reports each path's failure

        def refused(errors: list[Any]) -> IOResult[None, LakeError]:
            if not errors:
                return IOSuccess(None)
            answer = HttpAnswer(int(errors[0].status_code), str(errors[0].message or ""))
            error = status_error(op, answer, self._s.secrets)
            if answer.status == 403:
                error = self._s.forbidden(op, branch, error, deleting=False)
            return IOFailure(error)

        return self._s.call(op, delete, branch=branch).bind(refused)

    # -- reads ----------------------------------------------------------------------------------
    def _download(
        self, op: str, path: str, ref: str, sink: BinaryIO, *, verify: bool
    ) -> IOResult[str, LakeError]:
        """Effect. Stream ``path`` at ``ref`` into ``sink``; the checksum lakeFS sent."""

        def checked(got: Downloaded) -> IOResult[str, LakeError]:
            if got.intact:
                return IOSuccess(got.expected)
            reason = (
                f"object {path!r} at {ref!r} in repository {self._repo!r} is damaged: its "
                f"{got.size:,} bytes hash to {got.actual}, lakeFS' checksum is {got.expected}"
            )
            return IOFailure(LakeError(op, reason, "corrupt"))

        return self._s.call(
            op, lambda: self._s.transport.download(self._repo, ref, path, sink, verify=verify)
        ).bind(checked)

    def read(self, path: str, *, ref: str, sink: BinaryIO) -> IOResult[str, LakeError]:
        """Effect. ``path`` at ``ref`` into ``sink``, always verified; the object's checksum."""
        return self._download("get_bytes", path, ref, sink, verify=True)

    def stat(self, path: str, *, ref: str) -> IOResult[ObjectInfo, LakeError]:
        """Effect. An object's stats at ``ref``, with its user metadata."""
        return self._s.call(
            "stat",
            lambda: object_info(
                self._sdk.objects_api.stat_object(self._repo, ref, path, user_metadata=True)
            ),
        )

    def listing(self, prefix: str, ref: str) -> tuple[ObjectInfo, ...]:
        """Effect. Objects under ``prefix`` at ``ref``, sorted (raises the SDK's exceptions)."""
        listed = self._s.pages(
            self._sdk.objects_api.list_objects, self._repo, ref, prefix=prefix, user_metadata=True
        )
        found = (object_info(o) for o in listed if o.path_type == "object")
        return tuple(sorted(found, key=lambda info: info.path))

    def list_under(self, prefix: str, *, ref: str) -> IOResult[tuple[ObjectInfo, ...], LakeError]:
        """Effect. :meth:`listing` as an ``IOResult``."""
        return self._s.call("list_objects", lambda: self.listing(prefix, ref))

    # -- local copies -----------------------------------------------------------------------------
    def _local(self, info: ObjectInfo, ref: str) -> IOResult[Path, LakeError]:
        """Effect. A verified local copy of ``info``'s content (downloaded unless cached)."""
        op = "local_files"
        cached = self._downloads.cached(info.checksum)
        if cached is not None:
            return IOSuccess(cached)
        try:
            handle, part = self._downloads.open_new()
        except OSError as exc:
            return IOFailure(lake_error_from_os(op, exc, what="a local copy to scan"))
        with handle:
            got = self._download(op, info.path, ref, handle, verify=self._verify)
        problem = failure_of(got)
        if problem is not None:
            part.unlink(missing_ok=True)
            return IOFailure(problem)
        return got.map(lambda checksum: self._downloads.keep(part, checksum))

    def local_files(
        self, paths: Sequence[str], *, ref: str
    ) -> IOResult[tuple[Path, ...], LakeError]:
        """Effect. Verified local copies of ``paths`` at ``ref``: one listing of their common
        folder (the checksums name the copies), then one download per content not copied."""
        if not paths:
            return IOSuccess(())
        folders = [p[: p.rfind("/") + 1].split("/") for p in paths]
        shared = os.path.commonpath(["/" + "/".join(f) for f in folders]).lstrip("/")
        prefix = paths[0] if len(paths) == 1 else (shared + "/" if shared else "")

        def copies(listed: tuple[ObjectInfo, ...]) -> IOResult[tuple[Path, ...], LakeError]:
            found = {info.path: info for info in listed}
            files: list[Path] = []
            for path in paths:
                info = found.get(path)
                if info is None:
                    reason = f"no object {path!r} at {ref!r} in repository {self._repo!r}"
                    return IOFailure(LakeError("local_files", reason, "not_found"))
                got = unwrap_io(self._local(info, ref))
                if isinstance(got, Failure):
                    return IOFailure(got.failure())
                files.append(got.unwrap())
            return IOSuccess(tuple(files))

        return self._s.call("local_files", lambda: self.listing(prefix, ref)).bind(copies)
