"""What the lakeFS double keeps beside its embedded lakes: repositories, tags, protection rules.

Pure data with small effectful mutators; the backend serialises access with one lock per
repository. The embedded ``LocalLake`` has no storage namespaces, tags or branch protection,
so the double keeps them here, with lakeFS' rules: tag ids are refs of their own (no ``/``,
whitespace or ref-expression characters), and protection rules are ``fnmatch`` patterns over
branch names replaced as a whole (with an ``ETag`` for ``If-Match``).

>>> rules = ProtectionRules()
>>> rules.replace(("main", "release-*"), if_match=None)
>>> rules.protects("release-1"), rules.protects("dev")
(True, False)
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Final

from lakeflow.testing.lakefs.wire import ApiError

__all__ = ["ProtectionRules", "RepositoryRecord", "TagTable", "check_tag_id"]

_TAG_ID: Final = re.compile(r"[^\s/~^:@\\*?\[\]]+")


@dataclass(frozen=True, slots=True)
class RepositoryRecord:
    """A repository as lakeFS describes it (``GET /repositories/{id}``)."""

    name: str
    storage_namespace: str
    default_branch: str
    creation_date: int

    def to_json(self) -> dict[str, object]:
        """Pure. The ``Repository`` shape of the API."""
        return {
            "id": self.name,
            "creation_date": self.creation_date,
            "default_branch": self.default_branch,
            "storage_namespace": self.storage_namespace,
            "read_only": False,
        }


@dataclass(slots=True)
class ProtectionRules:
    """Branch protection: protected branches refuse staging writes and commits, not merges."""

    patterns: tuple[str, ...] = ()

    @property
    def etag(self) -> str:
        """Pure. The rules' ``ETag`` (quoted, like an HTTP entity tag)."""
        digest = hashlib.sha256(json.dumps(list(self.patterns)).encode()).hexdigest()
        return f'"{digest[:32]}"'

    def protects(self, branch: str) -> bool:
        """Pure. Whether any rule's pattern matches ``branch``."""
        return any(fnmatch.fnmatchcase(branch, p) for p in self.patterns)

    def replace(self, patterns: tuple[str, ...], *, if_match: str | None) -> None:
        """Effect. Replace every rule; ``412`` when ``if_match`` is given and is stale."""
        if if_match and if_match != self.etag:
            raise ApiError(412, "Precondition failed")
        self.patterns = patterns


def check_tag_id(tag: object) -> str:
    """Pure. ``tag`` if it is a usable tag id, else ``400``."""
    if isinstance(tag, str) and _TAG_ID.fullmatch(tag) and not tag.startswith("-"):
        return tag
    raise ApiError(400, f"invalid tag id {tag!r}")


@dataclass(slots=True)
class TagTable:
    """Tags of one repository: id → commit id."""

    tags: dict[str, str] = field(default_factory=dict)

    def create(self, tag: str, commit_id: str, *, force: bool) -> None:
        """Effect. Point ``tag`` at ``commit_id``; ``409`` if it exists (unless ``force``)."""
        if tag in self.tags and not force:
            raise ApiError(409, f"tag {tag!r} already exists")
        self.tags[tag] = commit_id

    def get(self, tag: str) -> str:
        """Pure. The commit ``tag`` points at; ``404`` if there is no such tag."""
        try:
            return self.tags[tag]
        except KeyError:
            raise ApiError(404, f"tag {tag!r} not found") from None

    def delete(self, tag: str) -> None:
        """Effect. Remove ``tag``; ``404`` if there is no such tag."""
        self.get(tag)
        del self.tags[tag]

    def sorted(self) -> list[tuple[str, str]]:
        """Pure. ``(tag, commit id)`` pairs sorted by tag."""
        return sorted(self.tags.items())
