"""Smoke tests of the lake benchmarks (``benchmarks/lake.py``) and the harness's ``setup`` hook.

No timing assertions (timings belong in benchmarks/ results): these tests pin that both suites
run end to end on tiny inputs in real child processes against real LocalLakes, that their
``--verify`` passes when the contenders did their work and fails when one did not, and that a
contender's ``setup`` runs in the contender's own process, before it, outside the clock.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from pathlib import Path

import polars as pl

from benchmarks.harness import (
    Contender,
    JSONValue,
    Options,
    PrepareContext,
    Suite,
    Workload,
    run_suite,
)
from benchmarks.lake import LAKE_OPS, prepare_objects, stage, verify_objects, verify_runs
from tests.bench_cli import run_benchmarks

TINY_VOLUMES = {"10MB": 10_000, "1GB": 1_000_000}  # the labels the contenders carry, tiny bytes


def test_lake_ops_commits_and_merges_every_staged_object_and_verifies(tmp_path: Path) -> None:
    """Each lake_ops contender commits (or merges into main) exactly the objects it staged."""
    suite = dataclasses.replace(
        LAKE_OPS, prepare=functools.partial(prepare_objects, volumes=TINY_VOLUMES)
    )
    options = Options(sizes=(1, 5), repeats=1, verify=True, data_dir=tmp_path, results_dir=tmp_path)

    report = run_suite(suite, options)

    assert report.ok, report.errors + [r.error or "" for r in report.runs]
    assert [v.ok for v in report.verifications] == [True, True]
    facts = {(r.size, r.contender): dict(r.facts) for r in report.runs}
    for objects in (1, 5):
        for volume, total in TINY_VOLUMES.items():
            assert facts[(objects, f"commit-{volume}")] == {
                "ref": "bench-run",
                "objects": objects,
                "bytes": total,
            }
            assert facts[(objects, f"merge-{volume}")] == {
                "ref": "main",
                "objects": objects,
                "bytes": total,
            }
    assert {v.label for v in report.verdicts} == {
        "commit of 1 GB <= 1.5x commit of 10 MB (does not grow with bytes)",
        "merge of 1 GB <= 1.5x merge of 10 MB (does not grow with bytes)",
    }
    assert not list(tmp_path.glob("_lake_ops-*")), "prepared objects are removed afterwards"


# Contenders for the tests below: the child processes import this module by name.

_SETUP_PID: list[int] = []


def record_setup(work: Workload) -> None:
    """A setup that remembers which process it ran in."""
    _SETUP_PID.append(os.getpid())


def report_setup(work: Workload) -> None:
    """A contender that writes down whether its setup ran first, in this process."""
    facts = {"setup_pids": list(_SETUP_PID), "run_pid": os.getpid()}
    (work.out_dir / "facts.json").write_text(json.dumps(facts))


def failing_setup(work: Workload) -> None:
    """A setup that fails."""
    raise RuntimeError("setup could not stage the objects")


def leave_staged(work: Workload) -> None:
    """A commit contender that forgets to commit."""


def _read_facts(out_dir: Path) -> dict[str, JSONValue]:
    loaded: dict[str, JSONValue] = json.loads((out_dir / "facts.json").read_text())
    return loaded


def _no_inputs(ctx: PrepareContext) -> dict[str, JSONValue]:
    return {"rows": ctx.size}


def test_setup_runs_once_in_the_contenders_process_before_it(tmp_path: Path) -> None:
    """A contender's setup runs in the same child process, once, before the timed function."""
    suite = Suite(
        name="setup-smoke",
        description="setup then run",
        prepare=_no_inputs,
        contenders=(Contender("ok", report_setup, "reports its setup", setup=record_setup),),
        baseline="ok",
        output_facts=_read_facts,
    )

    report = run_suite(suite, Options(sizes=(1,), repeats=2, data_dir=tmp_path))

    assert report.ok and len(report.runs) == 2
    for run in report.runs:
        assert run.facts["setup_pids"] == [run.facts["run_pid"]]
    assert report.runs[0].facts["run_pid"] != report.runs[1].facts["run_pid"]
    assert _SETUP_PID == [], "setup never ran in the harness process"


def test_a_failing_setup_fails_the_run_with_its_error(tmp_path: Path) -> None:
    """A setup that raises makes its run fail, and the error names what went wrong."""
    suite = Suite(
        name="setup-fails-smoke",
        description="setup raises",
        prepare=_no_inputs,
        contenders=(Contender("broken", report_setup, "never runs", setup=failing_setup),),
        baseline="broken",
    )

    report = run_suite(suite, Options(sizes=(1,), repeats=1, data_dir=tmp_path))

    (run,) = report.runs
    assert not run.ok and not report.ok
    assert run.error is not None and "setup could not stage the objects" in run.error


def test_lake_ops_verification_catches_a_commit_that_left_objects_staged(tmp_path: Path) -> None:
    """--verify fails a lake_ops contender that did not commit what its setup staged."""
    suite = Suite(
        name="lake-verify-smoke",
        description="one honest commit, one that forgets",
        prepare=functools.partial(prepare_objects, volumes=TINY_VOLUMES),
        contenders=(
            LAKE_OPS.contender("commit-10MB"),
            Contender("commit-1GB", leave_staged, "forgets to commit", setup=stage),
        ),
        baseline="commit-10MB",
        verify=verify_objects,
    )
    options = Options(sizes=(3,), repeats=1, verify=True, data_dir=tmp_path)

    report = run_suite(suite, options)

    assert all(run.ok for run in report.runs)
    (verification,) = report.verifications
    assert not verification.ok and not report.ok
    assert verification.problems == (
        "commit-1GB: RuntimeError: 3 object(s) still uncommitted on bench-run",
    )


def test_run_overhead_publishes_the_rows_the_direct_write_wrote(tmp_path: Path) -> None:
    """Through the CLI, every run() contender (lake sources too) publishes the direct rows."""
    results = tmp_path / "results"
    proc = run_benchmarks(tmp_path, "run_overhead", "3k")

    assert proc.returncode == 0, proc.stdout + proc.stderr
    (written,) = results.glob("run_overhead-*.json")
    doc = json.loads(written.read_text())
    assert doc["ok"] is True and doc["baseline"] == "polars" and doc["size_unit"] == "rows"
    assert doc["verification"] == [{"size": 3_000, "ok": True, "problems": []}]
    facts = {s["contender"]: s["facts"] for s in doc["summaries"]}
    direct = facts["polars"]["rows_out"]
    assert 0 < direct < 3_000
    assert facts["run"]["rows_out"] == facts["run_raw"]["rows_out"] == direct
    checked = facts["run_checks"]
    assert checked["quarantined"] > 0 and checked["rows_out"] + checked["quarantined"] == direct
    assert facts["run_lake_source"]["rows_out"] == direct
    assert facts["run_lake_source_unverified"]["rows_out"] == direct
    targets = {t["contender"]: t for t in doc["targets"]}
    assert set(targets) == {"run", "run_lake_source"}
    assert targets["run_lake_source"]["reference"] == "run_lake_source_unverified"
    assert all(t["informational"] is True for t in targets.values())


def test_run_overhead_verification_reports_rows_that_differ(tmp_path: Path) -> None:
    """The run_overhead verifier names a contender whose output lost a row."""
    frame = pl.DataFrame({"id": [1, 2, 3], "email": ["a@x.io", "b@x.io", None]})
    (tmp_path / "polars").mkdir()
    (tmp_path / "run").mkdir()
    frame.write_parquet(tmp_path / "polars" / "users.parquet")
    frame.head(2).write_parquet(tmp_path / "run" / "users.parquet")

    problems = verify_runs({"polars": tmp_path / "polars", "run": tmp_path / "run"})

    assert problems == ["run: 2 rows, polars has 3"]
