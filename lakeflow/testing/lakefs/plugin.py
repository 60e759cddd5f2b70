"""pytest plugin: the ``lakefs_server`` fixture, a lakeFS server double for the test session.

Registered through the ``pytest11`` entry point of the ``lakeflow`` distribution, so it is
active wherever lakeflow and pytest are installed (``pip install 'lakeflow[testing]'``); no
``conftest.py`` line is needed. Importing this module is cheap: the server is imported only
when a test asks for the fixture.

``lakefs_server`` is one server per session (started on first use), handed to each test with
no faults planned and checked after it: a failure inside the double fails that test.
Repositories persist across tests, so give each test its own repository name.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from lakeflow.testing.lakefs.server import LakeFSDouble

__all__ = ["lakefs_server", "lakefs_server_session"]


@pytest.fixture(scope="session")
def lakefs_server_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LakeFSDouble]:
    """The session's lakeFS double (prefer ``lakefs_server``, which resets faults per test)."""
    from lakeflow.testing.lakefs.server import running_lakefs

    with running_lakefs(tmp_path_factory.mktemp("lakefs-double")) as server:
        yield server


@pytest.fixture
def lakefs_server(lakefs_server_session: LakeFSDouble) -> Iterator[LakeFSDouble]:
    """A running lakeFS double: ``endpoint``, ``access_key_id``, ``secret_access_key`` and
    ``faults``. Faults are cleared before and after the test; internal failures of the double
    fail the test."""
    lakefs_server_session.faults.clear()
    yield lakefs_server_session
    lakefs_server_session.faults.clear()
    lakefs_server_session.check()
