"""Fixtures for adapter tests: fresh databases, SQLite files, a scratch lake."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from lakeflow.core.incremental import Watermark
from lakeflow.lakes import LakeHandle
from lakeflow.ports import ExtractContext

if TYPE_CHECKING:
    from lakeflow.adapters.local import LocalLake


@pytest.fixture
def pg_database(pg_uri: str) -> str:
    """The name of the fresh database behind ``pg_uri``."""
    return pg_uri.rsplit("/", 1)[1]


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    """A path for a SQLite database file (not created yet)."""
    return tmp_path / "data.db"


@pytest.fixture
def dead_uri() -> str:
    """A PostgreSQL URI (with a password) pointing at a port nobody listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"postgresql://etl:dead-server-pw-31337@127.0.0.1:{port}/prod"


@pytest.fixture
def scratch_lake(tmp_path: Path) -> LocalLake:
    """A real embedded lake with its repository created."""
    from lakeflow.adapters.local import LocalLake

    lake = LocalLake(tmp_path / "lake", "adapter-tests", durable=False)
    lake.create_repository().unwrap()
    return lake


@pytest.fixture
def make_context(scratch_lake: LocalLake) -> Callable[..., ExtractContext]:
    """Build the ExtractContext the shell would pass, at the lake's current ``main`` head."""

    def build(watermark: Watermark | None = None) -> ExtractContext:
        return ExtractContext(
            watermark=watermark, lake=scratch_lake, base_ref=LakeHandle(scratch_lake).head("main")
        )

    return build
