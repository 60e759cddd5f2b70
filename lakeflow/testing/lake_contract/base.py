"""What every test class of the Lake contract shares: its settings and the ``lake`` fixture.

Effect (tests).
"""

from __future__ import annotations

from typing import ClassVar

import pytest

from lakeflow.ports import Lake
from lakeflow.testing.lake_contract.assertions import LakeFactory, expect_success

__all__ = ["ContractBase"]


class ContractBase:
    """Settings and fixtures of the contract; test classes provide a ``lake_factory`` fixture."""

    multiprocess: ClassVar[bool] = True
    """Run the multi-process tests (children re-open the lake with ``open_lake``)."""

    state_machine_steps: ClassVar[int] = 40
    """Steps per state-machine example (examples come from the hypothesis profile)."""

    @pytest.fixture
    def lake(self, lake_factory: LakeFactory) -> Lake:
        """A lake whose repository exists, with default branch ``main``."""
        lake = lake_factory()
        expect_success(lake.create_repository())
        return lake

    def _require_multiprocess(self) -> None:
        if not self.multiprocess:
            pytest.skip("this lake cannot be re-opened from a URL in a child process")
