"""Injected faults on the double, as the real ``lakefs`` SDK (and its urllib3) meets them."""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest
import urllib3
from lakefs.exceptions import ServerException

from lakeflow.testing.lakefs import FaultRecord, LakeFSDouble

_COMMITS = "/repositories/*/branches/*/commits"


def test_burst_of_503_then_success(lakefs_server: LakeFSDouble, repo: Any) -> None:
    """A burst of two 503s fails two commits with ServerException(503); the third commits."""
    main = repo.branch("main")
    main.object("a").upload(b"a")
    lakefs_server.faults.burst(503, count=2, method="POST", path=_COMMITS)
    for _ in range(2):
        with pytest.raises(ServerException) as caught:
            main.commit("a")
        assert type(caught.value) is ServerException and caught.value.status_code == 503
    assert list(main.uncommitted()) != []  # nothing was committed by the failed attempts
    main.commit("a")
    assert list(main.uncommitted()) == []
    fired = lakefs_server.faults.fired
    assert [(f.kind, f.status) for f in fired] == [("burst", 503), ("burst", 503)]
    assert lakefs_server.faults.pending == 0


def test_burst_of_429_on_reads(lakefs_server: LakeFSDouble, repo: Any) -> None:
    """429s on GET surface as ServerException(429) (the SDK does not retry them) until the
    burst is over."""
    main = repo.branch("main")
    lakefs_server.faults.burst(429, count=1, method="GET", path="/repositories/*/branches/main")
    with pytest.raises(ServerException) as caught:
        _ = main.head
    assert caught.value.status_code == 429
    assert main.head.id


def test_burst_on_an_upload_reads_the_body_first(lakefs_server: LakeFSDouble, repo: Any) -> None:
    """A 503 on a chunked upload reaches the SDK as ServerException(503), not a broken pipe,
    and nothing is staged."""
    obj = repo.branch("main").object("big")
    lakefs_server.faults.burst(503, method="POST", path="/repositories/*/branches/*/objects")
    with pytest.raises(ServerException) as caught:
        obj.upload(b"x" * 2_000_000)
    assert caught.value.status_code == 503
    assert list(repo.branch("main").uncommitted()) == []


@pytest.mark.parametrize("size", [10, 3_000_000], ids=["small", "large"])
def test_dropped_upload_stages_nothing(lakefs_server: LakeFSDouble, repo: Any, size: int) -> None:
    """A connection dropped mid-upload raises urllib3's ProtocolError in the SDK (POSTs are not
    retried) and leaves no partial object staged; the next upload lands."""
    main = repo.branch("main")
    data = random.Random(size).randbytes(size)
    obj = main.object("data/part.bin")
    lakefs_server.faults.drop_upload(after_bytes=64 * 1024)
    with pytest.raises(urllib3.exceptions.ProtocolError):
        obj.upload(data)
    assert lakefs_server.faults.fired == (
        FaultRecord("drop_upload", "POST", f"/repositories/{repo.id}/branches/main/objects"),
    )
    dropped = [r for r in lakefs_server.requests if r.status is None]
    assert dropped and dropped[-1].chunked
    assert list(main.uncommitted()) == []
    assert not obj.exists()
    assert not list(lakefs_server.data_dir.rglob("upload-*"))  # the spooled body is gone too

    obj.upload(data)
    with obj.reader() as reader:
        assert reader.read() == data


def test_one_slow_read_is_retried_by_urllib3(lakefs_server: LakeFSDouble, repo: Any) -> None:
    """One slow answer to an idempotent GET times out and is retried by the SDK's urllib3:
    the listing still succeeds, and the fault shows it fired."""
    path = f"/repositories/{repo.id}/branches"
    lakefs_server.faults.slow(60, count=1, method="GET", path=path)
    assert [b.id for b in repo.branches(_request_timeout=0.5)] == ["main"]
    assert [f.kind for f in lakefs_server.faults.fired] == ["slow"]


def test_a_held_request_is_signalled_and_goes_on_when_released(
    lakefs_server: LakeFSDouble, repo: Any
) -> None:
    """slow() returns an event set once the request waits inside the server; clear() lets it
    go on at once, so a test can act at that exact point without sleeping."""
    path = f"/repositories/{repo.id}/branches"
    held = lakefs_server.faults.slow(600, count=1, method="GET", path=path)
    listed: list[list[str]] = []
    client = threading.Thread(target=lambda: listed.append([b.id for b in repo.branches()]))
    client.start()
    assert held.wait(timeout=60), "the request never reached the server"
    assert listed == []  # still waiting inside the server
    lakefs_server.faults.clear()
    client.join(timeout=60)
    assert listed == [["main"]]


def test_persistently_slow_reads_exhaust_urllib3_retries(
    lakefs_server: LakeFSDouble, repo: Any
) -> None:
    """When every attempt is slow, urllib3 gives up after its retries: MaxRetryError caused by
    a read timeout, outside lakefs.exceptions (an adapter must catch it itself)."""
    path = f"/repositories/{repo.id}/branches"
    lakefs_server.faults.slow(60, count=10, method="GET", path=path)
    with pytest.raises(urllib3.exceptions.MaxRetryError) as caught:
        list(repo.branches(_request_timeout=0.3))
    assert isinstance(caught.value.reason, urllib3.exceptions.ReadTimeoutError)
    assert len(lakefs_server.faults.fired) == 4  # the first attempt and urllib3's three retries


def test_fault_plans_are_validated(lakefs_server: LakeFSDouble) -> None:
    """Faults that cannot happen (a 404 burst, no count, a negative wait) are refused."""
    with pytest.raises(ValueError, match="status"):
        lakefs_server.faults.burst(404)
    with pytest.raises(ValueError, match="count"):
        lakefs_server.faults.burst(503, count=0)
    with pytest.raises(ValueError, match="seconds"):
        lakefs_server.faults.slow(-1)
    with pytest.raises(ValueError, match="after_bytes"):
        lakefs_server.faults.drop_upload(after_bytes=0)
    assert lakefs_server.faults.pending == 0
