"""lakeFS' failure semantics on the double, as the real ``lakefs`` SDK reports them."""

from __future__ import annotations

from typing import Any

import lakefs
import pytest
from lakefs.exceptions import (
    BadRequestException,
    ConflictException,
    ForbiddenException,
    NotAuthorizedException,
    NotFoundException,
    ObjectExistsException,
    ObjectNotFoundException,
)
from lakefs_sdk.models.branch_protection_rule import BranchProtectionRule

from lakeflow.testing.lakefs import LakeFSDouble


def _protect(client: Any, repository: str, *patterns: str) -> None:
    rules = [BranchProtectionRule(pattern=p) for p in patterns]
    client.sdk_client.repositories_api.set_branch_protection_rules(repository, rules)


def test_wrong_secret_is_not_authorized(lakefs_server: LakeFSDouble, repo: Any) -> None:
    """A client with a wrong secret gets 401, which the SDK raises as NotAuthorizedException."""
    intruder = lakefs.Client(  # type: ignore[no-untyped-call]  # the SDK has no annotations here
        host=lakefs_server.endpoint,
        username=lakefs_server.access_key_id,
        password=lakefs_server.secret_access_key + "x",
    )
    with pytest.raises(NotAuthorizedException) as caught:
        _ = lakefs.Repository(repo.id, client=intruder).branch("main").head
    assert caught.value.status_code == 401
    assert caught.value.body == {"message": "error authenticating request"}


def test_missing_things_are_not_found(client: Any, repo: Any) -> None:
    """Unknown repositories, branches, refs and objects are 404s of the matching SDK type."""
    with pytest.raises(NotFoundException):
        _ = lakefs.Repository("no-such-repo", client=client).properties
    with pytest.raises(NotFoundException):
        _ = repo.branch("nope").head
    with pytest.raises(NotFoundException):
        repo.branch("dev").create("no-such-ref")
    with pytest.raises(ObjectNotFoundException), repo.branch("main").object("nope").reader() as r:
        r.read()
    with pytest.raises(ObjectNotFoundException):
        repo.branch("main").object("nope").delete()


def test_merge_conflict_is_409_with_an_empty_reference(repo: Any) -> None:
    """A path changed differently on both sides is a 409 whose body is ``{"reference": ""}``;
    the destination does not move."""
    main, dev = repo.branch("main"), repo.branch("dev").create("main")
    dev.object("k").upload(b"dev")
    dev.commit("dev k")
    main.object("k").upload(b"main")
    head = main.commit("main k").get_commit().id
    with pytest.raises(ConflictException) as caught:
        dev.merge_into(main)
    assert (caught.value.status_code, caught.value.body) == (409, {"reference": ""})
    assert main.head.id == head


def test_merge_into_dirty_destination_is_refused(repo: Any) -> None:
    """A destination with uncommitted changes refuses a merge (400) and keeps its changes."""
    main, dev = repo.branch("main"), repo.branch("dev").create("main")
    dev.object("d").upload(b"d")
    dev.commit("d")
    main.object("wip").upload(b"uncommitted")
    head = main.head.id
    with pytest.raises(BadRequestException):
        dev.merge_into(main)
    assert main.head.id == head
    assert [c.path for c in main.uncommitted()] == ["wip"]


def test_merge_with_nothing_to_merge_is_refused(repo: Any) -> None:
    """Merging a source that brings no change is a 400, as on lakeFS (no empty merge commit)."""
    main = repo.branch("main")
    repo.branch("dev").create(main)
    with pytest.raises(BadRequestException):
        repo.branch("dev").merge_into(main)


def test_protected_branch_refuses_writes_and_commits_but_accepts_merges(
    client: Any, repo: Any
) -> None:
    """A protected branch refuses direct uploads, deletes (single and batch), commits and
    deletion (403) and still accepts merges: the write-audit-publish setting."""
    main = repo.branch("main")
    main.object("seed").upload(b"s")
    main.commit("seed")
    dev = repo.branch("dev").create(main)
    _protect(client, repo.id, "main", "release-*")
    rules = client.sdk_client.repositories_api.get_branch_protection_rules(repo.id)
    assert [r.pattern for r in rules] == ["main", "release-*"]

    with pytest.raises(ForbiddenException):
        main.object("direct").upload(b"nope")
    with pytest.raises(ForbiddenException):
        main.commit("direct", allow_empty=True)
    with pytest.raises(lakefs.exceptions.PermissionException):
        main.object("seed").delete()
    refused = main.delete_objects(["seed"]).errors
    assert [(e.path, e.status_code) for e in refused] == [("seed", 403)]
    assert list(main.uncommitted()) == []

    dev.object("reviewed").upload(b"ok")
    dev.commit("reviewed")
    merged = dev.merge_into(main)
    assert main.head.id == merged and main.object("reviewed").exists()

    release = repo.branch("release-1").create(main)
    with pytest.raises(ForbiddenException):
        release.delete()


def test_default_branch_cannot_be_deleted(repo: Any) -> None:
    """Deleting the repository's default branch is 403."""
    with pytest.raises(ForbiddenException):
        repo.branch("main").delete()


def test_exclusive_upload_of_an_existing_object_fails(repo: Any) -> None:
    """Uploading with mode ``x`` over an existing object raises ObjectExistsException."""
    obj = repo.branch("main").object("once")
    obj.upload(b"1", mode="x")
    with pytest.raises(ObjectExistsException):
        obj.upload(b"2", mode="x")
    with obj.reader() as reader:
        assert reader.read() == b"1"


def test_revert_on_a_dirty_branch_is_refused(repo: Any) -> None:
    """Reverting onto a branch with uncommitted changes is a 400 and changes nothing."""
    main = repo.branch("main")
    main.object("a").upload(b"1")
    commit = main.commit("a").get_commit().id
    main.object("wip").upload(b"w")
    with pytest.raises(BadRequestException):
        main.revert(commit)
    assert main.head.id == commit


def test_invalid_names_are_bad_requests(client: Any, repo: Any) -> None:
    """Branch ids with '/' and unknown merge strategies are 400s."""
    with pytest.raises(BadRequestException):
        repo.branch("feature/x").create("main")
    dev = repo.branch("dev").create("main")
    dev.object("x").upload(b"x")
    dev.commit("x")
    with pytest.raises(BadRequestException):
        dev.merge_into("main", strategy="ours")
