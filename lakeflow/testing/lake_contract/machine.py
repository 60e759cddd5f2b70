"""The Lake contract's hypothesis state machine: random operations checked against the model.

Effect (tests). Every rule performs one operation on the lake and the same on
:class:`~lakeflow.testing.lake_contract.model.LakeModel`, and asserts the lake's answer (value
or error code) is one lakeFS could give.
"""

# ruff: noqa: S101 - a test suite: assertions are its purpose (shipped for adapters' tests)
from __future__ import annotations

from typing import ClassVar, Final

from hypothesis import event, note
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from returns.result import Failure

from lakeflow.adapters.lake_helpers import unwrap_io
from lakeflow.ports import MergeStrategy
from lakeflow.testing.lake_contract.assertions import LakeFactory, expect_failure, expect_success
from lakeflow.testing.lake_contract.model import CONFLICT, NO_CHANGES, LakeModel, Tree

__all__ = ["LakeStateMachine", "lake_state_machine"]

_BRANCHES: Final = ("main", "dev", "feat-1")
_PATHS: Final = ("a", "b", "b/c", "e/f/g.parquet")
_CONTENTS: Final = (b"", b"1", b"22")
_TYPES: Final = ("application/octet-stream", "text/plain")
_STRATEGIES: Final[tuple[MergeStrategy, ...]] = (None, "dest-wins", "source-wins")


class LakeStateMachine(RuleBasedStateMachine):
    """Random branch/put/delete/commit/merge/revert/discard sequences checked against the model.

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
        result = self.lake.put_bytes(path, content, branch=branch, content_type=content_type)
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
        result = self.lake.delete_object(path, branch=branch)
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
                assert CONFLICT in outcomes, error.message
                assert not error.retryable, "a content conflict is not retryable"
            else:
                assert error.code == "invalid", error.message
                assert NO_CHANGES in outcomes, error.message
            return
        merge_id = outcome.unwrap()
        merged = self._tree_at(merge_id)
        assert merged in outcomes, f"merged tree {merged} not among {outcomes}"
        info = expect_success(self.lake.log_commits(merge_id, limit=1))[0]
        assert info.parents == (dest_commit, source_commit)
        assert info.metadata.get("run") == "1"
        self.model.commits[merge_id] = ((dest_commit, source_commit), merged)
        self.model.heads[dest] = merge_id
        self.model.staging[dest] = {}

    def _tree_at(self, commit_id: str) -> Tree:
        """A commit's tree, read back through the lake."""
        return {
            o.path: (expect_success(self.lake.get_bytes(o.path, ref=commit_id)), o.content_type)
            for o in expect_success(self.lake.list_objects(ref=commit_id))
        }

    @rule(branch=st.sampled_from(_BRANCHES), data=st.data())
    def revert(self, branch: str, data: st.DataObject) -> None:
        """Revert a known commit (against one of its parents) on a branch."""
        target = data.draw(st.sampled_from(list(self.model.commits)), label="commit")
        parents = self.model.commits[target][0]
        number = data.draw(st.integers(1, max(1, len(parents))), label="parent_number")
        result = self.lake.revert(branch, target, parent_number=number, metadata={"why": "undo"})
        if branch not in self.model.heads:
            expect_failure(result, "not_found")
            return
        if self.model.effective(branch):
            expect_failure(result, "invalid")
            return
        head = self.model.heads[branch]
        trees = {c: t for c, (_, t) in self.model.commits.items()}
        source = trees[parents[number - 1]] if parents else {}
        expected = LakeModel.three_way(trees[target], source, trees[head], None)
        outcome = unwrap_io(result)
        event(f"revert: {'ok' if not isinstance(outcome, Failure) else outcome.failure().code}")
        if expected == CONFLICT:
            expect_failure(result, "conflict", retryable=False)
            return
        if expected == NO_CHANGES:
            expect_failure(result, "invalid", retryable=False)
            return
        info = expect_success(result)
        assert info.parents == (head,)
        assert info.metadata.get("why") == "undo"
        assert self._tree_at(info.id) == expected
        self.model.commits[info.id] = ((head,), expected)
        self.model.heads[branch] = info.id
        self.model.staging[branch] = {}

    @rule(branch=st.sampled_from(_BRANCHES))
    def discard(self, branch: str) -> None:
        """Drop a branch's uncommitted changes."""
        result = self.lake.discard_changes(branch)
        if branch not in self.model.heads:
            expect_failure(result, "not_found")
            return
        expect_success(result)
        self.model.staging[branch] = {}

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
        listed = self.lake.list_objects(ref=branch)
        if branch not in self.model.heads:
            expect_failure(listed, "not_found")
            expect_failure(self.lake.uncommitted(branch), "not_found")
            return
        view = self.model.view(branch)
        objects = expect_success(listed)
        assert [o.path for o in objects] == sorted(view)
        for info in objects:
            content, content_type = view[info.path]
            assert expect_success(self.lake.get_bytes(info.path, ref=branch)) == content
            assert (info.size, info.content_type) == (len(content), content_type)
            self._check_checksum(content, info.checksum)
        head_tree = self.model.commits[self.model.heads[branch]][1]
        effective = self.model.effective(branch)
        expected = LakeModel.changes(
            {p: head_tree[p] for p in effective if p in head_tree},
            {p: v for p, v in effective.items() if v is not None},
        )
        assert expect_success(self.lake.uncommitted(branch)) == expected
        prefixed = expect_success(self.lake.list_objects("b/", ref=branch))
        assert [o.path for o in prefixed] == sorted(p for p in view if p.startswith("b/"))
        for path in _PATHS:
            if path not in view:
                expect_failure(self.lake.get_bytes(path, ref=branch), "not_found")

    def check_commit(self, data: st.DataObject) -> None:
        """A commit's tree and log are immutable and match the model (time travel)."""
        commit_id = data.draw(st.sampled_from(list(self.model.commits)), label="commit")
        tree = self.model.commits[commit_id][1]
        objects = expect_success(self.lake.list_objects(ref=commit_id))
        assert [o.path for o in objects] == sorted(tree)
        for obj in objects:
            assert expect_success(self.lake.get_bytes(obj.path, ref=commit_id)) == tree[obj.path][0]
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
