"""The Lake contract, run against every adapter: adding an adapter is adding one param."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from lakeflow.adapters.local import LocalLake
from lakeflow.testing.lake_contract import LakeContract, LakeFactory


def _local(root: Path) -> LakeFactory:
    numbers = itertools.count()
    # durable=False skips fsync: the contract is about semantics, and kill -9 safety (which
    # needs no fsync) is tested with the default, durable setting in tests/adapters.
    return lambda: LocalLake(root / "lake", f"repo-{next(numbers):05d}", durable=False)


ADAPTERS: list[object] = [pytest.param(_local, id="local")]


@pytest.fixture(params=ADAPTERS)
def lake_factory(request: pytest.FixtureRequest, tmp_path: Path) -> LakeFactory:
    """A factory of handles on new, not yet created repositories of each adapter."""
    make: Callable[[Path], LakeFactory] = request.param
    return make(tmp_path)


class TestLakeContract(LakeContract):
    """The shared Lake contract (see lakeflow.testing.lake_contract)."""
