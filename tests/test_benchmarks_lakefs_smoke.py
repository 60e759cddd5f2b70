"""Smoke tests of the lakeFS benchmarks (``benchmarks/lakefs.py``); no timing assertions.

They pin that both suites run end to end in real child processes, each with its own lakeFS
server double, and that the facts they report — requests per run, objects and bytes moved —
are the ones the runs produced.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

from benchmarks.harness import Options, run_suite
from benchmarks.lake import prepare_objects
from benchmarks.lakefs import LAKEFS_OPS, LAKEFS_REQUESTS

TINY_VOLUMES = {"10MB": 10_000, "1GB": 3_000_000}  # the labels the contenders carry, tiny bytes


def test_lakefs_ops_uploads_commits_and_merges_what_it_prepared(tmp_path: Path) -> None:
    """Upload, commit and merge each move exactly the prepared objects through the adapter."""
    suite = dataclasses.replace(
        LAKEFS_OPS, prepare=functools.partial(prepare_objects, volumes=TINY_VOLUMES)
    )
    options = Options(
        sizes=(3,),
        repeats=1,
        contenders=("upload-1GB", "merge-1GB"),
        data_dir=tmp_path,
        results_dir=tmp_path,
    )

    report = run_suite(suite, options)

    assert report.ok, report.errors + [r.error or "" for r in report.runs]
    facts = {r.contender: dict(r.facts) for r in report.runs}
    assert facts["upload-1GB"]["objects"] == 3 and facts["upload-1GB"]["uploads"] == 3
    assert facts["upload-1GB"]["bytes"] == TINY_VOLUMES["1GB"]
    assert facts["commit-10MB"]["requests"] == 2  # read the branch head, then commit
    assert facts["merge-1GB"]["requests"] == 1


def test_a_runs_requests_do_not_depend_on_its_rows(tmp_path: Path) -> None:
    """run() on lakeFS sends the same number of requests for 200 rows as for 2,000."""
    options = Options(
        sizes=(200, 2_000), repeats=1, contenders=("run",), data_dir=tmp_path, results_dir=tmp_path
    )

    report = run_suite(LAKEFS_REQUESTS, options)

    assert report.ok, report.errors + [r.error or "" for r in report.runs]
    small, large = (dict(r.facts) for r in sorted(report.runs, key=lambda r: r.size))
    assert small["requests"] == large["requests"]
    # rows, published schema, quality, record, checkpoint, history
    assert small["uploads"] == large["uploads"] == 6
    assert isinstance(large["rows_out"], int) and large["rows_out"] > 0
