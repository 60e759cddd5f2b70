"""LocalLake beyond the shared contract: storage layout, races, errors, gc/fsck, open_lake."""

from __future__ import annotations

import errno
import hashlib
import io
import multiprocessing
import os
import sqlite3
import sys
import threading
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from lakeflow.adapters.lake_helpers import lake_error_from_os
from lakeflow.adapters.local import LocalLake
from lakeflow.core.errors import LakeflowError
from lakeflow.lakes import open_lake
from lakeflow.testing.lake_contract import expect_failure, expect_success


@pytest.fixture
def lake(tmp_path: Path) -> LocalLake:
    """A created repository in a fresh, durable lake folder."""
    lake = LocalLake(tmp_path / "lake", "repo")
    expect_success(lake.create_repository())
    return lake


def _parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def _files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()}


def _blobs(lake: LocalLake) -> set[str]:
    return {p.parent.name + p.name for p in (lake.root / "objects").glob("*/*")}


# -- open_lake ---------------------------------------------------------------------------------
def test_open_lake_absolute_url(tmp_path: Path) -> None:
    """local:///abs opens the lake at that absolute path."""
    lake = open_lake(f"local://{tmp_path}/abs", repository="repo")
    assert isinstance(lake.lake, LocalLake)
    assert lake.url == f"local://{tmp_path}/abs"


def test_open_lake_relative_url_uses_cwd_or_base_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """local://rel resolves against the current directory, or against base_dir when given."""
    monkeypatch.chdir(tmp_path)
    assert open_lake("local://rel/lake", repository="repo").url == f"local://{tmp_path}/rel/lake"
    assert open_lake("local://./lake", repository="repo").url == f"local://{tmp_path}/lake"
    based = open_lake("local://lake", repository="repo", base_dir=tmp_path / "cfg")
    assert based.url == f"local://{tmp_path}/cfg/lake"


def test_open_lake_then_read_in_a_notebook(tmp_path: Path) -> None:
    """A lake written by one handle is readable through open_lake's notebook helpers."""
    writer = LocalLake(tmp_path / "lake", "etl")
    expect_success(writer.create_repository())
    frame = pl.DataFrame({"id": [1, 2], "name": ["a", "b"]})
    expect_success(writer.put_bytes("users/part-1.parquet", _parquet(frame), branch="main"))
    expect_success(writer.commit("main", "users"))
    reader = open_lake(f"local://{tmp_path}/lake", repository="etl")
    assert_frame_equal(reader.scan("users").collect(), frame)
    assert reader.log()[0].message == "users"


def test_open_lake_refuses_lakefs_urls_with_credentials_without_leaking_them() -> None:
    """A lakefs:// URL holding keys is refused (they belong in LAKECTL_*), never shown."""
    with pytest.raises(LakeflowError, match="holds credentials") as raised:
        open_lake("lakefs://AKIA:s3cr3t@lakefs.example:8000", repository="repo")
    assert "s3cr3t" not in str(raised.value)


@pytest.mark.parametrize("url", ["s3://bucket/x", "local://", "/plain/path", "file:///x"])
def test_open_lake_refuses_unsupported_urls(url: str) -> None:
    """Unknown schemes and empty paths raise a LakeflowError that shows the accepted forms."""
    with pytest.raises(LakeflowError, match=r"local://"):
        open_lake(url, repository="repo")


@pytest.mark.parametrize("repository", ["Repo", "ab", "has_underscore", "-x-y"])
def test_invalid_repository_ids_are_refused(tmp_path: Path, repository: str) -> None:
    """Repository ids follow lakeFS' rules (3-63 of a-z, 0-9, '-'), checked when opening."""
    with pytest.raises(LakeflowError, match="invalid repository id"):
        LocalLake(tmp_path, repository)


def test_reading_a_lake_that_does_not_exist_creates_nothing(tmp_path: Path) -> None:
    """Reading a missing lake is not_found and leaves no files behind."""
    lake = LocalLake(tmp_path / "nowhere", "repo")
    expect_failure(lake.list_branches(), "not_found")
    assert not (tmp_path / "nowhere").exists()


def test_repositories_share_a_lake_folder_but_not_branches(tmp_path: Path) -> None:
    """Two repositories in one folder have separate branches, commits and objects."""
    first, second = LocalLake(tmp_path, "first"), LocalLake(tmp_path, "second")
    expect_success(first.create_repository())
    expect_success(second.create_repository())
    expect_success(first.put_bytes("a", b"1", branch="main"))
    commit_id = expect_success(first.commit("main", "one")).id
    expect_failure(second.get_bytes("a", ref="main"), "not_found")
    expect_failure(second.resolve(commit_id), "not_found")


# -- refs ------------------------------------------------------------------------------------
def test_resolve_prefixes_and_ancestry_modifiers(lake: LocalLake) -> None:
    """Refs accept unique commit-id prefixes (>= 6 hex digits) and ~N / ^N like lakeFS."""
    first = expect_success(lake.resolve("main"))
    expect_success(lake.put_bytes("a", b"1", branch="main"))
    second = expect_success(lake.commit("main", "two")).id
    expect_success(lake.create_branch("dev", first))
    expect_success(lake.put_bytes("b", b"1", branch="dev"))
    side = expect_success(lake.commit("dev", "side")).id
    merge = expect_success(lake.merge("dev", "main"))
    assert expect_success(lake.resolve(second[:8])) == second
    expect_failure(lake.resolve(second[:5]), "not_found")
    assert expect_success(lake.resolve("main~1")) == second
    assert expect_success(lake.resolve("main~2")) == first
    assert expect_success(lake.resolve("main^2")) == side
    assert expect_success(lake.resolve(f"{merge[:10]}^1")) == second
    expect_failure(lake.resolve("main~9"), "not_found")
    expect_failure(lake.resolve("main^3"), "not_found")


def test_time_travel_refs_do_not_see_staged_writes(lake: LocalLake) -> None:
    """'main' sees staged writes; 'main~0' is the head commit itself, without them."""
    expect_success(lake.put_bytes("a", b"staged", branch="main"))
    assert expect_success(lake.get_bytes("a", ref="main")) == b"staged"
    expect_failure(lake.get_bytes("a", ref="main~0"), "not_found")


# -- storage layout ----------------------------------------------------------------------------
def test_blobs_are_content_addressed_read_only_and_deduplicated(lake: LocalLake) -> None:
    """Each distinct content is stored once, as a read-only file named by its sha256."""
    info = expect_success(lake.put_bytes("a", b"same", branch="main"))
    expect_success(lake.put_bytes("b", b"same", branch="main"))
    assert info.checksum == hashlib.sha256(b"same").hexdigest()
    blob = expect_success(lake.blob_path("a", ref="main"))
    assert blob == lake.root / "objects" / info.checksum[:2] / info.checksum[2:]
    assert _blobs(lake) == {info.checksum}
    assert blob.stat().st_mode & 0o777 == 0o444


def test_scan_frame_is_zero_copy(lake: LocalLake) -> None:
    """Scanning reads the blob files in place: no file in the lake is created or grows."""
    frame = pl.DataFrame({"x": list(range(1000))})
    for part in range(3):
        expect_success(lake.put_bytes(f"ds/p{part}.parquet", _parquet(frame), branch="main"))
    expect_success(lake.commit("main", "ds"))
    before = _files(lake.root)
    scanned = expect_success(lake.scan_frame("ds", ref="main")).collect()
    assert scanned.height == 3000
    assert {k: v for k, v in _files(lake.root).items() if "sqlite" not in k} == {
        k: v for k, v in before.items() if "sqlite" not in k
    }
    blob = expect_success(lake.blob_path("ds/p0.parquet", ref="main"))
    assert_frame_equal(pl.read_parquet(blob), frame)


def test_branch_commit_and_merge_never_copy_data(lake: LocalLake) -> None:
    """Branching, committing and merging add no blob files: they move ids, not bytes."""
    expect_success(lake.put_bytes("big", os.urandom(1 << 20), branch="main"))
    expect_success(lake.commit("main", "data"))
    blobs = _blobs(lake)
    expect_success(lake.create_branch("dev", "main"))
    expect_success(lake.delete_object("other", branch="dev"))
    expect_success(lake.put_bytes("small", b"x", branch="dev"))
    expect_success(lake.commit("dev", "dev"))
    expect_success(lake.merge("dev", "main"))
    assert _blobs(lake) == blobs | {hashlib.sha256(b"x").hexdigest()}


def test_a_small_commit_on_a_large_tree_rewrites_few_ranges(tmp_path: Path) -> None:
    """Changing 1 of 1,500 objects stores at most 3 new ranges: no full-tree rewrite."""
    lake = LocalLake(tmp_path, "repo", durable=False)
    expect_success(lake.create_repository())
    for i in range(1500):
        expect_success(lake.put_bytes(f"t/{i:05d}", b"v%d" % i, branch="main"))
    expect_success(lake.commit("main", "many"))
    db = sqlite3.connect(tmp_path / "lake.sqlite3")
    ranges_before = db.execute("SELECT count(*) FROM ranges").fetchone()[0]
    expect_success(lake.put_bytes("t/01500", b"changed", branch="main"))
    expect_success(lake.commit("main", "one change"))
    expect_success(lake.create_branch("dev", "main~1"))
    expect_success(lake.put_bytes("t/01499x", b"added", branch="dev"))
    expect_success(lake.commit("dev", "one more"))
    expect_success(lake.merge("dev", "main"))
    ranges_after = db.execute("SELECT count(*) FROM ranges").fetchone()[0]
    db.close()
    assert ranges_before >= 12  # the tree really is split into many ranges
    assert ranges_after - ranges_before <= 3 * 3


def test_put_file_move_renames_the_file_into_the_store(lake: LocalLake, tmp_path: Path) -> None:
    """move=True consumes a same-filesystem file by renaming it: the blob is the same inode."""
    source = tmp_path / "run.parquet"
    payload = os.urandom(3 << 20)
    source.write_bytes(payload)
    inode = source.stat().st_ino
    info = expect_success(lake.put_file("out.parquet", source, branch="main", move=True))
    assert not source.exists()
    blob = expect_success(lake.blob_path("out.parquet", ref="main"))
    assert blob.stat().st_ino == inode
    assert info.checksum == hashlib.sha256(payload).hexdigest()
    assert expect_success(lake.get_bytes("out.parquet", ref="main")) == payload


def test_put_file_move_copies_a_hard_linked_file(lake: LocalLake, tmp_path: Path) -> None:
    """A file with other hard links is copied (the store must not share a mutable inode)."""
    source, other = tmp_path / "a.bin", tmp_path / "b.bin"
    source.write_bytes(b"linked")
    os.link(source, other)
    expect_success(lake.put_file("a", source, branch="main", move=True))
    assert not source.exists() and other.read_bytes() == b"linked"
    assert expect_success(lake.blob_path("a", ref="main")).stat().st_ino != other.stat().st_ino


def test_put_file_of_a_directory_is_invalid(lake: LocalLake, tmp_path: Path) -> None:
    """Only regular files can be uploaded."""
    expect_failure(lake.put_file("a", tmp_path, branch="main"), "invalid")


# -- concurrency: deterministic races across real processes -------------------------------------
def _pause_after_prepare(paused: Any, resume: Any) -> None:
    """In the child: stop right after the commit/merge is computed, before its write."""

    def profile(frame: FrameType, event: str, _arg: object) -> None:
        code = frame.f_code
        if event == "return" and code.co_name == "prepare" and "local" in code.co_filename:
            sys.setprofile(None)
            paused.set()
            resume.wait(60)

    sys.setprofile(profile)


def _racing_commit(root: str, paused: Any, resume: Any, results: Any) -> None:
    lake = LocalLake(root, "repo")
    _pause_after_prepare(paused, resume)
    outcome = lake.commit("main", "racer")
    results.put(outcome.map(lambda c: c.id).alt(lambda e: e.to_dict()).__repr__())


def _racing_merge(root: str, paused: Any, resume: Any, results: Any) -> None:
    lake = LocalLake(root, "repo")
    _pause_after_prepare(paused, resume)
    outcome = lake.merge("dev", "main")
    results.put(outcome.alt(lambda e: e.to_dict()).__repr__())


def _race(target: Any, root: Path, meanwhile: Any) -> str:
    """Run ``target`` in a process, pause it after its computation, run ``meanwhile``."""
    context = multiprocessing.get_context("forkserver")
    # Children fork from a server that imported this module once: ~50 ms each, not ~1 s.
    context.set_forkserver_preload([__name__])
    paused, resume, results = context.Event(), context.Event(), context.Queue()
    child = context.Process(target=target, args=(str(root), paused, resume, results))
    child.start()
    try:
        assert paused.wait(60), "the child never reached its write"
        meanwhile()
    finally:
        resume.set()
    report: str = results.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    return report


def test_losing_a_commit_race_is_a_retryable_conflict(lake: LocalLake) -> None:
    """A commit whose branch moved after it read the head fails with a retryable conflict."""
    expect_success(lake.put_bytes("a", b"1", branch="main"))

    def commit_first() -> None:
        expect_success(lake.commit("main", "winner"))

    report = _race(_racing_commit, lake.root, commit_first)
    assert "'code': 'conflict'" in report and "'retryable': True" in report
    assert [c.message for c in expect_success(lake.log_commits("main"))][:1] == ["winner"]


def test_writes_staged_during_a_commit_stay_staged(lake: LocalLake) -> None:
    """A write that lands while a commit is in flight is neither lost nor committed."""
    expect_success(lake.put_bytes("a", b"1", branch="main"))

    def write_meanwhile() -> None:
        expect_success(lake.put_bytes("b", b"late", branch="main"))
        expect_success(lake.put_bytes("a", b"2", branch="main"))

    report = _race(_racing_commit, lake.root, write_meanwhile)
    assert "Success" in report
    head = expect_success(lake.resolve("main"))
    assert expect_success(lake.get_bytes("a", ref=head)) == b"1"
    expect_failure(lake.get_bytes("b", ref=head), "not_found")
    assert {c.path for c in expect_success(lake.uncommitted("main"))} == {"a", "b"}
    assert expect_success(lake.get_bytes("a", ref="main")) == b"2"


def test_losing_a_merge_race_is_a_retryable_conflict(lake: LocalLake) -> None:
    """A merge whose destination moved after it computed fails with a retryable conflict."""
    expect_success(lake.create_branch("dev", "main"))
    expect_success(lake.put_bytes("d", b"dev", branch="dev"))
    expect_success(lake.commit("dev", "dev"))

    def move_main() -> None:
        expect_success(lake.put_bytes("m", b"main", branch="main"))
        expect_success(lake.commit("main", "main moved"))

    report = _race(_racing_merge, lake.root, move_main)
    assert "'code': 'conflict'" in report and "'retryable': True" in report
    expect_success(lake.merge("dev", "main"))  # the retry succeeds


def test_a_write_to_the_destination_during_a_merge_refuses_the_merge(lake: LocalLake) -> None:
    """A merge does not swallow a write staged on its destination while it ran."""
    expect_success(lake.create_branch("dev", "main"))
    expect_success(lake.put_bytes("d", b"dev", branch="dev"))
    expect_success(lake.commit("dev", "dev"))

    def write_main() -> None:
        expect_success(lake.put_bytes("m", b"staged", branch="main"))

    report = _race(_racing_merge, lake.root, write_main)
    assert "'code': 'invalid'" in report
    assert expect_success(lake.get_bytes("m", ref="main")) == b"staged"


def test_threads_sharing_one_handle_stay_consistent(tmp_path: Path) -> None:
    """Threads writing and committing through one handle lose no write."""
    lake = LocalLake(tmp_path, "repo", durable=False)
    expect_success(lake.create_repository())

    def work(worker: int) -> None:
        for i in range(20):
            expect_success(lake.put_bytes(f"{worker}/{i}", b"x", branch="main"))
            lake.commit("main", f"{worker}/{i}")  # may find nothing left to commit: fine

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lake.commit("main", "rest")
    head = expect_success(lake.resolve("main"))
    assert len(expect_success(lake.list_objects(ref=head))) == 80


# -- errors ------------------------------------------------------------------------------------
def test_busy_database_is_a_retryable_unavailable(lake: LocalLake) -> None:
    """When another process holds the write lock past the busy timeout: retryable unavailable."""
    blocker = sqlite3.connect(lake.root / "lake.sqlite3", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        impatient = LocalLake(lake.root, "repo", busy_timeout=0.05)
        expect_failure(
            impatient.commit("main", "m", allow_empty=True), "unavailable", retryable=True
        )
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    expect_success(LocalLake(lake.root, "repo").commit("main", "m", allow_empty=True))


def test_damaged_metadata_is_a_failure_value_not_an_exception(tmp_path: Path) -> None:
    """A metadata file that is not a database gives a corrupt LakeError naming the file."""
    (tmp_path / "lake.sqlite3").write_bytes(b"this is not a database" * 100)
    error = expect_failure(LocalLake(tmp_path, "repo").list_branches(), "corrupt")
    assert "damaged" in error.reason and "lake.sqlite3" in error.reason


def test_a_newer_layout_is_refused(lake: LocalLake) -> None:
    """A lake written by a newer layout format is refused rather than misread."""
    db = sqlite3.connect(lake.root / "lake.sqlite3", isolation_level=None)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'format'")
    db.close()
    error = expect_failure(LocalLake(lake.root, "repo").list_branches(), "unavailable")
    assert "format 99" in error.reason


def test_disk_full_and_permission_errors_translate() -> None:
    """ENOSPC (a real write to /dev/full) is unavailable; EACCES is auth; EAGAIN retries."""
    try:
        with open("/dev/full", "wb", buffering=0) as full:
            full.write(b"x")
    except OSError as exc:
        error = lake_error_from_os("put_file", exc)
        assert (error.code, error.retryable) == ("unavailable", False)
        assert "no space" in error.reason
    else:  # pragma: no cover - /dev/full always fails on Linux
        pytest.fail("writing to /dev/full succeeded")
    denied = lake_error_from_os("put_file", PermissionError(errno.EACCES, "Permission denied"))
    assert denied.code == "auth"
    again = lake_error_from_os("get_bytes", BlockingIOError(errno.EAGAIN, "try again"))
    assert (again.code, again.retryable) == ("unavailable", True)


# -- gc and fsck -------------------------------------------------------------------------------
def test_gc_frees_only_unreferenced_blobs(lake: LocalLake) -> None:
    """gc deletes overwritten staged writes; committed data survives, even of deleted branches."""
    expect_success(lake.create_branch("dev", "main"))
    expect_success(lake.put_bytes("kept", b"committed on a deleted branch", branch="dev"))
    expect_success(lake.commit("dev", "c"))
    expect_success(lake.delete_branch("dev"))
    expect_success(lake.put_bytes("a", b"overwritten", branch="main"))
    expect_success(lake.put_bytes("a", b"staged", branch="main"))
    garbage = hashlib.sha256(b"overwritten").hexdigest()
    (lake.root / "tmp" / "put-crashed").write_bytes(b"partial")
    assert expect_success(lake.gc()).blobs_deleted == 0  # within the grace period
    dry = expect_success(lake.gc(grace=timedelta(0), dry_run=True))
    assert (dry.blobs_deleted, dry.temp_files_deleted) == (1, 1) and garbage in _blobs(lake)
    report = expect_success(lake.gc(grace=timedelta(0)))
    assert (report.blobs_deleted, report.bytes_freed) == (1, len(b"overwritten"))
    assert garbage not in _blobs(lake)
    assert not (lake.root / "tmp" / "put-crashed").exists()
    assert expect_success(lake.get_bytes("a", ref="main")) == b"staged"
    assert expect_success(lake.fsck(deep=True)).ok


def test_fsck_finds_missing_and_corrupted_blobs(lake: LocalLake) -> None:
    """fsck reports a blob whose bytes changed or that disappeared; reads then fail cleanly."""
    expect_success(lake.put_bytes("a", b"original", branch="main"))
    expect_success(lake.put_bytes("b", b"vanishes", branch="main"))
    expect_success(lake.commit("main", "c"))
    a_blob = expect_success(lake.blob_path("a", ref="main"))
    a_blob.chmod(0o644)
    a_blob.write_bytes(b"tampered")  # same size, different bytes
    expect_success(lake.blob_path("b", ref="main")).unlink()
    shallow = expect_success(lake.fsck())
    assert len(shallow.problems) == 1 and "missing" in shallow.problems[0]
    deep = expect_success(lake.fsck(deep=True))
    assert len(deep.problems) == 2 and any("hash" in p for p in deep.problems)
    expect_failure(lake.get_bytes("b", ref="main"), "corrupt")
