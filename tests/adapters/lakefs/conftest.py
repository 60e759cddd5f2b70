"""Fixtures for LakeFSLake's tests: lakes on the session's lakeFS server double.

One double serves the whole session (the ``lakefs_server`` fixture from
``lakeflow.testing.lakefs``); every lake gets a repository name and storage namespace of its
own, so tests never see each other's data. ``lake`` is Lake-like on purpose: the contract-style
tests take it and nothing lakeFS-specific, so they can run against any Lake.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lakeflow.adapters.lake_helpers import unwrap_io
from lakeflow.adapters.lakefs import LakeFSLake
from lakeflow.core.secrets import Secret
from lakeflow.testing.lakefs import LakeFSDouble

_numbers = itertools.count(1)
_SESSION = secrets.token_hex(3)  # repository names stay unique if the double is reused

LakeFactory = Callable[..., LakeFSLake]


def new_repository_name() -> str:
    """A repository id no other test uses."""
    return f"lf-{_SESSION}-{next(_numbers):05d}"


@pytest.fixture
def lakefs_factory(lakefs_server: LakeFSDouble) -> Iterator[LakeFactory]:
    """Make LakeFSLakes on new, not yet created repositories (options go to the constructor);
    every lake made is closed after the test."""
    made: list[LakeFSLake] = []

    def make(**options: Any) -> LakeFSLake:
        name = options.pop("repository", None) or new_repository_name()
        settings: dict[str, Any] = {
            "access_key_id": Secret(lakefs_server.access_key_id),
            "secret_access_key": Secret(lakefs_server.secret_access_key),
            "storage_namespace": f"local://lakeflow-tests/{name}",
            **options,
        }
        lake = LakeFSLake(lakefs_server.endpoint, name, **settings)
        made.append(lake)
        return lake

    yield make
    for lake in made:
        lake.close()


@pytest.fixture
def lake(lakefs_factory: LakeFactory) -> LakeFSLake:
    """A lake whose repository exists, with default branch ``main``."""
    lake = lakefs_factory()
    unwrap_io(lake.create_repository()).unwrap()
    return lake
