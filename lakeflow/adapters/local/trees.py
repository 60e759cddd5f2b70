"""Trees of a LocalLake commit: sorted entries cut into content-defined, content-addressed ranges.

Pure (no I/O): every function here takes a ``load`` callable that returns a range's decoded
entries by id, so the storage (SQLite) stays in :mod:`lakeflow.adapters.local.metadata`.

Trees are stored like lakeFS' Graveler metaranges: a commit's object listing is a sorted
sequence of entries (path → sha256, size, content type, metadata) cut into *ranges* after every
path whose hash is 0 mod 64 (so ~64 entries per range). A range is stored once, named by the
sha256 of its bytes; a tree is the list of its ranges. The cut points depend only on the paths,
so a commit that changes *k* paths rewrites at most ~*k* ranges plus the (small) range list,
and identical ranges are shared between commits. Diffs and merges skip ranges whose ids are
equal on both sides: they cost O(changed ranges), independent of object count and of bytes.

>>> entry = Entry("ab" * 32, 2, "text/plain", ())
>>> refs, ranges = apply(EMPTY_TREE, {"a": entry}, lambda _: Range([], []))
>>> [r.entries for r in refs], len(ranges)
([1], 1)
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Final, NamedTuple

from lakeflow.ports import Change, MergeStrategy, ObjectInfo

__all__ = [
    "EMPTY_TREE",
    "Entry",
    "Item",
    "Loader",
    "Range",
    "RangeRef",
    "Tree",
    "apply",
    "change",
    "decode_range",
    "decode_tree",
    "diff",
    "dumps",
    "encode_tree",
    "iter_prefix",
    "lookup",
    "three_way",
]

_RANGE_SPLIT: Final = 64  # a range ends after a path whose hash is 0 mod this: ~64 entries


class Entry(NamedTuple):
    """What a path points at: the blob's sha256, its size, content type and metadata."""

    checksum: str
    size: int
    content_type: str
    metadata: tuple[tuple[str, str], ...]

    def to_json(self) -> list[Any]:
        """Pure. The entry as stored in a range or a staging row."""
        return [self.checksum, self.size, self.content_type, dict(self.metadata)]

    @staticmethod
    def from_json(value: Sequence[Any]) -> Entry:
        """Pure. Inverse of :meth:`to_json`."""
        return Entry(
            str(value[0]), int(value[1]), str(value[2]), tuple(sorted(dict(value[3]).items()))
        )

    def info(self, path: str) -> ObjectInfo:
        """Pure. The port's view of this entry at ``path``."""
        return ObjectInfo(path, self.size, self.checksum, self.content_type, dict(self.metadata))


class Range(NamedTuple):
    """A range's entries, sorted by path."""

    paths: list[str]
    entries: list[Entry]


class RangeRef(NamedTuple):
    """A range as a tree lists it: its id, first and last path, number of entries."""

    id: str
    first: str
    last: str
    entries: int


class Tree(NamedTuple):
    """A commit's tree: its id and its ranges (``lasts`` for bisection)."""

    id: str
    refs: tuple[RangeRef, ...]
    lasts: list[str]


Loader = Callable[[str], Range]
Item = tuple[str, Entry]


def dumps(value: object) -> bytes:
    """Pure. Compact, stable JSON bytes (what ranges, trees and commit ids are hashed over)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _is_boundary(path: str) -> bool:
    digest = hashlib.blake2b(path.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % _RANGE_SPLIT == 0


def _encode_range(items: Sequence[Item]) -> bytes:
    return dumps([[path, *entry.to_json()] for path, entry in items])


def decode_range(data: bytes) -> Range:
    """Pure. A stored range's entries."""
    rows = json.loads(data)
    return Range([r[0] for r in rows], [Entry.from_json(r[1:]) for r in rows])


def encode_tree(refs: Sequence[RangeRef]) -> bytes:
    """Pure. A tree's stored bytes (its id is their sha256)."""
    return dumps([list(r) for r in refs])


def decode_tree(tree_id: str, data: bytes) -> Tree:
    """Pure. A stored tree."""
    refs = tuple(RangeRef(str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in json.loads(data))
    return Tree(tree_id, refs, [r.last for r in refs])


_EMPTY_TREE_DATA: Final = encode_tree([])
EMPTY_TREE: Final = decode_tree(hashlib.sha256(_EMPTY_TREE_DATA).hexdigest(), _EMPTY_TREE_DATA)
"""The tree with no objects (the first commit's, and the merge base of unrelated histories)."""


def _chunk(items: Sequence[Item]) -> tuple[list[list[Item]], list[Item]]:
    """Cut sorted items after every boundary path; the tail has no boundary at its end."""
    chunks: list[list[Item]] = []
    current: list[Item] = []
    for item in items:
        current.append(item)
        if _is_boundary(item[0]):
            chunks.append(current)
            current = []
    return chunks, current


def _merge_items(items: Sequence[Item], changes: Sequence[tuple[str, Entry | None]]) -> list[Item]:
    merged = dict(items)
    for path, entry in changes:
        if entry is None:
            merged.pop(path, None)
        else:
            merged[path] = entry
    return sorted(merged.items())


def apply(
    tree: Tree, changes: Mapping[str, Entry | None], load: Loader
) -> tuple[list[RangeRef], dict[str, bytes]]:
    """Pure. The ranges of ``tree`` with ``changes`` applied, and the new ranges' bytes.

    Only ranges that receive a change are rewritten (plus, when a boundary path is removed,
    the following range it merges into), so the cost is O(changes * range size + ranges).
    """
    new_ranges: dict[str, bytes] = {}

    def emit(items: Sequence[Item]) -> RangeRef:
        data = _encode_range(items)
        range_id = hashlib.sha256(data).hexdigest()
        new_ranges[range_id] = data
        return RangeRef(range_id, items[0][0], items[-1][0], len(items))

    if not changes:
        return list(tree.refs), new_ranges
    refs = tree.refs
    by_range: defaultdict[int, list[tuple[str, Entry | None]]] = defaultdict(list)
    for path in sorted(changes):
        by_range[min(bisect_left(tree.lasts, path), len(refs) - 1)].append((path, changes[path]))
    if not refs:
        chunks, tail = _chunk(_merge_items([], by_range[-1]))
        return [emit(c) for c in chunks] + ([emit(tail)] if tail else []), new_ranges
    out: list[RangeRef] = []
    pending: list[Item] = []
    for index, ref in enumerate(refs):
        todo = by_range.get(index)
        if todo is None and not pending:
            out.append(ref)
            continue
        loaded = load(ref.id)
        items: list[Item] = list(zip(loaded.paths, loaded.entries, strict=True))
        if todo:
            items = _merge_items(items, todo)
        chunks, pending = _chunk(pending + items)
        out.extend(emit(c) for c in chunks)
    if pending:
        out.append(emit(pending))
    return out, new_ranges


def lookup(tree: Tree, path: str, load: Loader) -> Entry | None:
    """Pure. The entry of ``path`` in ``tree``, or ``None``."""
    index = bisect_left(tree.lasts, path)
    if index == len(tree.refs) or tree.refs[index].first > path:
        return None
    loaded = load(tree.refs[index].id)
    at = bisect_left(loaded.paths, path)
    if at < len(loaded.paths) and loaded.paths[at] == path:
        return loaded.entries[at]
    return None


def iter_prefix(tree: Tree, prefix: str, load: Loader) -> Iterator[Item]:
    """Pure. The entries of ``tree`` whose path starts with ``prefix``, in path order."""
    for ref in tree.refs[bisect_left(tree.lasts, prefix) :]:
        if ref.first > prefix and not ref.first.startswith(prefix):
            return
        loaded = load(ref.id)
        start = bisect_left(loaded.paths, prefix)
        for path, entry in zip(loaded.paths[start:], loaded.entries[start:], strict=True):
            if not path.startswith(prefix):
                return
            yield path, entry


def diff(left: Tree, right: Tree, load: Loader) -> dict[str, tuple[Entry | None, Entry | None]]:
    """Pure. Every path whose entry differs between two trees, skipping shared ranges."""
    if left.id == right.id:
        return {}
    shared = {r.id for r in left.refs} & {r.id for r in right.refs}

    def unshared(tree: Tree) -> dict[str, Entry]:
        found: dict[str, Entry] = {}
        for ref in tree.refs:
            if ref.id not in shared:
                loaded = load(ref.id)
                found.update(zip(loaded.paths, loaded.entries, strict=True))
        return found

    before, after = unshared(left), unshared(right)
    return {
        path: (before.get(path), after.get(path))
        for path in before.keys() | after.keys()
        if before.get(path) != after.get(path)
    }


def three_way(
    base: Tree, source: Tree, dest: Tree, strategy: MergeStrategy, load: Loader
) -> tuple[dict[str, Entry | None], list[str]]:
    """Pure. lakeFS' per-path three-way merge: the changes to apply to ``dest``, and conflicts.

    A path the source changed since ``base`` is taken unless the destination changed it too:
    the same change on both sides is no conflict; different changes are a conflict unless
    ``strategy`` picks a side (``dest-wins`` keeps the destination, ``source-wins`` takes the
    source). Conflicts come back sorted; the changes are empty when they are not.
    """
    theirs = diff(base, source, load)
    ours = diff(base, dest, load)
    changes: dict[str, Entry | None] = {}
    conflicts: list[str] = []
    for path, (_, after) in theirs.items():
        if path in ours:
            if ours[path][1] == after:
                continue
            if strategy is None:
                conflicts.append(path)
                continue
            if strategy == "dest-wins":
                continue
        changes[path] = after
    conflicts.sort()
    return ({} if conflicts else changes), conflicts


def change(path: str, before: Entry | None, after: Entry | None) -> Change:
    """Pure. The port's :class:`Change` for an entry that went from ``before`` to ``after``."""
    if before is None:
        return Change(path, "added")
    if after is None:
        return Change(path, "removed")
    return Change(path, "changed")
