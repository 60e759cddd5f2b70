"""Fixtures for LakeFSLake's tests: lakes on the lakeFS server double, and on a real lakeFS.

One double serves the whole session (the ``lakefs_server`` fixture from
``lakeflow.testing.lakefs``); every lake gets a repository name and storage namespace of its
own, so tests never see each other's data.

``lakefs_factory`` and ``lake`` are Lake-like and parametrized: ``double`` always, ``real`` when
``LAKEFS_TEST_ENDPOINT`` names a lakeFS server (with ``LAKEFS_TEST_ACCESS_KEY_ID`` and
``LAKEFS_TEST_SECRET_ACCESS_KEY``; new repositories go under ``LAKEFS_TEST_STORAGE_NAMESPACE``,
default ``local://lakeflow-tests``), skipped with that reason otherwise. Tests that inject
faults or count requests use ``double_factory``/``double_lake``: only the double can.
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lakeflow.adapters.lake_helpers import unwrap_io
from lakeflow.adapters.lakefs import LakeFSLake
from lakeflow.core.secrets import Secret
from lakeflow.testing.lakefs import REAL_LAKEFS_SKIP_REASON, LakeFSDouble, real_lakefs

_numbers = itertools.count(1)
_SESSION = secrets.token_hex(3)  # repository names stay unique across sessions on one server

LakeFactory = Callable[..., LakeFSLake]


def new_repository_name() -> str:
    """A repository id no other test uses."""
    return f"lf-{_SESSION}-{next(_numbers):05d}"


def _factory(
    endpoint: str, key: str, secret: str, namespace: str, made: list[LakeFSLake]
) -> LakeFactory:
    def make(**options: Any) -> LakeFSLake:
        name = options.pop("repository", None) or new_repository_name()
        settings: dict[str, Any] = {
            "access_key_id": Secret(key),
            "secret_access_key": Secret(secret),
            "storage_namespace": f"{namespace.rstrip('/')}/{name}",
            **options,
        }
        lake = LakeFSLake(endpoint, name, **settings)
        made.append(lake)
        return lake

    return make


@pytest.fixture
def double_factory(lakefs_server: LakeFSDouble) -> Iterator[LakeFactory]:
    """Make LakeFSLakes on new, not yet created repositories of the double (options go to the
    constructor); every lake made is closed after the test."""
    made: list[LakeFSLake] = []
    yield _factory(
        lakefs_server.endpoint,
        lakefs_server.access_key_id,
        lakefs_server.secret_access_key,
        "local://lakeflow-tests",
        made,
    )
    for lake in made:
        lake.close()


@pytest.fixture(params=["double", "real"])
def lakefs_factory(request: pytest.FixtureRequest) -> Iterator[LakeFactory]:
    """Like ``double_factory``, once on the double and once on a real lakeFS (when configured)."""
    if request.param == "double":
        yield request.getfixturevalue("double_factory")
        return
    server = real_lakefs(os.environ)
    if server is None:
        pytest.skip(REAL_LAKEFS_SKIP_REASON)
    made: list[LakeFSLake] = []
    yield _factory(
        server.endpoint,
        server.access_key_id.reveal(),
        server.secret_access_key.reveal(),
        server.namespace_root,
        made,
    )
    for lake in made:
        lake.close()


def _created(factory: LakeFactory) -> LakeFSLake:
    lake = factory()
    unwrap_io(lake.create_repository()).unwrap()
    return lake


@pytest.fixture
def lake(lakefs_factory: LakeFactory) -> LakeFSLake:
    """A lake whose repository exists, with default branch ``main`` (double and real)."""
    return _created(lakefs_factory)


@pytest.fixture
def double_lake(double_factory: LakeFactory) -> LakeFSLake:
    """A lake on the double whose repository exists, with default branch ``main``."""
    return _created(double_factory)
