"""LocalLake verifies what it reads: a damaged blob is a corrupt LakeError, never other rows."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakeflow.adapters.local import LocalLake
from lakeflow.adapters.local.blobs import RACY_NS, BlobRead, BlobStore, may_remember
from lakeflow.adapters.local.failures import Refused
from lakeflow.core.errors import LakeflowError
from lakeflow.lakes import LakeHandle
from lakeflow.testing.lake_contract import expect_failure, expect_success

FRAME = pl.DataFrame({"id": list(range(200)), "name": [f"user {i}" for i in range(200)]})
RECORD = b'{"rows": 200, "watermark": {"column": "updated_at", "value": "2024-01-01"}}'


def _parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


@contextmanager
def _flipped(blob: Path, position: int, mask: int) -> Iterator[None]:
    """Flip bits of one byte of a (read-only) blob file, and put it back afterwards."""
    original = blob.read_bytes()
    damaged = bytearray(original)
    damaged[position] ^= mask
    blob.chmod(0o644)
    blob.write_bytes(bytes(damaged))
    try:
        yield
    finally:
        blob.write_bytes(original)
        blob.chmod(0o444)


@pytest.fixture
def lake(tmp_path: Path) -> LocalLake:
    """A lake with one committed parquet dataset part and one committed JSON record."""
    lake = LocalLake(tmp_path / "lake", "repo", durable=False)
    expect_success(lake.create_repository())
    expect_success(lake.put_bytes("ds/part-1.parquet", _parquet(FRAME), branch="main"))
    expect_success(lake.put_bytes("_lakeflow/runs/r1.json", RECORD, branch="main"))
    expect_success(lake.commit("main", "data"))
    return lake


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), mask=st.integers(1, 255))
def test_a_flipped_byte_in_a_parquet_blob_is_always_reported(
    lake: LocalLake, data: st.DataObject, mask: int
) -> None:
    """Any flipped byte of a committed parquet blob fails every read as corrupt; no rows differ."""
    blob = expect_success(lake.blob_path("ds/part-1.parquet", ref="main"))
    position = data.draw(st.integers(0, blob.stat().st_size - 1), label="position")
    with _flipped(blob, position, mask):
        for path in ("ds/part-1.parquet", "ds", "ds/"):
            error = expect_failure(lake.scan_frame(path, ref="main"), "corrupt", retryable=False)
            assert "ds/part-1.parquet" in error.reason and blob.parent.name in error.reason
        expect_failure(lake.get_bytes("ds/part-1.parquet", ref="main"), "corrupt")
        with pytest.raises(LakeflowError, match="corrupt"):
            LakeHandle(lake).scan("ds")
    scanned = expect_success(lake.scan_frame("ds", ref="main")).collect()
    assert scanned.equals(FRAME)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), mask=st.integers(1, 255))
def test_a_flipped_byte_in_a_json_object_is_always_reported(
    lake: LocalLake, data: st.DataObject, mask: int
) -> None:
    """Any flipped byte of a committed JSON object fails get_bytes as corrupt, naming it."""
    blob = expect_success(lake.blob_path("_lakeflow/runs/r1.json", ref="main"))
    position = data.draw(st.integers(0, len(RECORD) - 1), label="position")
    with _flipped(blob, position, mask):
        error = expect_failure(lake.get_bytes("_lakeflow/runs/r1.json", ref="main"), "corrupt")
        info = expect_success(lake.stat("_lakeflow/runs/r1.json", ref="main"))
        assert "_lakeflow/runs/r1.json" in error.reason and info.checksum in error.reason
        assert "'main'" in error.reason
    assert expect_success(lake.get_bytes("_lakeflow/runs/r1.json", ref="main")) == RECORD


def test_a_truncated_or_missing_blob_is_corrupt_naming_the_object(lake: LocalLake) -> None:
    """A blob that lost bytes or vanished is corrupt (not retryable), naming path and blob."""
    blob = expect_success(lake.blob_path("ds/part-1.parquet", ref="main"))
    blob.chmod(0o644)
    blob.write_bytes(blob.read_bytes()[:-10])
    error = expect_failure(lake.scan_frame("ds", ref="main"), "corrupt", retryable=False)
    assert "bytes instead of" in error.reason
    blob.unlink()
    error = expect_failure(lake.get_bytes("ds/part-1.parquet", ref="main"), "corrupt")
    assert "missing" in error.reason and "ds/part-1.parquet" in error.reason


def test_verify_reads_off_hands_the_files_to_polars_unchecked(lake: LocalLake) -> None:
    """With verify_reads=False, scan_frame returns a plan over a damaged blob (the opt-out)."""
    blob = expect_success(lake.blob_path("ds/part-1.parquet", ref="main"))
    unverified = LocalLake(lake.root, "repo", verify_reads=False)
    with _flipped(blob, blob.stat().st_size // 2, 0xFF):
        expect_success(unverified.scan_frame("ds", ref="main"))
        expect_failure(unverified.get_bytes("ds/part-1.parquet", ref="main"), "corrupt")
        expect_failure(lake.scan_frame("ds", ref="main"), "corrupt")


def test_a_cached_verification_never_hides_a_later_change(tmp_path: Path) -> None:
    """A blob verified long after its last change is remembered, yet a later write is caught."""
    (tmp_path / "tmp").mkdir()
    later = BlobStore(tmp_path, durable=False, clock=lambda: time.time_ns() + 10 * RACY_NS)
    checksum, size = later.write([b"x" * 5000])
    blob = BlobRead(checksum, size, "object 'x' at 'main'")
    assert later.verify(blob) == later.file(checksum)
    assert later.verify(blob) == later.file(checksum)  # remembered: the file is old enough
    with _flipped(later.file(checksum), 10, 1), pytest.raises(Refused, match="hashes to"):
        later.verify(blob)


def test_a_blob_changed_right_after_its_verification_is_caught(tmp_path: Path) -> None:
    """A blob damaged just after a read verified it (same size, same mtime) fails the next read."""
    (tmp_path / "tmp").mkdir()
    store = BlobStore(tmp_path, durable=False)
    checksum, size = store.write([b"y" * 5000])
    blob = BlobRead(checksum, size, "object 'y' at 'main'")
    store.verify(blob)
    path = store.file(checksum)
    path.chmod(0o644)
    with open(path, "r+b") as handle:  # same size, and mtime restored: only the bytes differ
        before = os.fstat(handle.fileno())
        handle.seek(7)
        handle.write(b"z")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    with pytest.raises(Refused, match="hashes to"):
        store.verify(blob)


def test_only_files_unchanged_for_the_racy_window_are_remembered(tmp_path: Path) -> None:
    """A verification is remembered only if the file's last change predates it by RACY_NS."""
    path = tmp_path / "f"
    path.write_bytes(b"x")
    info = path.stat()
    changed = max(info.st_mtime_ns, info.st_ctime_ns)
    assert not may_remember(changed, info)
    assert not may_remember(changed + RACY_NS, info)
    assert may_remember(changed + RACY_NS + 1, info)
