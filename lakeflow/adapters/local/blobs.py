"""The content-addressed blob store of a LocalLake: immutable files named by their sha256.

Effectful. Blobs live in ``ROOT/objects/<sha[:2]>/<sha[2:]>`` and are shared by every
repository of the lake folder: writing the same bytes twice stores them once. A write streams
into ``ROOT/tmp/`` while hashing, ``fsync``s, renames the file into place and ``fsync``s the
folder, so a reader never sees a partial blob; nothing ever copies a blob again.

**The address is the checksum, so every read can be verified.** :meth:`BlobStore.read` hashes
the bytes it returns (always: they are in memory anyway, and what is checked is exactly what is
returned). :meth:`BlobStore.verify` hashes a file before it is handed to a reader such as
Polars. Damage is a ``corrupt`` :class:`~lakeflow.adapters.local.failures.Refused` naming the
object. A verification is remembered per blob for the life of the store only when it is safe
to: keyed by the file's device, inode, size, mtime and ctime, and only when the file's ctime
was already :data:`RACY_NS` old when hashing began — any later write through the filesystem then
changes the key (the "racily clean" rule git uses for its index). Decay of the medium after a
verification is not seen until the next process; ``fsck(deep=True)`` finds it.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat as stat_module
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path
from typing import Final, NamedTuple

from lakeflow.adapters.local.failures import Refused

__all__ = [
    "CHUNK",
    "RACY_NS",
    "BlobRead",
    "BlobStore",
    "fsync_dir",
    "read_chunks",
    "unlink_quietly",
]

CHUNK: Final = 1 << 20
"""Streaming buffer for file writes and hashing (1 MiB)."""

RACY_NS: Final = 2_000_000_000
"""A file changed less than this long before it was hashed is verified again on every read."""

_Signature = tuple[int, int, int, int, int]


class BlobRead(NamedTuple):
    """One blob to read: its checksum, its recorded size, and how to name it in an error."""

    checksum: str
    size: int
    what: str


def read_chunks(handle: io.BufferedReader) -> Iterator[memoryview]:
    """Effect. Stream a file in 1 MiB chunks through one reused buffer."""
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    while True:
        count = handle.readinto(buffer)
        if not count:
            return
        yield view[:count]


def fsync_dir(path: Path) -> None:
    """Effect. Make a folder's entries (a rename into it) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def unlink_quietly(path: str | Path) -> None:
    """Effect. Remove a file if it is still there."""
    with suppress(FileNotFoundError):
        os.unlink(path)


def may_remember(started_ns: int, info: os.stat_result) -> bool:
    """Pure. Whether a verification that began at ``started_ns`` may be remembered for a file.

    Only when the file's last change was :data:`RACY_NS` before: a write after the
    verification then gets a later mtime/ctime even on filesystems with coarse timestamps.
    """
    return started_ns - max(info.st_mtime_ns, info.st_ctime_ns) > RACY_NS


def _signature(info: os.stat_result) -> _Signature:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


class BlobStore:
    """Effect. Write, read and verify the blobs under ``root`` (see the module docstring).

    Args:
        root: The lake folder (``objects/`` and ``tmp/`` live in it).
        durable: ``fsync`` blobs and folders.
        clock: Nanoseconds since the epoch, for the racily-clean rule (tests pass their own).
    """

    def __init__(
        self, root: Path, *, durable: bool, clock: Callable[[], int] = time.time_ns
    ) -> None:
        self.objects = root / "objects"
        self.tmp = root / "tmp"
        self._durable = durable
        self._clock = clock
        self._verified: dict[str, _Signature] = {}
        self._lock = threading.Lock()

    def file(self, checksum: str) -> Path:
        """Pure. Where the blob named ``checksum`` lives."""
        return self.objects / checksum[:2] / checksum[2:]

    # -- writing ----------------------------------------------------------------------------
    def _install(self, temp: Path, checksum: str) -> None:
        """Atomically publish a complete, synced file as the blob named ``checksum``."""
        target = self.file(checksum)
        if not target.parent.is_dir():
            target.parent.mkdir(parents=True, exist_ok=True)
            if self._durable:
                fsync_dir(target.parent.parent)
        # Replacing an existing blob is harmless (same bytes) and refreshes its mtime, which
        # keeps a concurrent gc() from deleting it before the write is staged.
        os.replace(temp, target)
        os.chmod(target, 0o444)
        if self._durable:
            fsync_dir(target.parent)

    def write(self, chunks: Iterable[bytes | memoryview]) -> tuple[str, int]:
        """Effect. Store streamed bytes as a blob; its checksum and size."""
        digest = hashlib.sha256()
        size = 0
        fd, name = tempfile.mkstemp(dir=self.tmp, prefix="put-")
        temp = Path(name)
        try:
            with os.fdopen(fd, "wb") as handle:
                for chunk in chunks:
                    digest.update(chunk)
                    handle.write(chunk)
                    size += len(chunk)
                handle.flush()
                if self._durable:
                    os.fsync(handle.fileno())
            checksum = digest.hexdigest()
            self._install(temp, checksum)
        except BaseException:
            unlink_quietly(temp)
            raise
        return checksum, size

    def move_in(self, source: Path) -> tuple[str, int] | None:
        """Effect. Hash ``source`` once and rename it into the store; ``None`` if it cannot move.

        Only a regular, singly linked file on the store's filesystem moves (the store must not
        share a mutable inode with another name).
        """
        info = os.lstat(source)
        movable = (
            stat_module.S_ISREG(info.st_mode)
            and info.st_nlink == 1
            and info.st_dev == os.stat(self.tmp).st_dev
        )
        if not movable:
            return None
        digest = hashlib.sha256()
        with open(source, "rb") as handle:
            for chunk in read_chunks(handle):
                digest.update(chunk)
            if self._durable:
                os.fsync(handle.fileno())
        os.utime(source)  # a fresh mtime protects the blob from a concurrent gc() until staged
        checksum = digest.hexdigest()
        self._install(source, checksum)
        return checksum, info.st_size

    # -- reading and verifying -----------------------------------------------------------------
    def _missing(self, blob: BlobRead) -> Refused:
        return Refused(
            "corrupt",
            f"{blob.what} is damaged: its blob {blob.checksum} is missing from "
            f"{self.objects}; run `lakeflow fsck CONFIG` to list every damaged object",
        )

    def _mismatch(self, blob: BlobRead, found: str) -> Refused:
        return Refused(
            "corrupt",
            f"{blob.what} is damaged: its blob {blob.checksum} {found}; the bytes on disk are "
            "not what was written — restore the file from a backup or re-publish the data "
            "(`lakeflow fsck CONFIG --deep` lists every damaged object)",
        )

    def read(self, blob: BlobRead) -> bytes:
        """Effect. The blob's bytes, verified against its checksum and size (always)."""
        try:
            data = self.file(blob.checksum).read_bytes()
        except FileNotFoundError:
            raise self._missing(blob) from None
        if len(data) != blob.size:
            raise self._mismatch(blob, f"has {len(data)} bytes instead of {blob.size}")
        actual = hashlib.sha256(data).hexdigest()
        if actual != blob.checksum:
            raise self._mismatch(blob, f"hashes to {actual}")
        return data

    def verify(self, blob: BlobRead) -> Path:
        """Effect. The blob's file, after checking it hashes to its name (see the docstring)."""
        path = self.file(blob.checksum)
        started = self._clock()
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed below; fstat needs the open file
        except FileNotFoundError:
            raise self._missing(blob) from None
        with handle:
            info = os.fstat(handle.fileno())
            signature = _signature(info)
            with self._lock:
                if self._verified.get(blob.checksum) == signature:
                    return path
            if info.st_size != blob.size:
                raise self._mismatch(blob, f"has {info.st_size} bytes instead of {blob.size}")
            digest = hashlib.sha256()
            for chunk in read_chunks(handle):
                digest.update(chunk)
        actual = digest.hexdigest()
        if actual != blob.checksum:
            raise self._mismatch(blob, f"hashes to {actual}")
        if may_remember(started, info):
            with self._lock:
                self._verified[blob.checksum] = signature
        return path

    def verify_all(self, blobs: Sequence[BlobRead]) -> list[Path]:
        """Effect. :meth:`verify` every blob (several at once: hashing releases the GIL)."""
        if len(blobs) <= 1:
            return [self.verify(b) for b in blobs]
        workers = min(len(blobs), os.cpu_count() or 1, 8)
        with ThreadPoolExecutor(workers, thread_name_prefix="lakeflow-verify") as pool:
            return list(pool.map(self.verify, blobs))

    def hash_file(self, checksum: str) -> tuple[int, str] | None:
        """Effect. The size and sha256 of a stored blob, or ``None`` if it is missing."""
        try:
            with open(self.file(checksum), "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                digest = hashlib.sha256()
                for chunk in read_chunks(handle):
                    digest.update(chunk)
        except FileNotFoundError:
            return None
        return size, digest.hexdigest()
