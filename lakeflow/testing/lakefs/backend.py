"""The lakeFS double's operations, mapped onto the embedded lake (``LocalLake``).

Effect. This is the only module of the double that calls ``LocalLake``: each repository is one
``LocalLake`` in its own folder, so branches, staging, commits, three-way merges, log and diff
are LocalLake's (one mechanism, compare-and-swap included). Where lakeFS' semantics differ from
LocalLake's, the double enforces lakeFS' here:

* deleting the default or a protected branch, and writing or committing to a protected branch,
  is ``403``; merging into a protected branch is allowed;
* deleting a missing object is ``404`` (LocalLake treats it as a no-op);
* a lost compare-and-swap race is retried (lakeFS retries branch updates), then ``423``;
* a merge conflict is ``409`` with the body ``{"reference": ""}``;
* a storage namespace is used by one repository only, even after that repository is deleted.

Reverts and whole-branch resets are LocalLake's own. What LocalLake does not have is built
here from its operations, under a per-repository lock: tags and ``main@``-style refs (resolved
to commit ids before LocalLake sees them), and resetting the uncommitted changes of one object
or of a prefix (each such path restored from the branch head).

Every failure is an :class:`~lakeflow.testing.lakefs.wire.ApiError` carrying lakeFS' status.
"""

from __future__ import annotations

import itertools
import re
import shutil
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal, TypeVar

from returns.io import IOResult
from returns.result import Failure

from lakeflow.adapters.lake_helpers import check_path, check_repository_id, unwrap_io
from lakeflow.adapters.local import LocalLake
from lakeflow.core.errors import LakeError
from lakeflow.ports import BranchInfo, Change, CommitInfo, MergeStrategy, ObjectInfo
from lakeflow.testing.lakefs.state import (
    ProtectionRules,
    RepositoryRecord,
    TagTable,
    check_tag_id,
)
from lakeflow.testing.lakefs.wire import ApiError

__all__ = ["Backend", "DiffEntry", "ResetKind"]

T = TypeVar("T")

ResetKind = Literal["reset", "object", "common_prefix"]

_ATTEMPTS: Final = 5  # lakeFS retries a branch update a few times before "too many attempts"
_REF: Final = re.compile(r"(?P<base>[^~^]+)(?P<mods>(?:[~^][0-9]*)*)")
_STRATEGIES: Final[Mapping[str | None, MergeStrategy]] = {
    None: None,
    "dest-wins": "dest-wins",
    "source-wins": "source-wins",
}
_STATUS: Final[Mapping[str, int]] = {
    "not_found": 404,
    "invalid": 400,
    "conflict": 409,
    "precondition": 412,
    "read_only": 403,
}


@dataclass(frozen=True, slots=True)
class DiffEntry:
    """One line of a diff: the path, how it changed, and its size where lakeFS reports one."""

    path: str
    type: str
    size: int | None


@dataclass(slots=True)
class _Repo:
    record: RepositoryRecord
    lake: LocalLake
    root: Path
    tags: TagTable = field(default_factory=TagTable)
    rules: ProtectionRules = field(default_factory=ProtectionRules)
    hidden: set[str] = field(default_factory=set)
    lock: threading.RLock = field(default_factory=threading.RLock)


def _api_error(error: LakeError) -> ApiError:
    status = _STATUS.get(error.code, 500)
    if error.code == "unavailable" and error.retryable:
        status = 503
    return ApiError(status, error.reason)


def _value(result: IOResult[T, LakeError]) -> T:
    outcome = unwrap_io(result)
    if isinstance(outcome, Failure):
        raise _api_error(outcome.failure())
    return outcome.unwrap()


def _retrying(operation: Callable[[], IOResult[T, LakeError]]) -> T:
    """Run a branch-moving operation, retrying lost compare-and-swap races like lakeFS."""
    for _ in range(_ATTEMPTS):
        outcome = unwrap_io(operation())
        if not isinstance(outcome, Failure):
            return outcome.unwrap()
        error = outcome.failure()
        if not (error.code == "conflict" and error.retryable):
            raise _api_error(error)
    raise ApiError(423, "Too many attempts, try again later")


class Backend:
    """Effect. Every repository of one double, each backed by a ``LocalLake``.

    Args:
        data_dir: Folder holding one sub-folder per repository (deleted with the repository).
        namespace_pattern: Regex a storage namespace must match (like a block store's).
    """

    def __init__(self, data_dir: Path, *, namespace_pattern: str) -> None:
        self._dir = data_dir
        self._namespace = re.compile(namespace_pattern)
        self._lock = threading.Lock()
        self._repos: dict[str, _Repo] = {}
        self._namespaces: set[str] = set()
        self._folders = itertools.count(1)

    def close(self) -> None:
        """Effect. Close every embedded lake's metadata connection."""
        with self._lock:
            for repo in self._repos.values():
                repo.lake.close()

    # -- repositories ---------------------------------------------------------------------------
    def _repo(self, name: str) -> _Repo:
        repo = self._repos.get(name)
        if repo is None:
            raise ApiError(404, f"repository not found: {name}")
        return repo

    def create_repository(
        self, name: str, storage_namespace: str, default_branch: str
    ) -> RepositoryRecord:
        """Effect. A new repository with an initial commit on ``default_branch``."""
        problem = check_repository_id(name)
        if problem is not None:
            raise ApiError(400, problem)
        if not self._namespace.match(storage_namespace):
            raise ApiError(
                400,
                f"storage namespace {storage_namespace!r} does not match the block store's "
                f"pattern {self._namespace.pattern!r}",
            )
        with self._lock:
            if name in self._repos:
                raise ApiError(409, f"repository {name!r} already exists")
            if storage_namespace in self._namespaces:
                raise ApiError(400, f"storage namespace already in use: {storage_namespace}")
            root = self._dir / f"{name}.{next(self._folders)}"
            lake = LocalLake(root, name, durable=False)
            created = unwrap_io(lake.create_repository(default_branch=default_branch))
            if isinstance(created, Failure):
                lake.close()
                shutil.rmtree(root, ignore_errors=True)  # a half-created folder of ours
                raise _api_error(created.failure())
            info = created.unwrap()
            record = RepositoryRecord(
                name, storage_namespace, info.default_branch, int(info.created_at.timestamp())
            )
            self._repos[name] = _Repo(record, lake, root)
            self._namespaces.add(storage_namespace)
        return record

    def repository(self, name: str) -> RepositoryRecord:
        """Pure. A repository's record; ``404`` if there is none."""
        return self._repo(name).record

    def repositories(self) -> list[RepositoryRecord]:
        """Pure. Every repository, sorted by name."""
        with self._lock:
            return [self._repos[n].record for n in sorted(self._repos)]

    def delete_repository(self, name: str) -> None:
        """Effect. Forget a repository and delete its data (its namespace stays used)."""
        with self._lock:
            repo = self._repo(name)
            del self._repos[name]
        with repo.lock:
            repo.lake.close()
            shutil.rmtree(repo.root)

    # -- refs -----------------------------------------------------------------------------------
    def _ref(self, repo: _Repo, ref: str) -> str:
        """The ref LocalLake understands: tags and ``branch@`` become commit ids (+ modifiers)."""
        match = _REF.fullmatch(ref)
        if match is None:
            return ref
        base, mods = match["base"], match["mods"]
        if base in repo.tags.tags:
            return repo.tags.tags[base] + mods
        if base.endswith("@"):
            return _value(repo.lake.resolve(base[:-1])) + mods
        return ref

    def resolve(self, name: str, ref: str) -> str:
        """Effect. The commit id ``ref`` (branch, tag, commit id, expression) points at."""
        repo = self._repo(name)
        return _value(repo.lake.resolve(self._ref(repo, ref)))

    def get_commit(self, name: str, ref: str) -> CommitInfo:
        """Effect. The commit ``ref`` points at."""
        repo = self._repo(name)
        commit_id = _value(repo.lake.resolve(self._ref(repo, ref)))
        return _value(repo.lake.log_commits(commit_id, limit=1))[0]

    # -- branches -------------------------------------------------------------------------------
    def branches(self, name: str, *, show_hidden: bool = True) -> tuple[BranchInfo, ...]:
        """Effect. The branches of a repository, sorted by name (hidden ones on request)."""
        repo = self._repo(name)
        listed = _value(repo.lake.list_branches())
        return listed if show_hidden else tuple(b for b in listed if b.name not in repo.hidden)

    def branch_head(self, name: str, branch: str) -> str:
        """Effect. The commit ``branch`` points at; ``404`` if it is not a branch."""
        for info in self.branches(name):
            if info.name == branch:
                return info.commit_id
        raise ApiError(404, f"branch not found: {branch}")

    def create_branch(self, name: str, branch: str, source: str, *, hidden: bool = False) -> str:
        """Effect. Create ``branch`` at ``source``; the commit id it points at. A hidden
        branch is left out of listings unless they ask for hidden ones."""
        repo = self._repo(name)
        with repo.lock:
            if branch in repo.tags.tags:
                raise ApiError(409, f"a tag named {branch!r} already exists")
            commit_id = _value(repo.lake.create_branch(branch, self._ref(repo, source)))
            if hidden:
                repo.hidden.add(branch)
            return commit_id

    def delete_branch(self, name: str, branch: str) -> None:
        """Effect. Delete a branch; ``403`` for the default or a protected branch."""
        repo = self._repo(name)
        if branch == repo.record.default_branch:
            raise ApiError(403, f"cannot delete repository default branch: {branch}")
        with repo.lock:
            if repo.rules.protects(branch):
                raise ApiError(403, f"cannot delete protected branch: {branch}")
            _value(repo.lake.delete_branch(branch))
            repo.hidden.discard(branch)

    def _writable(self, repo: _Repo, branch: str, *, what: str = "write to") -> None:
        self.branch_head(repo.record.name, branch)
        if repo.rules.protects(branch):
            raise ApiError(403, f"cannot {what} protected branch: {branch}")

    # -- objects --------------------------------------------------------------------------------
    def _maybe_stat(self, repo: _Repo, ref: str, path: str) -> ObjectInfo | None:
        outcome = unwrap_io(repo.lake.stat(path, ref=ref))
        if isinstance(outcome, Failure):
            error = outcome.failure()
            if error.code == "not_found":
                return None
            raise _api_error(error)
        return outcome.unwrap()

    def stat(self, name: str, ref: str, path: str) -> ObjectInfo:
        """Effect. An object's stats at ``ref`` (a branch includes its uncommitted writes)."""
        repo = self._repo(name)
        return _value(repo.lake.stat(path, ref=self._ref(repo, ref)))

    def blob(self, name: str, ref: str, path: str) -> tuple[ObjectInfo, Path]:
        """Effect. An object's stats and the local file holding its bytes."""
        repo = self._repo(name)
        target = self._ref(repo, ref)
        with repo.lock:
            info = _value(repo.lake.stat(path, ref=target))
            return info, _value(repo.lake.blob_path(path, ref=target))

    def objects(self, name: str, ref: str, prefix: str) -> tuple[ObjectInfo, ...]:
        """Effect. Objects under ``prefix`` at ``ref``, sorted by path."""
        repo = self._repo(name)
        return _value(repo.lake.list_objects(prefix, ref=self._ref(repo, ref)))

    def begin_upload(self, name: str, branch: str, path: str, *, if_absent: bool) -> Path:
        """Effect. Check an upload can land (before its body is read); the folder to spool the
        body into (on the lake's filesystem, so staging renames instead of copying)."""
        repo = self._repo(name)
        problem = check_path("upload", path)
        if problem is not None:
            raise ApiError(400, problem.reason)
        self._writable(repo, branch)
        if if_absent and self._maybe_stat(repo, branch, path) is not None:
            raise ApiError(412, "path already exists")
        return repo.lake.scratch_dir

    def finish_upload(
        self,
        name: str,
        branch: str,
        path: str,
        body: Path,
        *,
        content_type: str,
        metadata: Mapping[str, str],
        if_absent: bool,
    ) -> ObjectInfo:
        """Effect. Stage a fully received body (the file is consumed) as ``path``."""
        repo = self._repo(name)
        with repo.lock:
            self._writable(repo, branch)
            if if_absent and self._maybe_stat(repo, branch, path) is not None:
                raise ApiError(412, "path already exists")
            return _value(
                repo.lake.put_file(
                    path,
                    body,
                    branch=branch,
                    content_type=content_type,
                    metadata=metadata,
                    move=True,
                )
            )

    def delete_object(self, name: str, branch: str, path: str) -> None:
        """Effect. Stage the removal of ``path``; ``404`` if the branch does not have it."""
        repo = self._repo(name)
        with repo.lock:
            self._writable(repo, branch)
            if self._maybe_stat(repo, branch, path) is None:
                raise ApiError(404, f"not found: {path}")
            _value(repo.lake.delete_object(path, branch=branch))

    def delete_objects(
        self, name: str, branch: str, paths: Sequence[str]
    ) -> list[tuple[str, ApiError]]:
        """Effect. Stage the removal of many paths (missing ones are fine); per-path errors."""
        repo = self._repo(name)
        errors: list[tuple[str, ApiError]] = []
        with repo.lock:
            self.branch_head(name, branch)
            for path in paths:
                if repo.rules.protects(branch):
                    refused = ApiError(403, f"cannot write to protected branch: {branch}")
                    errors.append((path, refused))
                    continue
                try:
                    _value(repo.lake.delete_object(path, branch=branch))
                except ApiError as exc:
                    errors.append((path, exc))
        return errors

    def _restore(self, repo: _Repo, branch: str, path: str, source: str) -> None:
        """Stage ``path`` on ``branch`` exactly as it is at commit ``source`` (or its absence)."""
        info = self._maybe_stat(repo, source, path)
        if info is None:
            _value(repo.lake.delete_object(path, branch=branch))
            return
        blob = _value(repo.lake.blob_path(path, ref=source))
        _value(
            repo.lake.put_file(
                path, blob, branch=branch, content_type=info.content_type, metadata=info.metadata
            )
        )

    def reset(self, name: str, branch: str, kind: ResetKind, path: str) -> None:
        """Effect. Drop uncommitted changes: all of them, one object, or those under a prefix."""
        repo = self._repo(name)
        with repo.lock:
            self._writable(repo, branch)
            if kind == "reset":
                _value(repo.lake.discard_changes(branch))
                return
            head = _value(repo.lake.resolve(branch))
            for change in _value(repo.lake.uncommitted(branch)):
                if change.path == path if kind == "object" else change.path.startswith(path):
                    self._restore(repo, branch, change.path, head)

    # -- commits, merges, history ---------------------------------------------------------------
    def commit(
        self,
        name: str,
        branch: str,
        message: str,
        metadata: Mapping[str, str],
        *,
        allow_empty: bool,
    ) -> CommitInfo:
        """Effect. Commit a branch's staged changes; ``400`` when there are none."""
        repo = self._repo(name)
        with repo.lock:
            self._writable(repo, branch, what="commit to")
            return _retrying(
                lambda: repo.lake.commit(branch, message, metadata, allow_empty=allow_empty)
            )

    def merge(
        self,
        name: str,
        source: str,
        dest: str,
        *,
        message: str,
        metadata: Mapping[str, str],
        strategy: str | None,
    ) -> str:
        """Effect. Merge ``source`` into branch ``dest`` (allowed when ``dest`` is protected)."""
        repo = self._repo(name)
        if strategy not in _STRATEGIES:
            raise ApiError(400, f"invalid merge strategy: {strategy}")
        chosen = _STRATEGIES[strategy]
        target = self._ref(repo, source)
        try:
            return _retrying(
                lambda: repo.lake.merge(
                    target, dest, message=message, metadata=metadata, strategy=chosen
                )
            )
        except ApiError as exc:
            if exc.status == 409:
                raise ApiError(409, exc.message, body={"reference": ""}) from None
            raise

    def revert(
        self,
        name: str,
        branch: str,
        ref: str,
        *,
        parent_number: int,
        message: str | None,
        metadata: Mapping[str, str],
        allow_empty: bool,
    ) -> CommitInfo:
        """Effect. Commit on ``branch`` the inverse of the changes ``ref`` made to its parent.

        Like lakeFS: a merge commit needs ``parent_number`` (``409`` without it); the branch
        must have no uncommitted changes (``400``); a path changed on the branch since ``ref``
        is a conflict (``409``) unless it is already what the revert makes it (a revert of a
        reverted commit changes nothing: ``400`` unless ``allow_empty``).
        """
        repo = self._repo(name)
        with repo.lock:
            self._writable(repo, branch, what="commit to")
            commit = self.get_commit(name, ref)
            parents = commit.parents
            if not parents:
                raise ApiError(400, f"cannot revert {ref!r}: it has no parent")
            if len(parents) > 1 and parent_number == 0:
                raise ApiError(409, "must specify 1-based parent number for reverting merge commit")
            if parent_number > len(parents) or parent_number < 0:
                raise ApiError(400, f"parent number {parent_number} out of range")
            if _value(repo.lake.uncommitted(branch)):
                raise ApiError(400, f"branch {branch!r} has uncommitted changes (dirty branch)")
            try:
                return _retrying(
                    lambda: repo.lake.revert(
                        branch,
                        commit.id,
                        parent_number=max(parent_number, 1),
                        message=message or f"Revert {ref}",
                        metadata=metadata,
                    )
                )
            except ApiError as exc:
                if not (allow_empty and exc.status == 400):
                    raise
            # Nothing to revert (the branch is clean, checked above): an empty commit, asked for.
            return _retrying(
                lambda: repo.lake.commit(
                    branch, message or f"Revert {ref}", metadata, allow_empty=True
                )
            )

    def log(self, name: str, ref: str) -> tuple[CommitInfo, ...]:
        """Effect. Commits reachable from ``ref``, newest first."""
        repo = self._repo(name)
        return _value(repo.lake.log_commits(self._ref(repo, ref)))

    def _entries(
        self, repo: _Repo, changes: Sequence[Change], *, new: str, old: str
    ) -> list[DiffEntry]:
        out: list[DiffEntry] = []
        for change in changes:
            info = self._maybe_stat(repo, old if change.type == "removed" else new, change.path)
            out.append(DiffEntry(change.path, change.type, None if info is None else info.size))
        return out

    def diff(self, name: str, left: str, right: str) -> list[DiffEntry]:
        """Effect. Changes on ``right`` since its merge base with ``left`` (three-dot)."""
        repo = self._repo(name)
        old, new = self._ref(repo, left), self._ref(repo, right)
        return self._entries(repo, _value(repo.lake.diff(old, new)), new=new, old=old)

    def uncommitted(self, name: str, branch: str) -> list[DiffEntry]:
        """Effect. A branch's uncommitted changes against its head."""
        repo = self._repo(name)
        head = self.branch_head(name, branch)
        changes = _value(repo.lake.uncommitted(branch))
        return self._entries(repo, changes, new=branch, old=head)

    # -- tags and protection --------------------------------------------------------------------
    def create_tag(self, name: str, tag: str, ref: str, *, force: bool) -> str:
        """Effect. Point a new tag at ``ref``'s commit; ``409`` if it exists or names a branch."""
        repo = self._repo(name)
        check_tag_id(tag)
        commit_id = self.resolve(name, ref)
        with repo.lock:
            if any(b.name == tag for b in self.branches(name)):
                raise ApiError(409, f"a branch named {tag!r} already exists")
            repo.tags.create(tag, commit_id, force=force)
        return commit_id

    def tag(self, name: str, tag: str) -> str:
        """Pure. The commit a tag points at."""
        return self._repo(name).tags.get(tag)

    def tags(self, name: str) -> list[tuple[str, str]]:
        """Pure. ``(tag, commit id)`` pairs, sorted by tag."""
        return self._repo(name).tags.sorted()

    def delete_tag(self, name: str, tag: str) -> None:
        """Effect. Delete a tag."""
        repo = self._repo(name)
        with repo.lock:
            repo.tags.delete(tag)

    def protection(self, name: str) -> tuple[tuple[str, ...], str]:
        """Pure. The branch protection patterns and their ``ETag``."""
        rules = self._repo(name).rules
        return rules.patterns, rules.etag

    def set_protection(self, name: str, patterns: tuple[str, ...], if_match: str | None) -> None:
        """Effect. Replace the branch protection rules (``412`` on a stale ``If-Match``)."""
        repo = self._repo(name)
        with repo.lock:
            repo.rules.replace(patterns, if_match=if_match)
