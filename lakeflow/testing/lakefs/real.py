"""A real lakeFS for opt-in tests: where it is and how to log in, from ``LAKEFS_TEST_*``.

Pure: :func:`real_lakefs` reads only the mapping it is given. lakeflow's own lake tests (the
Lake contract, the adapter's round trips) run against the server double always and against a
real lakeFS when ``LAKEFS_TEST_ENDPOINT`` names one; your tests can do the same::

    import os, pytest
    from lakeflow.testing.lakefs import REAL_LAKEFS_SKIP_REASON, real_lakefs

    def test_on_a_real_lakefs():
        server = real_lakefs(os.environ)
        if server is None:
            pytest.skip(REAL_LAKEFS_SKIP_REASON)
        lake = server.lake("my-test-repo-0001")
        ...

>>> real_lakefs({}) is None
True
>>> real_lakefs({"LAKEFS_TEST_ENDPOINT": "http://127.0.0.1:8000"}).namespace("repo-1")
'local://lakeflow-tests/repo-1'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from lakeflow.core.secrets import Secret

if TYPE_CHECKING:
    from lakeflow.adapters.lakefs import LakeFSLake

__all__ = [
    "REAL_ACCESS_KEY_ENV",
    "REAL_ENDPOINT_ENV",
    "REAL_LAKEFS_SKIP_REASON",
    "REAL_NAMESPACE_ENV",
    "REAL_SECRET_KEY_ENV",
    "RealLakeFS",
    "real_lakefs",
]

REAL_ENDPOINT_ENV: Final = "LAKEFS_TEST_ENDPOINT"
REAL_ACCESS_KEY_ENV: Final = "LAKEFS_TEST_ACCESS_KEY_ID"
REAL_SECRET_KEY_ENV: Final = "LAKEFS_TEST_SECRET_ACCESS_KEY"  # noqa: S105 - a name
REAL_NAMESPACE_ENV: Final = "LAKEFS_TEST_STORAGE_NAMESPACE"
REAL_LAKEFS_SKIP_REASON: Final = (
    f"no real lakeFS: set {REAL_ENDPOINT_ENV}, {REAL_ACCESS_KEY_ENV} and {REAL_SECRET_KEY_ENV}"
)
_DEFAULT_NAMESPACE: Final = "local://lakeflow-tests"


@dataclass(frozen=True, slots=True)
class RealLakeFS:
    """A lakeFS server named by ``LAKEFS_TEST_*`` (the keys are :class:`Secret` values)."""

    endpoint: str
    access_key_id: Secret = field(repr=False)
    secret_access_key: Secret = field(repr=False)
    namespace_root: str = _DEFAULT_NAMESPACE

    def namespace(self, repository: str) -> str:
        """Pure. A storage namespace of its own for ``repository`` (lakeFS never reuses one)."""
        return f"{self.namespace_root.rstrip('/')}/{repository}"

    def lake(self, repository: str) -> LakeFSLake:
        """Effect (builds a client). A :class:`LakeFSLake` on ``repository`` of this server."""
        from lakeflow.adapters.lakefs import LakeFSLake

        return LakeFSLake(
            self.endpoint,
            repository,
            access_key_id=self.access_key_id,
            secret_access_key=self.secret_access_key,
            storage_namespace=self.namespace(repository),
        )


def real_lakefs(environ: Mapping[str, str]) -> RealLakeFS | None:
    """Pure. The real lakeFS ``environ`` names, or ``None`` without ``LAKEFS_TEST_ENDPOINT``.

    New repositories go under ``LAKEFS_TEST_STORAGE_NAMESPACE`` (default
    ``local://lakeflow-tests``, which a quickstart lakeFS accepts).
    """
    endpoint = environ.get(REAL_ENDPOINT_ENV, "")
    if not endpoint:
        return None
    return RealLakeFS(
        endpoint,
        Secret(environ.get(REAL_ACCESS_KEY_ENV, "")),
        Secret(environ.get(REAL_SECRET_KEY_ENV, "")),
        environ.get(REAL_NAMESPACE_ENV, "") or _DEFAULT_NAMESPACE,
    )
