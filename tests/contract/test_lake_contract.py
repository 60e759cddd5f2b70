"""The Lake contract, run against every adapter: adding an adapter is adding one param.

``local`` (the embedded lake) and ``lakefs-double`` (LakeFSLake over the lakeFS server double)
always run; ``lakefs-real`` runs when ``LAKEFS_TEST_ENDPOINT`` names a lakeFS server (with
``LAKEFS_TEST_ACCESS_KEY_ID`` and ``LAKEFS_TEST_SECRET_ACCESS_KEY``) and is skipped, saying so,
otherwise. Every lake is a new repository with a storage namespace of its own (lakeFS never
reuses one), and the lakectl variables are set so the multi-process tests' children re-open
the lake from its URL.
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Callable
from pathlib import Path

import pytest

from lakeflow.adapters.lakefs import ACCESS_KEY_ENV, SECRET_KEY_ENV, LakeFSLake
from lakeflow.adapters.local import LocalLake
from lakeflow.core.secrets import Secret
from lakeflow.testing.lake_contract import LakeContract, LakeFactory
from lakeflow.testing.lakefs import (
    REAL_LAKEFS_SKIP_REASON,
    LakeFSDouble,
    RealLakeFS,
    real_lakefs,
)

_SESSION = secrets.token_hex(3)  # repository names stay unique across sessions on one server
_numbers = itertools.count()


def _name() -> str:
    return f"contract-{_SESSION}-{next(_numbers):05d}"


def _local(request: pytest.FixtureRequest, root: Path) -> LakeFactory:
    del request
    # durable=False skips fsync: the contract is about semantics, and kill -9 safety (which
    # needs no fsync) is tested with the default, durable setting in tests/adapters.
    return lambda: LocalLake(root / "lake", _name(), durable=False)


def _on(server: RealLakeFS, request: pytest.FixtureRequest) -> LakeFactory:
    """New LakeFSLakes on ``server`` (closed after the test); children find the keys in the
    lakectl variables, as a user's workers would."""
    patch = request.getfixturevalue("monkeypatch")
    patch.setenv(ACCESS_KEY_ENV, server.access_key_id.reveal())
    patch.setenv(SECRET_KEY_ENV, server.secret_access_key.reveal())
    made: list[LakeFSLake] = []

    def make() -> LakeFSLake:
        lake = server.lake(_name())
        made.append(lake)
        return lake

    def close_all() -> None:
        for lake in made:
            lake.close()

    request.addfinalizer(close_all)
    return make


def _lakefs_double(request: pytest.FixtureRequest, root: Path) -> LakeFactory:
    del root
    double: LakeFSDouble = request.getfixturevalue("lakefs_server")
    server = RealLakeFS(
        double.endpoint,
        Secret(double.access_key_id),
        Secret(double.secret_access_key),
        "local://lakeflow-contract",
    )
    return _on(server, request)


def _lakefs_real(request: pytest.FixtureRequest, root: Path) -> LakeFactory:
    del root
    server = real_lakefs(os.environ)
    if server is None:
        pytest.skip(REAL_LAKEFS_SKIP_REASON)
    return _on(server, request)


ADAPTERS: list[object] = [
    pytest.param(_local, id="local"),
    pytest.param(_lakefs_double, id="lakefs-double"),
    pytest.param(_lakefs_real, id="lakefs-real"),
]


@pytest.fixture(params=ADAPTERS)
def lake_factory(request: pytest.FixtureRequest, tmp_path: Path) -> LakeFactory:
    """A factory of handles on new, not yet created repositories of each adapter."""
    make: Callable[[pytest.FixtureRequest, Path], LakeFactory] = request.param
    return make(request, tmp_path)


class TestLakeContract(LakeContract):
    """The shared Lake contract (see lakeflow.testing.lake_contract)."""
