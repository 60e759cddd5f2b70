"""Trust at the edges: hostile data values, odd passwords, targets, interrupted and concurrent
inits, leftover staged changes, unreadable history and operational faults."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from returns.io import IOFailure, IOResult
from returns.result import Failure, Success

from lakeflow.adapters.frame_source import FrameSource
from lakeflow.adapters.lake_helpers import unwrap_io
from lakeflow.adapters.local import LocalLake
from lakeflow.cli import main as cli_main
from lakeflow.core.errors import ExtractError
from lakeflow.core.incremental import IncrementalSpec
from lakeflow.core.secrets import uri_secrets
from lakeflow.ports import ExtractContext
from lakeflow.run import (
    HISTORY_BRANCH,
    Pipeline,
    RetryPolicy,
    RunEvent,
    init_lake,
    read_history,
    run,
    runs,
    show_run,
)
from lakeflow.run.layout import LAYOUT_README, LAYOUT_README_PATH, checkpoint_path
from lakeflow.testing.sources import counting_source
from tests.e2e.lakes import head, new_lake, published
from tests.e2e.test_cli import base_config, lakeflow, sqlite_source, write_config

ROOT = Path(__file__).resolve().parents[2]
FAST = RetryPolicy(max_retries=1, timeout_seconds=5, initial_backoff_s=0.001, max_backoff_s=0.01)

hostile_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "https://x.io/?token=abc",
            'https://x.io/?token=abc"},\n',
            "postgresql://etl:pw@h/db?password=x",
            '{"a": [1, 2]}',
            "\\\\server\\share",
            "\x00\x07\x1b[31m",
            "${HOME}",
            "NaN",
        ]
    ),
)


def _lake_files(root: Path) -> list[bytes]:
    return [f.read_bytes() for f in root.rglob("*") if f.is_file()]


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    first=st.lists(hostile_text, min_size=1, max_size=6), later=st.lists(hostile_text, max_size=4)
)
def test_hostile_data_values_never_break_records_history_or_checkpoints(
    tmp_path_factory: pytest.TempPathFactory, first: list[str], later: list[str]
) -> None:
    """Data values shaped like URLs with tokens, JSON, quotes, escapes and control characters
    land in the checkpoint (as watermark keys) and the records, and every later read works:
    the history lists both runs and every row is published exactly once."""
    lake = new_lake(tmp_path_factory.mktemp("lake"))
    emails = list(dict.fromkeys(first + later))
    rows_first = pl.DataFrame({"email": list(dict.fromkeys(first)), "ts": 1})
    rows_all = pl.DataFrame({"email": emails, "ts": 1})
    spec = IncrementalSpec("ts", ("email",))
    for frame in (rows_first, rows_all):
        pipeline = Pipeline("users", FrameSource(frame, incremental=spec), retry=FAST)
        outcome = run(pipeline, lake)
        assert isinstance(outcome, Success), outcome.failure().dumps()
    history = runs(lake, "users")
    assert len(history) == 2
    checkpoint = unwrap_io(lake.get_bytes(checkpoint_path("users"), ref="main")).unwrap()
    keys = json.loads(checkpoint)["watermark"]["keys"]
    assert sorted(k[0] for k in keys) == sorted(emails)
    for record in history:
        assert show_run(lake, record.run_id).run_id == record.run_id
    assert sorted(published(lake, "validated_data/users")["email"].to_list()) == sorted(emails)


class _LeakySource:
    """A source whose URI holds a password and whose failure message spells it several ways."""

    def __init__(self, uri: str, password: str) -> None:
        self.uri = uri
        self.password = password

    @property
    def incremental(self) -> IncrementalSpec | None:
        return None

    def describe(self) -> dict[str, object]:
        return {"kind": "sql", "uri": self.uri, "table": "users"}

    def extract(self, context: ExtractContext) -> IOResult[pl.LazyFrame, ExtractError]:
        message = (
            f"cannot connect to {self.uri}: password {self.password!r} rejected "
            f"({json.dumps(self.password)})"
        )
        return IOFailure(ExtractError("sql", message))


@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    password=st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/?#*"),
        min_size=8,
        max_size=20,
    )
)
def test_random_passwords_never_reach_records_history_events_logs_or_lake_files(
    tmp_path_factory: pytest.TempPathFactory, caplog: pytest.LogCaptureFixture, password: str
) -> None:
    """Whatever a password holds (@, spaces, quotes, Unicode), it appears nowhere lakeflow
    writes: the failure record, the history, events, log lines or any file of the lake."""
    assume(password.strip() == password and not password.isdigit())
    caplog.set_level(logging.DEBUG, logger="lakeflow")
    root = tmp_path_factory.mktemp("lake")
    lake = new_lake(root)
    uri = f"postgresql://etl:{password}@127.0.0.1:1/db"
    events: list[RunEvent] = []
    pipeline = Pipeline(
        "users", _LeakySource(uri, password), retry=FAST, secrets=tuple(uri_secrets(uri))
    )
    outcome = run(pipeline, lake, on_event=events.append)
    assert isinstance(outcome, Failure)
    record = outcome.failure()
    assert "cannot connect" in record.error.message
    spelled = {password, json.dumps(password)[1:-1], repr(password)[1:-1]}
    texts = [record.dumps(), caplog.text, *(e.detail for e in events)]
    for text in texts:
        assert not any(s in text for s in spelled)
    for blob in _lake_files(root):
        assert not any(s.encode() in blob for s in spelled)


@pytest.mark.parametrize(
    "target", ["", "main~1", "a/b", "../../x", "lakeflow-history", "lakeflow-run-users-1", "ma in"]
)
def test_targets_that_cannot_be_published_to_exit_2_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    """`--target` is validated up front: an empty, malformed or internal branch is a usage
    error (exit 2) and no run starts (nothing in the history, no run branch)."""
    sqlite_source(tmp_path)
    config = str(write_config(tmp_path, base_config()))
    with pytest.raises(SystemExit) as made:
        cli_main(["init", config])
    assert made.value.code in (0, None)
    capsys.readouterr()
    with pytest.raises(SystemExit) as done:
        cli_main(["run", config, "--target", target])
    assert done.value.code == 2
    assert "--target" in capsys.readouterr().err
    lake = LocalLake(tmp_path / "lake", "etl-pipeline")
    assert runs(lake, "users") == []
    branches = unwrap_io(lake.list_branches()).unwrap()
    assert not any(b.name.startswith("lakeflow-run-") for b in branches)


def test_run_refuses_lakeflow_branches_as_targets_from_python(tmp_path: Path) -> None:
    """`run()` refuses the history branch as a target: it never receives pipeline data."""
    lake = new_lake(tmp_path)
    before = head(lake, "main")
    with pytest.raises(Exception, match="lakeflow's own branch"):
        run(Pipeline("users", pl.DataFrame({"id": [1]})), lake, HISTORY_BRANCH)
    assert head(lake, "main") == before


def _init_child(root: Path, repository: str, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tests.e2e.init_child", str(root), repository, *extra]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def test_kill_9_anywhere_in_init_never_blocks_publishing(tmp_path: Path) -> None:
    """An init killed at any point is finished by the next init, and runs publish after it:
    the default branch is never left with a staged change."""
    counted = _init_child(tmp_path / "count", "repo-count", "--count")
    assert counted.returncode == 0, counted.stderr
    events = int(counted.stdout)
    points = sorted({max(1, events * k // 9) for k in range(1, 9)})
    for number, point in enumerate(points):
        root, repository = tmp_path / f"lake-{number}", "repo-crash"
        killed = _init_child(root, repository, "--kill-at", str(point))
        assert killed.returncode == -9, (point, killed.stderr)
        lake = LocalLake(root, repository)
        assert isinstance(init_lake(lake), Success), point
        assert unwrap_io(lake.uncommitted("main")).unwrap() == ()
        layout = unwrap_io(lake.get_bytes(LAYOUT_README_PATH, ref="main")).unwrap()
        assert layout == LAYOUT_README.encode()
        outcome = run(Pipeline("users", pl.DataFrame({"id": [1, 2]})), lake)
        assert isinstance(outcome, Success), (point, outcome.failure().dumps())


def test_concurrent_inits_all_succeed(tmp_path: Path) -> None:
    """Six `lakeflow init` processes at once all exit 0 and leave one clean layout."""
    sqlite_source(tmp_path)
    config = str(write_config(tmp_path, base_config()))
    command = [sys.executable, "-m", "lakeflow", "init", config]
    processes = [
        subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(6)
    ]
    results = [(p.wait(), p.communicate()) for p in processes]
    assert [code for code, _ in results] == [0] * 6, [err for _, (_, err) in results]
    lake = LocalLake(tmp_path / "lake", "etl-pipeline")
    assert unwrap_io(lake.uncommitted("main")).unwrap() == ()
    assert (
        unwrap_io(lake.get_bytes(LAYOUT_README_PATH, ref="main")).unwrap() == LAYOUT_README.encode()
    )
    assert lakeflow("run", config).returncode == 0


def test_an_older_inits_staged_layout_is_resumed(tmp_path: Path) -> None:
    """A layout README staged but never committed (an older init killed) is committed by the
    next init, and the run that was blocked publishes."""
    lake = new_lake(tmp_path)
    put = lake.put_bytes(LAYOUT_README_PATH, LAYOUT_README.encode(), branch="main")
    assert isinstance(unwrap_io(put), Success)
    done = init_lake(lake)
    assert done.unwrap().layout == "resumed"
    assert unwrap_io(lake.uncommitted("main")).unwrap() == ()
    assert isinstance(run(Pipeline("users", pl.DataFrame({"id": [1]})), lake), Success)


def test_a_foreign_staged_change_on_the_target_is_reported_before_reading_data(
    tmp_path: Path,
) -> None:
    """A staged change someone else left on main fails the run at resolve, before the source
    is read, with a message naming the path and the command that clears it."""
    lake = new_lake(tmp_path)
    assert isinstance(unwrap_io(lake.put_bytes("notes/todo.txt", b"x", branch="main")), Success)
    frame, reads = counting_source(pl.DataFrame({"id": [1, 2]}))
    outcome = run(Pipeline("users", frame), lake)
    assert isinstance(outcome, Failure)
    record = outcome.failure()
    assert record.failed_step == "resolve"
    assert "notes/todo.txt" in record.error.message
    assert "--discard-uncommitted" in record.error.message
    assert reads[0] == 0


def test_unreadable_records_are_named_and_the_rest_still_listed(tmp_path: Path) -> None:
    """A damaged record and one from a newer lakeflow do not hide the history: `runs` lists
    the readable runs and names each unreadable record on stderr."""
    sqlite_source(tmp_path)
    config = str(write_config(tmp_path, base_config()))
    assert lakeflow("init", config).returncode == 0
    assert lakeflow("run", config).returncode == 0
    lake = LocalLake(tmp_path / "lake", "etl-pipeline")
    newer = {"schema_version": 99, "run_id": "from-the-future"}
    for name, payload in (("damaged", b"{not json"), ("newer", json.dumps(newer).encode())):
        path = f"_lakeflow/runs/users/{name}.json"
        assert isinstance(unwrap_io(lake.put_bytes(path, payload, branch=HISTORY_BRANCH)), Success)
    assert isinstance(unwrap_io(lake.commit(HISTORY_BRANCH, "plant bad records")), Success)
    listed = lakeflow("runs", config)
    assert listed.returncode == 0, listed.stderr
    assert "published" in listed.stdout
    assert "damaged.json" in listed.stderr and "newer.json" in listed.stderr
    history = read_history(lake, "users").unwrap()
    assert len(history.records) == 1
    assert {u.run_id for u in history.unreadable} == {"damaged", "newer"}


def test_a_scratch_folder_that_cannot_be_created_is_a_failure_record(tmp_path: Path) -> None:
    """An unwritable scratch location fails the run with a clear record, not an OSError."""
    lake = new_lake(tmp_path / "lake")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    outcome = run(Pipeline("users", pl.DataFrame({"id": [1]})), lake, scratch_dir=blocker)
    assert isinstance(outcome, Failure)
    record = outcome.failure()
    assert record.failed_step == "resolve"
    assert "cannot create a scratch folder" in record.error.message
    assert [r.run_id for r in runs(lake, "users")] == [record.run_id]


def test_a_failed_validation_is_printed_once_and_does_not_advance_the_watermark(
    tmp_path: Path,
) -> None:
    """A run that fails validation prints one `validate FAILED` line and its summary shows the
    watermark as not advanced."""
    sqlite_source(tmp_path)
    config = base_config()
    config["validate"] = {"schema": {"properties": {"age": {"type": "integer", "minimum": 99}}}}
    path = str(write_config(tmp_path, config))
    assert lakeflow("init", path).returncode == 0
    done = lakeflow("run", path)
    assert done.returncode == 1
    validate_lines = [line for line in done.stdout.splitlines() if line.startswith("  validate")]
    assert len(validate_lines) == 1 and "FAILED" in validate_lines[0]
    assert "(not advanced)" in done.stdout
    assert " loaded" not in done.stdout, "no database sink: no loaded count"


def test_a_run_whose_history_entry_was_lost_is_recovered_from_its_target(tmp_path: Path) -> None:
    """A crash between a run's merge and its history commit leaves it published without a
    history entry: the next read of the history finds it on the target, lists it as
    published with its merge commit, and writes it back to the history."""
    lake = new_lake(tmp_path)
    record = run(Pipeline("users", pl.DataFrame({"id": [1, 2]})), lake).unwrap()
    path = f"_lakeflow/runs/users/{record.run_id}.json"
    assert isinstance(unwrap_io(lake.delete_object(path, branch=HISTORY_BRANCH)), Success)
    assert isinstance(unwrap_io(lake.commit(HISTORY_BRANCH, "simulate the lost entry")), Success)
    assert isinstance(unwrap_io(lake.get_bytes(path, ref=HISTORY_BRANCH)), Failure)

    recovered = show_run(lake, record.run_id, "users")
    assert recovered.status == "published"
    assert recovered.merge_commit == record.merge_commit
    assert "recovered" in recovered.note
    assert isinstance(unwrap_io(lake.get_bytes(path, ref=HISTORY_BRANCH)), Success), "written back"
    assert [r.run_id for r in runs(lake, "users")] == [record.run_id]
