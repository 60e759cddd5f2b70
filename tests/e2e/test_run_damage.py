"""Runs on a damaged lake: a corrupt error stops the run, and nothing publishes twice."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from lakeflow.adapters.lake_helpers import unwrap_io
from lakeflow.run import run
from tests.e2e.lakes import head, new_lake, published
from tests.e2e.run_child import users_pipeline

CHECKPOINT = "_lakeflow/checkpoints/users.json"


def _users(path: Path, ids: range) -> None:
    pl.DataFrame({"id": list(ids), "age": [40] * len(ids), "ts": list(ids)}).write_parquet(path)


def test_a_flipped_digit_in_the_checkpoint_stops_the_next_run(tmp_path: Path) -> None:
    """A damaged checkpoint fails the next run at resolve (corrupt, naming it); no row repeats."""
    lake = new_lake(tmp_path / "lake")
    source = tmp_path / "users.parquet"
    _users(source, range(1, 21))
    assert run(users_pipeline(source), lake).unwrap().rows.valid == 20
    blob = unwrap_io(lake.blob_path(CHECKPOINT, ref="main")).unwrap()
    text = blob.read_text()
    digit = re.search(r"\d", text)
    assert digit is not None
    flipped = "1" if digit.group() != "1" else "2"
    blob.chmod(0o644)
    blob.write_text(text[: digit.start()] + flipped + text[digit.end() :])
    _users(source, range(1, 31))
    before = head(lake)

    failed = run(users_pipeline(source), lake).failure()

    assert failed.failed_step == "resolve"
    assert (failed.error.code, failed.error.retryable) == ("corrupt", False)
    assert CHECKPOINT in failed.error.message
    assert head(lake) == before
    assert sorted(published(lake, "validated_data/users")["id"].to_list()) == list(range(1, 21))
