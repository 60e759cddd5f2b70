"""Every Lake operation of LakeFSLake, round-tripped through the lakeFS server double.

Contract-style: the tests take a ``lake`` (a repository with ``main``) or ``lakefs_factory``
and use only the Lake port, so they read like the shared Lake contract and pin what lakeFS
semantics the adapter delivers over real HTTP.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from lakeflow.adapters.lakefs import LakeFSLake
from lakeflow.ports import Change
from lakeflow.testing.lakefs import LakeFSDouble
from tests.adapters.lakefs.conftest import LakeFactory
from tests.adapters.lakefs.helpers import err, ok, parquet

# -- repository -------------------------------------------------------------------------------


def test_create_repository_makes_its_default_branch_with_an_empty_commit(
    lakefs_factory: LakeFactory,
) -> None:
    """A new repository has its default branch at a parentless commit and no objects."""
    lake = lakefs_factory()
    info = ok(lake.create_repository(default_branch="trunk"))
    assert (info.id, info.default_branch) == (lake.repository, "trunk")
    assert info.created_at.utcoffset() is not None
    (branch,) = ok(lake.list_branches())
    (first,) = ok(lake.log_commits("trunk"))
    assert branch.name == "trunk" and first.id == branch.commit_id and first.parents == ()
    assert ok(lake.list_objects(ref="trunk")) == ()


def test_creating_an_existing_repository_conflicts_unless_exist_ok(lake: LakeFSLake) -> None:
    """A second create is a non-retryable conflict; with exist_ok it returns the repository."""
    err(lake.create_repository(), "conflict", retryable=False)
    assert ok(lake.create_repository(exist_ok=True)).id == lake.repository


def test_exist_ok_opens_an_existing_repository_without_a_namespace(
    lake: LakeFSLake, lakefs_factory: LakeFactory
) -> None:
    """A handle with no storage namespace can still 'create' (open) an existing repository."""
    other = lakefs_factory(repository=lake.repository, storage_namespace=None)
    assert ok(other.create_repository(exist_ok=True)).default_branch == "main"


def test_creating_without_a_storage_namespace_is_invalid(lakefs_factory: LakeFactory) -> None:
    """lakeFS needs a storage namespace for a new repository: the error says where to set it."""
    error = err(lakefs_factory(storage_namespace=None).create_repository(), "invalid")
    assert "storage_namespace" in error.reason


def test_a_missing_repository_is_not_found_everywhere(lakefs_factory: LakeFactory) -> None:
    """Every operation on a repository that was never created is not_found."""
    lake = lakefs_factory()
    err(lake.get_repository(), "not_found")
    err(lake.list_branches(), "not_found")
    err(lake.resolve("main"), "not_found")
    err(lake.put_bytes("a", b"x", branch="main"), "not_found")
    err(lake.get_bytes("a", ref="main"), "not_found")
    err(lake.commit("main", "m"), "not_found")
    err(lake.create_branch("dev", "main"), "not_found")


def test_an_invalid_default_branch_is_refused(lakefs_factory: LakeFactory) -> None:
    """A default branch lakeFS would reject is invalid before any request."""
    err(lakefs_factory().create_repository(default_branch="a/b"), "invalid")


# -- branches ---------------------------------------------------------------------------------


def test_branches_start_at_a_branch_or_a_commit(lake: LakeFSLake) -> None:
    """A branch starts at its source's head, given as a branch name or a commit id."""
    ok(lake.put_bytes("a", b"1", branch="main"))
    first = ok(lake.commit("main", "one")).id
    assert ok(lake.create_branch("dev", "main")) == first
    ok(lake.put_bytes("a", b"2", branch="main"))
    ok(lake.commit("main", "two"))
    assert ok(lake.create_branch("old", first)) == first
    assert ok(lake.get_bytes("a", ref="old")) == b"1"
    assert ok(lake.resolve("dev")) == first


def test_an_existing_branch_conflicts_unless_exist_ok(lake: LakeFSLake) -> None:
    """Creating an existing branch is a non-retryable conflict; exist_ok returns its head."""
    head = ok(lake.create_branch("dev", "main"))
    err(lake.create_branch("dev", "main"), "conflict", retryable=False)
    assert ok(lake.create_branch("dev", "main", exist_ok=True)) == head


def test_a_branch_from_an_unknown_source_is_not_found(lake: LakeFSLake) -> None:
    """A branch cannot start at a ref that does not exist."""
    err(lake.create_branch("dev", "nope"), "not_found")
    err(lake.create_branch("dev", "0" * 64), "not_found")


@pytest.mark.parametrize("name", ["", "feature/x", "v1.0", "-dash", "has space", "ü", "main\n"])
def test_branch_ids_follow_lakefs_rules(
    double_lake: LakeFSLake, lakefs_server: LakeFSDouble, name: str
) -> None:
    """Branch ids outside ^\\w[-\\w]*$ (ASCII) are invalid, refused before any request."""
    lakefs_server.clear_requests()
    err(double_lake.create_branch(name, "main"), "invalid")
    err(double_lake.put_bytes("a", b"x", branch=name), "invalid")
    err(double_lake.commit(name, "m"), "invalid")
    err(double_lake.merge("main", name), "invalid")
    assert lakefs_server.requests == ()


def test_deleting_a_branch_keeps_its_commits_readable(lake: LakeFSLake) -> None:
    """Deleting a branch removes the name only; its commits stay readable by id."""
    ok(lake.create_branch("dev", "main"))
    ok(lake.put_bytes("a", b"kept", branch="dev"))
    commit_id = ok(lake.commit("dev", "c")).id
    ok(lake.delete_branch("dev"))
    assert [b.name for b in ok(lake.list_branches())] == ["main"]
    err(lake.resolve("dev"), "not_found")
    assert ok(lake.get_bytes("a", ref=commit_id)) == b"kept"
    err(lake.delete_branch("dev"), "not_found")


def test_the_default_branch_cannot_be_deleted(lake: LakeFSLake) -> None:
    """lakeFS refuses to delete the default branch (its 403 becomes invalid, not auth)."""
    error = err(lake.delete_branch("main"), "invalid")
    assert "default branch" in error.reason


def test_branches_are_listed_sorted_with_their_heads(lake: LakeFSLake) -> None:
    """Branches are listed sorted by name, each with its head commit."""
    head = ok(lake.resolve("main"))
    for name in ("zeta", "alpha", "mid-1", "Upper"):
        ok(lake.create_branch(name, "main"))
    listed = ok(lake.list_branches())
    assert [b.name for b in listed] == sorted(["zeta", "alpha", "mid-1", "Upper", "main"])
    assert {b.commit_id for b in listed} == {head}


def test_resolve_takes_commit_ids_and_ref_expressions(lake: LakeFSLake) -> None:
    """A commit id resolves to itself, main~1 to the parent; an unknown name is not_found."""
    first = ok(lake.resolve("main"))
    second = ok(lake.commit("main", "two", allow_empty=True)).id
    assert ok(lake.resolve(second)) == second
    assert ok(lake.resolve("main~1")) == first
    err(lake.resolve("no-such-branch"), "not_found")


# -- objects ----------------------------------------------------------------------------------


def test_writes_are_staged_until_committed(lake: LakeFSLake) -> None:
    """A write is visible on its branch at once and in a commit only after committing."""
    before = ok(lake.resolve("main"))
    ok(lake.put_bytes("a.txt", b"hello", branch="main"))
    assert ok(lake.get_bytes("a.txt", ref="main")) == b"hello"
    err(lake.get_bytes("a.txt", ref=before), "not_found")
    after = ok(lake.commit("main", "add a")).id
    assert ok(lake.get_bytes("a.txt", ref=after)) == b"hello"


def test_bytes_content_type_and_metadata_round_trip(lake: LakeFSLake) -> None:
    """Content, content type and metadata read back as written; keys lower-cased like lakeFS."""
    info = ok(
        lake.put_bytes(
            "x/y.bin",
            b"\x00\xff" * 1000,
            branch="main",
            content_type="text/csv",
            metadata={"Run-Id": "r1", "rows": ""},
        )
    )
    commit_id = ok(lake.commit("main", "m")).id
    stat = ok(lake.stat("x/y.bin", ref=commit_id))
    assert ok(lake.get_bytes("x/y.bin", ref=commit_id)) == b"\x00\xff" * 1000
    assert (stat.size, stat.content_type, dict(stat.metadata)) == (
        2000,
        "text/csv",
        {"run-id": "r1", "rows": ""},
    )
    assert stat.checksum == info.checksum


def test_metadata_keys_equal_but_for_case_are_refused(lake: LakeFSLake) -> None:
    """Two keys that lakeFS would store as one are refused rather than silently merged."""
    err(lake.put_bytes("a", b"x", branch="main", metadata={"K": "1", "k": "2"}), "invalid")


def test_non_string_metadata_is_refused(
    double_lake: LakeFSLake, lakefs_server: LakeFSDouble
) -> None:
    """Non-string object or commit metadata is invalid before the SDK can raise on it."""
    bad: Any = {"rows": 3}
    ok(double_lake.put_bytes("a", b"x", branch="main"))
    lakefs_server.clear_requests()
    err(double_lake.put_bytes("a", b"x", branch="main", metadata=bad), "invalid")
    err(double_lake.commit("main", "m", bad), "invalid")
    assert lakefs_server.requests == ()


def test_put_file_streams_chunked_and_keeps_the_file(
    double_lake: LakeFSLake, lakefs_server: LakeFSDouble, tmp_path: Path
) -> None:
    """A local file is uploaded chunked with its exact bytes; without move it stays."""
    source = tmp_path / "big.bin"
    payload = bytes(range(256)) * 12_000  # 3 MB: several 1 MiB chunks
    source.write_bytes(payload)
    lakefs_server.clear_requests()
    info = ok(double_lake.put_file("big.bin", source, branch="main", content_type="x/bin"))
    (upload,) = [r for r in lakefs_server.requests if r.method == "POST"]
    assert upload.chunked and upload.status == 201
    assert info.size == len(payload) and info.content_type == "x/bin"
    assert ok(double_lake.get_bytes("big.bin", ref="main")) == payload
    assert source.read_bytes() == payload


def test_put_file_with_move_deletes_the_file_only_after_success(
    lake: LakeFSLake, tmp_path: Path
) -> None:
    """move=True gives the file away once uploaded; a refused upload leaves it in place."""
    source = tmp_path / "part.parquet"
    source.write_bytes(b"data")
    err(lake.put_file("p", source, branch="ghost", move=True), "not_found")
    assert source.exists()
    ok(lake.put_file("p", source, branch="main", move=True))
    assert not source.exists()
    assert ok(lake.get_bytes("p", ref="main")) == b"data"


def test_put_file_of_a_missing_file_is_not_found(lake: LakeFSLake, tmp_path: Path) -> None:
    """Uploading a local file that does not exist fails with not_found."""
    err(lake.put_file("a", tmp_path / "missing.bin", branch="main"), "not_found")


@pytest.mark.parametrize("path", ["", "/abs", "a//b", "a/", "../up", "a/./b", "a\x00b"])
def test_invalid_paths_are_refused(lake: LakeFSLake, path: str) -> None:
    """Paths must be relative POSIX paths without empty, '.' or '..' segments."""
    err(lake.put_bytes(path, b"x", branch="main"), "invalid")
    err(lake.get_bytes(path, ref="main"), "invalid")
    err(lake.delete_object(path, branch="main"), "invalid")


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    segments=st.lists(
        st.text(
            st.characters(min_codepoint=33, max_codepoint=0x24F, exclude_characters="/"),
            min_size=1,
            max_size=8,
        ).filter(lambda s: s not in {".", ".."} and s.isprintable()),
        min_size=1,
        max_size=4,
    )
)
def test_any_valid_path_round_trips(lake: LakeFSLake, segments: list[str]) -> None:
    """Any relative path of printable, non-dot segments (?, #, %, +, accents) round-trips."""
    path = "/".join(segments)
    ok(lake.put_bytes(path, path.encode(), branch="main"))
    assert path in [o.path for o in ok(lake.list_objects(ref="main"))]
    assert ok(lake.get_bytes(path, ref="main")) == path.encode()
    assert ok(lake.stat(path, ref="main")).size == len(path.encode())


def test_missing_objects_are_not_found(lake: LakeFSLake) -> None:
    """Reading or stat-ing an absent path is not_found."""
    err(lake.get_bytes("nope", ref="main"), "not_found")
    err(lake.stat("nope", ref="main"), "not_found")


def test_a_delete_is_staged_and_deleting_nothing_succeeds(lake: LakeFSLake) -> None:
    """A delete hides the object on the branch until committed; a missing path is a no-op."""
    ok(lake.put_bytes("a", b"x", branch="main"))
    kept = ok(lake.commit("main", "add")).id
    ok(lake.delete_object("a", branch="main"))
    err(lake.get_bytes("a", ref="main"), "not_found")
    assert ok(lake.get_bytes("a", ref=kept)) == b"x"
    ok(lake.delete_object("never-existed", branch="main"))
    assert ok(lake.uncommitted("main")) == (Change("a", "removed"),)
    err(lake.delete_object("a", branch="ghost"), "not_found")


def test_objects_are_listed_by_prefix_in_path_order(lake: LakeFSLake) -> None:
    """Listing returns every object under a prefix, sorted by path."""
    for path in ("b/2", "a", "b/1", "b10", "c/d/e"):
        ok(lake.put_bytes(path, path.encode(), branch="main"))
    assert [o.path for o in ok(lake.list_objects(ref="main"))] == [
        "a",
        "b/1",
        "b/2",
        "b10",
        "c/d/e",
    ]
    assert [o.path for o in ok(lake.list_objects("b/", ref="main"))] == ["b/1", "b/2"]
    assert [o.path for o in ok(lake.list_objects("b", ref="main"))] == ["b/1", "b/2", "b10"]
    assert ok(lake.list_objects("zzz", ref="main")) == ()


def test_listings_follow_lakefs_pagination(
    double_factory: LakeFactory, lakefs_server: LakeFSDouble
) -> None:
    """With 3 items per page, 10 objects and their changes arrive in 4 pages; logs page too."""
    lake = double_factory(page_size=3)
    ok(lake.create_repository())
    for i in range(10):
        ok(lake.put_bytes(f"p/{i:02d}", b"x", branch="main"))
    lakefs_server.clear_requests()
    assert len(ok(lake.list_objects("p/", ref="main"))) == 10
    assert len(ok(lake.uncommitted("main"))) == 10
    pages = [r.path for r in lakefs_server.requests]
    assert sum(p.endswith("/objects/ls") for p in pages) == 4
    assert sum(p.endswith("/diff") for p in pages) == 4
    for i in range(6):
        ok(lake.commit("main", f"c{i}", allow_empty=True))
    assert len(ok(lake.log_commits("main"))) == 7  # the initial commit and c0..c5
    assert len(ok(lake.log_commits("main", limit=4))) == 4


# -- commits, merges, history -----------------------------------------------------------------


def test_uncommitted_lists_changes_against_the_head(lake: LakeFSLake) -> None:
    """Uncommitted reports added, changed and removed paths, sorted."""
    ok(lake.put_bytes("changed", b"1", branch="main"))
    ok(lake.put_bytes("removed", b"r", branch="main"))
    ok(lake.commit("main", "base"))
    ok(lake.put_bytes("changed", b"2", branch="main"))
    ok(lake.delete_object("removed", branch="main"))
    ok(lake.put_bytes("added", b"a", branch="main"))
    assert ok(lake.uncommitted("main")) == (
        Change("added", "added"),
        Change("changed", "changed"),
        Change("removed", "removed"),
    )


def test_an_empty_commit_is_invalid_unless_allowed(lake: LakeFSLake) -> None:
    """With nothing staged a commit is invalid; allow_empty makes a new commit."""
    head = ok(lake.resolve("main"))
    err(lake.commit("main", "nothing"), "invalid", retryable=False)
    empty = ok(lake.commit("main", "marker", allow_empty=True))
    assert empty.parents == (head,) and ok(lake.resolve("main")) == empty.id


def test_a_commit_keeps_message_metadata_and_utc_time(lake: LakeFSLake) -> None:
    """A commit keeps its message and string metadata; log returns the same commit."""
    ok(lake.put_bytes("a", b"x", branch="main"))
    info = ok(lake.commit("main", "load users", {"run_id": "r1", "rows": "3"}))
    (logged, *_) = ok(lake.log_commits("main"))
    assert logged == info
    assert (logged.message, dict(logged.metadata)) == ("load users", {"run_id": "r1", "rows": "3"})
    offset = logged.created_at.utcoffset()
    assert offset is not None and offset.total_seconds() == 0


def test_committing_to_an_unknown_branch_is_not_found(lake: LakeFSLake) -> None:
    """Committing to a branch that does not exist is not_found."""
    err(lake.commit("ghost", "m", allow_empty=True), "not_found")


def test_the_log_is_newest_first_and_limited(lake: LakeFSLake) -> None:
    """The log lists commits newest first, cut at ``limit``, from any ref."""
    ids = [ok(lake.resolve("main"))]
    ids += [ok(lake.commit("main", f"c{i}", allow_empty=True)).id for i in range(3)]
    assert [c.id for c in ok(lake.log_commits("main"))] == ids[::-1]
    assert [c.id for c in ok(lake.log_commits("main", limit=2))] == ids[:-3:-1]
    assert [c.id for c in ok(lake.log_commits(ids[1]))] == ids[1::-1]
    assert ok(lake.log_commits("main", limit=0)) == ()


def _forked(lake: LakeFSLake, base: dict[str, bytes]) -> str:
    for path, content in base.items():
        ok(lake.put_bytes(path, content, branch="main"))
    base_id = ok(lake.commit("main", "base", allow_empty=True)).id
    ok(lake.create_branch("dev", "main"))
    return base_id


def test_a_merge_is_a_new_commit_with_dest_and_source_parents(lake: LakeFSLake) -> None:
    """A merge has parents [dest head, source commit], never a fast-forward, with our message."""
    _forked(lake, {"a": b"1"})
    ok(lake.put_bytes("b", b"2", branch="dev"))
    source = ok(lake.commit("dev", "dev work")).id
    dest = ok(lake.resolve("main"))
    merged = ok(lake.merge("dev", "main", message="publish", metadata={"k": "v"}))
    info = ok(lake.log_commits("main", limit=1))[0]
    assert info.id == merged and info.parents == (dest, source)
    assert info.message == "publish" and info.metadata["k"] == "v"
    assert ok(lake.get_bytes("b", ref="main")) == b"2"


def test_nothing_to_merge_and_a_dirty_destination_are_invalid(lake: LakeFSLake) -> None:
    """A source with no changes, or a destination with uncommitted ones, is refused."""
    _forked(lake, {"a": b"1"})
    err(lake.merge("dev", "main"), "invalid", retryable=False)
    ok(lake.put_bytes("b", b"2", branch="dev"))
    ok(lake.commit("dev", "dev work"))
    ok(lake.put_bytes("dirty", b"x", branch="main"))
    err(lake.merge("dev", "main"), "invalid", retryable=False)
    ok(lake.commit("main", "clean up"))
    ok(lake.merge("dev", "main"))


def test_a_merge_conflict_names_the_path_and_is_not_retryable(lake: LakeFSLake) -> None:
    """The same path changed differently on both sides is a conflict naming that path."""
    _forked(lake, {"checkpoint": b"0", "other": b"0"})
    ok(lake.put_bytes("checkpoint", b"dev", branch="dev"))
    ok(lake.put_bytes("only-dev", b"d", branch="dev"))
    ok(lake.commit("dev", "dev"))
    ok(lake.put_bytes("checkpoint", b"main", branch="main"))
    head = ok(lake.commit("main", "main")).id
    error = err(lake.merge("dev", "main"), "conflict", retryable=False)
    assert "checkpoint" in error.reason and "only-dev" not in error.reason
    assert ok(lake.resolve("main")) == head


@pytest.mark.parametrize(("strategy", "winner"), [("source-wins", b"dev"), ("dest-wins", b"main")])
def test_a_merge_strategy_picks_a_side(lake: LakeFSLake, strategy: Any, winner: bytes) -> None:
    """A strategy resolves conflicts for its side and still applies other changes."""
    _forked(lake, {"c": b"0"})
    ok(lake.put_bytes("c", b"dev", branch="dev"))
    ok(lake.put_bytes("new", b"n", branch="dev"))
    ok(lake.commit("dev", "dev"))
    ok(lake.put_bytes("c", b"main", branch="main"))
    ok(lake.commit("main", "main"))
    ok(lake.merge("dev", "main", strategy=strategy))
    assert ok(lake.get_bytes("c", ref="main")) == winner
    assert ok(lake.get_bytes("new", ref="main")) == b"n"


def test_a_merge_from_a_commit_id_and_an_unknown_strategy(lake: LakeFSLake) -> None:
    """A merge source may be a commit id; a strategy lakeFS does not know is invalid."""
    _forked(lake, {})
    ok(lake.put_bytes("a", b"1", branch="dev"))
    source = ok(lake.commit("dev", "one")).id
    bad: Any = "ours"
    err(lake.merge(source, "main", strategy=bad), "invalid")
    ok(lake.delete_branch("dev"))
    merged = ok(lake.merge(source, "main"))
    assert ok(lake.log_commits(merged, limit=1))[0].parents[1] == source


def test_diff_is_three_dot(lake: LakeFSLake) -> None:
    """diff(left, right) lists what right changed since the merge base, not what left did."""
    _forked(lake, {"a": b"0", "b": b"0"})
    ok(lake.put_bytes("a", b"main", branch="main"))
    ok(lake.commit("main", "main"))
    ok(lake.put_bytes("b", b"dev", branch="dev"))
    ok(lake.put_bytes("c", b"new", branch="dev"))
    ok(lake.delete_object("a", branch="dev"))
    ok(lake.commit("dev", "dev"))
    assert ok(lake.diff("main", "dev")) == (
        Change("a", "removed"),
        Change("b", "changed"),
        Change("c", "added"),
    )
    assert ok(lake.diff("dev", "main")) == (Change("a", "changed"),)


def test_revert_undoes_a_commit_in_a_new_commit(lake: LakeFSLake) -> None:
    """A revert is a new commit on the branch undoing what the commit changed, and only that."""
    ok(lake.put_bytes("keep", b"0", branch="main"))
    base = ok(lake.commit("main", "base")).id
    ok(lake.put_bytes("keep", b"1", branch="main"))
    ok(lake.put_bytes("new", b"1", branch="main"))
    bad = ok(lake.commit("main", "bad")).id
    ok(lake.put_bytes("later", b"2", branch="main"))
    later = ok(lake.commit("main", "later")).id
    info = ok(lake.revert("main", bad, message="undo", metadata={"k": "v"}))
    assert info.parents == (later,) and info.message == "undo" and info.metadata["k"] == "v"
    assert ok(lake.resolve("main")) == info.id
    assert ok(lake.get_bytes("keep", ref="main")) == b"0"
    err(lake.get_bytes("new", ref="main"), "not_found")
    assert ok(lake.diff(base, info.id)) == (Change("later", "added"),)


def test_revert_of_a_merge_takes_a_1_based_parent(
    double_lake: LakeFSLake, lakefs_server: LakeFSDouble
) -> None:
    """Reverting a merge against parent 1 removes what it brought; 0 is refused before lakeFS."""
    _forked(double_lake, {"a": b"0"})
    ok(double_lake.put_bytes("from-dev", b"d", branch="dev"))
    ok(double_lake.commit("dev", "dev"))
    ok(double_lake.put_bytes("from-main", b"m", branch="main"))
    ok(double_lake.commit("main", "main"))
    merged = ok(double_lake.merge("dev", "main"))
    err(double_lake.revert("main", merged, parent_number=3), "invalid")
    lakefs_server.clear_requests()
    err(double_lake.revert("main", merged, parent_number=0), "invalid")
    assert lakefs_server.requests == ()
    ok(double_lake.revert("main", merged))
    assert [o.path for o in ok(double_lake.list_objects(ref="main"))] == ["a", "from-main"]


def test_revert_conflicts_refusals_and_unknowns(lake: LakeFSLake) -> None:
    """A path changed since is a conflict; a dirty branch or a no-op is invalid; unknown: 404."""
    ok(lake.put_bytes("a", b"1", branch="main"))
    first = ok(lake.commit("main", "one")).id
    ok(lake.put_bytes("a", b"2", branch="main"))
    head = ok(lake.commit("main", "two")).id
    err(lake.revert("main", first), "conflict", retryable=False)
    assert ok(lake.resolve("main")) == head
    ok(lake.revert("main", head))
    err(lake.revert("main", head), "invalid")  # already undone: nothing to change
    ok(lake.put_bytes("b", b"x", branch="main"))
    err(lake.revert("main", head), "invalid")
    err(lake.revert("main", "0" * 64), "not_found")
    err(lake.revert("ghost", first), "not_found")


def test_discard_changes_drops_uncommitted_writes_only(lake: LakeFSLake) -> None:
    """Discarding restores the head's view; commits are untouched; ghosts are not_found."""
    ok(lake.put_bytes("a", b"1", branch="main"))
    head = ok(lake.commit("main", "one")).id
    ok(lake.put_bytes("a", b"2", branch="main"))
    ok(lake.put_bytes("b", b"new", branch="main"))
    ok(lake.discard_changes("main"))
    assert ok(lake.uncommitted("main")) == ()
    assert ok(lake.get_bytes("a", ref="main")) == b"1"
    assert ok(lake.resolve("main")) == head
    ok(lake.discard_changes("main"))
    err(lake.discard_changes("ghost"), "not_found")
    err(lake.discard_changes("a/b"), "invalid")


# -- frames -----------------------------------------------------------------------------------


def test_scan_frame_reads_an_object_and_a_folder_of_parts(lake: LakeFSLake) -> None:
    """A parquet object scans as itself; a folder as its *.parquet parts in path order."""
    one, two = pl.DataFrame({"x": [1, 2]}), pl.DataFrame({"x": [3]})
    ok(lake.put_bytes("ds/part-1.parquet", parquet(one), branch="main"))
    ok(lake.put_bytes("ds/part-2.parquet", parquet(two), branch="main"))
    ok(lake.put_bytes("ds/_SUCCESS", b"", branch="main"))
    ok(lake.put_bytes("dsx/part-9.parquet", parquet(two), branch="main"))
    assert_frame_equal(ok(lake.scan_frame("ds/part-1.parquet", ref="main")).collect(), one)
    assert_frame_equal(ok(lake.scan_frame("ds", ref="main")).collect(), pl.concat([one, two]))
    assert_frame_equal(ok(lake.scan_frame("ds/", ref="main")).collect(), pl.concat([one, two]))
    err(lake.scan_frame("nope", ref="main"), "not_found")
    err(lake.scan_frame("ds", ref="nope"), "not_found")


def test_scan_frame_time_travels(lake: LakeFSLake) -> None:
    """Scanning at an old commit returns the data as it was then."""
    old = pl.DataFrame({"v": ["old"]})
    ok(lake.put_bytes("t.parquet", parquet(old), branch="main"))
    first = ok(lake.commit("main", "old")).id
    ok(lake.put_bytes("t.parquet", parquet(pl.DataFrame({"v": ["new"]})), branch="main"))
    ok(lake.commit("main", "new"))
    assert_frame_equal(ok(lake.scan_frame("t.parquet", ref=first)).collect(), old)
    assert ok(lake.scan_frame("t.parquet", ref="main")).collect()["v"].to_list() == ["new"]


def test_scanning_the_same_content_again_downloads_nothing(
    double_lake: LakeFSLake, lakefs_server: LakeFSDouble
) -> None:
    """A second scan of unchanged parts costs listing requests and no download."""
    ok(double_lake.put_bytes("ds/a.parquet", parquet(pl.DataFrame({"x": [1]})), branch="main"))
    ok(double_lake.put_bytes("ds/b.parquet", parquet(pl.DataFrame({"x": [2]})), branch="main"))
    lakefs_server.clear_requests()
    ok(double_lake.scan_frame("ds", ref="main"))
    first = [r.path for r in lakefs_server.requests]
    lakefs_server.clear_requests()
    frame = ok(double_lake.scan_frame("ds", ref="main"))
    second = [r.path for r in lakefs_server.requests]
    assert sum(p.endswith("/objects") for p in first) == 2
    assert all(p.endswith("/objects/ls") for p in second), second  # listings only
    assert frame.collect()["x"].to_list() == [1, 2]


def test_closing_the_lake_deletes_its_local_copies(lakefs_factory: LakeFactory) -> None:
    """Frames read local copies that live until close(); after it they cannot be collected."""
    lake = lakefs_factory()
    ok(lake.create_repository())
    ok(lake.put_bytes("t.parquet", parquet(pl.DataFrame({"x": [1]})), branch="main"))
    frame = ok(lake.scan_frame("t.parquet", ref="main")).filter(pl.col("x") > 0)
    assert frame.collect().height == 1
    lake.close()
    with pytest.raises((FileNotFoundError, pl.exceptions.ComputeError)):
        frame.collect()
