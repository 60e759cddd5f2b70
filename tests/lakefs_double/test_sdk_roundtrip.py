"""The lakeFS double driven by the real ``lakefs`` SDK: every round trip the SDK offers."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import lakefs
import pytest
from lakefs.exceptions import BadRequestException, ConflictException, NotFoundException

from lakeflow.testing.lakefs import LakeFSDouble


def _paths(ref: Any, **kwargs: Any) -> list[str]:
    return [o.path for o in ref.objects(**kwargs)]


def test_repository_create_get_list_delete(client: Any, new_repo_name: Callable[[], str]) -> None:
    """A repository is created with its namespace and default branch, listed, then deleted;
    its storage namespace cannot be reused afterwards (as on lakeFS), its name can."""
    name = new_repo_name()
    created = lakefs.Repository(name, client=client).create(
        storage_namespace=f"s3://bucket/{name}", default_branch="trunk"
    )
    props = lakefs.Repository(name, client=client).properties
    assert (props.id, props.default_branch, props.storage_namespace) == (
        name,
        "trunk",
        f"s3://bucket/{name}",
    )
    assert [r.id for r in lakefs.repositories(client=client, prefix=name)] == [name]
    assert [b.id for b in created.branches()] == ["trunk"]

    created.delete()
    with pytest.raises(NotFoundException):
        _ = lakefs.Repository(name, client=client).properties
    with pytest.raises(BadRequestException):
        lakefs.Repository(name, client=client).create(storage_namespace=f"s3://bucket/{name}")
    again = lakefs.Repository(name, client=client).create(storage_namespace=f"s3://other/{name}")
    assert [b.id for b in again.branches()] == ["main"]  # a new, empty repository
    assert list(again.branch("main").objects()) == []


def test_create_repository_twice(client: Any, repo: Any) -> None:
    """Creating an existing repository conflicts, unless ``exist_ok`` returns the existing one."""
    again = lakefs.Repository(repo.id, client=client)
    with pytest.raises(ConflictException):
        again.create(storage_namespace="local://elsewhere")
    assert again.create(storage_namespace="local://elsewhere", exist_ok=True).properties.id == (
        repo.id
    )


def test_branch_create_head_list_delete(repo: Any) -> None:
    """A branch starts at its source's commit, is listed, and is gone once deleted."""
    main = repo.branch("main")
    dev = repo.branch("dev").create(main)
    assert dev.head.id == main.head.id
    assert [b.id for b in repo.branches()] == ["dev", "main"]
    with pytest.raises(ConflictException):
        repo.branch("dev").create(main)
    dev.delete()
    assert [b.id for b in repo.branches()] == ["main"]
    with pytest.raises(NotFoundException):
        _ = repo.branch("dev").head


def test_object_upload_stat_read_delete(repo: Any) -> None:
    """An upload keeps its bytes, content type and (lower-cased, as lakeFS does) metadata."""
    main = repo.branch("main")
    obj = main.object("data/users.csv").upload(
        b"id,name\n1,ada\n", content_type="text/csv", metadata={"Run-Id": "r-1"}
    )
    stat = main.object("data/users.csv").stat()
    assert (stat.size_bytes, stat.content_type, stat.metadata) == (
        14,
        "text/csv",
        {"run-id": "r-1"},
    )
    with obj.reader() as reader:
        assert reader.read() == b"id,name\n1,ada\n"
    assert obj.exists() and not main.object("data/other.csv").exists()

    obj.delete()
    assert not main.object("data/users.csv").exists()
    assert list(main.uncommitted()) == []


def test_large_chunked_upload_and_range_reads(repo: Any, lakefs_server: LakeFSDouble) -> None:
    """A multi-megabyte upload arrives chunked and reads back whole and by byte ranges."""
    data = random.Random(7).randbytes(6 * 1024 * 1024 + 123)
    obj = repo.branch("main").object("big/blob.bin")
    lakefs_server.clear_requests()
    obj.upload(data, mode="wb")
    uploads = [r for r in lakefs_server.requests if r.method == "POST"]
    assert [(r.status, r.chunked) for r in uploads] == [(201, True)]

    with obj.reader() as reader:
        reader.seek(5_000_000)
        assert reader.read(1000) == data[5_000_000:5_001_000]
        reader.seek(-10, 2)
        assert reader.read() == data[-10:]
        assert reader.read(5) == b""  # at the end (the SDK knows the size by now)
    with obj.reader() as reader:
        reader.seek(len(data) + 100)
        assert reader.read(5) == b""  # past the end: the server's 416 reads as EOF
    with obj.reader() as reader:
        assert reader.read() == data
    statuses = {r.status for r in lakefs_server.requests if r.method == "GET"}
    assert {200, 206, 416} <= statuses


def test_commit_log_and_get_commit(repo: Any) -> None:
    """A commit carries its message and metadata; an empty commit is refused unless allowed."""
    main = repo.branch("main")
    main.object("a").upload(b"a")
    ref = main.commit("add a", metadata={"run_id": "42"})
    commit = ref.get_commit()
    assert (commit.message, commit.metadata) == ("add a", {"run_id": "42"})
    assert main.head.id == commit.id
    with pytest.raises(BadRequestException):
        main.commit("nothing")
    empty = main.commit("nothing, on purpose", allow_empty=True).get_commit()
    assert empty.parents == [commit.id]
    assert [c.message for c in main.log()] == ["nothing, on purpose", "add a", "Repository created"]
    assert [c.message for c in main.log(max_amount=1)] == ["nothing, on purpose"]
    assert repo.ref("main~1").get_commit().id == commit.id


def test_merge_is_never_a_fast_forward(repo: Any) -> None:
    """Merging a branch whose base is the destination's head still makes a merge commit with
    parents [dest, source] and the strategy in its metadata."""
    main, dev = repo.branch("main"), repo.branch("dev").create("main")
    dev.object("x.txt").upload(b"x")
    source = dev.commit("x").get_commit().id
    before = main.head.id
    merged = dev.merge_into(main, message="publish x", metadata={"run": "1"})
    commit = repo.commit(merged).get_commit()
    assert commit.parents == [before, source]
    assert commit.metadata == {"run": "1", ".lakefs.merge.strategy": "default"}
    assert main.head.id == merged != source
    with main.object("x.txt").reader() as reader:
        assert reader.read() == b"x"


def test_merge_strategy_picks_a_side(repo: Any) -> None:
    """With ``source-wins`` a conflicting path takes the source's version."""
    main, dev = repo.branch("main"), repo.branch("dev").create("main")
    dev.object("k").upload(b"dev")
    dev.commit("dev k")
    main.object("k").upload(b"main")
    main.commit("main k")
    dev.merge_into(main, strategy="source-wins")
    with main.object("k").reader() as reader:
        assert reader.read() == b"dev"


def test_three_dot_diff(repo: Any) -> None:
    """``diff`` shows what the right side changed since the merge base, not the left's changes."""
    main = repo.branch("main")
    main.object("keep").upload(b"1")
    main.object("gone").upload(b"1")
    main.commit("base")
    dev = repo.branch("dev").create(main)
    dev.object("keep").upload(b"2")
    dev.object("new").upload(b"new!")
    dev.object("gone").delete()
    dev.commit("dev work")
    main.object("main-only").upload(b"m")
    main.commit("main work")
    changes = {(c.path, c.type, c.size_bytes) for c in main.diff(dev)}
    assert changes == {("keep", "changed", 1), ("new", "added", 4), ("gone", "removed", 1)}


def test_uncommitted_and_reset(repo: Any) -> None:
    """Resetting a branch restores every changed path to the head; one object can be reset alone."""
    main = repo.branch("main")
    main.object("a").upload(b"a1")
    main.object("b").upload(b"b1")
    main.commit("base")
    main.object("a").upload(b"a2")
    main.object("b").delete()
    main.object("c").upload(b"c")
    assert {(c.path, c.type) for c in main.uncommitted()} == {
        ("a", "changed"),
        ("b", "removed"),
        ("c", "added"),
    }
    main.reset_changes(path_type="object", path="c")
    assert {c.path for c in main.uncommitted()} == {"a", "b"}
    main.reset_changes()
    assert list(main.uncommitted()) == []
    with main.object("a").reader() as reader:
        assert reader.read() == b"a1"
    assert main.object("b").exists() and not main.object("c").exists()


def test_revert_commit_and_merge_commit(repo: Any) -> None:
    """Reverting a commit restores its parent's content; a merge commit needs a parent number."""
    main = repo.branch("main")
    main.object("a").upload(b"1")
    main.commit("one")
    main.object("a").upload(b"2")
    main.object("b").upload(b"b")
    second = main.commit("two").get_commit().id
    reverted = main.revert(second)
    assert reverted.message == f"Revert {second}" and reverted.parents == [second]
    with main.object("a").reader() as reader:
        assert reader.read() == b"1"
    assert not main.object("b").exists()

    dev = repo.branch("dev").create(main)
    dev.object("d").upload(b"d")
    dev.commit("d")
    merge = dev.merge_into(main)
    with pytest.raises(ConflictException):
        main.revert(merge)
    main.revert(merge, parent_number=1)
    assert not main.object("d").exists()


def test_revert_conflicts_with_later_changes(repo: Any) -> None:
    """A revert touching a path changed again since the reverted commit is a conflict."""
    main = repo.branch("main")
    main.object("a").upload(b"1")
    first = main.commit("one").get_commit().id
    main.object("a").upload(b"2")
    main.commit("two")
    head = main.head.id
    with pytest.raises(ConflictException):
        main.revert(first)
    assert main.head.id == head and list(main.uncommitted()) == []


def test_tags(repo: Any) -> None:
    """A tag pins a commit: it is listed, readable as a ref, and deletable."""
    main = repo.branch("main")
    main.object("v").upload(b"1")
    first = main.commit("v1").get_commit().id
    tag = repo.tag("v1").create(main)
    main.object("v").upload(b"2")
    main.commit("v2")
    assert [(t.id, t.get_commit().id) for t in repo.tags()] == [("v1", first)]
    with repo.ref("v1").object("v").reader() as reader:
        assert reader.read() == b"1"
    with pytest.raises(ConflictException):
        repo.tag("v1").create(main)
    with pytest.raises(ConflictException):
        repo.tag("main").create(first)
    tag.delete()
    assert list(repo.tags()) == []


def test_listings_page_through_more_than_one_page(repo: Any) -> None:
    """Branch, object, log and diff listings page with ``after=`` and lose or repeat nothing."""
    main = repo.branch("main")
    for number in range(105):  # more than the default page of 100
        repo.branch(f"b{number:03d}").create(main)
    assert len(list(repo.branches())) == 106

    for number in range(25):
        main.object(f"data/part-{number:02d}.txt").upload(b"x")
        main.object(f"other/{number:02d}/leaf").upload(b"y")
    expected = [f"data/part-{n:02d}.txt" for n in range(25)]
    assert _paths(main, prefix="data/", amount=7) == expected
    assert _paths(main, delimiter="/", amount=1) == ["data/", "other/"]
    assert len(_paths(main, prefix="other/", delimiter="/", amount=4)) == 25
    assert len([c.path for c in main.uncommitted(amount=9)]) == 50

    for number in range(5):
        main.commit(f"c{number}", allow_empty=True)
    assert [c.message for c in main.log(amount=2)][:3] == ["c4", "c3", "c2"]
    assert len(list(main.log(amount=2))) == 6


def test_delete_objects_in_batch(repo: Any) -> None:
    """``delete_objects`` stages the removal of many paths at once."""
    main = repo.branch("main")
    for name in ("a", "b", "c"):
        main.object(name).upload(name)
    main.commit("abc")
    main.delete_objects(["a", "c", "never-there"])
    assert _paths(main) == ["b"]


def test_sdk_transaction_runs_on_the_double(repo: Any) -> None:
    """The SDK's ``Branch.transact()`` works: its hidden branch stays out of listings, its
    commit is merged, the branch is deleted and the tag points at the merge."""
    main = repo.branch("main")
    with main.transact(commit_message="tx", tag="after-tx") as tx:
        tx.object("t.txt").upload(b"t")
        assert [b.id for b in repo.branches()] == ["main"]
        assert len(list(repo.branches(show_hidden=True))) == 2
    assert main.object("t.txt").exists()
    assert [b.id for b in repo.branches(show_hidden=True)] == ["main"]
    assert repo.tag("after-tx").get_commit().id == main.head.id
