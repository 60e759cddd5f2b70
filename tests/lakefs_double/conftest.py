"""Fixtures for the lakeFS double's tests: the real ``lakefs`` SDK with an explicit client."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import lakefs
import pytest

from lakeflow.testing.lakefs import LakeFSDouble

_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def client(lakefs_server_session: LakeFSDouble) -> Any:
    """A ``lakefs.Client`` for the session's double (never the SDK's process-global client)."""
    return lakefs.Client(  # type: ignore[no-untyped-call]  # the SDK has no annotations here
        host=lakefs_server_session.endpoint,
        username=lakefs_server_session.access_key_id,
        password=lakefs_server_session.secret_access_key,
    )


@pytest.fixture
def new_repo_name(lakefs_server: LakeFSDouble) -> Callable[[], str]:
    """Fresh repository names (the session's double keeps every repository); using it also
    gives the test ``lakefs_server``'s per-test fault reset and failure check."""
    return lambda: f"test-repo-{next(_numbers):04d}"


@pytest.fixture
def repo(client: Any, new_repo_name: Callable[[], str]) -> Any:
    """A new repository with a ``main`` branch, on the double, through the SDK."""
    name = new_repo_name()
    return lakefs.Repository(name, client=client).create(storage_namespace=f"local://ns/{name}")
