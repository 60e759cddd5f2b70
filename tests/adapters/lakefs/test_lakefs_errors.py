"""How LakeFSLake fails: lakeFS statuses and transport failures as LakeError values.

The double produces every failure it can for real (401, 403, 404, 409, bursts of 429/5xx,
dropped uploads, slow answers, damaged blobs); the statuses it cannot produce on demand (412 from
a hook, 423 from contention) are pinned on the pure translator.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import polars as pl
import pytest
from returns.result import Failure, Success

from lakeflow.adapters.lakefs import LakeFSLake
from lakeflow.adapters.lakefs.errors import HttpAnswer, status_error
from lakeflow.core.errors import LakeErrorCode
from lakeflow.core.secrets import Secret
from lakeflow.run import RetryPolicy
from lakeflow.run.retry import retrying
from lakeflow.testing.lakefs import LakeFSDouble
from tests.adapters.lakefs.conftest import LakeFactory
from tests.adapters.lakefs.helpers import err, ok, parquet

FAST = RetryPolicy(max_retries=3, timeout_seconds=30, initial_backoff_s=0.001, max_backoff_s=0.01)


@pytest.fixture
def lake(double_lake: LakeFSLake) -> LakeFSLake:
    """These tests inject faults into (or read the request log of) the double: only there."""
    return double_lake


@pytest.mark.parametrize(
    ("status", "message", "code", "retryable"),
    [
        (400, "no changes", "invalid", False),
        (401, "error authenticating request", "auth", False),
        (403, "insufficient permissions", "auth", False),
        (404, "not found", "not_found", False),
        (409, "", "conflict", False),
        (410, "No data", "not_found", False),
        (412, "pre-merge hook failed", "precondition", False),
        (416, "range not satisfiable", "invalid", False),
        (423, "Too many attempts, try again later", "conflict", True),
        (429, "Too many attempts, try again later", "conflict", True),
        (429, "slow down", "unavailable", True),
        (500, "branch is currently locked, try again later", "conflict", True),
        (500, "internal error", "unavailable", True),
        (501, "not implemented", "invalid", False),
        (502, "bad gateway", "unavailable", True),
        (503, "Throughput exceeded. Slow down and retry", "unavailable", True),
        (504, "gateway timeout", "unavailable", True),
    ],
)
def test_every_lakefs_status_has_a_code(
    status: int, message: str, code: LakeErrorCode, retryable: bool
) -> None:
    """Each status lakeFS answers becomes one code; lost races on a head are retryable conflicts."""
    error = status_error("op", HttpAnswer(status, message))
    assert (error.code, error.retryable) == (code, retryable)
    assert str(status) in error.reason


def test_wrong_credentials_are_auth_and_not_retried(double_factory: LakeFactory) -> None:
    """A 401 is auth, not retryable, and its message says which variables to check."""
    lake = double_factory(secret_access_key=Secret("wrong-secret"))
    for result in (lake.get_repository(), lake.put_bytes("a", b"x", branch="main")):
        error = err(result, "auth", retryable=False)
        assert "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY" in error.reason


def test_writes_to_a_protected_branch_are_precondition(lake: LakeFSLake, tmp_path: Path) -> None:
    """lakeFS' 403 for a protected branch becomes precondition; merges into it still land."""
    ok(lake.create_branch("dev", "main"))
    ok(lake.put_bytes("a", b"1", branch="dev"))
    ok(lake.commit("dev", "dev work"))
    ok(lake.create_branch("release", "main"))
    ok(lake.protect_branch("main"))
    ok(lake.protect_branch("main"))  # idempotent
    ok(lake.protect_branch("release"))
    source = tmp_path / "f"
    source.write_bytes(b"x")
    for refused in (
        lake.put_bytes("b", b"x", branch="main"),
        lake.put_file("b", source, branch="main", move=True),
        lake.delete_object("a", branch="main"),
        lake.discard_changes("main"),
        lake.commit("main", "direct", allow_empty=True),
    ):
        assert "protected" in err(refused, "precondition", retryable=False).reason
    assert source.exists(), "a refused upload keeps the file it was to move"
    assert "cannot be deleted" in err(lake.delete_branch("release"), "precondition").reason
    merged = ok(lake.merge("dev", "main"))
    assert ok(lake.resolve("main")) == merged
    merge = ok(lake.log_commits("main", limit=1))[0]
    err(lake.revert("main", merge.id), "precondition")


@pytest.mark.parametrize("status", [429, 503])
def test_a_burst_of_errors_is_retried_by_the_shell_until_it_passes(
    lake: LakeFSLake, lakefs_server: LakeFSDouble, status: int
) -> None:
    """Two 429/503 answers in a row are retryable; the shell's bounded retry then succeeds."""
    ok(lake.create_branch("dev", "main"))
    operations = {
        "upload": lambda: lake.put_bytes("a", b"x", branch="dev"),
        "read": lambda: lake.get_bytes("a", ref="dev"),
        "list": lambda: lake.list_objects(ref="dev"),
        "commit": lambda: lake.commit("dev", "c"),
        "merge": lambda: lake.merge("dev", "main"),
    }
    for name, operation in operations.items():
        lakefs_server.faults.burst(status, count=2)
        result, calls = retrying(FAST, operation)
        assert isinstance(result, Success), (name, result)
        assert calls == 3, name
    assert ok(lake.get_bytes("a", ref="main")) == b"x"


def test_the_shell_gives_up_after_too_many_errors(
    lake: LakeFSLake, lakefs_server: LakeFSDouble
) -> None:
    """More errors than max_retries: the last retryable failure is returned, bounded."""
    lakefs_server.faults.burst(503, count=10, method="GET")
    result, calls = retrying(FAST, lambda: lake.list_objects(ref="main"))
    assert calls == FAST.max_retries + 1
    assert isinstance(result, Failure)
    assert (result.failure().code, result.failure().retryable) == ("unavailable", True)


def test_a_503_on_config_is_not_mistaken_for_bad_credentials(
    lake: LakeFSLake, lakefs_server: LakeFSDouble
) -> None:
    """The SDK reports any /config error as 'not authorized'; health says unavailable."""
    lakefs_server.faults.burst(503, count=1, path="/config")
    checks = dict(lake.health())
    error = err(checks["credentials"], "unavailable", retryable=True)
    assert "503" in error.reason


def test_a_dropped_upload_stages_nothing_and_its_retry_lands_whole(
    lake: LakeFSLake, lakefs_server: LakeFSDouble, tmp_path: Path
) -> None:
    """A connection cut mid-upload is retryable, leaves no object and keeps the moved file."""
    source = tmp_path / "part.bin"
    payload = os.urandom(1 << 20)
    source.write_bytes(payload)
    lakefs_server.faults.drop_upload(after_bytes=64 * 1024)
    err(
        lake.put_file("data/part.bin", source, branch="main", move=True),
        "unavailable",
        retryable=True,
    )
    assert source.read_bytes() == payload
    assert ok(lake.uncommitted("main")) == ()
    err(lake.commit("main", "nothing landed"), "invalid")
    lakefs_server.faults.drop_upload(after_bytes=1)
    result, calls = retrying(
        FAST, lambda: lake.put_file("data/part.bin", source, branch="main", move=True)
    )
    assert isinstance(result, Success) and calls == 2
    committed = ok(lake.commit("main", "whole")).id
    assert ok(lake.get_bytes("data/part.bin", ref=committed)) == payload
    assert not source.exists()


def test_a_slow_read_times_out_once_without_hidden_retries(
    double_factory: LakeFactory, lakefs_server: LakeFSDouble
) -> None:
    """A read past the timeout fails retryable after one request (urllib3 does not retry it)."""
    lake = double_factory(timeout_s=0.5)
    ok(lake.create_repository())
    ok(lake.put_bytes("a", b"x", branch="main"))
    lakefs_server.faults.slow(30, count=1, method="GET", path="/repositories/*/refs/*/objects")
    error = err(lake.get_bytes("a", ref="main"), "unavailable", retryable=True)
    assert "no answer in time" in error.reason
    assert len(lakefs_server.faults.fired) == 1
    assert ok(lake.get_bytes("a", ref="main")) == b"x"  # the next try is not slowed


def test_a_server_that_is_not_there_is_retryable_unavailable(double_factory: LakeFactory) -> None:
    """A refused connection is retryable; TLS against a plain-HTTP server is not."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gone = LakeFSLake(
        f"http://127.0.0.1:{port}",
        "nobody-home",
        access_key_id=Secret("k"),
        secret_access_key=Secret("s"),
        timeout_s=2,
    )
    assert "cannot connect" in err(gone.get_repository(), "unavailable", retryable=True).reason


def test_tls_to_a_plain_http_server_is_not_retryable(
    lakefs_server: LakeFSDouble, double_factory: LakeFactory
) -> None:
    """A TLS failure will not go away by retrying."""
    https = lakefs_server.endpoint.replace("http://", "https://")
    lake = LakeFSLake(
        https, "tls-repo", access_key_id=Secret("k"), secret_access_key=Secret("s"), timeout_s=2
    )
    err(lake.get_repository(), "unavailable", retryable=False)


def _blob(lakefs_server: LakeFSDouble, checksum: str) -> Path:
    (found,) = [
        p for p in lakefs_server.data_dir.rglob(checksum[2:]) if p.parent.name == checksum[:2]
    ]
    return found


def _tamper(blob: Path) -> None:
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.chmod(0o644)
    blob.write_bytes(bytes(data))


def test_a_damaged_blob_is_corrupt_on_every_verified_read(
    double_factory: LakeFactory, lakefs_server: LakeFSDouble
) -> None:
    """Bytes that no longer match lakeFS' checksum are a corrupt error naming the object."""
    lake = double_factory()
    ok(lake.create_repository())
    content = parquet(pl.DataFrame({"id": range(100), "note": [f"damaged-{os.getpid()}"] * 100}))
    info = ok(lake.put_bytes("ds/part.parquet", content, branch="main"))
    commit_id = ok(lake.commit("main", "data")).id
    _tamper(_blob(lakefs_server, info.checksum))
    error = err(lake.get_bytes("ds/part.parquet", ref=commit_id), "corrupt", retryable=False)
    assert "ds/part.parquet" in error.reason and info.checksum in error.reason
    err(lake.scan_frame("ds", ref=commit_id), "corrupt")
    unverified = double_factory(repository=lake.repository, verify_reads=False)
    assert isinstance(ok(unverified.scan_frame("ds", ref=commit_id)), pl.LazyFrame)


def test_a_planted_secret_never_appears_in_errors_or_reprs(
    lakefs_server: LakeFSDouble, double_factory: LakeFactory
) -> None:
    """The secret key stays out of every message, repr, URL and error dict, success or not."""
    secret = "planted-Secret/Key+9000"
    key = "AKIA-planted-key-id"
    lake = double_factory(access_key_id=Secret(key), secret_access_key=Secret(secret))
    texts = [repr(lake), str(lake), lake.url]
    for result in (
        lake.get_repository(),
        lake.create_repository(),
        lake.put_bytes("a", b"x", branch="main"),
        lake.get_bytes("a", ref="main"),
        lake.commit("main", "m"),
        lake.merge("dev", "main"),
    ):
        error = err(result, "auth")
        texts += [error.message, repr(error), str(error.to_dict())]
    texts += [repr(part) + repr(result) for part, result in lake.health()]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gone = LakeFSLake(
        f"http://127.0.0.1:{port}",
        "gone",
        access_key_id=Secret(key),
        secret_access_key=Secret(secret),
    )
    texts += [repr(gone), err(gone.get_repository(), "unavailable").message]
    assert all(secret not in text and key not in text for text in texts), texts
