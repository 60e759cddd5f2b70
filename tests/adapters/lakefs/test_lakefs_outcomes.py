"""Writes whose answer never came: LakeFSLake's retries neither fail nor repeat what landed.

The double's ``slow`` fault holds a request inside the server past the client's timeout, so
the client sees no answer while the server has not applied the write yet. A second handle then
applies the same write — standing in for the server applying the held request late — and the
first handle's retry must report that write as its own success instead of a conflict or "no
changes", and must not write again. The held requests are released when the test ends; they
then find nothing left to do.
"""

from __future__ import annotations

from returns.result import Success

from lakeflow.adapters.lakefs import LakeFSLake
from lakeflow.run import RetryPolicy
from lakeflow.run.retry import retrying
from lakeflow.testing.lakefs import LakeFSDouble
from tests.adapters.lakefs.conftest import LakeFactory
from tests.adapters.lakefs.helpers import err, ok

FAST = RetryPolicy(max_retries=3, timeout_seconds=30, initial_backoff_s=0.001, max_backoff_s=0.01)
HELD = 60.0  # seconds a slowed request waits in the server (cut short when the test ends)


def _pair(double_factory: LakeFactory) -> tuple[LakeFSLake, LakeFSLake]:
    """A lake with a short timeout, and a second handle on the same repository."""
    impatient = double_factory(timeout_s=0.5)
    ok(impatient.create_repository())
    other = double_factory(repository=impatient.repository)
    return impatient, other


def test_a_commit_that_landed_unseen_is_not_committed_again(
    double_factory: LakeFactory, lakefs_server: LakeFSDouble
) -> None:
    """The retry of a commit with no answer finds it landed and returns it."""
    lake, other = _pair(double_factory)
    ok(lake.put_bytes("data/part-1", b"rows", branch="main"))
    lakefs_server.faults.slow(
        HELD, count=1, method="POST", path="/repositories/*/branches/*/commits"
    )
    error = err(lake.commit("main", "run r1", {"run": "r1"}), "unavailable", retryable=True)
    assert "may have applied it" in error.reason
    landed = ok(other.commit("main", "run r1", {"run": "r1"}))
    again = ok(lake.commit("main", "run r1", {"run": "r1"}))
    assert again == landed
    assert [c.message for c in ok(lake.log_commits("main"))].count("run r1") == 1


def test_a_slow_commit_retried_by_the_shell_commits_exactly_once(
    double_factory: LakeFactory, lakefs_server: LakeFSDouble
) -> None:
    """Timed out, then retried: one commit holds the staged writes, none is left staged."""
    lake, _ = _pair(double_factory)
    ok(lake.put_bytes("data/part-1", b"rows", branch="main"))
    lakefs_server.faults.slow(
        HELD, count=1, method="POST", path="/repositories/*/branches/*/commits"
    )
    result, calls = retrying(FAST, lambda: lake.commit("main", "run r2", {"run": "r2"}))
    assert isinstance(result, Success) and calls == 2
    assert ok(lake.resolve("main")) == result.unwrap().id
    assert ok(lake.uncommitted("main")) == ()
    assert [c.message for c in ok(lake.log_commits("main"))].count("run r2") == 1


def test_a_merge_that_landed_unseen_is_not_merged_again(
    double_factory: LakeFactory, lakefs_server: LakeFSDouble
) -> None:
    """The retry of a merge with no answer returns the merge that landed, not 'nothing to merge'."""
    lake, other = _pair(double_factory)
    ok(lake.create_branch("run-1", "main"))
    ok(lake.put_bytes("out", b"1", branch="run-1"))
    source = ok(lake.commit("run-1", "run 1")).id
    lakefs_server.faults.slow(HELD, count=1, method="POST", path="/repositories/*/refs/*/merge/*")
    err(lake.merge("run-1", "main", message="publish run 1"), "unavailable", retryable=True)
    landed = ok(other.merge("run-1", "main", message="publish run 1"))
    assert ok(lake.merge("run-1", "main", message="publish run 1")) == landed
    merges = [c for c in ok(lake.log_commits("main")) if len(c.parents) == 2]
    assert [m.parents[1] for m in merges] == [source]


def test_a_branch_created_unseen_is_not_a_conflict_on_retry(
    double_factory: LakeFactory, lakefs_server: LakeFSDouble
) -> None:
    """The retry of a branch creation with no answer accepts the branch at its source."""
    lake, other = _pair(double_factory)
    head = ok(lake.resolve("main"))
    lakefs_server.faults.slow(HELD, count=1, method="POST", path="/repositories/*/branches")
    err(lake.create_branch("run-1", "main"), "unavailable", retryable=True)
    ok(other.create_branch("run-1", "main"))
    assert ok(lake.create_branch("run-1", "main")) == head
    err(lake.create_branch("run-1", "main"), "conflict", retryable=False)


def test_a_branch_deleted_unseen_is_not_missing_on_retry(
    double_factory: LakeFactory, lakefs_server: LakeFSDouble
) -> None:
    """The retry of a branch deletion with no answer accepts the branch gone."""
    lake, other = _pair(double_factory)
    ok(lake.create_branch("run-1", "main"))
    lakefs_server.faults.slow(HELD, count=1, method="DELETE", path="/repositories/*/branches/*")
    err(lake.delete_branch("run-1"), "unavailable", retryable=True)
    ok(other.delete_branch("run-1"))
    ok(lake.delete_branch("run-1"))
    err(lake.delete_branch("run-1"), "not_found")
