"""The Lake contract: one test suite every :class:`lakeflow.ports.Lake` adapter must pass.

Effect (tests). ``LocalLake`` runs it, the lakeFS adapter will, and so can your own lake.
Requires ``pytest`` and ``hypothesis`` (dev dependencies). Use it from a test module::

    import itertools
    import pytest
    from lakeflow.adapters.local_lake import LocalLake
    from lakeflow.testing.lake_contract import LakeContract, LakeFactory

    @pytest.fixture
    def lake_factory(tmp_path) -> LakeFactory:
        numbers = itertools.count()
        return lambda: LocalLake(tmp_path, f"repo-{next(numbers):05d}")

    class TestMyLake(LakeContract):
        '''The Lake contract, run against LocalLake.'''

``lake_factory`` returns a callable; **each call returns a handle bound to a new repository that
does not exist yet** (the suite creates it, with default branch ``main``, when a test needs it;
tests of a missing repository use it as is). The stateful test calls the factory once per
example, so make it cheap. The multi-process tests re-open the lake in child processes with
``lakeflow.lakes.open_lake(lake.url, repository=lake.repository)``; set
``LakeContract.multiprocess = False`` for a lake that cannot be opened that way.

The hypothesis state machine (:class:`LakeStateMachine`) drives random sequences of
create/delete branch, put/delete object, commit and merge against a small in-memory model of
lakeFS (branch heads, trees as dicts, merge base by ancestry) and checks every read. Run it
alone with ``TestLake = lake_state_machine(factory).TestCase``.
"""

# ruff: noqa: S101 - a test suite: assertions are its purpose (shipped for adapters' tests)
from __future__ import annotations

import hashlib
import io
import multiprocessing
import queue as queue_module
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Final, Literal, TypeAlias, TypeVar

import polars as pl
import pytest
from hypothesis import HealthCheck, event, example, given, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from polars.testing import assert_frame_equal
from returns.io import IOResult
from returns.result import Failure

from lakeflow.adapters.lake_helpers import unwrap_io
from lakeflow.core.errors import LakeError, LakeErrorCode, LakeflowError
from lakeflow.ports import Change, Lake, MergeStrategy

__all__ = [
    "LakeContract",
    "LakeFactory",
    "LakeModel",
    "LakeStateMachine",
    "expect_failure",
    "expect_success",
    "lake_state_machine",
]

T = TypeVar("T")

LakeFactory: TypeAlias = Callable[[], Lake]
"""Each call: a handle bound to a new repository that does not exist yet."""


# ---------------------------------------------------------------------------------------------
# Assertion helpers
# ---------------------------------------------------------------------------------------------
def expect_success(result: IOResult[T, LakeError]) -> T:
    """Effect (test). The success value of ``result``; fails the test with the error if not."""
    outcome = unwrap_io(result)
    if isinstance(outcome, Failure):
        raise AssertionError(f"expected success, got {outcome.failure().message}")
    return outcome.unwrap()


def expect_failure(
    result: IOResult[object, LakeError],
    code: LakeErrorCode,
    *,
    retryable: bool | None = None,
) -> LakeError:
    """Effect (test). The :class:`LakeError` of ``result``; fails unless it has ``code``."""
    outcome = unwrap_io(result)
    if not isinstance(outcome, Failure):
        raise AssertionError(f"expected a {code!r} failure, got {outcome!r}")
    error = outcome.failure()
    assert isinstance(error, LakeError), error
    assert error.code == code, f"expected code {code!r}, got {error.message}"
    if retryable is not None:
        assert error.retryable is retryable, f"expected retryable={retryable}: {error.message}"
    return error


def _parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# The model: what lakeFS promises, as plain dicts
# ---------------------------------------------------------------------------------------------
Value: TypeAlias = tuple[bytes, str]  # content, content type
Tree: TypeAlias = dict[str, Value]
_CONFLICT: Final = "conflict"
_NO_CHANGES: Final = "no-changes"
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
            return _CONFLICT
        return _NO_CHANGES if result == dest else result

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


# ---------------------------------------------------------------------------------------------
# The state machine
# ---------------------------------------------------------------------------------------------
_BRANCHES: Final = ("main", "dev", "feat-1")
_PATHS: Final = ("a", "b", "b/c", "e/f/g.parquet")
_CONTENTS: Final = (b"", b"1", b"22")
_TYPES: Final = ("application/octet-stream", "text/plain")
_STRATEGIES: Final[tuple[MergeStrategy, ...]] = (None, "dest-wins", "source-wins")


class LakeStateMachine(RuleBasedStateMachine):
    """Random branch/put/delete/commit/merge sequences checked against :class:`LakeModel`.

    Subclass it with ``factory`` set (see :func:`lake_state_machine`).
    """

    factory: ClassVar[LakeFactory]

    def __init__(self) -> None:
        super().__init__()
        self.lake = type(self).factory()
        expect_success(self.lake.create_repository())
        first = expect_success(self.lake.resolve("main"))
        self.model = LakeModel({first: ((), {})}, {"main": first}, {"main": {}})
        self.checksums: dict[bytes, str] = {}

    # -- helpers ------------------------------------------------------------------------------
    def _ref(self, data: st.DataObject) -> str:
        """A branch name (maybe missing) or a known commit id."""
        commits = list(self.model.commits)
        return data.draw(st.sampled_from(_BRANCHES) | st.sampled_from(commits), label="ref")

    def _commit_of(self, ref: str) -> str | None:
        if ref in self.model.heads:
            return self.model.heads[ref]
        return ref if ref in self.model.commits else None

    def _check_checksum(self, content: bytes, checksum: str) -> None:
        known = self.checksums.setdefault(content, checksum)
        assert known == checksum, "equal contents must have equal checksums"
        assert list(self.checksums.values()).count(checksum) == 1, "checksum collision"

    # -- rules --------------------------------------------------------------------------------
    @initialize(
        base=st.dictionaries(st.sampled_from(_PATHS), st.sampled_from(_CONTENTS), max_size=3)
    )
    def start(self, base: dict[str, bytes]) -> None:
        """Commit a base tree on main and branch ``dev`` from it: merges start interesting."""
        for path, content in base.items():
            self.put("main", path, content, _TYPES[0])
        self.commit("main", allow_empty=True)
        self.create_branch_from("dev", "main")

    def create_branch_from(self, name: str, source: str) -> None:
        result = self.lake.create_branch(name, source)
        source_commit = self._commit_of(source)
        if name in self.model.heads:
            expect_failure(result, "conflict", retryable=False)
        elif source_commit is None:
            expect_failure(result, "not_found")
        else:
            assert expect_success(result) == source_commit
            self.model.heads[name] = source_commit
            self.model.staging[name] = {}

    @rule(name=st.sampled_from(_BRANCHES), data=st.data())
    def create_branch(self, name: str, data: st.DataObject) -> None:
        self.create_branch_from(name, self._ref(data))

    @rule(name=st.sampled_from(_BRANCHES))
    def delete_branch(self, name: str) -> None:
        result = self.lake.delete_branch(name)
        if name == "main":
            expect_failure(result, "invalid")
        elif name not in self.model.heads:
            expect_failure(result, "not_found")
        else:
            expect_success(result)
            del self.model.heads[name]
            del self.model.staging[name]

    @rule(
        branch=st.sampled_from(_BRANCHES),
        path=st.sampled_from(_PATHS),
        content=st.sampled_from(_CONTENTS),
        content_type=st.sampled_from(_TYPES),
    )
    def put(self, branch: str, path: str, content: bytes, content_type: str) -> None:
        result = self.lake.put_bytes(branch, path, content, content_type=content_type)
        if branch not in self.model.heads:
            expect_failure(result, "not_found")
            return
        info = expect_success(result)
        assert (info.path, info.size, info.content_type) == (path, len(content), content_type)
        self._check_checksum(content, info.checksum)
        self.model.staging[branch][path] = (content, content_type)

    @rule(
        branch=st.sampled_from(_BRANCHES),
        path=st.sampled_from(_PATHS),
        content=st.sampled_from(_CONTENTS),
    )
    def work(self, branch: str, path: str, content: bytes) -> None:
        """Write and commit in one step, as a pipeline run does on its branch."""
        self.put(branch, path, content, _TYPES[1])
        self.commit(branch, allow_empty=False)

    @rule(
        path=st.sampled_from(_PATHS),
        content=st.sampled_from(_CONTENTS),
        dest=st.sampled_from(_BRANCHES),
    )
    def run(self, path: str, content: bytes, dest: str) -> None:
        """A pipeline run: branch ``feat-1`` off ``dest``, write, commit, merge back."""
        if "feat-1" in self.model.heads:
            self.delete_branch("feat-1")
        if dest in self.model.heads and self.model.effective(dest):
            self.commit(dest, allow_empty=False)
        self.create_branch_from("feat-1", dest)
        self.work("feat-1", path, content)
        self._merge("feat-1", dest, None)

    @rule(branch=st.sampled_from(_BRANCHES), path=st.sampled_from(_PATHS))
    def delete(self, branch: str, path: str) -> None:
        result = self.lake.delete_object(branch, path)
        if branch not in self.model.heads:
            expect_failure(result, "not_found")
            return
        expect_success(result)
        self.model.staging[branch][path] = None

    @rule(branch=st.sampled_from(_BRANCHES), allow_empty=st.booleans())
    def commit(self, branch: str, allow_empty: bool) -> None:
        result = self.lake.commit(
            branch, f"commit on {branch}", {"k": "v"}, allow_empty=allow_empty
        )
        if branch not in self.model.heads:
            expect_failure(result, "not_found")
            return
        if not self.model.effective(branch) and not allow_empty:
            expect_failure(result, "invalid", retryable=False)
            return
        info = expect_success(result)
        event("commit: ok")
        parent = self.model.heads[branch]
        assert info.parents == (parent,)
        assert dict(info.metadata) == {"k": "v"}
        assert info.created_at.utcoffset() is not None
        assert info.id not in self.model.commits
        self.model.commits[info.id] = ((parent,), self.model.view(branch))
        self.model.heads[branch] = info.id
        self.model.staging[branch] = {}

    @rule(
        dest=st.sampled_from(_BRANCHES),
        strategy=st.sampled_from(_STRATEGIES),
        commit_first=st.booleans(),
        data=st.data(),
    )
    def merge(
        self, dest: str, strategy: MergeStrategy, commit_first: bool, data: st.DataObject
    ) -> None:
        if commit_first and dest in self.model.heads and self.model.effective(dest):
            self.commit(dest, allow_empty=False)  # a clean destination, most of the time
        others = [b for b in _BRANCHES if b != dest]
        from_commit = data.draw(st.integers(0, 3), label="from_commit") == 0
        source = data.draw(
            st.sampled_from(list(self.model.commits) if from_commit else others), label="source"
        )
        self._merge(source, dest, strategy)

    def _merge(self, source: str, dest: str, strategy: MergeStrategy) -> None:
        result = self.lake.merge(source, dest, strategy=strategy, metadata={"run": "1"})
        source_commit = self._commit_of(source)
        if dest not in self.model.heads or source_commit is None:
            expect_failure(result, "not_found")
            return
        if self.model.effective(dest):
            expect_failure(result, "invalid")
            return
        dest_commit = self.model.heads[dest]
        trees = {c: t for c, (_, t) in self.model.commits.items()}
        outcomes = [
            LakeModel.three_way(trees[base], trees[source_commit], trees[dest_commit], strategy)
            for base in self.model.merge_bases(dest_commit, source_commit)
        ]
        note(f"merge {source} into {dest} ({strategy}): possible outcomes {outcomes}")
        outcome = unwrap_io(result)
        event(f"merge: {'ok' if not isinstance(outcome, Failure) else outcome.failure().code}")
        if isinstance(outcome, Failure):
            error = outcome.failure()
            if error.code == "conflict":
                assert _CONFLICT in outcomes, error.message
                assert not error.retryable, "a content conflict is not retryable"
            else:
                assert error.code == "invalid", error.message
                assert _NO_CHANGES in outcomes, error.message
            return
        merge_id = outcome.unwrap()
        merged = {
            o.path: (expect_success(self.lake.get_bytes(merge_id, o.path)), o.content_type)
            for o in expect_success(self.lake.list_objects(merge_id))
        }
        assert merged in outcomes, f"merged tree {merged} not among {outcomes}"
        info = expect_success(self.lake.log_commits(merge_id, limit=1))[0]
        assert info.parents == (dest_commit, source_commit)
        assert info.metadata.get("run") == "1"
        self.model.commits[merge_id] = ((dest_commit, source_commit), merged)
        self.model.heads[dest] = merge_id
        self.model.staging[dest] = {}

    @rule(kind=st.sampled_from(["branch", "commit", "diff"]), data=st.data())
    def check(self, kind: str, data: st.DataObject) -> None:
        """Read something back and compare it with the model."""
        if kind == "branch":
            self.check_branch(data.draw(st.sampled_from(_BRANCHES), label="branch"))
        elif kind == "commit":
            self.check_commit(data)
        else:
            self.check_diff(data)

    def check_branch(self, branch: str) -> None:
        """Listing, reading and uncommitted changes of a branch match the model."""
        listed = self.lake.list_objects(branch)
        if branch not in self.model.heads:
            expect_failure(listed, "not_found")
            expect_failure(self.lake.uncommitted(branch), "not_found")
            return
        view = self.model.view(branch)
        objects = expect_success(listed)
        assert [o.path for o in objects] == sorted(view)
        for info in objects:
            content, content_type = view[info.path]
            assert expect_success(self.lake.get_bytes(branch, info.path)) == content
            assert (info.size, info.content_type) == (len(content), content_type)
            self._check_checksum(content, info.checksum)
        head_tree = self.model.commits[self.model.heads[branch]][1]
        effective = self.model.effective(branch)
        expected = LakeModel.changes(
            {p: head_tree[p] for p in effective if p in head_tree},
            {p: v for p, v in effective.items() if v is not None},
        )
        assert expect_success(self.lake.uncommitted(branch)) == expected
        prefixed = expect_success(self.lake.list_objects(branch, "b/"))
        assert [o.path for o in prefixed] == sorted(p for p in view if p.startswith("b/"))
        for path in _PATHS:
            if path not in view:
                expect_failure(self.lake.get_bytes(branch, path), "not_found")

    def check_commit(self, data: st.DataObject) -> None:
        """A commit's tree and log are immutable and match the model (time travel)."""
        commit_id = data.draw(st.sampled_from(list(self.model.commits)), label="commit")
        tree = self.model.commits[commit_id][1]
        objects = expect_success(self.lake.list_objects(commit_id))
        assert [o.path for o in objects] == sorted(tree)
        for obj in objects:
            assert expect_success(self.lake.get_bytes(commit_id, obj.path)) == tree[obj.path][0]
        log = expect_success(self.lake.log_commits(commit_id))
        ids = [c.id for c in log]
        assert ids[0] == commit_id
        assert set(ids) == self.model.ancestors(commit_id)
        assert len(ids) == len(set(ids))
        position = {c: i for i, c in enumerate(ids)}
        for commit in log:
            assert commit.parents == self.model.commits[commit.id][0]
            assert all(position[p] > position[commit.id] for p in commit.parents), "not topological"

    def check_diff(self, data: st.DataObject) -> None:
        """``diff(left, right)`` lists right's changes since the merge base (three dots)."""
        left, right = self._ref(data), self._ref(data)
        result = self.lake.diff(left, right)
        left_commit, right_commit = self._commit_of(left), self._commit_of(right)
        if left_commit is None or right_commit is None:
            expect_failure(result, "not_found")
            return
        trees = {c: t for c, (_, t) in self.model.commits.items()}
        possible = [
            LakeModel.changes(trees[base], trees[right_commit])
            for base in self.model.merge_bases(left_commit, right_commit)
        ]
        assert expect_success(result) in possible

    @invariant()
    def branches_match(self) -> None:
        """Branches are listed sorted by name with the model's heads."""
        listed = expect_success(self.lake.list_branches())
        assert [(b.name, b.commit_id) for b in listed] == sorted(self.model.heads.items())


def lake_state_machine(factory: LakeFactory) -> type[LakeStateMachine]:
    """Pure. A :class:`LakeStateMachine` subclass bound to ``factory``."""
    return type("BoundLakeStateMachine", (LakeStateMachine,), {"factory": staticmethod(factory)})


# ---------------------------------------------------------------------------------------------
# Workers for the multi-process tests (top level so that spawned children can import them)
# ---------------------------------------------------------------------------------------------
def _open(url: str, repository: str) -> Lake:
    from lakeflow.lakes import open_lake

    return open_lake(url, repository=repository)


def _publish_worker(  # noqa: PLR0917 - multiprocessing passes positional args
    url: str, repository: str, worker: int, rounds: int, barrier: Any, results: Any
) -> None:
    """Child process: ``rounds`` x (branch, write, commit, merge into main, retrying races)."""
    lake = _open(url, repository)
    barrier.wait()
    report: dict[str, Any] = {"worker": worker, "merged": [], "races": 0, "other": []}
    for number in range(rounds):
        branch = f"w{worker}-{number}"
        expect_success(lake.create_branch(branch, "main"))
        expect_success(lake.put_bytes(branch, f"out/{worker}/{number}.txt", f"{worker}".encode()))
        expect_success(lake.commit(branch, f"work {worker}/{number}"))
        for _ in range(200):
            outcome = unwrap_io(lake.merge(branch, "main"))
            if not isinstance(outcome, Failure):
                report["merged"].append(outcome.unwrap())
                break
            error = outcome.failure()
            if error.code == "conflict" and error.retryable:
                report["races"] += 1
                continue
            report["other"].append(error.to_dict())
            break
    results.put(report)


def _checkpoint_worker(url: str, repository: str, worker: int, barrier: Any, results: Any) -> None:
    """Child process: merge a run branch that moved the shared checkpoint into main."""
    lake = _open(url, repository)
    barrier.wait()
    report: dict[str, Any] = {"worker": worker, "merged": None, "races": 0, "error": None}
    for _ in range(200):
        outcome = unwrap_io(lake.merge(f"run-{worker}", "main"))
        if not isinstance(outcome, Failure):
            report["merged"] = outcome.unwrap()
            break
        error = outcome.failure()
        if error.code == "conflict" and error.retryable:
            report["races"] += 1
            continue
        report["error"] = error.to_dict()
        break
    results.put(report)


def _commit_worker(url: str, repository: str, worker: int, barrier: Any, results: Any) -> None:
    """Child process: stage a file on the shared branch and commit it, retrying races."""
    lake = _open(url, repository)
    barrier.wait()
    report: dict[str, Any] = {"worker": worker, "commits": [], "races": 0, "other": []}
    expect_success(lake.put_bytes("shared", f"by/{worker}", f"{worker}".encode()))
    for _ in range(200):
        outcome = unwrap_io(lake.commit("shared", f"commit by {worker}"))
        if not isinstance(outcome, Failure):
            report["commits"].append(outcome.unwrap().id)
            break
        error = outcome.failure()
        if error.code == "conflict" and error.retryable:
            report["races"] += 1
            continue
        # "no changes": a concurrent commit already took this worker's staged file.
        report["other"].append(error.to_dict())
        break
    results.put(report)


def _run_processes(target: Callable[..., None], args: list[tuple[Any, ...]]) -> list[Any]:
    """Effect (test). Run ``target`` in one spawned process per args tuple; their reports."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(args))
    results = context.Queue()
    processes = [
        context.Process(target=target, args=(*a, barrier, results), daemon=True) for a in args
    ]
    for process in processes:
        process.start()
    try:
        reports = [results.get(timeout=120) for _ in processes]
    except queue_module.Empty:
        raise AssertionError("a worker process did not report back within 120 s") from None
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():  # pragma: no cover - only on a hung worker
                process.kill()
    assert all(p.exitcode == 0 for p in processes), [p.exitcode for p in processes]
    return reports


# ---------------------------------------------------------------------------------------------
# The contract
# ---------------------------------------------------------------------------------------------
_BAD_BRANCHES: Final = ("", "feature/x", "v1.0", "-dash", "has space", "ü-umlaut", "main\n")
_BAD_PATHS: Final = ("", "/abs", "a//b", "a/", "../up", "a/../b", "a/./b", ".", "a\x00b")


class LakeContract:
    """Tests every Lake must pass. Subclass it and provide a ``lake_factory`` fixture."""

    multiprocess: ClassVar[bool] = True
    """Run the multi-process tests (children re-open the lake with ``open_lake``)."""

    state_machine_steps: ClassVar[int] = 40
    """Steps per state-machine example (examples come from the hypothesis profile)."""

    @pytest.fixture
    def lake(self, lake_factory: LakeFactory) -> Lake:
        """A lake whose repository exists, with default branch ``main``."""
        lake = lake_factory()
        expect_success(lake.create_repository())
        return lake

    # -- repository ---------------------------------------------------------------------------
    def test_lake_implements_the_port(self, lake: Lake) -> None:
        """The adapter satisfies the Lake protocol and reports its URL and repository."""
        assert isinstance(lake, Lake)
        assert "://" in lake.url
        assert expect_success(lake.get_repository()).id == lake.repository

    def test_create_repository_makes_default_branch_with_empty_initial_commit(
        self, lake_factory: LakeFactory
    ) -> None:
        """A new repository has its default branch at a parentless commit with no objects."""
        lake = lake_factory()
        info = expect_success(lake.create_repository(default_branch="trunk"))
        assert (info.id, info.default_branch) == (lake.repository, "trunk")
        assert info.created_at.utcoffset() is not None
        (branch,) = expect_success(lake.list_branches())
        assert branch.name == "trunk"
        (first,) = expect_success(lake.log_commits("trunk"))
        assert first.id == branch.commit_id and first.parents == ()
        assert expect_success(lake.list_objects("trunk")) == ()

    def test_create_repository_twice_conflicts_unless_exist_ok(self, lake: Lake) -> None:
        """Creating an existing repository is a conflict; with exist_ok it returns it."""
        expect_failure(lake.create_repository(), "conflict", retryable=False)
        assert expect_success(lake.create_repository(exist_ok=True)).id == lake.repository

    def test_missing_repository_is_not_found_everywhere(self, lake_factory: LakeFactory) -> None:
        """Every operation on a repository that was never created is not_found."""
        lake = lake_factory()
        expect_failure(lake.get_repository(), "not_found")
        expect_failure(lake.list_branches(), "not_found")
        expect_failure(lake.resolve("main"), "not_found")
        expect_failure(lake.put_bytes("main", "a", b"x"), "not_found")
        expect_failure(lake.get_bytes("main", "a"), "not_found")
        expect_failure(lake.commit("main", "m"), "not_found")
        expect_failure(lake.create_branch("dev", "main"), "not_found")

    def test_invalid_default_branch_is_refused(self, lake_factory: LakeFactory) -> None:
        """A default branch id that lakeFS would reject is invalid."""
        expect_failure(lake_factory().create_repository(default_branch="a/b"), "invalid")

    # -- branches -----------------------------------------------------------------------------
    @pytest.mark.parametrize("name", _BAD_BRANCHES)
    def test_branch_ids_follow_lakefs_rules(self, lake: Lake, name: str) -> None:
        """Branch ids outside ^\\w[-\\w]*$ (ASCII) are invalid for every branch operation."""
        expect_failure(lake.create_branch(name, "main"), "invalid")
        expect_failure(lake.put_bytes(name, "a", b"x"), "invalid")
        expect_failure(lake.commit(name, "m"), "invalid")
        expect_failure(lake.merge("main", name), "invalid")

    def test_create_branch_from_branch_and_from_commit(self, lake: Lake) -> None:
        """A branch starts at its source's head commit, given as a branch or a commit id."""
        expect_success(lake.put_bytes("main", "a", b"1"))
        first = expect_success(lake.commit("main", "one")).id
        assert expect_success(lake.create_branch("dev", "main")) == first
        expect_success(lake.put_bytes("main", "a", b"2"))
        expect_success(lake.commit("main", "two"))
        assert expect_success(lake.create_branch("old", first)) == first
        assert expect_success(lake.get_bytes("old", "a")) == b"1"
        assert expect_success(lake.resolve("dev")) == first

    def test_create_branch_does_not_carry_staged_writes(self, lake: Lake) -> None:
        """A new branch sees its source's committed state, not its uncommitted writes."""
        expect_success(lake.put_bytes("main", "staged", b"x"))
        expect_success(lake.create_branch("dev", "main"))
        expect_failure(lake.get_bytes("dev", "staged"), "not_found")
        assert expect_success(lake.uncommitted("dev")) == ()

    def test_create_existing_branch_conflicts_unless_exist_ok(self, lake: Lake) -> None:
        """Creating an existing branch is a non-retryable conflict; exist_ok returns its head."""
        head = expect_success(lake.create_branch("dev", "main"))
        expect_failure(lake.create_branch("dev", "main"), "conflict", retryable=False)
        assert expect_success(lake.create_branch("dev", "main", exist_ok=True)) == head

    def test_create_branch_from_unknown_source_is_not_found(self, lake: Lake) -> None:
        """A branch cannot start at a ref that does not exist."""
        expect_failure(lake.create_branch("dev", "nope"), "not_found")
        expect_failure(lake.create_branch("dev", "0" * 64), "not_found")

    def test_delete_branch_keeps_its_commits_readable(self, lake: Lake) -> None:
        """Deleting a branch removes the name only; its commits stay readable by id."""
        expect_success(lake.create_branch("dev", "main"))
        expect_success(lake.put_bytes("dev", "a", b"kept"))
        commit_id = expect_success(lake.commit("dev", "c")).id
        expect_success(lake.delete_branch("dev"))
        assert [b.name for b in expect_success(lake.list_branches())] == ["main"]
        expect_failure(lake.resolve("dev"), "not_found")
        assert expect_success(lake.get_bytes(commit_id, "a")) == b"kept"
        expect_failure(lake.delete_branch("dev"), "not_found")

    def test_delete_default_branch_is_refused(self, lake: Lake) -> None:
        """The default branch cannot be deleted."""
        expect_failure(lake.delete_branch("main"), "invalid")

    def test_list_branches_is_sorted(self, lake: Lake) -> None:
        """Branches are listed sorted by name, each with its head commit."""
        for name in ("zeta", "alpha", "mid-1", "Upper"):
            expect_success(lake.create_branch(name, "main"))
        names = [b.name for b in expect_success(lake.list_branches())]
        assert names == sorted(["zeta", "alpha", "mid-1", "Upper", "main"])

    def test_resolve_commit_id_and_unknown_ref(self, lake: Lake) -> None:
        """A full commit id resolves to itself; an unknown name is not_found."""
        head = expect_success(lake.resolve("main"))
        assert expect_success(lake.resolve(head)) == head
        expect_failure(lake.resolve("no-such-branch"), "not_found")

    # -- objects ------------------------------------------------------------------------------
    def test_writes_are_staged_until_commit(self, lake: Lake) -> None:
        """A write is visible on its branch at once and in a commit only after committing."""
        before = expect_success(lake.resolve("main"))
        expect_success(lake.put_bytes("main", "a.txt", b"hello"))
        assert expect_success(lake.get_bytes("main", "a.txt")) == b"hello"
        expect_failure(lake.get_bytes(before, "a.txt"), "not_found")
        assert expect_success(lake.resolve("main")) == before
        after = expect_success(lake.commit("main", "add a")).id
        assert expect_success(lake.get_bytes(after, "a.txt")) == b"hello"

    @settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        content=st.binary(max_size=2048),
        content_type=st.sampled_from(["application/octet-stream", "text/csv", "x/y+z"]),
        metadata=st.dictionaries(
            st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True),
            st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20),
            max_size=3,
        ),
    )
    @example(content=b"", content_type="application/octet-stream", metadata={})
    @example(content=b"\x00" * 1024, content_type="text/csv", metadata={"k": ""})
    def test_put_bytes_round_trips(
        self,
        lake_factory: LakeFactory,
        content: bytes,
        content_type: str,
        metadata: dict[str, str],
    ) -> None:
        """Bytes, content type and string metadata read back exactly as written."""
        lake = lake_factory()
        expect_success(lake.create_repository())
        info = expect_success(
            lake.put_bytes("main", "x/y.bin", content, content_type=content_type, metadata=metadata)
        )
        commit_id = expect_success(lake.commit("main", "m")).id
        stat = expect_success(lake.stat(commit_id, "x/y.bin"))
        assert expect_success(lake.get_bytes(commit_id, "x/y.bin")) == content
        assert (stat.size, stat.content_type, dict(stat.metadata)) == (
            len(content),
            content_type,
            metadata,
        )
        assert stat.checksum == info.checksum

    def test_put_file_streams_a_local_file(self, lake: Lake, tmp_path: Path) -> None:
        """A local file is stored with its exact bytes and size; the file itself is untouched."""
        source = tmp_path / "big.bin"
        payload = hashlib.sha256(b"seed").digest() * 200_000  # 6.4 MB: several read chunks
        source.write_bytes(payload)
        info = expect_success(lake.put_file("main", "big.bin", source, content_type="x/bin"))
        assert info.size == len(payload) and info.content_type == "x/bin"
        assert expect_success(lake.get_bytes("main", "big.bin")) == payload
        assert source.read_bytes() == payload
        same = expect_success(lake.put_bytes("main", "copy.bin", payload))
        assert same.checksum == info.checksum

    def test_put_file_of_missing_file_is_not_found(self, lake: Lake, tmp_path: Path) -> None:
        """Uploading a local file that does not exist fails with not_found."""
        expect_failure(lake.put_file("main", "a", tmp_path / "missing.bin"), "not_found")

    @pytest.mark.parametrize("path", _BAD_PATHS)
    def test_invalid_paths_are_refused(self, lake: Lake, path: str) -> None:
        """Paths must be relative POSIX paths without empty, '.' or '..' segments."""
        expect_failure(lake.put_bytes("main", path, b"x"), "invalid")
        expect_failure(lake.get_bytes("main", path), "invalid")
        expect_failure(lake.delete_object("main", path), "invalid")

    @settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=20)
    @given(
        segments=st.lists(
            st.text(
                st.characters(
                    min_codepoint=33,
                    max_codepoint=0x24F,
                    exclude_characters="/",
                    exclude_categories=["Cc"],
                ),
                min_size=1,
                max_size=8,
            ).filter(lambda s: s not in {".", ".."}),
            min_size=1,
            max_size=4,
        )
    )
    def test_any_valid_path_round_trips(
        self, lake_factory: LakeFactory, segments: list[str]
    ) -> None:
        """Any relative path of non-empty, non-dot, control-free segments round-trips."""
        lake = lake_factory()
        expect_success(lake.create_repository())
        path = "/".join(segments)
        expect_success(lake.put_bytes("main", path, path.encode()))
        assert [o.path for o in expect_success(lake.list_objects("main"))] == [path]
        assert expect_success(lake.get_bytes("main", path)) == path.encode()

    def test_non_string_metadata_is_refused(self, lake: Lake) -> None:
        """Object and commit metadata must map str to str, as lakeFS requires."""
        bad: Any = {"rows": 3}
        expect_failure(lake.put_bytes("main", "a", b"x", metadata=bad), "invalid")
        expect_success(lake.put_bytes("main", "a", b"x"))
        expect_failure(lake.commit("main", "m", bad), "invalid")
        expect_failure(lake.commit("main", "m", {1: "x"}), "invalid")  # type: ignore[dict-item]

    def test_missing_object_is_not_found(self, lake: Lake) -> None:
        """Reading or stat-ing an absent path is not_found."""
        expect_failure(lake.get_bytes("main", "nope"), "not_found")
        expect_failure(lake.stat("main", "nope"), "not_found")

    def test_delete_object_is_staged_and_missing_paths_are_a_no_op(self, lake: Lake) -> None:
        """A delete hides the object on the branch until committed; deleting nothing succeeds."""
        expect_success(lake.put_bytes("main", "a", b"x"))
        kept = expect_success(lake.commit("main", "add")).id
        expect_success(lake.delete_object("main", "a"))
        expect_failure(lake.get_bytes("main", "a"), "not_found")
        assert expect_success(lake.get_bytes(kept, "a")) == b"x"
        assert expect_success(lake.uncommitted("main")) == (Change("a", "removed"),)
        expect_success(lake.delete_object("main", "never-existed"))
        assert expect_success(lake.uncommitted("main")) == (Change("a", "removed"),)
        gone = expect_success(lake.commit("main", "delete")).id
        expect_failure(lake.get_bytes(gone, "a"), "not_found")

    def test_list_objects_by_prefix_is_sorted(self, lake: Lake) -> None:
        """Listing returns every object under a prefix, sorted by path."""
        for path in ("b/2", "a", "b/1", "b10", "c/d/e"):
            expect_success(lake.put_bytes("main", path, path.encode()))
        assert [o.path for o in expect_success(lake.list_objects("main"))] == [
            "a",
            "b/1",
            "b/2",
            "b10",
            "c/d/e",
        ]
        assert [o.path for o in expect_success(lake.list_objects("main", "b/"))] == ["b/1", "b/2"]
        assert [o.path for o in expect_success(lake.list_objects("main", "b"))] == [
            "b/1",
            "b/2",
            "b10",
        ]
        assert expect_success(lake.list_objects("main", "zzz")) == ()

    def test_listing_scales_past_one_range(self, lake: Lake) -> None:
        """Thousands of objects list, read and diff correctly after small changes."""
        for i in range(600):
            expect_success(lake.put_bytes("main", f"many/{i:05d}", str(i).encode()))
        first = expect_success(lake.commit("main", "many")).id
        expect_success(lake.put_bytes("main", "many/00300", b"changed"))
        expect_success(lake.delete_object("main", "many/00007"))
        expect_success(lake.put_bytes("main", "many/00300x", b"new"))
        second = expect_success(lake.commit("main", "edit")).id
        listed = [o.path for o in expect_success(lake.list_objects(second, "many/"))]
        assert len(listed) == 600 and listed == sorted(listed)
        assert "many/00007" not in listed and "many/00300x" in listed
        assert expect_success(lake.get_bytes(second, "many/00300")) == b"changed"
        assert expect_success(lake.get_bytes(first, "many/00300")) == b"300"
        assert expect_success(lake.diff(first, second)) == (
            Change("many/00007", "removed"),
            Change("many/00300", "changed"),
            Change("many/00300x", "added"),
        )

    # -- commits ------------------------------------------------------------------------------
    def test_uncommitted_reports_changes_against_head_only(self, lake: Lake) -> None:
        """Uncommitted lists added/changed/removed paths and ignores writes equal to the head."""
        expect_success(lake.put_bytes("main", "same", b"s"))
        expect_success(lake.put_bytes("main", "changed", b"1"))
        expect_success(lake.put_bytes("main", "removed", b"r"))
        expect_success(lake.commit("main", "base"))
        expect_success(lake.put_bytes("main", "same", b"s"))
        expect_success(lake.put_bytes("main", "changed", b"2"))
        expect_success(lake.delete_object("main", "removed"))
        expect_success(lake.put_bytes("main", "added", b"a"))
        assert expect_success(lake.uncommitted("main")) == (
            Change("added", "added"),
            Change("changed", "changed"),
            Change("removed", "removed"),
        )

    def test_commit_without_changes_is_invalid_unless_allow_empty(self, lake: Lake) -> None:
        """An empty commit is refused (invalid) unless allow_empty, which makes a new commit."""
        head = expect_success(lake.resolve("main"))
        expect_failure(lake.commit("main", "nothing"), "invalid", retryable=False)
        empty = expect_success(lake.commit("main", "marker", allow_empty=True))
        assert empty.parents == (head,)
        assert expect_success(lake.resolve("main")) == empty.id

    def test_writing_the_committed_content_again_is_no_change(self, lake: Lake) -> None:
        """Re-writing identical bytes leaves nothing to commit."""
        expect_success(lake.put_bytes("main", "a", b"x"))
        expect_success(lake.commit("main", "one"))
        expect_success(lake.put_bytes("main", "a", b"x"))
        expect_failure(lake.commit("main", "again"), "invalid")

    def test_commit_records_message_metadata_and_utc_time(self, lake: Lake) -> None:
        """A commit keeps its message and string metadata, and a timezone-aware UTC time."""
        expect_success(lake.put_bytes("main", "a", b"x"))
        info = expect_success(lake.commit("main", "load users", {"run_id": "r1", "rows": "3"}))
        (logged, *_) = expect_success(lake.log_commits("main"))
        assert logged == info
        assert (logged.message, dict(logged.metadata)) == (
            "load users",
            {"run_id": "r1", "rows": "3"},
        )
        offset = logged.created_at.utcoffset()
        assert offset is not None and offset.total_seconds() == 0

    def test_commit_on_unknown_branch_is_not_found(self, lake: Lake) -> None:
        """Committing to a branch that does not exist is not_found."""
        expect_failure(lake.commit("ghost", "m", allow_empty=True), "not_found")

    def test_log_is_newest_first_and_limited(self, lake: Lake) -> None:
        """The log lists commits newest first, each before its parents, cut at ``limit``."""
        ids = [expect_success(lake.resolve("main"))]
        for i in range(4):
            expect_success(lake.put_bytes("main", "a", str(i).encode()))
            ids.append(expect_success(lake.commit("main", f"c{i}")).id)
        assert [c.id for c in expect_success(lake.log_commits("main"))] == ids[::-1]
        assert [c.id for c in expect_success(lake.log_commits("main", limit=2))] == ids[:-3:-1]
        assert [c.id for c in expect_success(lake.log_commits(ids[2]))] == ids[2::-1]

    # -- merges -------------------------------------------------------------------------------
    def _forked(self, lake: Lake, base: Mapping[str, bytes]) -> str:
        for path, content in base.items():
            expect_success(lake.put_bytes("main", path, content))
        base_id = expect_success(lake.commit("main", "base", allow_empty=True)).id
        expect_success(lake.create_branch("dev", "main"))
        return base_id

    def test_merge_creates_a_commit_with_dest_and_source_parents(self, lake: Lake) -> None:
        """A merge is a new commit with parents [dest head, source commit], never a fast-forward."""
        self._forked(lake, {"a": b"1"})
        expect_success(lake.put_bytes("dev", "b", b"2"))
        source = expect_success(lake.commit("dev", "dev work")).id
        dest = expect_success(lake.resolve("main"))
        merged = expect_success(lake.merge("dev", "main", message="publish", metadata={"k": "v"}))
        info = expect_success(lake.log_commits("main", limit=1))[0]
        assert info.id == merged and merged not in (source, dest)
        assert info.parents == (dest, source)
        assert info.message == "publish" and info.metadata["k"] == "v"
        assert expect_success(lake.get_bytes("main", "b")) == b"2"

    def test_merge_with_nothing_to_merge_is_invalid(self, lake: Lake) -> None:
        """Merging a source that brings no change is refused (lakeFS' 400)."""
        self._forked(lake, {"a": b"1"})
        expect_failure(lake.merge("dev", "main"), "invalid", retryable=False)
        expect_success(lake.put_bytes("main", "m", b"x"))
        expect_success(lake.commit("main", "main only"))
        expect_failure(lake.merge("dev", "main"), "invalid")

    def test_merge_into_a_branch_with_uncommitted_changes_is_invalid(self, lake: Lake) -> None:
        """A destination with uncommitted changes is refused; committing them unblocks it."""
        self._forked(lake, {"a": b"1"})
        expect_success(lake.put_bytes("dev", "b", b"2"))
        expect_success(lake.commit("dev", "dev work"))
        expect_success(lake.put_bytes("main", "dirty", b"x"))
        expect_failure(lake.merge("dev", "main"), "invalid", retryable=False)
        expect_success(lake.commit("main", "clean up"))
        expect_success(lake.merge("dev", "main"))

    def test_merge_conflict_when_both_sides_change_a_path_differently(self, lake: Lake) -> None:
        """The same path changed differently on both sides is a non-retryable conflict."""
        self._forked(lake, {"checkpoint": b"0"})
        expect_success(lake.put_bytes("dev", "checkpoint", b"dev"))
        expect_success(lake.commit("dev", "dev"))
        expect_success(lake.put_bytes("main", "checkpoint", b"main"))
        head = expect_success(lake.commit("main", "main")).id
        error = expect_failure(lake.merge("dev", "main"), "conflict", retryable=False)
        assert "checkpoint" in error.reason
        assert expect_success(lake.resolve("main")) == head

    def test_merge_conflict_when_one_side_deletes_what_the_other_changes(self, lake: Lake) -> None:
        """Deleting a path on one side while changing it on the other is a conflict."""
        self._forked(lake, {"a": b"0"})
        expect_success(lake.delete_object("dev", "a"))
        expect_success(lake.commit("dev", "delete"))
        expect_success(lake.put_bytes("main", "a", b"changed"))
        expect_success(lake.commit("main", "change"))
        expect_failure(lake.merge("dev", "main"), "conflict", retryable=False)

    def test_identical_changes_on_both_sides_are_not_a_conflict(self, lake: Lake) -> None:
        """Changing a path the same way on both sides merges cleanly."""
        self._forked(lake, {"a": b"0"})
        for branch in ("dev", "main"):
            expect_success(lake.put_bytes(branch, "a", b"same"))
            expect_success(lake.put_bytes(branch, f"only-{branch}", b"x"))
            expect_success(lake.commit(branch, branch))
        expect_success(lake.merge("dev", "main"))
        paths = [o.path for o in expect_success(lake.list_objects("main"))]
        assert paths == ["a", "only-dev", "only-main"]
        assert expect_success(lake.get_bytes("main", "a")) == b"same"

    @pytest.mark.parametrize(
        ("strategy", "winner"), [("source-wins", b"dev"), ("dest-wins", b"main")]
    )
    def test_merge_strategy_picks_a_side_on_conflict(
        self, lake: Lake, strategy: MergeStrategy, winner: bytes
    ) -> None:
        """A strategy resolves conflicts for its side and still applies non-conflicting changes."""
        self._forked(lake, {"c": b"0"})
        expect_success(lake.put_bytes("dev", "c", b"dev"))
        expect_success(lake.put_bytes("dev", "new", b"n"))
        expect_success(lake.commit("dev", "dev"))
        expect_success(lake.put_bytes("main", "c", b"main"))
        expect_success(lake.commit("main", "main"))
        expect_success(lake.merge("dev", "main", strategy=strategy))
        assert expect_success(lake.get_bytes("main", "c")) == winner
        assert expect_success(lake.get_bytes("main", "new")) == b"n"

    def test_merge_uses_the_merge_base_not_the_source_snapshot(self, lake: Lake) -> None:
        """Paths the source never touched keep the destination's newer versions."""
        self._forked(lake, {"a": b"0", "b": b"0"})
        expect_success(lake.put_bytes("main", "a", b"main-newer"))
        expect_success(lake.commit("main", "main moves a"))
        expect_success(lake.put_bytes("dev", "b", b"dev"))
        expect_success(lake.commit("dev", "dev moves b"))
        expect_success(lake.merge("dev", "main"))
        assert expect_success(lake.get_bytes("main", "a")) == b"main-newer"
        assert expect_success(lake.get_bytes("main", "b")) == b"dev"

    def test_repeated_merges_only_bring_new_changes(self, lake: Lake) -> None:
        """After a merge, the next merge's base is the previous source commit."""
        self._forked(lake, {"a": b"0"})
        expect_success(lake.put_bytes("dev", "a", b"1"))
        expect_success(lake.commit("dev", "one"))
        expect_success(lake.merge("dev", "main"))
        expect_success(lake.put_bytes("main", "a", b"main"))
        expect_success(lake.commit("main", "main changes a after the merge"))
        expect_success(lake.put_bytes("dev", "b", b"2"))
        expect_success(lake.commit("dev", "two"))
        expect_success(lake.merge("dev", "main"))
        assert expect_success(lake.get_bytes("main", "a")) == b"main"
        assert expect_success(lake.get_bytes("main", "b")) == b"2"

    def test_merge_from_a_commit_id(self, lake: Lake) -> None:
        """The merge source may be a commit id as well as a branch."""
        self._forked(lake, {})
        expect_success(lake.put_bytes("dev", "a", b"1"))
        source = expect_success(lake.commit("dev", "one")).id
        expect_success(lake.delete_branch("dev"))
        merged = expect_success(lake.merge(source, "main"))
        assert expect_success(lake.log_commits(merged, limit=1))[0].parents[1] == source

    def test_merge_with_unknown_strategy_is_invalid(self, lake: Lake) -> None:
        """Only None, 'dest-wins' and 'source-wins' are strategies."""
        self._forked(lake, {})
        bad: Any = "ours"
        expect_failure(lake.merge("dev", "main", strategy=bad), "invalid")

    def test_diff_is_three_dot(self, lake: Lake) -> None:
        """diff(left, right) lists what right changed since the merge base, not what left did."""
        self._forked(lake, {"a": b"0", "b": b"0"})
        expect_success(lake.put_bytes("main", "a", b"main"))
        expect_success(lake.commit("main", "main"))
        expect_success(lake.put_bytes("dev", "b", b"dev"))
        expect_success(lake.put_bytes("dev", "c", b"new"))
        expect_success(lake.delete_object("dev", "a"))
        expect_success(lake.commit("dev", "dev"))
        assert expect_success(lake.diff("main", "dev")) == (
            Change("a", "removed"),
            Change("b", "changed"),
            Change("c", "added"),
        )
        assert expect_success(lake.diff("dev", "main")) == (Change("a", "changed"),)

    # -- frames and notebooks -----------------------------------------------------------------
    def test_scan_frame_reads_an_object_and_a_folder_of_parts(self, lake: Lake) -> None:
        """A parquet object scans as itself; a folder scans as all its *.parquet parts in order."""
        one, two = pl.DataFrame({"x": [1, 2]}), pl.DataFrame({"x": [3]})
        expect_success(lake.put_bytes("main", "ds/part-1.parquet", _parquet(one)))
        expect_success(lake.put_bytes("main", "ds/part-2.parquet", _parquet(two)))
        expect_success(lake.put_bytes("main", "ds/_SUCCESS", b""))
        assert_frame_equal(
            expect_success(lake.scan_frame("main", "ds/part-1.parquet")).collect(), one
        )
        assert_frame_equal(
            expect_success(lake.scan_frame("main", "ds")).collect(), pl.concat([one, two])
        )
        assert_frame_equal(
            expect_success(lake.scan_frame("main", "ds/")).collect(), pl.concat([one, two])
        )
        expect_failure(lake.scan_frame("main", "nope"), "not_found")
        expect_failure(lake.scan_frame("nope", "ds"), "not_found")

    def test_scan_frame_time_travels(self, lake: Lake) -> None:
        """Scanning at an old commit returns the data as it was then."""
        old = pl.DataFrame({"v": ["old"]})
        expect_success(lake.put_bytes("main", "t.parquet", _parquet(old)))
        first = expect_success(lake.commit("main", "old")).id
        expect_success(lake.put_bytes("main", "t.parquet", _parquet(pl.DataFrame({"v": ["new"]}))))
        expect_success(lake.commit("main", "new"))
        assert_frame_equal(expect_success(lake.scan_frame(first, "t.parquet")).collect(), old)
        assert expect_success(lake.scan_frame("main", "t.parquet")).collect()["v"].to_list() == [
            "new"
        ]

    def test_notebook_helpers_return_values(self, lake: Lake) -> None:
        """scan, head, branches and log return plain values for notebooks."""
        expect_success(lake.put_bytes("main", "t.parquet", _parquet(pl.DataFrame({"v": [1]}))))
        info = expect_success(lake.commit("main", "data"))
        assert lake.head("main") == info.id
        assert [b.name for b in lake.branches()] == ["main"]
        assert [c.id for c in lake.log("main", limit=1)] == [info.id]
        assert lake.scan("t.parquet", ref=info.id).collect()["v"].to_list() == [1]

    def test_notebook_helpers_raise_clear_errors(self, lake: Lake) -> None:
        """A missing ref or path raises LakeflowError naming what exists instead."""
        expect_success(
            lake.put_bytes("main", "data/users/p.parquet", _parquet(pl.DataFrame({"v": [1]})))
        )
        expect_success(lake.commit("main", "data"))
        with pytest.raises(LakeflowError, match=r"(?s)'mian'.*main"):
            lake.scan("data/users", ref="mian")
        with pytest.raises(LakeflowError, match=r"(?s)data/user\b.*data/users"):
            lake.scan("data/user")
        with pytest.raises(LakeflowError, match="nope"):
            lake.head("nope")
        with pytest.raises(LakeflowError, match="nope"):
            lake.log("nope")

    # -- concurrency (real processes) ---------------------------------------------------------
    def _require_multiprocess(self) -> None:
        if not self.multiprocess:
            pytest.skip("this lake cannot be re-opened from a URL in a child process")

    def test_concurrent_publishers_lose_no_update(self, lake: Lake) -> None:
        """Processes merging run branches into main at once all land; races only ever retry."""
        self._require_multiprocess()
        workers, rounds = 4, 3
        reports = _run_processes(
            _publish_worker, [(lake.url, lake.repository, w, rounds) for w in range(workers)]
        )
        assert all(r["other"] == [] for r in reports), reports
        merged = [m for r in reports for m in r["merged"]]
        assert len(merged) == workers * rounds
        paths = {o.path for o in expect_success(lake.list_objects("main", "out/"))}
        assert paths == {f"out/{w}/{n}.txt" for w in range(workers) for n in range(rounds)}
        history = {c.id: c for c in expect_success(lake.log_commits("main"))}
        assert set(merged) <= set(history)
        assert all(len(history[m].parents) == 2 for m in merged)

    def test_concurrent_merges_of_the_same_checkpoint_publish_once(self, lake: Lake) -> None:
        """Runs that moved the same checkpoint race to main: one publishes, the rest conflict."""
        self._require_multiprocess()
        workers = 4
        for w in range(workers):
            expect_success(lake.create_branch(f"run-{w}", "main"))
            expect_success(lake.put_bytes(f"run-{w}", "checkpoint.json", f"{w}".encode()))
            expect_success(lake.commit(f"run-{w}", f"run {w}"))
        reports = _run_processes(
            _checkpoint_worker, [(lake.url, lake.repository, w) for w in range(workers)]
        )
        winners = [r for r in reports if r["merged"] is not None]
        assert len(winners) == 1, reports
        losers = [r["error"] for r in reports if r["merged"] is None]
        assert all(e["code"] == "conflict" and not e["retryable"] for e in losers), losers
        winner = winners[0]
        assert expect_success(lake.resolve("main")) == winner["merged"]
        content = expect_success(lake.get_bytes("main", "checkpoint.json"))
        assert content == f"{winner['worker']}".encode()

    def test_concurrent_commits_to_one_branch_keep_every_write(self, lake: Lake) -> None:
        """Processes committing to one branch never lose a staged write; losers get conflict."""
        self._require_multiprocess()
        workers = 4
        expect_success(lake.create_branch("shared", "main"))
        reports = _run_processes(
            _commit_worker, [(lake.url, lake.repository, w) for w in range(workers)]
        )
        for report in reports:
            assert all(e["code"] == "invalid" for e in report["other"]), report
        commits = [c for r in reports for c in r["commits"]]
        assert commits, "at least one commit must win"
        history = [c.id for c in expect_success(lake.log_commits("shared"))]
        assert set(commits) <= set(history)
        assert expect_success(lake.uncommitted("shared")) == ()
        paths = [o.path for o in expect_success(lake.list_objects("shared"))]
        assert paths == [f"by/{w}" for w in range(workers)]

    # -- the model ----------------------------------------------------------------------------
    def test_state_machine(self, lake_factory: LakeFactory) -> None:
        """Random branch/put/delete/commit/merge sequences agree with a model of lakeFS."""
        run_state_machine_as_test(
            lake_state_machine(lake_factory),
            settings=settings(
                stateful_step_count=self.state_machine_steps,
                suppress_health_check=[HealthCheck.function_scoped_fixture],
            ),
        )
