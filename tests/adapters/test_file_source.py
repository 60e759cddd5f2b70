"""FileSource and LakeSource on real files and a real embedded lake."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from polars.testing import assert_frame_equal
from polars.testing.parametric import column, dataframes

from lakeflow.adapters.file_source import FileSource, LakeSource
from lakeflow.core.incremental import IncrementalSpec, Watermark
from lakeflow.lakes import LakeHandle
from lakeflow.ports import ExtractContext, Source
from tests.adapters.sql_helpers import err, ok, publish

if TYPE_CHECKING:
    from lakeflow.adapters.local import LocalLake

FRAME = pl.DataFrame(
    {
        "id": [1, 2, 3, 4],
        "name": ["ann", "bob", None, "dee"],
        "updated": [datetime(2024, 1, d) for d in (1, 2, 2, 3)],
    }
)


def _write(frame: pl.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        frame.write_csv(path)
    elif path.suffix == ".ndjson":
        frame.write_ndjson(path)
    else:
        frame.write_parquet(path)
    return path


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".ndjson"])
def test_each_format_reads_back_the_rows(tmp_path: Path, suffix: str) -> None:
    """Parquet, CSV and NDJSON files read back the rows written, format from the extension."""
    path = _write(FRAME, tmp_path / f"users{suffix}")
    source = FileSource(path, try_parse_dates=True)
    assert isinstance(source, Source)
    assert source.format == {".parquet": "parquet", ".csv": "csv", ".ndjson": "ndjson"}[suffix]
    got = ok(source.read()).collect()
    if suffix == ".ndjson":  # NDJSON has no datetime type: times come back as text
        got = got.with_columns(pl.col("updated").str.to_datetime())
    assert_frame_equal(got, FRAME, check_dtypes=False)


def test_extract_is_lazy_and_reads_a_glob(
    tmp_path: Path, make_context: Callable[..., ExtractContext]
) -> None:
    """A glob covers every matching file; nothing is read until the plan is collected."""
    for i, part in enumerate(FRAME.iter_slices(2)):
        _write(part, tmp_path / f"part-{i}.parquet")
    _write(FRAME, tmp_path / "ignored.csv")
    frame = ok(FileSource(tmp_path / "part-*.parquet").extract(make_context()))
    assert isinstance(frame, pl.LazyFrame)
    assert_frame_equal(frame.collect().sort("id"), FRAME)


def test_a_parquet_folder_is_read_whole(tmp_path: Path) -> None:
    """A folder of parquet files reads as one dataset."""
    folder = tmp_path / "ds"
    folder.mkdir()
    for i, part in enumerate(FRAME.iter_slices(3)):
        _write(part, folder / f"p{i}.parquet")
    assert ok(FileSource(folder, format="parquet").read()).collect().height == 4


def test_csv_options_are_used(tmp_path: Path) -> None:
    """The separator and header options shape how CSV files are read."""
    path = tmp_path / "x.txt"
    path.write_text("1;a\n2;b\n")
    frame = ok(FileSource(path, format="csv", separator=";", has_header=False).read()).collect()
    assert frame.rows() == [(1, "a"), (2, "b")]
    described = FileSource(path, format="csv", separator=";").describe()
    assert described["kind"] == "csv" and described["separator"] == ";"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("missing.parquet", "file not found"),
        ("nothing-*.parquet", "no file matches"),
        ("**/deep-*.csv", "no file matches"),
    ],
)
def test_missing_paths_are_permanent_errors_naming_the_path(
    tmp_path: Path, name: str, expected: str
) -> None:
    """A missing file or a glob without matches fails permanently, naming the path."""
    for result in (FileSource(tmp_path / name).read(), FileSource(tmp_path / name).check()):
        failure = err(result)
        assert not failure.retryable
        assert expected in failure.message and name in failure.message


def test_bad_options_and_unreadable_files_are_errors(tmp_path: Path) -> None:
    """Unknown formats, a CSV folder and a corrupt parquet file fail as values, not exceptions."""
    assert FileSource(tmp_path / "x.xlsx").problems
    assert not err(FileSource(tmp_path / "x.xlsx").read()).retryable
    assert "folder" in err(FileSource(tmp_path, format="csv").read()).message
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet at all")
    failure = err(FileSource(broken).read())
    assert not failure.retryable and "broken.parquet" in failure.message


# -- incremental -----------------------------------------------------------------------------


def test_incremental_filter_keeps_ties_and_newer_rows(tmp_path: Path) -> None:
    """``column >= watermark`` is pushed down; the shell then drops already-published ties."""
    path = _write(FRAME, tmp_path / "u.parquet")
    spec = IncrementalSpec("updated", key=("id",))
    source = FileSource(path, incremental=spec)
    first, wm = publish(ok(source.read(None)), None, spec)
    assert first.height == 4 and wm is not None and wm.value == datetime(2024, 1, 3)
    tie = pl.DataFrame({"id": [5], "name": ["eve"], "updated": [datetime(2024, 1, 3)]})
    _write(pl.concat([FRAME, tie]), path)
    plan = ok(source.read(wm))
    assert "updated" in plan.explain() and ">=" in plan.explain()
    second, _ = publish(plan, wm, spec)
    assert second["id"].to_list() == [5]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    frame=dataframes(
        [
            column("id", dtype=pl.Int64, allow_null=False),
            column("ts", dtype=pl.Int64, allow_null=True),
        ],
        max_size=30,
    )
)
@example(frame=pl.DataFrame({"id": [], "ts": []}, schema={"id": pl.Int64, "ts": pl.Int64}))
@example(
    frame=pl.DataFrame({"id": [1, 2], "ts": [None, None]}, schema={"id": pl.Int64, "ts": pl.Int64})
)
def test_incremental_file_read_keeps_exactly_the_rows_at_or_after(
    tmp_path: Path, frame: pl.DataFrame
) -> None:
    """For any data and watermark from it, the read keeps exactly the rows with ts >= mark."""
    path = tmp_path / "f.parquet"
    frame.write_parquet(path, row_group_size=4, statistics=True)  # row groups can be skipped
    values = sorted(v for v in frame["ts"].to_list() if v is not None)
    mark = values[len(values) // 2] if values else 0
    got = ok(FileSource(path, incremental=IncrementalSpec("ts")).read(Watermark("ts", mark)))
    expected = [row for row in frame.rows() if row[1] is not None and row[1] >= mark]
    assert got.collect().rows() == expected


def test_incremental_errors_name_the_problem(tmp_path: Path) -> None:
    """A missing incremental column, or a watermark of the wrong type, is a permanent error."""
    path = _write(FRAME, tmp_path / "u.parquet")
    missing = err(FileSource(path, incremental=IncrementalSpec("nope")).read(None))
    assert "'nope'" in missing.message and "'updated'" in missing.message
    wrong = err(
        FileSource(path, incremental=IncrementalSpec("updated")).read(Watermark("updated", "x"))
    )
    assert not wrong.retryable and "'updated'" in wrong.message
    other = err(FileSource(path, incremental=IncrementalSpec("id")).read(Watermark("updated", 1)))
    assert "checkpoint" in other.message


def test_paths_with_passwords_are_redacted() -> None:
    """A password inside a remote path never shows in describe, repr or errors."""
    source = FileSource("s3://key:hunter2-secret@bucket/data/*.parquet")
    outputs = [repr(source), str(source.describe())]
    assert all("hunter2-secret" not in text for text in outputs)
    assert "***" in outputs[0]


# -- lake paths, read at the run's base commit ---------------------------------------------------


def _put(lake: LocalLake, path: str, frame: pl.DataFrame, message: str) -> str:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    ok(lake.put_bytes(path, buffer.getvalue(), branch="main"))
    return ok(lake.commit("main", message)).id


def test_lake_source_reads_at_the_base_commit_not_the_head(scratch_lake: LocalLake) -> None:
    """Rows committed after the run's base commit are not read by that run."""
    base = _put(scratch_lake, "validated/users/part-1.parquet", FRAME, "first")
    _put(scratch_lake, "validated/users/part-2.parquet", FRAME, "later")
    source = LakeSource("validated/users")
    at_base = ok(source.extract(ExtractContext(None, scratch_lake, base))).collect()
    at_head = ok(
        source.extract(ExtractContext(None, scratch_lake, LakeHandle(scratch_lake).head("main")))
    ).collect()
    assert at_base.height == 4 and at_head.height == 8
    assert source.describe() == {"kind": "lake", "path": "validated/users"}


def test_lake_source_incremental_and_missing_paths(scratch_lake: LocalLake) -> None:
    """A lake source filters by the watermark; a missing path names the base commit."""
    base = _put(scratch_lake, "ds/a.parquet", FRAME, "data")
    source = LakeSource("ds", incremental=IncrementalSpec("id"))
    kept = ok(source.extract(ExtractContext(Watermark("id", 3), scratch_lake, base))).collect()
    assert kept["id"].to_list() == [3, 4]
    failure = err(LakeSource("nowhere").extract(ExtractContext(None, scratch_lake, base)))
    assert not failure.retryable and base in failure.message and "nowhere" in failure.message
