"""Smoke tests of the benchmark harness: it runs end to end and its outputs are trustworthy.

No timing assertions here (timings belong in benchmarks/ results): these tests pin that the
harness runs every contender in real child processes, that the contenders agree, that the JSON
is well formed, that failures and disagreements are reported, and that the data is messy and
deterministic.
"""

from __future__ import annotations

import doctest
import json
from collections.abc import Mapping
from pathlib import Path

import polars as pl
import pytest

import benchmarks.harness
from benchmarks.datasets import EXACT_DUPLICATE_FRACTION, USERS_SCHEMA, same_rows, users_frame
from benchmarks.harness import (
    Contender,
    JSONValue,
    Options,
    PrepareContext,
    Suite,
    Target,
    Workload,
    run_suite,
)
from tests.bench_cli import run_benchmarks

PASSWORD = "hunter2-benchmark"


def test_transform_suite_runs_end_to_end_verifies_and_writes_valid_json(tmp_path: Path) -> None:
    """The CLI runs all transform contenders on 100k rows; they agree; the JSON is valid."""
    results = tmp_path / "results"
    proc = run_benchmarks(tmp_path, "transform", "100k")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    written = list(results.glob("transform-*.json"))
    assert len(written) == 1
    doc = json.loads(written[0].read_text())

    assert doc["schema"] == "lakeflow-bench/1"
    assert doc["suite"] == "transform" and doc["ok"] is True and doc["baseline"] == "pandas"
    assert doc["options"]["sizes"] == [100_000]
    assert {"cpu_count", "mem_total_mib", "load_avg"} <= set(doc["machine"])
    assert {"python", "polars", "pandas", "lakeflow"} <= set(doc["versions"])
    contenders = {"pandas", "polars", "lakeflow"}
    assert {r["contender"] for r in doc["runs"]} == contenders
    assert all(r["ok"] and isinstance(r["time_s"], float) for r in doc["runs"])
    assert all(r["peak_rss_mb"] > 0 for r in doc["runs"])
    assert doc["verification"] == [{"size": 100_000, "ok": True, "problems": []}]
    rows_out = {s["contender"]: s["facts"]["rows_out"] for s in doc["summaries"]}
    assert set(rows_out) == contenders
    assert len(set(rows_out.values())) == 1 and 0 < rows_out["pandas"] < 100_000
    baseline = next(s for s in doc["summaries"] if s["contender"] == "pandas")
    assert baseline["time_ratio"] == 1.0 and baseline["rss_ratio"] == 1.0
    assert {t["label"] for t in doc["targets"]} >= {"lakeflow >= 3.5x faster than pandas"}
    assert all(t["informational"] for t in doc["targets"])  # targets are set for 10M rows
    assert "transform @ 100,000 rows" in proc.stdout


# Contenders for the failure test. They run in child processes, which import this module by name.


def write_marker(work: Workload) -> None:
    """A contender that succeeds: writes one parquet file."""
    pl.DataFrame({"size": [work.size]}).write_parquet(work.out_dir / "out.parquet")


def write_wrong_marker(work: Workload) -> None:
    """A contender that succeeds but computes something else."""
    pl.DataFrame({"size": [work.size + 1]}).write_parquet(work.out_dir / "out.parquet")


def do_nothing(work: Workload) -> None:
    """A contender that allocates nothing."""


def fail_connecting(work: Workload) -> None:
    """A contender that fails the way a database contender would, quoting its URI."""
    raise RuntimeError(f"could not connect to {work.inputs['uri']}")


def _prepare(ctx: PrepareContext) -> dict[str, JSONValue]:
    return {"uri": f"postgresql://bench:{PASSWORD}@127.0.0.1:1/db", "rows": ctx.size}


def _rows(out_dir: Path) -> dict[str, JSONValue]:
    return {"rows_out": pl.read_parquet(out_dir / "out.parquet").height}


def test_a_failing_contender_is_recorded_as_failed_without_leaking_secrets(
    tmp_path: Path,
) -> None:
    """A contender that raises fails its runs and the suite; its error is kept, minus passwords."""
    suite = Suite(
        name="failure-smoke",
        description="one contender succeeds, one raises",
        prepare=_prepare,
        contenders=(
            Contender("ok", write_marker, "writes a file", imports=("polars",)),
            Contender("broken", fail_connecting, "raises"),
        ),
        baseline="ok",
        targets=(Target("broken", "time", 1.0),),
        output_facts=_rows,
    )
    options = Options(
        sizes=(7,),
        repeats=2,
        data_dir=tmp_path / "data",
        results_dir=tmp_path / "results",
        timeout_s=120,
    )

    report = run_suite(suite, options)

    assert not report.ok
    by_name = {s.contender: s for s in report.summaries}
    assert by_name["ok"].ok and by_name["ok"].facts == {"rows_out": 1}
    assert not by_name["broken"].ok and by_name["broken"].median_time_s is None
    broken_runs = [r for r in report.runs if r.contender == "broken"]
    assert len(broken_runs) == 2 and not any(r.ok for r in broken_runs)
    for run in broken_runs:
        assert run.error is not None and "could not connect" in run.error
        assert PASSWORD not in run.error and "bench:***@" in run.error
    assert [v.passed for v in report.verdicts] == [None]
    path = benchmarks.harness.write_report(report, benchmarks.harness.machine_info())
    text = path.read_text()
    assert PASSWORD not in text
    assert json.loads(text)["ok"] is False
    assert not (tmp_path / "data" / "_runs").exists(), "run scratch folders are removed"


def _same_markers(outputs: Mapping[str, Path]) -> list[str]:
    return same_rows({name: out / "out.parquet" for name, out in outputs.items()})


def test_contenders_that_disagree_fail_verification_and_the_run(tmp_path: Path) -> None:
    """Under --verify, a contender whose output differs makes the report fail, naming it."""
    suite = Suite(
        name="verify-smoke",
        description="two contenders, different answers",
        prepare=_prepare,
        contenders=(
            Contender("right", write_marker, "writes the size"),
            Contender("wrong", write_wrong_marker, "writes the size + 1"),
        ),
        baseline="right",
        verify=_same_markers,
    )
    options = Options(
        sizes=(3,), repeats=1, verify=True, data_dir=tmp_path, results_dir=tmp_path, timeout_s=120
    )

    report = run_suite(suite, options)

    assert all(run.ok for run in report.runs) and len(report.runs) == 2
    assert len(report.verifications) == 1 and not report.verifications[0].ok
    assert report.verifications[0].problems[0].startswith("wrong differs from right")
    assert not report.ok
    assert "CONTENDERS DISAGREE" in benchmarks.harness.format_report(report)


def test_peak_rss_is_the_childs_own_not_the_harness_process(tmp_path: Path) -> None:
    """A child's peak RSS excludes the harness's memory (wait4's ru_maxrss would include it)."""
    ballast = b"\x01" * (256 * 1024 * 1024)  # 256 MiB, every page written
    suite = Suite(
        name="rss-smoke",
        description="a contender that does nothing",
        prepare=_prepare,
        contenders=(Contender("idle", do_nothing, "returns at once"),),
        baseline="idle",
    )
    options = Options(sizes=(1,), repeats=1, data_dir=tmp_path, results_dir=tmp_path)

    report = run_suite(suite, options)

    (run,) = report.runs
    assert run.ok and run.peak_rss_mb is not None and run.rss_source == "VmHWM"
    assert run.peak_rss_mb < 128, f"{run.peak_rss_mb:.0f} MiB: the harness's 256 MiB leaked in"
    assert len(ballast) == 256 * 1024 * 1024


def _prepare_fails_for_one_row(ctx: PrepareContext) -> dict[str, JSONValue]:
    if ctx.size == 1:
        raise ConnectionError(f"postgresql://bench:{PASSWORD}@127.0.0.1:1/db refused")
    return {"rows": ctx.size}


def test_a_failed_preparation_is_reported_and_other_sizes_still_run(tmp_path: Path) -> None:
    """A size whose inputs cannot be prepared is an error (password redacted); others still run."""
    suite = Suite(
        name="prepare-smoke",
        description="preparation fails for one size",
        prepare=_prepare_fails_for_one_row,
        contenders=(Contender("idle", do_nothing, "returns at once"),),
        baseline="idle",
    )
    options = Options(sizes=(1, 2), repeats=1, data_dir=tmp_path, results_dir=tmp_path)

    report = run_suite(suite, options)

    assert not report.ok
    assert len(report.errors) == 1 and report.errors[0].startswith("1: preparation failed")
    assert PASSWORD not in report.errors[0] and "bench:***@" in report.errors[0]
    assert [(run.size, run.ok) for run in report.runs] == [(2, True)]


def test_same_rows_ignores_row_order_but_reports_a_changed_value(tmp_path: Path) -> None:
    """The --verify comparison accepts reordered rows and names the contender that differs."""
    frame = pl.DataFrame({"id": [1, 2, 3], "income": [10.0, None, 30.5], "s": ["a", "b", None]})
    frame.write_parquet(tmp_path / "ref.parquet")
    frame.reverse().write_parquet(tmp_path / "reordered.parquet")
    frame.with_columns(income=pl.Series([10.0, None, 30.6])).write_parquet(tmp_path / "bad.parquet")
    frame.drop("s").write_parquet(tmp_path / "narrow.parquet")

    outputs = {
        "pandas": tmp_path / "ref.parquet",
        "polars": tmp_path / "reordered.parquet",
        "lakeflow": tmp_path / "bad.parquet",
        "other": tmp_path / "narrow.parquet",
    }
    problems = same_rows(outputs, reference="pandas")

    assert len(problems) == 2
    assert problems[0].startswith("lakeflow differs from pandas")
    assert problems[1].startswith("other: schema")


@pytest.mark.parametrize("seed", [7, 8])
def test_users_frame_is_deterministic_and_carries_the_tutorials_mess(seed: int) -> None:
    """Same (rows, seed) gives the same frame, with duplicates, nulls, padding and bad values."""
    rows = 4_000
    frame = users_frame(rows, seed=seed)

    assert frame.equals(users_frame(rows, seed=seed))
    assert not frame.equals(users_frame(rows, seed=seed + 100))
    assert frame.schema == USERS_SCHEMA and frame.height == rows
    assert rows - frame.unique().height >= round(rows * EXACT_DUPLICATE_FRACTION)
    assert frame["id"].n_unique() < frame.unique().height  # re-extracted ids, not exact copies
    for column in ("name", "email", "age", "income", "status", "country", "created_at"):
        assert frame[column].null_count() > 0, column
    email = frame["email"].drop_nulls()
    assert (~email.str.contains("@")).any() and (email == "").any()
    assert (email != email.str.strip_chars()).any()
    assert (email.str.contains("[A-Z]")).any()
    status = frame["status"].drop_nulls()
    assert (status != status.str.strip_chars().str.to_lowercase()).any()
    age = frame["age"].drop_nulls()
    assert (age < 0).any() and (age > 150).any() and ((age >= 0) & (age < 18)).any()
    income = frame["income"].drop_nulls()
    assert (income < 0).any() and (income == 0).any() and income.is_in([30_000.0, 80_001.0]).any()
    created = frame["created_at"]
    assert created.str.to_datetime("%Y-%m-%d %H:%M:%S").null_count() == created.null_count()


def test_harness_doctests_pass() -> None:
    """The size parsing/formatting examples in the harness docstrings hold."""
    result = doctest.testmod(benchmarks.harness)
    assert result.attempted > 0 and result.failed == 0
