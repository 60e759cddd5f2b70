"""Local copies of lake objects that lazy frames scan: where they live and how long.

Effect (files in one temporary folder per lake).

A ``LazyFrame`` from ``LakeFSLake.scan_frame`` is a plan over local parquet files that Polars
opens only when the plan runs — maybe much later, maybe several times, maybe through frames
derived from it. So a downloaded file must live at least as long as any frame over it, and
nothing in Python is told when a plan is done with a file (a derived frame keeps the plan but
not the frame object). The files therefore belong to the **lake**, not to a frame:

* one folder per :class:`DownloadCache` (``lakeflow-lakefs-*`` in the system temporary folder),
  created on first use;
* a file is named by the object's checksum, so scanning the same content again (the same ref,
  or another ref where the object did not change) downloads nothing;
* the folder is deleted by ``LakeFSLake.close()`` (or leaving its ``with`` block), when the lake
  is garbage-collected, or at interpreter exit — whichever comes first. A frame collected after
  that fails with a missing-file error from Polars: collect (or ``sink_*``) frames before
  closing their lake.

Downloads are written under a temporary name and renamed into place once complete and
verified, so a crash or a failed download never leaves a file that looks cached.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
import weakref
from pathlib import Path
from typing import BinaryIO

__all__ = ["DownloadCache"]


class DownloadCache:
    """Effect. Verified local copies of lake objects, named by checksum, deleted on close."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._root: Path | None = None
        self._finalizer: weakref.finalize[[Path], DownloadCache] | None = None

    def _folder(self) -> Path:
        with self._lock:
            if self._root is None:
                root = Path(tempfile.mkdtemp(prefix="lakeflow-lakefs-"))
                self._finalizer = weakref.finalize(self, _remove, root)
                self._root = root
            return self._root

    @staticmethod
    def _name(checksum: str) -> str:
        return hashlib.sha256(checksum.encode()).hexdigest()[:40] + ".parquet"

    def cached(self, checksum: str) -> Path | None:
        """Effect (reads the folder). The local copy of content with ``checksum``, if any."""
        if not checksum or self._root is None:
            return None
        path = self._root / self._name(checksum)
        return path if path.is_file() else None

    def open_new(self) -> tuple[BinaryIO, Path]:
        """Effect. A new temporary file in the folder (to download into), open for writing."""
        handle, name = tempfile.mkstemp(dir=self._folder(), prefix=".part-")
        return os.fdopen(handle, "wb"), Path(name)

    def keep(self, part: Path, checksum: str) -> Path:
        """Effect. Install a complete download under its checksum's name; its final path.

        Without a checksum the file keeps its unique temporary name (never reused).
        """
        if not checksum:
            return part
        final = part.with_name(self._name(checksum))
        os.replace(part, final)
        return final

    def close(self) -> None:
        """Effect. Delete every local copy (frames over them can no longer be collected)."""
        with self._lock:
            finalizer, self._finalizer, self._root = self._finalizer, None, None
        if finalizer is not None:
            finalizer()


def _remove(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)
