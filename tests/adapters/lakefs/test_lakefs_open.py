"""Opening a lakeFS lake: URLs, the lakectl environment, open_lake, and the health check."""

from __future__ import annotations

import pytest

from lakeflow.adapters.lakefs import LakeFSLake, open_lakefs
from lakeflow.adapters.lakefs.connect import lakefs_settings
from lakeflow.core.errors import LakeflowError
from lakeflow.core.secrets import Secret
from lakeflow.lakes import open_lake
from lakeflow.testing.lakefs import LakeFSDouble
from tests.adapters.lakefs.conftest import LakeFactory, new_repository_name
from tests.adapters.lakefs.helpers import err, ok

KEYS = {
    "LAKECTL_CREDENTIALS_ACCESS_KEY_ID": "AKIA-from-env",
    "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY": "secret-from-env",
}


@pytest.fixture
def lake(double_lake: LakeFSLake) -> LakeFSLake:
    """These tests inject faults into (or read the request log of) the double: only there."""
    return double_lake


@pytest.mark.parametrize(
    ("url", "env_endpoint", "expected"),
    [
        ("lakefs://", "http://lakefs.internal:8000/api/v1", "http://lakefs.internal:8000"),
        ("lakefs://", "lakefs.internal:8000", "http://lakefs.internal:8000"),
        ("lakefs://127.0.0.1:8000", "http://ignored:1", "http://127.0.0.1:8000"),
        ("lakefs+https://lakefs.example.com/", None, "https://lakefs.example.com"),
        ("LAKEFS+HTTP://[::1]:8000", None, "http://[::1]:8000"),
    ],
)
def test_the_endpoint_comes_from_the_url_then_the_environment(
    url: str, env_endpoint: str | None, expected: str
) -> None:
    """lakefs://HOST:PORT names the endpoint; plain lakefs:// takes lakectl's variable."""
    environ = dict(KEYS)
    if env_endpoint is not None:
        environ["LAKECTL_SERVER_ENDPOINT_URL"] = env_endpoint
    settings = lakefs_settings(url, environ=environ)
    assert settings.endpoint == expected
    assert settings.access_key_id.reveal() == "AKIA-from-env"
    assert settings.secret_access_key.reveal() == "secret-from-env"


def test_arguments_win_over_the_environment() -> None:
    """An explicit endpoint and keys override the URL and the lakectl variables."""
    settings = lakefs_settings(
        "lakefs://from-url:1",
        endpoint="https://explicit",
        access_key_id=Secret("k"),
        secret_access_key=Secret("s"),
        environ=KEYS,
    )
    assert (settings.endpoint, settings.access_key_id.reveal()) == ("https://explicit", "k")


@pytest.mark.parametrize(
    ("url", "environ", "says"),
    [
        ("lakefs://", KEYS, "LAKECTL_SERVER_ENDPOINT_URL"),
        ("lakefs://h:1", {}, "LAKECTL_CREDENTIALS_ACCESS_KEY_ID"),
        ("lakefs://h:1", {"LAKECTL_CREDENTIALS_ACCESS_KEY_ID": "k"}, "SECRET_ACCESS_KEY"),
        ("lakefs://key:hunter2-pw@h:1", KEYS, "holds credentials"),
        ("lakefs://h:notaport", KEYS, "invalid lakeFS endpoint"),
        ("lakefs://h:1?x=1", KEYS, "no query"),
        ("s3://bucket", KEYS, "not a lakeFS lake URL"),
    ],
)
def test_a_missing_or_bad_setting_is_named_without_secrets(
    url: str, environ: dict[str, str], says: str
) -> None:
    """Each missing or invalid setting is reported by name; a password in the URL is hidden."""
    with pytest.raises(LakeflowError, match=says) as raised:
        lakefs_settings(url, environ=environ)
    assert "hunter2-pw" not in str(raised.value)


def test_keys_must_be_secrets() -> None:
    """A key passed as a plain string is refused (it would end up in reprs and logs)."""
    plain: object = "plain-secret"
    with pytest.raises(LakeflowError, match="Secret") as raised:
        lakefs_settings("lakefs://h:1", secret_access_key=plain, environ=KEYS)  # type: ignore[arg-type]
    assert "plain-secret" not in str(raised.value)


def test_a_lake_refuses_bad_repository_ids_and_namespaces() -> None:
    """Invalid repository ids and storage namespaces fail when the lake is opened."""
    key, secret = Secret("k"), Secret("s")
    with pytest.raises(LakeflowError, match="repository id"):
        LakeFSLake("http://h:1", "No_Such", access_key_id=key, secret_access_key=secret)
    with pytest.raises(LakeflowError, match="storage namespace"):
        LakeFSLake(
            "http://h:1",
            "repo",
            access_key_id=key,
            secret_access_key=secret,
            storage_namespace="bucket/path",
        )


def test_open_lake_opens_a_lakefs_url_from_the_lakectl_environment(
    lakefs_server: LakeFSDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    """open_lake('lakefs://', ...) with LAKECTL_* set gives a working, secret-free lake."""
    monkeypatch.setenv("LAKECTL_SERVER_ENDPOINT_URL", lakefs_server.endpoint)
    monkeypatch.setenv("LAKECTL_CREDENTIALS_ACCESS_KEY_ID", lakefs_server.access_key_id)
    monkeypatch.setenv("LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY", lakefs_server.secret_access_key)
    name = new_repository_name()
    handle = open_lake("lakefs://", repository=name, storage_namespace=f"local://open/{name}")
    lake = handle.lake
    assert isinstance(lake, LakeFSLake)
    assert lake.url == f"lakefs://127.0.0.1:{lakefs_server.port}"
    ok(lake.create_repository())
    ok(lake.put_bytes("a", b"x", branch="main"))
    reopened = open_lake(lake.url, repository=name).lake  # the URL finds the server again
    assert isinstance(reopened, LakeFSLake)
    assert ok(reopened.get_bytes("a", ref="main")) == b"x"
    assert lakefs_server.secret_access_key not in repr(lake) + lake.url
    lake.close()
    reopened.close()


def test_open_lakefs_without_keys_says_which_variables_to_set() -> None:
    """With no keys anywhere, opening fails before any request, naming lakectl's variables."""
    with pytest.raises(LakeflowError, match="LAKECTL_CREDENTIALS_ACCESS_KEY_ID"):
        open_lakefs("lakefs://127.0.0.1:9", repository="some-repo", environ={})


def test_health_passes_on_a_good_lake(lake: LakeFSLake) -> None:
    """Endpoint, credentials and repository each pass and say what they found."""
    checks = dict(lake.health())
    assert list(checks) == ["endpoint", "credentials", "repository"]
    assert "lakeFS" in ok(checks["credentials"])
    assert lake.repository in ok(checks["repository"])


def test_health_names_the_part_that_failed(
    lake: LakeFSLake, double_factory: LakeFactory, lakefs_server: LakeFSDouble
) -> None:
    """Bad credentials fail 'credentials'; a missing repository fails 'repository' only."""
    wrong = dict(double_factory(secret_access_key=Secret("nope")).health())
    ok(wrong["endpoint"])
    err(wrong["credentials"], "auth")
    assert "not checked" in err(wrong["repository"], "unavailable").reason
    missing = dict(double_factory().health())
    ok(missing["credentials"])
    assert "lakeflow init" in err(missing["repository"], "not_found").reason
    down = LakeFSLake(
        "http://127.0.0.1:9", "gone", access_key_id=Secret("k"), secret_access_key=Secret("s")
    )
    parts = dict(down.health())
    err(parts["endpoint"], "unavailable", retryable=True)
    assert "not checked" in err(parts["credentials"], "unavailable").reason
