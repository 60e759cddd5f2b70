"""Which _delta_log objects a reader fetches, and what makes a folder a Delta table (pure)."""

from __future__ import annotations

from lakeflow.adapters.delta_table import is_delta_table, log_objects

LOG = "t/_delta_log/"


def _v(version: int, suffix: str = ".json") -> str:
    return f"{LOG}{version:020d}{suffix}"


def test_a_reader_fetches_the_newest_checkpoint_and_the_commits_after_it() -> None:
    """Commits older than the newest checkpoint are never downloaded."""
    paths = [
        *(_v(v) for v in range(13)),
        _v(10, ".checkpoint.parquet"),
        _v(5, ".checkpoint.parquet"),
        f"{LOG}_last_checkpoint",
        "t/part-0.parquet",
    ]
    assert sorted(log_objects(paths, "t")) == sorted(
        [_v(10), _v(11), _v(12), _v(10, ".checkpoint.parquet"), f"{LOG}_last_checkpoint"]
    )


def test_without_a_checkpoint_every_commit_is_fetched() -> None:
    """A young table is read from its first commit on."""
    paths = [_v(0), _v(1), "t/part-0.parquet"]
    assert log_objects(paths, "t") == [_v(0), _v(1)]


def test_only_a_commit_or_checkpoint_makes_a_delta_table() -> None:
    """Parquet parts, a stray _delta_log file or another folder's log do not."""
    assert is_delta_table([_v(0)], "t")
    assert is_delta_table([_v(100, ".checkpoint.parquet")], "t")
    assert not is_delta_table(["t/part-0.parquet", f"{LOG}_last_checkpoint"], "t")
    assert not is_delta_table([f"other/_delta_log/{0:020d}.json"], "t")
    assert not is_delta_table([f"t/sub/_delta_log/{0:020d}.json"], "t")
