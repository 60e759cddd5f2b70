"""`lakeflow check` and the plan check every run makes: problems found before any row is read."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest
from returns.result import Failure

from lakeflow.run import Pipeline, run
from lakeflow.testing.postgres import EmbeddedPostgres
from lakeflow.testing.sources import counting_source
from tests.e2e.lakes import new_lake
from tests.e2e.test_cli import base_config, lakeflow, sqlite_source, write_config


def _statements(postgres: EmbeddedPostgres, since: int) -> list[str]:
    """Statements the server logged after byte ``since`` of its log."""
    text = postgres.log_text()[since:]
    return re.findall(r"(?:statement|execute [^:]*): (.*)", text)


def test_check_on_postgres_names_a_typo_with_a_did_you_mean_and_reads_no_row(
    tmp_path: Path, postgres: EmbeddedPostgres, pg_uri: str
) -> None:
    """A typo'd filter column exits 2 naming the column and the one it meant, and the
    server's statement log shows that no statement read a row of the table."""
    database = pg_uri.rsplit("/", 1)[1]
    postgres.execute(
        "CREATE TABLE users (id INTEGER, email TEXT, age INTEGER, updated_at TIMESTAMP)",
        "INSERT INTO users SELECT i, 'u' || i || '@x.io', 30, TIMESTAMP '2024-01-01' "
        "FROM generate_series(1, 50) AS i",
        database=database,
    )
    config = base_config("${SOURCE_DB_URI}")
    config["transform"] = {"filters": ["agee >= 18"]}
    path = str(write_config(tmp_path, config))
    env = {"SOURCE_DB_URI": pg_uri}
    assert lakeflow("init", path, env=env).returncode == 0
    since = len(postgres.log_text())
    done = lakeflow("check", path, env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "'agee'" in done.stderr and "did you mean 'age'" in done.stderr
    reads = [s for s in _statements(postgres, since) if "users" in s]
    assert reads, "the check asked the server for the table's schema"
    assert all("1 = 0" in s for s in reads), reads

    ran = lakeflow("run", path, "--json", env=env)
    assert ran.returncode == 1
    record = json.loads(ran.stdout)
    assert record["failed_step"] == "transform"
    assert "did you mean 'age'" in record["error"]["message"]
    assert record["rows"]["extracted"] == 0
    reads = [s for s in _statements(postgres, since) if "users" in s]
    assert all("1 = 0" in s for s in reads), "the failed run read no row either"


def test_check_reports_every_problem_at_once_and_json(tmp_path: Path) -> None:
    """An unknown incremental column, a missing transform column, a type error and an unknown
    unique column are all reported, each with the step it belongs to."""
    sqlite_source(tmp_path)
    config = base_config()
    config["source"]["sql"]["incremental"] = {"column": "updatedat"}  # type: ignore[index]
    config["transform"] = {"derive": {"twice": "agge * 2"}, "filters": ["age > 18"]}
    config["validate"] = {"unique": ["idd"]}
    path = str(write_config(tmp_path, config))
    done = lakeflow("check", path, "--json")
    assert done.returncode == 2
    report = json.loads(done.stdout)
    problems = [(p["where"], p["message"]) for p in report["problems"]]
    assert [where for where, _ in problems] == ["extract", "transform", "validate"]
    assert "'updatedat'" in problems[0][1] and "did you mean 'updated_at'" in problems[0][1]
    assert "'agge'" in problems[1][1]
    assert "idd" in problems[2][1]
    assert report["input_schema"]["age"].startswith("Int")


def test_a_type_error_in_an_expression_is_found_on_an_empty_frame(tmp_path: Path) -> None:
    """Comparing a number with text fails the check (exit 2) though no row is read."""
    sqlite_source(tmp_path)
    config = base_config()
    config["transform"] = {"filters": ["age > 'abc'"]}
    path = str(write_config(tmp_path, config))
    done = lakeflow("check", path)
    assert done.returncode == 2
    assert "cannot compare" in done.stderr


def test_a_good_config_checks_ok_and_lists_the_columns(tmp_path: Path) -> None:
    """A config that fits its source exits 0 and shows the source's columns."""
    sqlite_source(tmp_path)
    path = str(write_config(tmp_path, base_config()))
    done = lakeflow("check", path)
    assert done.returncode == 0, done.stderr
    assert "source columns: id, email" in done.stdout


def test_a_run_with_a_bad_plan_never_reads_its_source(tmp_path: Path) -> None:
    """From Python too: a stage naming a missing column fails the run before the source is
    read, with the target untouched and the run in the history."""
    lake = new_lake(tmp_path)
    frame, reads = counting_source(pl.DataFrame({"id": [1, 2], "age": [30, 40]}))
    from lakeflow.core.transform import keep

    outcome = run(Pipeline("users", frame, transform=keep("agee > 1")), lake)
    assert isinstance(outcome, Failure)
    assert outcome.failure().failed_step == "transform"
    assert reads[0] == 0


@pytest.mark.parametrize("bad", ["", "a/b"])
def test_check_refuses_a_bad_target(tmp_path: Path, bad: str) -> None:
    """`check --target` is validated like `run --target` (exit 2)."""
    sqlite_source(tmp_path)
    path = str(write_config(tmp_path, base_config()))
    assert lakeflow("check", path, "--target", bad).returncode == 2
