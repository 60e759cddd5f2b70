"""Refs and history of a LocalLake: resolving refs, merge bases, the log, commits, merges, reverts.

Effectful (reads and writes the metadata inside the caller's snapshot or transaction; the
functions never open one themselves). Commits and merges compute their new tree from a read
snapshot, then move the branch head with a compare-and-swap in a short write transaction
(:func:`move_head`): a lost race is a retryable ``conflict``, and retrying recomputes on the new
head.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import re
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Final, NamedTuple

from lakeflow.adapters.local import staging
from lakeflow.adapters.local.failures import Refused
from lakeflow.adapters.local.metadata import BranchRow, Metadata, commit_id
from lakeflow.adapters.local.trees import (
    EMPTY_TREE,
    Entry,
    RangeRef,
    Tree,
    apply,
    encode_tree,
    three_way,
)
from lakeflow.ports import BranchInfo, CommitInfo, MergeStrategy, RepositoryInfo

__all__ = [
    "Plan",
    "Prepared",
    "branches",
    "commit_on_clean",
    "commit_staged",
    "create_branch",
    "create_repository",
    "delete_branch",
    "log",
    "merge_base",
    "merge_plan",
    "move_head",
    "prepare",
    "repository_row",
    "resolve",
    "revert_plan",
    "save",
    "tree_of",
]

_MIN_PREFIX: Final = 6  # shortest commit-id prefix that resolves
_HEX: Final = re.compile(r"[0-9a-f]+")
_REF: Final = re.compile(r"(?P<base>[^~^]+)(?P<mods>(?:[~^][0-9]*)*)")
_MOD: Final = re.compile(r"([~^])([0-9]*)")


class Prepared(NamedTuple):
    """A commit computed from a snapshot, ready to be written by :func:`save`."""

    info: CommitInfo
    tree_id: str
    tree_data: bytes
    ranges: dict[str, bytes]
    generation: int


def repository_row(meta: Metadata, conn: sqlite3.Connection) -> tuple[str, str] | None:
    """Effect. The repository's default branch and creation time, or ``None``."""
    row = conn.execute(
        "SELECT default_branch, created_at FROM repositories WHERE id = ?", (meta.repo,)
    ).fetchone()
    return None if row is None else (str(row[0]), str(row[1]))


def create_repository(
    meta: Metadata, conn: sqlite3.Connection, default_branch: str
) -> RepositoryInfo:
    """Effect (in a write). The repository, its default branch and its empty first commit."""
    first = prepare(
        meta, conn, refs=[], ranges={}, parents=(), message="Repository created", metadata={}
    )
    save(meta, conn, first)
    created = first.info.created_at
    conn.execute(
        "INSERT INTO repositories (id, default_branch, created_at) VALUES (?, ?, ?)",
        (meta.repo, default_branch, created.isoformat()),
    )
    conn.execute(
        "INSERT INTO branches (repo, name, head, incarnation) VALUES (?, ?, ?, ?)",
        (meta.repo, default_branch, first.info.id, meta.next_seq(conn)),
    )
    return RepositoryInfo(meta.repo, default_branch, created)


def branches(meta: Metadata, conn: sqlite3.Connection) -> tuple[BranchInfo, ...]:
    """Effect. All branches of the repository, sorted by name."""
    meta.repo_row(conn)
    rows = conn.execute(
        "SELECT name, head FROM branches WHERE repo = ? ORDER BY name", (meta.repo,)
    ).fetchall()
    return tuple(BranchInfo(str(n), str(h)) for n, h in rows)


def create_branch(
    meta: Metadata, conn: sqlite3.Connection, name: str, source: str, *, exist_ok: bool
) -> str:
    """Effect (in a write). A new branch at ``source``'s commit; the commit id."""
    meta.repo_row(conn)
    row = conn.execute(
        "SELECT head FROM branches WHERE repo = ? AND name = ?", (meta.repo, name)
    ).fetchone()
    if row is not None:
        if exist_ok:
            return str(row[0])
        raise Refused("conflict", f"branch {name!r} already exists in {meta.where()}")
    commit, _ = resolve(meta, conn, source)
    conn.execute(
        "INSERT INTO branches (repo, name, head, incarnation) VALUES (?, ?, ?, ?)",
        (meta.repo, name, commit, meta.next_seq(conn)),
    )
    return commit


def delete_branch(meta: Metadata, conn: sqlite3.Connection, name: str) -> None:
    """Effect (in a write). Remove a branch and its staged writes; never the default branch."""
    default_branch, _ = meta.repo_row(conn)
    if name == default_branch:
        raise Refused("invalid", f"cannot delete the default branch {name!r}")
    meta.branch_row(conn, name)
    conn.execute("DELETE FROM branches WHERE repo = ? AND name = ?", (meta.repo, name))
    staging.discard(meta, conn, name)


def tree_of(meta: Metadata, conn: sqlite3.Connection, commit: str | None) -> Tree:
    """Effect. The tree of ``commit`` (the empty tree for ``None``: no common ancestor)."""
    if commit is None:
        return EMPTY_TREE
    return meta.tree(conn, meta.commit_row(conn, commit).tree)


def _by_prefix(meta: Metadata, conn: sqlite3.Connection, ref: str) -> str | None:
    if len(ref) < _MIN_PREFIX or len(ref) > 64 or not _HEX.fullmatch(ref):
        return None
    rows = conn.execute(
        "SELECT id FROM commits WHERE repo = ? AND id >= ? AND id < ? ORDER BY id LIMIT 2",
        (meta.repo, ref, ref + "g"),
    ).fetchall()
    if len(rows) > 1:
        raise Refused("invalid", f"commit id prefix {ref!r} is ambiguous in {meta.where()}")
    return str(rows[0][0]) if rows else None


def resolve(meta: Metadata, conn: sqlite3.Connection, ref: object) -> tuple[str, str | None]:
    """Effect. The commit ``ref`` names, and the branch name when ``ref`` is exactly a branch.

    ``ref`` is a branch, a commit id or a unique prefix of one (>= 6 hex digits), optionally
    followed by lakeFS/git ancestry modifiers: ``~N`` (N-th first-parent ancestor) and ``^N``
    (N-th parent).
    """
    if not isinstance(ref, str) or not ref:
        raise Refused("invalid", f"a ref must be a non-empty string, got {ref!r}")
    match = _REF.fullmatch(ref)
    if match is None:
        raise Refused("invalid", f"invalid ref {ref!r}")
    base, mods = match["base"], match["mods"]
    meta.repo_row(conn)
    row = conn.execute(
        "SELECT head FROM branches WHERE repo = ? AND name = ?", (meta.repo, base)
    ).fetchone()
    branch: str | None = None
    if row is not None:
        commit = str(row[0])
        meta.commit_row(conn, commit, referenced_by=f"branch {base!r}")
        branch = None if mods else base
    else:
        found = _by_prefix(meta, conn, base)
        if found is None:
            raise Refused("not_found", f"no branch or commit {base!r} in {meta.where()}")
        commit = found
    for kind, digits in _MOD.findall(mods):
        count = int(digits) if digits else 1
        if kind == "~":
            for _ in range(count):
                parents = meta.commit_row(conn, commit).parents
                if not parents:
                    raise Refused("not_found", f"{ref!r} goes past the first commit")
                commit = parents[0]
        elif count:
            parents = meta.commit_row(conn, commit).parents
            if count > len(parents):
                raise Refused("not_found", f"{ref!r}: commit has {len(parents)} parent(s)")
            commit = parents[count - 1]
    return commit, branch


def merge_base(meta: Metadata, conn: sqlite3.Connection, left: str, right: str) -> str | None:
    """Effect. The lowest common ancestor with the highest generation (ties: the newest)."""
    if left == right:
        return left
    flags: dict[str, int] = {left: 1, right: 2}
    heap: list[tuple[int, int, str]] = []
    for commit in (left, right):
        row = meta.commit_row(conn, commit)
        heapq.heappush(heap, (-row.generation, -row.seq, commit))
    while heap:
        _, _, commit = heapq.heappop(heap)
        mark = flags[commit]
        if mark == 3:
            return commit
        for parent in meta.commit_row(conn, commit).parents:
            old = flags.get(parent, 0)
            if old | mark != old:
                flags[parent] = old | mark
                if old == 0:
                    row = meta.commit_row(conn, parent, referenced_by=f"commit {commit}")
                    heapq.heappush(heap, (-row.generation, -row.seq, parent))
    return None


def log(
    meta: Metadata, conn: sqlite3.Connection, start: str, limit: int | None
) -> tuple[CommitInfo, ...]:
    """Effect. Commits reachable from ``start``, newest first (children before parents)."""
    found: list[CommitInfo] = []
    heap = [(-meta.commit_row(conn, start).seq, start)]
    seen = {start}
    while heap and (limit is None or len(found) < limit):
        _, commit = heapq.heappop(heap)
        row = meta.commit_row(conn, commit)
        found.append(row.info())
        for parent in row.parents:
            if parent not in seen:
                seen.add(parent)
                parent_row = meta.commit_row(conn, parent, referenced_by=f"commit {commit}")
                heapq.heappush(heap, (-parent_row.seq, parent))
    return tuple(found)


def prepare(
    meta: Metadata,
    conn: sqlite3.Connection,
    *,
    refs: Sequence[RangeRef],
    ranges: Mapping[str, bytes],
    parents: tuple[str, ...],
    message: str,
    metadata: Mapping[str, str],
) -> Prepared:
    """Effect (reads the snapshot, the clock). The commit to write, before taking the lock."""
    generation = 1 + max((meta.commit_row(conn, p).generation for p in parents), default=0)
    tree_data = encode_tree(refs)
    tree_id = hashlib.sha256(tree_data).hexdigest()
    created_at = datetime.now(UTC).isoformat()
    sorted_meta = dict(sorted(metadata.items()))
    new_id = commit_id(meta.repo, tree_id, parents, message, sorted_meta, created_at=created_at)
    info = CommitInfo(new_id, parents, message, sorted_meta, datetime.fromisoformat(created_at))
    return Prepared(info, tree_id, tree_data, dict(ranges), generation)


def save(meta: Metadata, conn: sqlite3.Connection, prepared: Prepared) -> None:
    """Effect (in a write). Store a prepared commit, its tree and new ranges."""
    conn.executemany(
        "INSERT OR IGNORE INTO ranges (id, data) VALUES (?, ?)", list(prepared.ranges.items())
    )
    conn.execute(
        "INSERT OR IGNORE INTO trees (id, data) VALUES (?, ?)",
        (prepared.tree_id, prepared.tree_data),
    )
    info = prepared.info
    conn.execute(
        "INSERT INTO commits (repo, id, tree, parents, message, metadata, created_at, "
        "generation) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            meta.repo,
            info.id,
            prepared.tree_id,
            json.dumps(list(info.parents)),
            info.message,
            json.dumps(dict(info.metadata)),
            info.created_at.isoformat(),
            prepared.generation,
        ),
    )


def move_head(
    meta: Metadata, conn: sqlite3.Connection, branch: BranchRow, new_head: str, what: str
) -> None:
    """Effect (in a write). Compare-and-swap ``branch``'s head; a lost race is retryable."""
    moved = conn.execute(
        "UPDATE branches SET head = ? WHERE repo = ? AND name = ? AND head = ? AND incarnation = ?",
        (new_head, meta.repo, branch.name, branch.head, branch.incarnation),
    ).rowcount
    if moved == 1:
        return
    current = conn.execute(
        "SELECT incarnation FROM branches WHERE repo = ? AND name = ?",
        (meta.repo, branch.name),
    ).fetchone()
    if current is None:
        raise Refused("not_found", f"branch {branch.name!r} was deleted during the {what}")
    raise Refused(
        "conflict",
        f"branch {branch.name!r} moved during the {what} (a concurrent commit or merge "
        "won the race); retry",
        retryable=True,
    )


def commit_staged(
    meta: Metadata, branch: str, *, message: str, metadata: Mapping[str, str], allow_empty: bool
) -> CommitInfo:
    """Effect. Commit ``branch``'s staged changes; ``invalid`` when there are none.

    The new tree is computed on a read snapshot, then the head moves by compare-and-swap (a
    lost race is a retryable ``conflict``) and exactly the staged rows that were seen are
    cleared: writes staged while the commit runs stay staged.
    """
    with meta.read() as conn:
        row = meta.branch_row(conn, branch)
        tree = tree_of(meta, conn, row.head)
        entries, last_seq = staging.rows(meta, conn, branch)
        load = meta.loader(conn)
        changes = staging.effective(tree, entries, load)
        if not changes and not allow_empty:
            raise Refused("invalid", f"no changes to commit on branch {branch!r}")
        refs, ranges = apply(tree, changes, load)
        prepared = prepare(
            meta,
            conn,
            refs=refs,
            ranges=ranges,
            parents=(row.head,),
            message=message,
            metadata=metadata,
        )
    with meta.write("commit") as conn:
        move_head(meta, conn, row, prepared.info.id, "commit")
        save(meta, conn, prepared)
        conn.execute(
            "DELETE FROM staging WHERE repo = ? AND branch = ? AND seq <= ?",
            (meta.repo, branch, last_seq),
        )
    return prepared.info


# -- merges and reverts: changes computed on a snapshot, committed on a clean branch -----------
class Plan(NamedTuple):
    """What a merge or revert commits: the changes, a default message, the other parents."""

    changes: dict[str, Entry | None]
    message: str
    other_parents: tuple[str, ...]


def _conflict_text(conflicts: list[str]) -> str:
    shown = ", ".join(conflicts[:10])
    more = f" and {len(conflicts) - 10} more" if len(conflicts) > 10 else ""
    return f"{len(conflicts)} path(s): {shown}{more}"


def merge_plan(
    meta: Metadata,
    conn: sqlite3.Connection,
    *,
    source: str,
    dest: BranchRow,
    dest_tree: Tree,
    strategy: MergeStrategy,
) -> Plan:
    """Effect (reads the snapshot). The three-way merge of ``source`` into ``dest``."""
    source_id, _ = resolve(meta, conn, source)
    base = merge_base(meta, conn, dest.head, source_id)
    changes, conflicts = three_way(
        tree_of(meta, conn, base),
        tree_of(meta, conn, source_id),
        dest_tree,
        strategy,
        meta.loader(conn),
    )
    if conflicts:
        raise Refused(
            "conflict",
            f"merge conflict: {_conflict_text(conflicts)} changed differently on {source!r} "
            f"and {dest.name!r} since their merge base {(base or '')[:12]}; pass "
            "strategy='source-wins' or 'dest-wins' to pick a side",
        )
    if not changes:
        raise Refused("invalid", f"nothing to merge: {source!r} has no changes for {dest.name!r}")
    return Plan(changes, f"Merge '{source}' into '{dest.name}'", (source_id,))


def revert_plan(
    meta: Metadata,
    conn: sqlite3.Connection,
    *,
    commit: str,
    parent_number: int,
    dest: BranchRow,
    dest_tree: Tree,
) -> Plan:
    """Effect (reads the snapshot). Undo what ``commit`` changed against its parent.

    lakeFS' revert: a three-way merge into the branch with the commit as the base and its
    ``parent_number``-th parent as the source, so a path the branch changed since in another
    way is a conflict.
    """
    target, _ = resolve(meta, conn, commit)
    parents = meta.commit_row(conn, target).parents
    if parent_number > max(len(parents), 1):
        raise Refused(
            "invalid",
            f"commit {target[:12]} has {len(parents)} parent(s): parent_number {parent_number} "
            "is out of range",
        )
    parent = parents[parent_number - 1] if parents else None
    changes, conflicts = three_way(
        tree_of(meta, conn, target),
        tree_of(meta, conn, parent),
        dest_tree,
        None,
        meta.loader(conn),
    )
    if conflicts:
        raise Refused(
            "conflict",
            f"revert conflict: {_conflict_text(conflicts)} changed on {dest.name!r} since "
            f"{target[:12]}; revert those changes first or write the fix as a new commit",
        )
    if not changes:
        raise Refused(
            "invalid", f"nothing to revert: undoing {commit!r} would not change {dest.name!r}"
        )
    return Plan(changes, f"Revert {commit}", ())


def commit_on_clean(
    meta: Metadata,
    what: str,
    dest_branch: str,
    plan: Callable[[sqlite3.Connection, BranchRow, Tree], Plan],
    *,
    refs_first: tuple[str, ...],
    message: str,
    metadata: Mapping[str, str],
) -> CommitInfo:
    """Effect. Commit ``plan``'s changes on ``dest_branch``, which must have no staged change.

    The plan is computed on a read snapshot; the head then moves by compare-and-swap (a lost
    race is a retryable ``conflict``). A write staged on the branch meanwhile refuses the
    commit rather than be swallowed. ``refs_first`` are resolved before the branch is checked
    for staged changes, so an unknown ref is ``not_found`` whatever the branch holds.
    """
    with meta.read() as conn:
        dest = meta.branch_row(conn, dest_branch)
        for ref in refs_first:
            resolve(meta, conn, ref)
        load = meta.loader(conn)
        dest_tree = tree_of(meta, conn, dest.head)
        if staging.effective(dest_tree, staging.rows(meta, conn, dest_branch)[0], load):
            raise Refused(
                "invalid",
                f"branch {dest_branch!r} has uncommitted changes; commit or discard them "
                f"before the {what}",
            )
        planned = plan(conn, dest, dest_tree)
        refs, ranges = apply(dest_tree, planned.changes, load)
        prepared = prepare(
            meta,
            conn,
            refs=refs,
            ranges=ranges,
            parents=(dest.head, *planned.other_parents),
            message=message or planned.message,
            metadata=metadata,
        )
    with meta.write(what) as conn:
        move_head(meta, conn, dest, prepared.info.id, what)
        still = staging.rows(meta, conn, dest_branch)[0]
        if staging.effective(dest_tree, still, meta.loader(conn)):
            raise Refused(
                "invalid", f"branch {dest_branch!r} received uncommitted changes during the {what}"
            )
        save(meta, conn, prepared)
        # Only no-op staged entries can remain; against the new head they would become
        # changes, so they go.
        conn.execute("DELETE FROM staging WHERE repo = ? AND branch = ?", (meta.repo, dest_branch))
    return prepared.info
