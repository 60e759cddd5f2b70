"""Smoke test of the tables benchmark (``benchmarks/tables.py``); no timing assertions.

It pins that the suite runs end to end in real child processes on a tiny table, and that the
facts it reports are what the runs did: a merge of recent keys rewrites only the files holding
them, a merge of keys from everywhere rewrites every file.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

from benchmarks.harness import Options, run_suite
from benchmarks.tables import TABLES, prepare_tables

RUNS = 4  # the tiny table is published by four runs: four data files


def test_the_tables_suite_reports_what_each_merge_rewrote(tmp_path: Path) -> None:
    """Recent keys touch few of the table's files; random keys touch all of them."""
    options = Options(
        sizes=(2_000,),
        repeats=1,
        contenders=("merge-10k-recent", "merge-10k-random"),
        data_dir=tmp_path,
        results_dir=tmp_path,
    )

    suite = dataclasses.replace(TABLES, prepare=functools.partial(prepare_tables, runs=RUNS))
    report = run_suite(suite, options)

    assert report.ok, report.errors + [r.error or "" for r in report.runs]
    facts = {r.contender: dict(r.facts) for r in report.runs}
    assert facts["append-10k"]["files_written"] == 1
    recent, spread = facts["merge-10k-recent"], facts["merge-10k-random"]
    assert spread["files_removed"] == RUNS
    removed = recent["files_removed"]
    assert isinstance(removed, int) and 0 < removed < RUNS
    assert recent["rows_out"] == spread["rows_out"] == 2_000
