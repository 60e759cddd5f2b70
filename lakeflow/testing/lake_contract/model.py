"""The model the Lake contract checks against: a lakeFS repository as plain dicts.

Pure (tests). Trees are ``{path: (content, content type)}``; merges and reverts follow lakeFS'
per-path three-way table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias

from lakeflow.ports import Change, MergeStrategy

__all__ = ["CONFLICT", "NO_CHANGES", "LakeModel", "MergeOutcome", "Tree", "Value"]

Value: TypeAlias = tuple[bytes, str]  # content, content type
Tree: TypeAlias = dict[str, Value]
CONFLICT: Final = "conflict"
NO_CHANGES: Final = "no-changes"
MergeOutcome: TypeAlias = Tree | Literal["conflict", "no-changes"]


@dataclass
class LakeModel:
    """Pure. A lakeFS repository as dicts: commits (parents, tree), branch heads, staging."""

    commits: dict[str, tuple[tuple[str, ...], Tree]] = field(default_factory=dict)
    heads: dict[str, str] = field(default_factory=dict)
    staging: dict[str, dict[str, Value | None]] = field(default_factory=dict)

    def view(self, branch: str) -> Tree:
        """A branch as its readers see it: the head tree with staged writes applied."""
        tree = dict(self.commits[self.heads[branch]][1])
        for path, value in self.staging[branch].items():
            if value is None:
                tree.pop(path, None)
            else:
                tree[path] = value
        return tree

    def effective(self, branch: str) -> dict[str, Value | None]:
        """Staged writes that differ from the head tree (no-op writes and deletes dropped)."""
        head = self.commits[self.heads[branch]][1]
        return {p: v for p, v in self.staging[branch].items() if head.get(p) != v}

    def ancestors(self, commit_id: str) -> set[str]:
        """``commit_id`` and every commit reachable through parents."""
        seen = {commit_id}
        todo = [commit_id]
        while todo:
            for parent in self.commits[todo.pop()][0]:
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen

    def merge_bases(self, left: str, right: str) -> set[str]:
        """The best common ancestors (git's definition): none is an ancestor of another."""
        common = self.ancestors(left) & self.ancestors(right)
        return {c for c in common if not any(c in self.ancestors(d) - {d} for d in common)}

    @staticmethod
    def three_way(base: Tree, source: Tree, dest: Tree, strategy: MergeStrategy) -> MergeOutcome:
        """lakeFS' per-path merge table (docs.lakefs.io, "Merges in lakeFS")."""
        result = dict(dest)
        conflict = False
        for path in base.keys() | source.keys() | dest.keys():
            b, s, d = base.get(path), source.get(path), dest.get(path)
            if s in (b, d):
                continue  # source did not change it, or both sides made the same change
            if d != b and strategy != "source-wins":
                conflict = conflict or strategy is None
                continue
            if s is None:
                result.pop(path, None)
            else:
                result[path] = s
        if conflict:
            return CONFLICT
        return NO_CHANGES if result == dest else result

    @staticmethod
    def changes(before: Tree, after: Tree) -> tuple[Change, ...]:
        """The :class:`Change` list from ``before`` to ``after``, sorted by path."""
        found = []
        for path in sorted(before.keys() | after.keys()):
            b, a = before.get(path), after.get(path)
            if b == a:
                continue
            found.append(
                Change(path, "added" if b is None else "removed" if a is None else "changed")
            )
        return tuple(found)
