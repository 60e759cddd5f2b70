"""The Lake contract, part two: commits, merges, reverts, history, frames and concurrency.

Effect (tests).
"""

# ruff: noqa: S101 - a test suite: assertions are its purpose (shipped for adapters' tests)
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from polars.testing import assert_frame_equal

from lakeflow.core.errors import LakeflowError
from lakeflow.lakes import LakeHandle
from lakeflow.ports import Change, Lake, MergeStrategy
from lakeflow.testing.lake_contract.assertions import (
    LakeFactory,
    expect_failure,
    expect_success,
    parquet_bytes,
)
from lakeflow.testing.lake_contract.base import ContractBase
from lakeflow.testing.lake_contract.machine import lake_state_machine
from lakeflow.testing.lake_contract.workers import (
    checkpoint_worker,
    commit_worker,
    publish_worker,
    run_processes,
)

__all__ = ["HistoryContract"]


class HistoryContract(ContractBase):
    """Commits, merges, reverts, log, diff, frames and concurrent writers."""

    # -- commits ------------------------------------------------------------------------------
    def test_uncommitted_reports_changes_against_head_only(self, lake: Lake) -> None:
        """Uncommitted lists added/changed/removed paths and ignores writes equal to the head."""
        expect_success(lake.put_bytes("same", b"s", branch="main"))
        expect_success(lake.put_bytes("changed", b"1", branch="main"))
        expect_success(lake.put_bytes("removed", b"r", branch="main"))
        expect_success(lake.commit("main", "base"))
        expect_success(lake.put_bytes("same", b"s", branch="main"))
        expect_success(lake.put_bytes("changed", b"2", branch="main"))
        expect_success(lake.delete_object("removed", branch="main"))
        expect_success(lake.put_bytes("added", b"a", branch="main"))
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
        expect_success(lake.put_bytes("a", b"x", branch="main"))
        expect_success(lake.commit("main", "one"))
        expect_success(lake.put_bytes("a", b"x", branch="main"))
        expect_failure(lake.commit("main", "again"), "invalid")

    def test_commit_records_message_metadata_and_utc_time(self, lake: Lake) -> None:
        """A commit keeps its message and string metadata, and a timezone-aware UTC time."""
        expect_success(lake.put_bytes("a", b"x", branch="main"))
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
            expect_success(lake.put_bytes("a", str(i).encode(), branch="main"))
            ids.append(expect_success(lake.commit("main", f"c{i}")).id)
        assert [c.id for c in expect_success(lake.log_commits("main"))] == ids[::-1]
        assert [c.id for c in expect_success(lake.log_commits("main", limit=2))] == ids[:-3:-1]
        assert [c.id for c in expect_success(lake.log_commits(ids[2]))] == ids[2::-1]

    # -- merges -------------------------------------------------------------------------------
    def _forked(self, lake: Lake, base: Mapping[str, bytes]) -> str:
        for path, content in base.items():
            expect_success(lake.put_bytes(path, content, branch="main"))
        base_id = expect_success(lake.commit("main", "base", allow_empty=True)).id
        expect_success(lake.create_branch("dev", "main"))
        return base_id

    def test_merge_creates_a_commit_with_dest_and_source_parents(self, lake: Lake) -> None:
        """A merge is a new commit with parents [dest head, source commit], never a fast-forward."""
        self._forked(lake, {"a": b"1"})
        expect_success(lake.put_bytes("b", b"2", branch="dev"))
        source = expect_success(lake.commit("dev", "dev work")).id
        dest = expect_success(lake.resolve("main"))
        merged = expect_success(lake.merge("dev", "main", message="publish", metadata={"k": "v"}))
        info = expect_success(lake.log_commits("main", limit=1))[0]
        assert info.id == merged and merged not in (source, dest)
        assert info.parents == (dest, source)
        assert info.message == "publish" and info.metadata["k"] == "v"
        assert expect_success(lake.get_bytes("b", ref="main")) == b"2"

    def test_merge_with_nothing_to_merge_is_invalid(self, lake: Lake) -> None:
        """Merging a source that brings no change is refused (lakeFS' 400)."""
        self._forked(lake, {"a": b"1"})
        expect_failure(lake.merge("dev", "main"), "invalid", retryable=False)
        expect_success(lake.put_bytes("m", b"x", branch="main"))
        expect_success(lake.commit("main", "main only"))
        expect_failure(lake.merge("dev", "main"), "invalid")

    def test_merge_into_a_branch_with_uncommitted_changes_is_invalid(self, lake: Lake) -> None:
        """A destination with uncommitted changes is refused; committing them unblocks it."""
        self._forked(lake, {"a": b"1"})
        expect_success(lake.put_bytes("b", b"2", branch="dev"))
        expect_success(lake.commit("dev", "dev work"))
        expect_success(lake.put_bytes("dirty", b"x", branch="main"))
        expect_failure(lake.merge("dev", "main"), "invalid", retryable=False)
        expect_success(lake.commit("main", "clean up"))
        expect_success(lake.merge("dev", "main"))

    def test_merge_conflict_when_both_sides_change_a_path_differently(self, lake: Lake) -> None:
        """The same path changed differently on both sides is a non-retryable conflict."""
        self._forked(lake, {"checkpoint": b"0"})
        expect_success(lake.put_bytes("checkpoint", b"dev", branch="dev"))
        expect_success(lake.commit("dev", "dev"))
        expect_success(lake.put_bytes("checkpoint", b"main", branch="main"))
        head = expect_success(lake.commit("main", "main")).id
        error = expect_failure(lake.merge("dev", "main"), "conflict", retryable=False)
        assert "checkpoint" in error.reason
        assert expect_success(lake.resolve("main")) == head

    def test_merge_conflict_when_one_side_deletes_what_the_other_changes(self, lake: Lake) -> None:
        """Deleting a path on one side while changing it on the other is a conflict."""
        self._forked(lake, {"a": b"0"})
        expect_success(lake.delete_object("a", branch="dev"))
        expect_success(lake.commit("dev", "delete"))
        expect_success(lake.put_bytes("a", b"changed", branch="main"))
        expect_success(lake.commit("main", "change"))
        expect_failure(lake.merge("dev", "main"), "conflict", retryable=False)

    def test_identical_changes_on_both_sides_are_not_a_conflict(self, lake: Lake) -> None:
        """Changing a path the same way on both sides merges cleanly."""
        self._forked(lake, {"a": b"0"})
        for branch in ("dev", "main"):
            expect_success(lake.put_bytes("a", b"same", branch=branch))
            expect_success(lake.put_bytes(f"only-{branch}", b"x", branch=branch))
            expect_success(lake.commit(branch, branch))
        expect_success(lake.merge("dev", "main"))
        paths = [o.path for o in expect_success(lake.list_objects(ref="main"))]
        assert paths == ["a", "only-dev", "only-main"]
        assert expect_success(lake.get_bytes("a", ref="main")) == b"same"

    @pytest.mark.parametrize(
        ("strategy", "winner"), [("source-wins", b"dev"), ("dest-wins", b"main")]
    )
    def test_merge_strategy_picks_a_side_on_conflict(
        self, lake: Lake, strategy: MergeStrategy, winner: bytes
    ) -> None:
        """A strategy resolves conflicts for its side and still applies non-conflicting changes."""
        self._forked(lake, {"c": b"0"})
        expect_success(lake.put_bytes("c", b"dev", branch="dev"))
        expect_success(lake.put_bytes("new", b"n", branch="dev"))
        expect_success(lake.commit("dev", "dev"))
        expect_success(lake.put_bytes("c", b"main", branch="main"))
        expect_success(lake.commit("main", "main"))
        expect_success(lake.merge("dev", "main", strategy=strategy))
        assert expect_success(lake.get_bytes("c", ref="main")) == winner
        assert expect_success(lake.get_bytes("new", ref="main")) == b"n"

    def test_merge_uses_the_merge_base_not_the_source_snapshot(self, lake: Lake) -> None:
        """Paths the source never touched keep the destination's newer versions."""
        self._forked(lake, {"a": b"0", "b": b"0"})
        expect_success(lake.put_bytes("a", b"main-newer", branch="main"))
        expect_success(lake.commit("main", "main moves a"))
        expect_success(lake.put_bytes("b", b"dev", branch="dev"))
        expect_success(lake.commit("dev", "dev moves b"))
        expect_success(lake.merge("dev", "main"))
        assert expect_success(lake.get_bytes("a", ref="main")) == b"main-newer"
        assert expect_success(lake.get_bytes("b", ref="main")) == b"dev"

    def test_repeated_merges_only_bring_new_changes(self, lake: Lake) -> None:
        """After a merge, the next merge's base is the previous source commit."""
        self._forked(lake, {"a": b"0"})
        expect_success(lake.put_bytes("a", b"1", branch="dev"))
        expect_success(lake.commit("dev", "one"))
        expect_success(lake.merge("dev", "main"))
        expect_success(lake.put_bytes("a", b"main", branch="main"))
        expect_success(lake.commit("main", "main changes a after the merge"))
        expect_success(lake.put_bytes("b", b"2", branch="dev"))
        expect_success(lake.commit("dev", "two"))
        expect_success(lake.merge("dev", "main"))
        assert expect_success(lake.get_bytes("a", ref="main")) == b"main"
        assert expect_success(lake.get_bytes("b", ref="main")) == b"2"

    def test_merge_from_a_commit_id(self, lake: Lake) -> None:
        """The merge source may be a commit id as well as a branch."""
        self._forked(lake, {})
        expect_success(lake.put_bytes("a", b"1", branch="dev"))
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
        expect_success(lake.put_bytes("a", b"main", branch="main"))
        expect_success(lake.commit("main", "main"))
        expect_success(lake.put_bytes("b", b"dev", branch="dev"))
        expect_success(lake.put_bytes("c", b"new", branch="dev"))
        expect_success(lake.delete_object("a", branch="dev"))
        expect_success(lake.commit("dev", "dev"))
        assert expect_success(lake.diff("main", "dev")) == (
            Change("a", "removed"),
            Change("b", "changed"),
            Change("c", "added"),
        )
        assert expect_success(lake.diff("dev", "main")) == (Change("a", "changed"),)

    # -- reverts and discards -------------------------------------------------------------------
    def test_revert_undoes_a_commit_in_a_new_commit(self, lake: Lake) -> None:
        """A revert is a new commit on the branch whose tree undoes what the commit changed."""
        expect_success(lake.put_bytes("keep", b"0", branch="main"))
        expect_success(lake.put_bytes("gone", b"0", branch="main"))
        base = expect_success(lake.commit("main", "base")).id
        expect_success(lake.put_bytes("keep", b"1", branch="main"))
        expect_success(lake.delete_object("gone", branch="main"))
        expect_success(lake.put_bytes("new", b"1", branch="main"))
        bad = expect_success(lake.commit("main", "bad")).id
        expect_success(lake.put_bytes("later", b"2", branch="main"))
        later = expect_success(lake.commit("main", "later")).id
        info = expect_success(lake.revert("main", bad, message="undo", metadata={"k": "v"}))
        assert info.parents == (later,) and info.message == "undo"
        assert info.metadata["k"] == "v"
        assert expect_success(lake.resolve("main")) == info.id
        assert expect_success(lake.get_bytes("keep", ref="main")) == b"0"
        assert expect_success(lake.get_bytes("gone", ref="main")) == b"0"
        expect_failure(lake.get_bytes("new", ref="main"), "not_found")
        assert expect_success(lake.get_bytes("later", ref="main")) == b"2"
        assert expect_success(lake.diff(base, info.id)) == (Change("later", "added"),)

    def test_revert_of_a_merge_undoes_what_it_brought_in(self, lake: Lake) -> None:
        """Reverting a merge against parent 1 removes the source's changes from the branch."""
        self._forked(lake, {"a": b"0"})
        expect_success(lake.put_bytes("from-dev", b"d", branch="dev"))
        expect_success(lake.commit("dev", "dev"))
        expect_success(lake.put_bytes("from-main", b"m", branch="main"))
        expect_success(lake.commit("main", "main"))
        merged = expect_success(lake.merge("dev", "main"))
        expect_failure(lake.revert("main", merged, parent_number=3), "invalid")
        expect_failure(lake.revert("main", merged, parent_number=0), "invalid")
        expect_success(lake.revert("main", merged, parent_number=1))
        paths = [o.path for o in expect_success(lake.list_objects(ref="main"))]
        assert paths == ["a", "from-main"]

    def test_revert_conflicts_when_the_branch_changed_the_path_since(self, lake: Lake) -> None:
        """A path changed again after the reverted commit is a non-retryable conflict."""
        expect_success(lake.put_bytes("a", b"1", branch="main"))
        first = expect_success(lake.commit("main", "one")).id
        expect_success(lake.put_bytes("a", b"2", branch="main"))
        head = expect_success(lake.commit("main", "two")).id
        error = expect_failure(lake.revert("main", first), "conflict", retryable=False)
        assert "a" in error.reason
        assert expect_success(lake.resolve("main")) == head

    def test_revert_refuses_a_dirty_branch_and_a_no_op(self, lake: Lake) -> None:
        """Uncommitted changes or a revert that changes nothing are invalid; unknowns not_found."""
        expect_success(lake.put_bytes("a", b"1", branch="main"))
        first = expect_success(lake.commit("main", "one")).id
        expect_success(lake.put_bytes("b", b"x", branch="main"))
        expect_failure(lake.revert("main", first), "invalid")
        expect_success(lake.discard_changes("main"))
        expect_success(lake.revert("main", first))
        expect_failure(lake.revert("main", first), "invalid")  # already undone: no change
        expect_failure(lake.revert("main", "0" * 64), "not_found")
        expect_failure(lake.revert("ghost", first), "not_found")
        expect_failure(lake.revert("a/b", first), "invalid")

    def test_discard_changes_drops_uncommitted_writes_only(self, lake: Lake) -> None:
        """Discarding a branch's changes restores its head's view; commits are untouched."""
        expect_success(lake.put_bytes("a", b"1", branch="main"))
        head = expect_success(lake.commit("main", "one")).id
        expect_success(lake.put_bytes("a", b"2", branch="main"))
        expect_success(lake.put_bytes("b", b"new", branch="main"))
        expect_success(lake.delete_object("a", branch="main"))
        expect_success(lake.discard_changes("main"))
        assert expect_success(lake.uncommitted("main")) == ()
        assert expect_success(lake.get_bytes("a", ref="main")) == b"1"
        expect_failure(lake.get_bytes("b", ref="main"), "not_found")
        assert expect_success(lake.resolve("main")) == head
        expect_success(lake.discard_changes("main"))  # nothing to discard: fine
        expect_failure(lake.discard_changes("ghost"), "not_found")
        expect_failure(lake.discard_changes("a/b"), "invalid")

    # -- frames and notebooks -----------------------------------------------------------------
    def test_scan_frame_reads_an_object_and_a_folder_of_parts(self, lake: Lake) -> None:
        """A parquet object scans as itself; a folder scans as all its *.parquet parts in order."""
        one, two = pl.DataFrame({"x": [1, 2]}), pl.DataFrame({"x": [3]})
        expect_success(lake.put_bytes("ds/part-1.parquet", parquet_bytes(one), branch="main"))
        expect_success(lake.put_bytes("ds/part-2.parquet", parquet_bytes(two), branch="main"))
        expect_success(lake.put_bytes("ds/_SUCCESS", b"", branch="main"))
        assert_frame_equal(
            expect_success(lake.scan_frame("ds/part-1.parquet", ref="main")).collect(), one
        )
        assert_frame_equal(
            expect_success(lake.scan_frame("ds", ref="main")).collect(), pl.concat([one, two])
        )
        assert_frame_equal(
            expect_success(lake.scan_frame("ds/", ref="main")).collect(), pl.concat([one, two])
        )
        expect_failure(lake.scan_frame("nope", ref="main"), "not_found")
        expect_failure(lake.scan_frame("ds", ref="nope"), "not_found")

    def test_scan_frame_time_travels(self, lake: Lake) -> None:
        """Scanning at an old commit returns the data as it was then."""
        old = pl.DataFrame({"v": ["old"]})
        expect_success(lake.put_bytes("t.parquet", parquet_bytes(old), branch="main"))
        first = expect_success(lake.commit("main", "old")).id
        expect_success(
            lake.put_bytes("t.parquet", parquet_bytes(pl.DataFrame({"v": ["new"]})), branch="main")
        )
        expect_success(lake.commit("main", "new"))
        assert_frame_equal(expect_success(lake.scan_frame("t.parquet", ref=first)).collect(), old)
        assert expect_success(lake.scan_frame("t.parquet", ref="main")).collect()[
            "v"
        ].to_list() == ["new"]

    def test_notebook_helpers_return_values(self, lake: Lake) -> None:
        """A LakeHandle's scan, head, branches and log return plain values for notebooks."""
        expect_success(
            lake.put_bytes("t.parquet", parquet_bytes(pl.DataFrame({"v": [1]})), branch="main")
        )
        info = expect_success(lake.commit("main", "data"))
        handle = LakeHandle(lake)
        assert handle.head("main") == info.id
        assert [b.name for b in handle.branches()] == ["main"]
        assert [c.id for c in handle.log("main", limit=1)] == [info.id]
        assert handle.scan("t.parquet", ref=info.id).collect()["v"].to_list() == [1]

    def test_notebook_helpers_raise_clear_errors(self, lake: Lake) -> None:
        """A LakeHandle's helpers raise LakeflowError naming what exists instead."""
        expect_success(
            lake.put_bytes(
                "data/users/p.parquet", parquet_bytes(pl.DataFrame({"v": [1]})), branch="main"
            )
        )
        expect_success(lake.commit("main", "data"))
        handle = LakeHandle(lake)
        with pytest.raises(LakeflowError, match=r"(?s)'mian'.*main"):
            handle.scan("data/users", ref="mian")
        with pytest.raises(LakeflowError, match=r"(?s)data/user\b.*data/users"):
            handle.scan("data/user")
        with pytest.raises(LakeflowError, match="nope"):
            handle.head("nope")
        with pytest.raises(LakeflowError, match="nope"):
            handle.log("nope")

    # -- concurrency (real processes) ---------------------------------------------------------
    def test_concurrent_publishers_lose_no_update(self, lake: Lake) -> None:
        """Processes merging run branches into main at once all land; races only ever retry."""
        self._require_multiprocess()
        workers, rounds = 4, 3
        reports = run_processes(
            publish_worker, [(lake.url, lake.repository, w, rounds) for w in range(workers)]
        )
        assert all(r["other"] == [] for r in reports), reports
        merged = [m for r in reports for m in r["merged"]]
        assert len(merged) == workers * rounds
        paths = {o.path for o in expect_success(lake.list_objects("out/", ref="main"))}
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
            expect_success(lake.put_bytes("checkpoint.json", f"{w}".encode(), branch=f"run-{w}"))
            expect_success(lake.commit(f"run-{w}", f"run {w}"))
        reports = run_processes(
            checkpoint_worker, [(lake.url, lake.repository, w) for w in range(workers)]
        )
        winners = [r for r in reports if r["merged"] is not None]
        assert len(winners) == 1, reports
        losers = [r["error"] for r in reports if r["merged"] is None]
        assert all(e["code"] == "conflict" and not e["retryable"] for e in losers), losers
        winner = winners[0]
        assert expect_success(lake.resolve("main")) == winner["merged"]
        content = expect_success(lake.get_bytes("checkpoint.json", ref="main"))
        assert content == f"{winner['worker']}".encode()

    def test_concurrent_commits_to_one_branch_keep_every_write(self, lake: Lake) -> None:
        """Processes committing to one branch never lose a staged write; losers get conflict."""
        self._require_multiprocess()
        workers = 4
        expect_success(lake.create_branch("shared", "main"))
        reports = run_processes(
            commit_worker, [(lake.url, lake.repository, w) for w in range(workers)]
        )
        for report in reports:
            assert all(e["code"] == "invalid" for e in report["other"]), report
        commits = [c for r in reports for c in r["commits"]]
        assert commits, "at least one commit must win"
        history = [c.id for c in expect_success(lake.log_commits("shared"))]
        assert set(commits) <= set(history)
        assert expect_success(lake.uncommitted("shared")) == ()
        paths = [o.path for o in expect_success(lake.list_objects(ref="shared"))]
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
