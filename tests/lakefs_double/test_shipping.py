"""How users get the double: the pytest plugin's entry point and the context manager."""

from __future__ import annotations

import secrets
import urllib.error
import urllib.request
from importlib.metadata import entry_points

import lakefs
import pytest

from lakeflow.testing.lakefs import LakeFSDouble, running_lakefs


def test_pytest_plugin_is_registered_by_entry_point() -> None:
    """Installing lakeflow registers the ``lakefs_server`` fixture's plugin with pytest."""
    plugins = {e.name: e.value for e in entry_points(group="pytest11")}
    assert plugins.get("lakeflow-lakefs") == "lakeflow.testing.lakefs.plugin"


def test_fixture_serves_lakefs(lakefs_server: LakeFSDouble) -> None:
    """The fixture is a running double with an endpoint and credentials the SDK accepts, and
    its repr never shows the secret."""
    client = lakefs.Client(  # type: ignore[no-untyped-call]  # the SDK has no annotations here
        host=lakefs_server.endpoint,
        username=lakefs_server.access_key_id,
        password=lakefs_server.secret_access_key,
    )
    assert client.version
    assert lakefs_server.secret_access_key not in repr(lakefs_server)


def test_context_manager_without_pytest() -> None:
    """``running_lakefs`` serves with the credentials it was given until the block ends, then
    refuses connections and removes its temporary data folder."""
    key, secret = "AKIA" + secrets.token_hex(8).upper(), secrets.token_urlsafe(16)
    with running_lakefs(access_key_id=key, secret_access_key=secret) as server:
        client = lakefs.Client(  # type: ignore[no-untyped-call]
            host=server.endpoint, username=key, password=secret
        )
        repo = lakefs.Repository("outside-pytest", client=client).create(
            storage_namespace="local://outside-pytest"
        )
        repo.branch("main").object("hello").upload(b"hi")
        assert server.data_dir.is_dir()
    assert not server.data_dir.exists()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(server.endpoint + "/api/v1/healthcheck", timeout=5)  # noqa: S310
