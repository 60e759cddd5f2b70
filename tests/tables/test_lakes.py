"""The table part of the Lake contract on both lakes (tests/contract runs the whole contract
on LocalLake; this runs its table tests on LakeFSLake over the lakeFS double too)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from lakeflow.adapters.lakefs import LakeFSLake
from lakeflow.adapters.local import LocalLake
from lakeflow.core.secrets import Secret
from lakeflow.ports import Lake
from lakeflow.testing.lake_contract import LakeFactory, TableContract
from lakeflow.testing.lakefs import LakeFSDouble

_numbers = itertools.count(1)


@pytest.fixture(params=["local", "lakefs"])
def lake_factory(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LakeFactory]:
    """New, not yet created repositories on each lake."""
    made: list[LakeFSLake] = []
    if request.param == "local":
        root = tmp_path_factory.mktemp("contract")
        yield lambda: LocalLake(root, f"repo-{next(_numbers):05d}", durable=False)
        return
    server: LakeFSDouble = request.getfixturevalue("lakefs_server")

    def lakefs() -> Lake:
        name = f"table-contract-{next(_numbers):04d}"
        lake = LakeFSLake(
            server.endpoint,
            name,
            access_key_id=Secret(server.access_key_id),
            secret_access_key=Secret(server.secret_access_key),
            storage_namespace=f"local://lakeflow-contract/{name}",
        )
        made.append(lake)
        return lake

    yield lakefs
    for lake in made:
        lake.close()


class TestTableContract(TableContract):
    """The table tests of the Lake contract, on LocalLake and LakeFSLake."""


def _downloads_of_a_merge(server: LakeFSDouble, keys: list[int]) -> int:
    """Object downloads of one merge run into a 3-file table (ids 1-30), on a fresh handle."""
    from lakeflow.run import run
    from tests.tables.helpers import events, merge_pipeline

    name = f"downloads-{next(_numbers):04d}"

    def handle() -> LakeFSLake:
        return LakeFSLake(
            server.endpoint,
            name,
            access_key_id=Secret(server.access_key_id),
            secret_access_key=Secret(server.secret_access_key),
            storage_namespace=f"local://lakeflow-contract/{name}",
        )

    setup = handle()
    setup.create_repository()
    log = [(i, i, 1, False) for i in range(1, 31)]
    for upto in (10, 20, 30):
        assert run(merge_pipeline(events(log[:upto])), setup).unwrap().table is not None
    setup.close()
    changes = log + [(31 + n, key, 9, False) for n, key in enumerate(keys)]
    fresh = handle()
    server.clear_requests()
    assert run(merge_pipeline(events(changes)), fresh).unwrap().rows.valid == len(keys)
    fresh.close()
    return sum(r.method == "GET" and r.path.endswith("/objects") for r in server.requests)


def test_a_merge_on_lakefs_downloads_only_the_files_it_may_touch(
    lakefs_server: LakeFSDouble,
) -> None:
    """Updating keys of one file downloads two data files fewer than updating keys of all
    three: the log and the files whose key range overlaps are all a merge fetches."""
    one_file = _downloads_of_a_merge(lakefs_server, [12, 15])
    all_files = _downloads_of_a_merge(lakefs_server, [5, 25])
    assert all_files - one_file == 2
