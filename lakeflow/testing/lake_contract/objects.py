"""The Lake contract, part one: repositories, branches and objects.

Effect (tests).
"""

# ruff: noqa: S101 - a test suite: assertions are its purpose (shipped for adapters' tests)
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Final

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lakeflow.ports import Change, Lake
from lakeflow.testing.lake_contract.assertions import LakeFactory, expect_failure, expect_success
from lakeflow.testing.lake_contract.base import ContractBase

__all__ = ["ObjectContract"]

_BAD_BRANCHES: Final = ("", "feature/x", "v1.0", "-dash", "has space", "ü-umlaut", "main\n")
_BAD_PATHS: Final = ("", "/abs", "a//b", "a/", "../up", "a/../b", "a/./b", ".", "a\x00b")


class ObjectContract(ContractBase):
    """Repositories, branches and objects: what every Lake must do with them."""

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
        assert expect_success(lake.list_objects(ref="trunk")) == ()

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
        expect_failure(lake.put_bytes("a", b"x", branch="main"), "not_found")
        expect_failure(lake.get_bytes("a", ref="main"), "not_found")
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
        expect_failure(lake.put_bytes("a", b"x", branch=name), "invalid")
        expect_failure(lake.commit(name, "m"), "invalid")
        expect_failure(lake.merge("main", name), "invalid")

    def test_create_branch_from_branch_and_from_commit(self, lake: Lake) -> None:
        """A branch starts at its source's head commit, given as a branch or a commit id."""
        expect_success(lake.put_bytes("a", b"1", branch="main"))
        first = expect_success(lake.commit("main", "one")).id
        assert expect_success(lake.create_branch("dev", "main")) == first
        expect_success(lake.put_bytes("a", b"2", branch="main"))
        expect_success(lake.commit("main", "two"))
        assert expect_success(lake.create_branch("old", first)) == first
        assert expect_success(lake.get_bytes("a", ref="old")) == b"1"
        assert expect_success(lake.resolve("dev")) == first

    def test_create_branch_does_not_carry_staged_writes(self, lake: Lake) -> None:
        """A new branch sees its source's committed state, not its uncommitted writes."""
        expect_success(lake.put_bytes("staged", b"x", branch="main"))
        expect_success(lake.create_branch("dev", "main"))
        expect_failure(lake.get_bytes("staged", ref="dev"), "not_found")
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
        expect_success(lake.put_bytes("a", b"kept", branch="dev"))
        commit_id = expect_success(lake.commit("dev", "c")).id
        expect_success(lake.delete_branch("dev"))
        assert [b.name for b in expect_success(lake.list_branches())] == ["main"]
        expect_failure(lake.resolve("dev"), "not_found")
        assert expect_success(lake.get_bytes("a", ref=commit_id)) == b"kept"
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
        expect_success(lake.put_bytes("a.txt", b"hello", branch="main"))
        assert expect_success(lake.get_bytes("a.txt", ref="main")) == b"hello"
        expect_failure(lake.get_bytes("a.txt", ref=before), "not_found")
        assert expect_success(lake.resolve("main")) == before
        after = expect_success(lake.commit("main", "add a")).id
        assert expect_success(lake.get_bytes("a.txt", ref=after)) == b"hello"

    @settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        content=st.binary(max_size=2048),
        content_type=st.sampled_from(["application/octet-stream", "text/csv", "x/y+z"]),
        metadata=st.dictionaries(
            st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True),
            st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20).map(str.strip),
            max_size=3,
        ).filter(lambda found: len({key.lower() for key in found}) == len(found)),
    )
    @example(content=b"", content_type="application/octet-stream", metadata={})
    @example(content=b"\x00" * 1024, content_type="text/csv", metadata={"k": ""})
    @example(content=b"x", content_type="text/csv", metadata={"Run-Id": "r1"})
    def test_put_bytes_round_trips(
        self,
        lake_factory: LakeFactory,
        content: bytes,
        content_type: str,
        metadata: dict[str, str],
    ) -> None:
        """Bytes, content type and string metadata read back as written, keys lower-cased.

        lakeFS carries object metadata in HTTP headers and stores the keys lower-cased; every
        lake does the same, so a pipeline reads back the same metadata wherever it runs.
        """
        lake = lake_factory()
        expect_success(lake.create_repository())
        info = expect_success(
            lake.put_bytes(
                "x/y.bin", content, branch="main", content_type=content_type, metadata=metadata
            )
        )
        commit_id = expect_success(lake.commit("main", "m")).id
        stat = expect_success(lake.stat("x/y.bin", ref=commit_id))
        assert expect_success(lake.get_bytes("x/y.bin", ref=commit_id)) == content
        assert (stat.size, stat.content_type, dict(stat.metadata)) == (
            len(content),
            content_type,
            {key.lower(): value for key, value in metadata.items()},
        )
        assert stat.checksum == info.checksum
        assert dict(info.metadata) == dict(stat.metadata)

    def test_metadata_keys_equal_but_for_case_are_refused(self, lake: Lake) -> None:
        """Two object metadata keys that differ only by case are refused, not merged."""
        expect_failure(
            lake.put_bytes("a", b"x", branch="main", metadata={"Run": "1", "run": "2"}), "invalid"
        )
        expect_failure(lake.get_bytes("a", ref="main"), "not_found")

    @pytest.mark.parametrize("value", [" x", "x ", " ", "a\nb", "caf\u00e9"])
    def test_metadata_values_that_http_would_change_are_refused(
        self, lake: Lake, value: str
    ) -> None:
        """Values with outer spaces, control or non-ASCII characters cannot survive a header."""
        expect_failure(lake.put_bytes("a", b"x", branch="main", metadata={"k": value}), "invalid")

    def test_put_file_streams_a_local_file(self, lake: Lake, tmp_path: Path) -> None:
        """A local file is stored with its exact bytes and size; the file itself is untouched."""
        source = tmp_path / "big.bin"
        payload = hashlib.sha256(b"seed").digest() * 200_000  # 6.4 MB: several read chunks
        source.write_bytes(payload)
        info = expect_success(lake.put_file("big.bin", source, branch="main", content_type="x/bin"))
        assert info.size == len(payload) and info.content_type == "x/bin"
        assert expect_success(lake.get_bytes("big.bin", ref="main")) == payload
        assert source.read_bytes() == payload
        same = expect_success(lake.put_bytes("copy.bin", payload, branch="main"))
        assert same.checksum == info.checksum

    def test_put_file_of_missing_file_is_not_found(self, lake: Lake, tmp_path: Path) -> None:
        """Uploading a local file that does not exist fails with not_found."""
        expect_failure(lake.put_file("a", tmp_path / "missing.bin", branch="main"), "not_found")

    @pytest.mark.parametrize("path", _BAD_PATHS)
    def test_invalid_paths_are_refused(self, lake: Lake, path: str) -> None:
        """Paths must be relative POSIX paths without empty, '.' or '..' segments."""
        expect_failure(lake.put_bytes(path, b"x", branch="main"), "invalid")
        expect_failure(lake.get_bytes(path, ref="main"), "invalid")
        expect_failure(lake.delete_object(path, branch="main"), "invalid")

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
        expect_success(lake.put_bytes(path, path.encode(), branch="main"))
        assert [o.path for o in expect_success(lake.list_objects(ref="main"))] == [path]
        assert expect_success(lake.get_bytes(path, ref="main")) == path.encode()

    def test_non_string_metadata_is_refused(self, lake: Lake) -> None:
        """Object and commit metadata must map str to str, as lakeFS requires."""
        bad: Any = {"rows": 3}
        expect_failure(lake.put_bytes("a", b"x", branch="main", metadata=bad), "invalid")
        expect_success(lake.put_bytes("a", b"x", branch="main"))
        expect_failure(lake.commit("main", "m", bad), "invalid")
        expect_failure(lake.commit("main", "m", {1: "x"}), "invalid")  # type: ignore[dict-item]

    def test_missing_object_is_not_found(self, lake: Lake) -> None:
        """Reading or stat-ing an absent path is not_found."""
        expect_failure(lake.get_bytes("nope", ref="main"), "not_found")
        expect_failure(lake.stat("nope", ref="main"), "not_found")

    def test_delete_object_is_staged_and_missing_paths_are_a_no_op(self, lake: Lake) -> None:
        """A delete hides the object on the branch until committed; deleting nothing succeeds."""
        expect_success(lake.put_bytes("a", b"x", branch="main"))
        kept = expect_success(lake.commit("main", "add")).id
        expect_success(lake.delete_object("a", branch="main"))
        expect_failure(lake.get_bytes("a", ref="main"), "not_found")
        assert expect_success(lake.get_bytes("a", ref=kept)) == b"x"
        assert expect_success(lake.uncommitted("main")) == (Change("a", "removed"),)
        expect_success(lake.delete_object("never-existed", branch="main"))
        assert expect_success(lake.uncommitted("main")) == (Change("a", "removed"),)
        gone = expect_success(lake.commit("main", "delete")).id
        expect_failure(lake.get_bytes("a", ref=gone), "not_found")

    def test_list_objects_by_prefix_is_sorted(self, lake: Lake) -> None:
        """Listing returns every object under a prefix, sorted by path."""
        for path in ("b/2", "a", "b/1", "b10", "c/d/e"):
            expect_success(lake.put_bytes(path, path.encode(), branch="main"))
        assert [o.path for o in expect_success(lake.list_objects(ref="main"))] == [
            "a",
            "b/1",
            "b/2",
            "b10",
            "c/d/e",
        ]
        assert [o.path for o in expect_success(lake.list_objects("b/", ref="main"))] == [
            "b/1",
            "b/2",
        ]
        assert [o.path for o in expect_success(lake.list_objects("b", ref="main"))] == [
            "b/1",
            "b/2",
            "b10",
        ]
        assert expect_success(lake.list_objects("zzz", ref="main")) == ()

    def test_listing_scales_past_one_range(self, lake: Lake) -> None:
        """Thousands of objects list, read and diff correctly after small changes."""
        for i in range(600):
            expect_success(lake.put_bytes(f"many/{i:05d}", str(i).encode(), branch="main"))
        first = expect_success(lake.commit("main", "many")).id
        expect_success(lake.put_bytes("many/00300", b"changed", branch="main"))
        expect_success(lake.delete_object("many/00007", branch="main"))
        expect_success(lake.put_bytes("many/00300x", b"new", branch="main"))
        second = expect_success(lake.commit("main", "edit")).id
        listed = [o.path for o in expect_success(lake.list_objects("many/", ref=second))]
        assert len(listed) == 600 and listed == sorted(listed)
        assert "many/00007" not in listed and "many/00300x" in listed
        assert expect_success(lake.get_bytes("many/00300", ref=second)) == b"changed"
        assert expect_success(lake.get_bytes("many/00300", ref=first)) == b"300"
        assert expect_success(lake.diff(first, second)) == (
            Change("many/00007", "removed"),
            Change("many/00300", "changed"),
            Change("many/00300x", "added"),
        )
