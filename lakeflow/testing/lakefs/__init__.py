"""A lakeFS server double for tests: lakeFS' REST API over real HTTP, backed by the embedded lake.

Shipped for users: test a pipeline that talks to lakeFS offline, through the real ``lakefs``
SDK, without a lakeFS server. The double implements the part of lakeFS' API (prefix
``/api/v1``) that the high-level ``lakefs`` SDK calls -- configuration, repositories, branches
(with reset and protection rules), objects (chunked uploads, range reads, stat, listing,
delete), commits, log, diff, merge, revert and tags -- with lakeFS' semantics: HTTP Basic auth
and its ``401`` body, ``{"message": ...}`` errors, four-field pagination, ``201`` with a plain
commit id on branch creation, three-way merges that never fast-forward and answer a conflict
with ``409 {"reference": ""}``, protected branches that refuse direct writes and commits but
accept merges. Fault injection (error bursts, dropped uploads, slow responses) lets a test
check its retries.

With pytest, after ``pip install 'lakeflow[testing]'``, the ``lakefs_server`` fixture is
available in every test (the ``pytest11`` entry point registers
:mod:`lakeflow.testing.lakefs.plugin`)::

    import lakefs

    def test_my_pipeline_publishes(lakefs_server):
        client = lakefs.Client(
            host=lakefs_server.endpoint,
            username=lakefs_server.access_key_id,
            password=lakefs_server.secret_access_key,
        )
        repo = lakefs.Repository("my-pipeline-test", client=client)
        repo.create(storage_namespace="local://my-pipeline-test")
        lakefs_server.faults.burst(503, count=2, method="POST")  # the next two POSTs fail
        ...

Without pytest, use the context manager::

    from lakeflow.testing.lakefs import running_lakefs

    with running_lakefs() as server:
        print(server.endpoint, server.access_key_id)

To run the same tests against a real lakeFS when one is named by ``LAKEFS_TEST_ENDPOINT``
(and ``LAKEFS_TEST_ACCESS_KEY_ID``, ``LAKEFS_TEST_SECRET_ACCESS_KEY``), see
:func:`~lakeflow.testing.lakefs.real.real_lakefs`.

Or point lakectl-configured code at it with ``LAKECTL_SERVER_ENDPOINT_URL``,
``LAKECTL_CREDENTIALS_ACCESS_KEY_ID`` and ``LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY``.
"""

from lakeflow.testing.lakefs.faults import FaultRecord, Faults
from lakeflow.testing.lakefs.real import (
    REAL_ACCESS_KEY_ENV,
    REAL_ENDPOINT_ENV,
    REAL_LAKEFS_SKIP_REASON,
    REAL_NAMESPACE_ENV,
    REAL_SECRET_KEY_ENV,
    RealLakeFS,
    real_lakefs,
)
from lakeflow.testing.lakefs.server import (
    DEFAULT_NAMESPACE_PATTERN,
    LakeFSDouble,
    RequestRecord,
    running_lakefs,
)

__all__ = [
    "DEFAULT_NAMESPACE_PATTERN",
    "REAL_ACCESS_KEY_ENV",
    "REAL_ENDPOINT_ENV",
    "REAL_LAKEFS_SKIP_REASON",
    "REAL_NAMESPACE_ENV",
    "REAL_SECRET_KEY_ENV",
    "FaultRecord",
    "Faults",
    "LakeFSDouble",
    "RealLakeFS",
    "RequestRecord",
    "real_lakefs",
    "running_lakefs",
]
