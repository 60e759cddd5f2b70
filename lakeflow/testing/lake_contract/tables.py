"""The Lake contract, part three: datasets read as tables, and local files for readers.

Effect (tests). A lake path holding a Delta table scans as the table's live rows (never the
files a later version removed); a folder of parquet parts of different schemas scans with its
columns unified; ``local_files`` hands readers verified files with the objects' content.
"""

# ruff: noqa: S101 - a test suite: assertions are its purpose (shipped for adapters' tests)
from __future__ import annotations

from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from lakeflow.ports import Lake
from lakeflow.testing.lake_contract.assertions import expect_failure, expect_success, parquet_bytes
from lakeflow.testing.lake_contract.base import ContractBase

__all__ = ["TableContract"]


def _put_folder(lake: Lake, folder: Path, prefix: str) -> None:
    for file in sorted(folder.rglob("*")):
        if file.is_file():
            name = f"{prefix}/{file.relative_to(folder).as_posix()}"
            expect_success(lake.put_bytes(name, file.read_bytes(), branch="main"))


class TableContract(ContractBase):
    """What every Lake's readers do with datasets: Delta tables and evolving parquet folders."""

    def test_local_files_hold_the_objects_content(self, lake: Lake) -> None:
        """local_files returns, in order, files with each object's bytes; a missing path is
        not_found."""
        expect_success(lake.put_bytes("a/one.bin", b"first", branch="main"))
        expect_success(lake.put_bytes("b/two.bin", b"second", branch="main"))
        expect_success(lake.commit("main", "two objects"))
        files = expect_success(lake.local_files(["b/two.bin", "a/one.bin"], ref="main"))
        assert [f.read_bytes() for f in files] == [b"second", b"first"]
        assert expect_success(lake.local_files([], ref="main")) == ()
        expect_failure(lake.local_files(["a/none.bin"], ref="main"), "not_found")

    def test_scan_frame_unifies_parts_of_different_schemas(self, lake: Lake) -> None:
        """A column added (or an integer widened) between parts reads as one frame: older parts
        have nulls, types are the wider one."""
        old = pl.DataFrame({"id": [1]}, schema={"id": pl.Int32})
        new = pl.DataFrame({"id": [2], "nick": ["b"]}, schema={"id": pl.Int64, "nick": pl.String})
        expect_success(lake.put_bytes("ds/part-1.parquet", parquet_bytes(old), branch="main"))
        expect_success(lake.put_bytes("ds/part-2.parquet", parquet_bytes(new), branch="main"))
        frame = expect_success(lake.scan_frame("ds", ref="main")).collect()
        expected = pl.DataFrame({"id": [1, 2], "nick": [None, "b"]})
        assert_frame_equal(frame, expected)

    def test_scan_frame_reads_a_delta_tables_live_rows_only(
        self, lake: Lake, tmp_path: Path
    ) -> None:
        """A Delta table scans as its newest version: a replaced file, though still in the lake,
        is never read; an older commit scans as the table was then."""
        table = tmp_path / "table"
        pl.DataFrame({"id": [1, 2], "v": ["a", "b"]}).write_delta(table)
        _put_folder(lake, table, "tables/t")
        first = expect_success(lake.commit("main", "version 0")).id
        update = pl.DataFrame({"id": [2], "v": ["B"]})
        options = {"predicate": "s.id = t.id", "source_alias": "s", "target_alias": "t"}
        merger = update.write_delta(table, mode="merge", delta_merge_options=options)
        assert merger is not None
        merger.when_matched_update_all().execute()
        _put_folder(lake, table, "tables/t")
        expect_success(lake.commit("main", "version 1"))
        parts = [o.path for o in expect_success(lake.list_objects("tables/t/", ref="main"))]
        assert sum(p.endswith(".parquet") for p in parts) == 2, "the replaced file stays"
        now = expect_success(lake.scan_frame("tables/t", ref="main")).collect().sort("id")
        assert now.rows() == [(1, "a"), (2, "B")]
        then = expect_success(lake.scan_frame("tables/t/", ref=first)).collect().sort("id")
        assert then.rows() == [(1, "a"), (2, "b")]
