"""Maintenance of a LocalLake folder: garbage collection and the consistency check (fsck).

Effectful. Like lakeFS, deleting a branch frees nothing (its commits stay readable by id).
:func:`gc` deletes blobs no commit and no staged write references (lost races, overwritten
staged writes, crashed writes) once older than a grace period; :func:`fsck` checks that every
reference resolves, every stored commit, tree and range hashes to its id, and every blob exists
with its recorded size (and, ``deep``, its recorded sha256), naming each damaged object.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import timedelta

from lakeflow.adapters.local.blobs import BlobStore, unlink_quietly
from lakeflow.adapters.local.failures import Refused
from lakeflow.adapters.local.metadata import Metadata
from lakeflow.adapters.local.trees import Entry

__all__ = ["FsckReport", "GcReport", "fsck", "gc"]


@dataclass(frozen=True, slots=True)
class GcReport:
    """What :func:`gc` removed (or would remove, with ``dry_run``)."""

    blobs_deleted: int
    bytes_freed: int
    temp_files_deleted: int
    blobs_kept: int


@dataclass(frozen=True, slots=True)
class FsckReport:
    """What :func:`fsck` checked, and every problem it found (empty when healthy).

    Each problem names the damaged object: its path and where it is seen (a commit id or
    "staged on branch X"), and the blob, commit, tree or range id.
    """

    commits: int
    objects: int
    blobs_hashed: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Pure. ``True`` when nothing is damaged."""
        return not self.problems

    def to_dict(self) -> dict[str, object]:
        """Pure. The report as plain JSON values."""
        return {
            "ok": self.ok,
            "commits": self.commits,
            "objects": self.objects,
            "blobs_hashed": self.blobs_hashed,
            "problems": list(self.problems),
        }


def _referenced_blobs(meta: Metadata) -> set[str]:
    with meta.read() as conn:
        load = meta.loader(conn)
        range_ids: set[str] = set()
        for (tree_id,) in conn.execute("SELECT DISTINCT tree FROM commits").fetchall():
            range_ids.update(r.id for r in meta.tree(conn, str(tree_id)).refs)
        live: set[str] = set()
        for range_id in range_ids:
            live.update(e.checksum for e in load(range_id).entries)
        for (raw,) in conn.execute("SELECT entry FROM staging WHERE entry IS NOT NULL"):
            live.add(str(json.loads(raw)[0]))
    return live


def gc(meta: Metadata, blobs: BlobStore, *, grace: timedelta, dry_run: bool) -> GcReport:
    """Effect. Delete blobs and temp files nothing references, older than ``grace``.

    Works on the whole lake folder (every repository in it): blobs are shared. A blob is kept
    while any commit (of any branch, deleted or not) or any staged write refers to it.
    ``grace`` protects writes in flight in other processes.
    """
    if not dry_run:
        meta.require_writable("gc")
    cutoff = time.time() - grace.total_seconds()
    live = _referenced_blobs(meta)
    deleted = freed = kept = 0
    objects = blobs.objects
    folders = sorted(f for f in objects.iterdir() if f.is_dir()) if objects.is_dir() else []
    for folder in folders:
        for blob in folder.iterdir():
            name = folder.name + blob.name
            info = blob.stat()
            if name in live or info.st_mtime > cutoff:
                kept += 1
                continue
            deleted += 1
            freed += info.st_size
            if not dry_run:
                unlink_quietly(blob)
    temps = 0
    for temp in blobs.tmp.glob("put-*"):
        if temp.stat().st_mtime <= cutoff:
            temps += 1
            if not dry_run:
                unlink_quietly(temp)
    return GcReport(deleted, freed, temps, kept)


def _short(ids: list[str]) -> str:
    shown = ", ".join(ids[:3])
    return shown + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")


def fsck(meta: Metadata, blobs: BlobStore, *, deep: bool) -> FsckReport:
    """Effect. Check every branch, commit, tree, range and blob of the repository.

    Problems are collected, not raised; only an unreadable metadata file (which makes every
    check impossible) fails the whole call, as a ``corrupt`` refusal.
    """
    problems: list[str] = []
    # blob checksum -> (size, path, where it is seen)
    seen: dict[str, tuple[int, str, list[str]]] = {}

    def note(entry: Entry, path: str, where: str) -> None:
        _, _, places = seen.setdefault(entry.checksum, (entry.size, path, []))
        if len(places) < 4:
            places.append(where)

    meta.forget()
    with meta.read() as conn:
        meta.repo_row(conn)
        problems.extend(
            f"metadata file {meta.db}: {row[0]}"
            for row in conn.execute("PRAGMA quick_check").fetchall()
            if row[0] != "ok"
        )
        load = meta.loader(conn)
        ids = [
            str(c[0]) for c in conn.execute("SELECT id FROM commits WHERE repo = ?", (meta.repo,))
        ]
        known = set(ids)
        for name, head in conn.execute(
            "SELECT name, head FROM branches WHERE repo = ?", (meta.repo,)
        ).fetchall():
            if head not in known:
                problems.append(f"branch {name!r} points at missing commit {head}")
        checked_ranges: set[str] = set()
        for commit in ids:
            try:
                row = meta.commit_row(conn, commit)
                problems.extend(
                    f"commit {commit} has missing parent {p}" for p in row.parents if p not in known
                )
                for ref in meta.tree(conn, row.tree).refs:
                    if ref.id in checked_ranges:
                        continue
                    checked_ranges.add(ref.id)
                    loaded = load(ref.id)
                    for path, entry in zip(loaded.paths, loaded.entries, strict=True):
                        note(entry, path, f"commit {commit[:12]}")
            except Refused as refused:
                problems.append(f"commit {commit}: {refused.reason}")
        for branch, path, raw in conn.execute(
            "SELECT branch, path, entry FROM staging WHERE repo = ? AND entry IS NOT NULL",
            (meta.repo,),
        ).fetchall():
            try:
                note(Entry.from_json(json.loads(raw)), str(path), f"staged on branch {branch!r}")
            except (ValueError, TypeError, IndexError, KeyError):
                problems.append(f"staged entry {path!r} on branch {branch!r} cannot be decoded")
    hashed = 0
    for checksum, (size, path, places) in sorted(seen.items()):
        name = f"object {path!r} ({_short(places)}; blob {checksum})"
        if not deep:
            try:
                actual = blobs.file(checksum).stat().st_size
            except FileNotFoundError:
                problems.append(f"{name}: the blob is missing")
                continue
            if actual != size:
                problems.append(f"{name}: the blob has {actual} bytes, not {size}")
            continue
        hashed += 1
        found = blobs.hash_file(checksum)
        if found is None:
            problems.append(f"{name}: the blob is missing")
        elif found[0] != size:
            problems.append(f"{name}: the blob has {found[0]} bytes, not {size}")
        elif found[1] != checksum:
            problems.append(f"{name}: the blob does not match its hash (it hashes to {found[1]})")
    return FsckReport(len(ids), len(seen), hashed, tuple(problems))
