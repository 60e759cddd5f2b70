"""Uncommitted writes of a LocalLake: staging rows and what a branch or commit shows.

Effectful (reads and writes the metadata inside the caller's snapshot or transaction). A staged
row maps a branch's path to an entry or a tombstone (a staged delete), with a lake-wide
sequence number so a commit clears exactly the rows it saw (writes landing during a commit stay
staged, as with lakeFS' staging tokens). A branch shows its head tree with its staged rows
applied; a commit id shows its tree.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping

from lakeflow.adapters.local.failures import Refused
from lakeflow.adapters.local.metadata import Metadata
from lakeflow.adapters.local.trees import Entry, Item, Loader, Tree, iter_prefix, lookup

__all__ = [
    "discard",
    "effective",
    "entry_at",
    "rows",
    "stage",
    "staged",
    "view_prefix",
]


def _decode(meta: Metadata, raw: str | None) -> Entry | None:
    if raw is None:
        return None
    try:
        return Entry.from_json(json.loads(raw))
    except (ValueError, TypeError, IndexError, KeyError):
        raise Refused(
            "corrupt", f"the lake at {meta.url} is damaged: a staged entry cannot be decoded"
        ) from None


def staged(
    meta: Metadata,
    conn: sqlite3.Connection,
    branch: str,
    *,
    path: str | None = None,
    prefix: str = "",
) -> dict[str, Entry | None]:
    """Effect. Staged entries of ``branch``: one ``path``, or every path under ``prefix``."""
    if path is not None:
        found = conn.execute(
            "SELECT path, entry FROM staging WHERE repo = ? AND branch = ? AND path = ?",
            (meta.repo, branch, path),
        ).fetchall()
    else:
        found = conn.execute(
            "SELECT path, entry FROM staging WHERE repo = ? AND branch = ? AND path >= ? "
            "AND substr(path, 1, ?) = ? ORDER BY path",
            (meta.repo, branch, prefix, len(prefix), prefix),
        ).fetchall()
    return {str(p): _decode(meta, raw) for p, raw in found}


def rows(
    meta: Metadata, conn: sqlite3.Connection, branch: str
) -> tuple[dict[str, Entry | None], int]:
    """Effect. All staged entries of ``branch`` and the highest sequence number among them."""
    found = conn.execute(
        "SELECT path, seq, entry FROM staging WHERE repo = ? AND branch = ?",
        (meta.repo, branch),
    ).fetchall()
    entries = {str(p): _decode(meta, raw) for p, _, raw in found}
    return entries, max((int(s) for _, s, _ in found), default=0)


def effective(
    tree: Tree, entries: Mapping[str, Entry | None], load: Loader
) -> dict[str, Entry | None]:
    """Effect (loads ranges). Staged entries that differ from ``tree`` (no-ops dropped)."""
    return {p: e for p, e in entries.items() if e != lookup(tree, p, load)}


def entry_at(
    meta: Metadata, conn: sqlite3.Connection, at: tuple[str, str | None], path: str
) -> Entry | None:
    """Effect. What ``path`` shows at a resolved ref (commit id, branch or ``None``)."""
    commit, branch = at
    if branch is not None:
        found = staged(meta, conn, branch, path=path)
        if path in found:
            return found[path]
    tree = meta.tree(conn, meta.commit_row(conn, commit).tree)
    return lookup(tree, path, meta.loader(conn))


def view_prefix(
    meta: Metadata, conn: sqlite3.Connection, at: tuple[str, str | None], prefix: str
) -> list[Item]:
    """Effect. Every path under ``prefix`` at a resolved ref, sorted, with its entry."""
    commit, branch = at
    tree = meta.tree(conn, meta.commit_row(conn, commit).tree)
    committed = dict(iter_prefix(tree, prefix, meta.loader(conn)))
    if branch is None:
        return sorted(committed.items())
    for path, entry in staged(meta, conn, branch, prefix=prefix).items():
        if entry is None:
            committed.pop(path, None)
        else:
            committed[path] = entry
    return sorted(committed.items())


def stage(meta: Metadata, op: str, branch: str, path: str, entry: Entry | None) -> None:
    """Effect. Stage ``entry`` (``None``: a delete) at ``path`` on ``branch``, atomically."""
    with meta.write(op) as conn:
        meta.branch_row(conn, branch)
        conn.execute(
            "INSERT INTO staging (repo, branch, path, seq, entry) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (repo, branch, path) DO UPDATE SET seq = excluded.seq, "
            "entry = excluded.entry",
            (
                meta.repo,
                branch,
                path,
                meta.next_seq(conn),
                None if entry is None else json.dumps(entry.to_json()),
            ),
        )


def discard(meta: Metadata, conn: sqlite3.Connection, branch: str) -> None:
    """Effect (in a write). Drop every staged row of ``branch``."""
    conn.execute("DELETE FROM staging WHERE repo = ? AND branch = ?", (meta.repo, branch))
