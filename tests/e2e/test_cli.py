"""The `lakeflow` command line, run as a real subprocess against SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import polars as pl
import pytest
import yaml

from lakeflow.adapters.lake_helpers import unwrap_io
from lakeflow.cli import main as cli_main
from lakeflow.lakes import open_lake
from lakeflow.testing.postgres import EmbeddedPostgres

ROOT = Path(__file__).resolve().parents[2]


def lakeflow(
    *args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m lakeflow ARGS` and capture everything it prints."""
    environment = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "lakeflow", *args],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
        cwd=cwd or ROOT,
    )


def write_config(folder: Path, config: Mapping[str, object]) -> Path:
    path = folder / "pipeline.yaml"
    path.write_text(yaml.safe_dump(dict(config), sort_keys=False))
    return path


def sqlite_source(folder: Path, rows: int = 20) -> Path:
    """A SQLite `users` table: ids 1..rows, every fourth user under 18."""
    db = folder / "users.db"
    frame = pl.DataFrame(
        {
            "id": list(range(1, rows + 1)),
            "email": [f"u{i}@example.com" for i in range(1, rows + 1)],
            "age": [15 if i % 4 == 0 else 40 for i in range(1, rows + 1)],
            "updated_at": [f"2024-01-01 00:00:{i % 60:02d}" for i in range(1, rows + 1)],
        }
    )
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE users (id INTEGER, email TEXT, age INTEGER, updated_at TIMESTAMP)"
        )
        conn.executemany("INSERT INTO users VALUES (?, ?, ?, ?)", frame.rows())
    return db


def base_config(source_uri: str = "sqlite://users.db") -> dict[str, object]:
    return {
        "pipeline": "users",
        "lake": {"url": "local://lake", "repository": "etl-pipeline"},
        "source": {
            "sql": {
                "uri": source_uri,
                "table": "users",
                "incremental": {"column": "updated_at", "key": ["id"]},
            }
        },
        "transform": {"clean": {"string_cleaning": {"email": ["strip", "lower"]}}},
        "validate": {
            "schema": {"properties": {"age": {"type": "integer", "minimum": 18}}},
            "unique": ["id"],
            "max_invalid_fraction": 0.3,
        },
        "load": {"path": "validated_data/users"},
    }


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    """A folder with a SQLite source and a valid config (`pipeline.yaml`); no lake yet."""
    sqlite_source(tmp_path)
    write_config(tmp_path, base_config())
    return tmp_path


@pytest.fixture
def project(fresh: Path) -> Path:
    """Like `fresh`, with the lake initialised (in-process, to keep the suite fast)."""
    with pytest.raises(SystemExit) as done:
        cli_main(["init", str(fresh / "pipeline.yaml")])
    assert done.value.code in (0, None)
    return fresh


def test_run_json_prints_only_the_record_and_exits_0(project: Path) -> None:
    """`run --json` prints exactly one JSON document: the run record."""
    config = str(project / "pipeline.yaml")
    done = lakeflow("run", config, "--json")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["status"] == "published"
    assert record["rows"]["valid"] == 15
    assert record["rows"]["quarantined"] == 5
    assert record["watermark"]["column"] == "updated_at"


def test_human_run_prints_a_line_per_step_and_a_summary(project: Path) -> None:
    """Without --json, each step gets a line while running and a summary closes the run."""
    config = str(project / "pipeline.yaml")
    done = lakeflow("run", config)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    steps = [line.split()[0] for line in lines if line.startswith("  ") and " ok " in line]
    assert steps[:8] == [
        "resolve",
        "extract",
        "transform",
        "validate",
        "table",
        "write",
        "commit",
        "merge",
    ]
    assert any(line.startswith("published run ") for line in lines)


def test_running_before_init_fails_and_says_what_to_do(fresh: Path) -> None:
    """A run on a repository that does not exist fails at resolve and points at `init`."""
    done = lakeflow("run", str(fresh / "pipeline.yaml"))
    assert done.returncode == 1
    assert "FAILED at resolve" in done.stdout
    assert "lakeflow init" in done.stdout


def test_init_is_idempotent_and_creates_the_standard_branches(fresh: Path) -> None:
    """A second `init` changes nothing: same heads, branches reported as existing."""
    config = str(fresh / "pipeline.yaml")
    first = lakeflow("init", config)
    assert first.returncode == 0, first.stderr
    assert "created" in first.stdout
    lake = open_lake(f"local://{fresh / 'lake'}", repository="etl-pipeline")
    heads = {b.name: b.commit_id for b in lake.branches()}
    assert {"main", "staging", "development", "production"} <= set(heads)
    second = lakeflow("init", config)
    assert second.returncode == 0
    assert "created" not in second.stdout
    assert {b.name: b.commit_id for b in lake.branches()} == heads


def test_unknown_keys_are_named_with_their_path_and_exit_2(fresh: Path) -> None:
    """A typo in the config is a usage error naming the key path, with a did-you-mean."""
    config = base_config()
    config["load"] = {"path": "validated_data/users", "moed": "append"}
    config["transform"] = {"clean": {"null_handling": {"age": "fill_avg"}}}
    path = write_config(fresh, config)
    done = lakeflow("run", str(path))
    assert done.returncode == 2
    assert "load.moed" in done.stderr
    assert "mode" in done.stderr
    assert "transform.clean" in done.stderr
    assert "fill_avg" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert not (fresh / "lake").exists(), "nothing may happen before the config is valid"


def test_unset_environment_variables_are_config_errors(project: Path) -> None:
    """`${VAR}` without VAR set names the variable and the key; exit code 2."""
    path = write_config(project, base_config("${LAKEFLOW_TEST_UNSET_URI}"))
    environment = {k: v for k, v in os.environ.items() if k != "LAKEFLOW_TEST_UNSET_URI"}
    done = subprocess.run(
        [sys.executable, "-m", "lakeflow", "run", str(path)],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
        cwd=ROOT,
    )
    assert done.returncode == 2
    assert "LAKEFLOW_TEST_UNSET_URI" in done.stderr
    assert "source.sql.uri" in done.stderr


def test_bad_usage_exits_2(project: Path) -> None:
    """Unknown commands, missing arguments and missing files are usage errors."""
    assert lakeflow("frobnicate").returncode == 2
    assert lakeflow("run").returncode == 2
    missing = lakeflow("run", str(project / "nope.yaml"))
    assert missing.returncode == 2
    assert "nope.yaml" in missing.stderr
    assert lakeflow("show", str(project / "pipeline.yaml"), "no-such-run").returncode == 2


def test_a_failed_run_exits_1_and_is_listed(project: Path) -> None:
    """Validation above the tolerated fraction fails the run (exit 1); `runs` lists it."""
    config = base_config()
    config["validate"] = {
        "schema": {"properties": {"age": {"type": "integer", "minimum": 18}}},
        "max_invalid_fraction": 0.1,
    }
    path = str(write_config(project, config))
    failed = lakeflow("run", path, "--json")
    assert failed.returncode == 1
    record = json.loads(failed.stdout)
    assert record["failed_step"] == "validate"
    listed = lakeflow("runs", path, "--json")
    assert listed.returncode == 0
    assert [r["run_id"] for r in json.loads(listed.stdout)] == [record["run_id"]]
    shown = lakeflow("show", path, record["run_id"])
    assert shown.returncode == 0
    assert "FAILED at validate" in shown.stdout


def test_no_merge_keeps_the_run_on_its_branch(project: Path) -> None:
    """`--no-merge` commits on the run branch and leaves the target alone."""
    path = str(project / "pipeline.yaml")
    lake = open_lake(f"local://{project / 'lake'}", repository="etl-pipeline")
    before = lake.head("main")
    done = lakeflow("run", path, "--no-merge", "--json")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["status"] == "committed"
    assert lake.head("main") == before
    assert lake.head(record["run_branch"]) == record["commit"]


def test_run_to_another_target_branch(project: Path) -> None:
    """`--target staging` publishes to staging only."""
    path = str(project / "pipeline.yaml")
    lake = open_lake(f"local://{project / 'lake'}", repository="etl-pipeline")
    main_before = lake.head("main")
    done = lakeflow("run", path, "--target", "staging", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["merge_commit"] == lake.head("staging")
    assert lake.head("main") == main_before


def test_health_reports_each_part_and_fails_on_a_dead_database(
    project: Path, postgres: EmbeddedPostgres
) -> None:
    """`health` is 0 when the lake and database answer, 1 with a clear line when not."""
    path = str(project / "pipeline.yaml")
    healthy = lakeflow("health", path)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "source    ok" in healthy.stdout
    assert "updated_at" in healthy.stdout, "health shows the source's schema"
    dead_path = str(write_config(project, base_config("${SOURCE_DB_URI}")))
    unhealthy = lakeflow(
        "health", dead_path, env={"SOURCE_DB_URI": "postgresql://etl:pw@127.0.0.1:9/none"}
    )
    assert unhealthy.returncode == 1
    assert "source    FAILED" in unhealthy.stdout


def test_postgres_pipeline_never_leaks_the_password(
    tmp_path: Path, postgres: EmbeddedPostgres, pg_uri: str
) -> None:
    """A planted password is absent from output, records, the lake and the server's errors."""
    postgres.execute(
        "CREATE TABLE users (id INTEGER, email TEXT, age INTEGER, updated_at TIMESTAMP)",
        "INSERT INTO users SELECT i, 'u' || i || '@example.com', CASE WHEN i % 4 = 0 THEN 15 "
        "ELSE 40 END, TIMESTAMP '2024-01-01' + i * INTERVAL '1 minute' "
        "FROM generate_series(1, 40) AS i",
        database=pg_uri.rsplit("/", 1)[1],
    )
    password = pg_uri.split(":")[2].split("@", maxsplit=1)[0]
    assert len(password) >= 8
    config = base_config("${SOURCE_DB_URI}")
    config["load"] = {
        "path": "validated_data/users",
        "database": {
            "uri": "${SOURCE_DB_URI}",
            "table": "processed_users",
            "mode": "upsert",
            "keys": ["id"],
        },
    }
    path = str(write_config(tmp_path, config))
    env = {"SOURCE_DB_URI": pg_uri}
    outputs = [
        lakeflow("init", path, env=env),
        lakeflow("run", path, env=env),
        lakeflow("run", path, "--json", env=env),
        lakeflow("runs", path, env=env),
        lakeflow("health", path, env=env),
    ]
    wrong_password = {"SOURCE_DB_URI": pg_uri.replace(password, password + "x")}
    outputs.append(lakeflow("run", path, env=wrong_password))
    assert [o.returncode for o in outputs[:3]] == [0, 0, 0], [o.stderr for o in outputs]
    assert outputs[-1].returncode == 1
    for done in outputs:
        assert password not in done.stdout + done.stderr
    for file in (tmp_path / "lake").rglob("*"):
        if file.is_file():
            assert password.encode() not in file.read_bytes(), file
    rows = postgres.query("SELECT count(*) FROM processed_users", database=pg_uri.rsplit("/", 1)[1])
    assert rows == [(30,)]


def test_load_reapplies_a_published_run_that_failed_to_load(
    tmp_path: Path, postgres: EmbeddedPostgres
) -> None:
    """A database load that fails after the merge is published_not_loaded; `load` fixes it."""
    sqlite_source(tmp_path)
    target = postgres.uri("warehouse_later")
    config = base_config()
    config["load"] = {
        "path": "validated_data/users",
        "database": {"uri": "${TARGET_DB_URI}", "table": "users", "mode": "upsert", "keys": ["id"]},
    }
    config["run"] = {"max_retries": 0}
    path = str(write_config(tmp_path, config))
    env = {"TARGET_DB_URI": target}
    assert lakeflow("init", path, env=env).returncode == 0
    failed = lakeflow("run", path, "--json", env=env)
    assert failed.returncode == 1, failed.stderr
    record = json.loads(failed.stdout)
    assert record["status"] == "published_not_loaded"
    assert record["failed_step"] == "load"
    assert record["merge_commit"]
    postgres.create_database("warehouse_later")
    loaded = lakeflow("load", path, record["run_id"], "--json", env=env)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert json.loads(loaded.stdout)["rows"]["loaded"] == 15
    again = lakeflow("load", path, record["run_id"], "--json", env=env)
    assert again.returncode == 0
    assert json.loads(again.stdout)["sinks"][0]["rows_changed"] == 0, "upsert reload is a no-op"
    assert postgres.query("SELECT count(*) FROM users", database="warehouse_later") == [(15,)]


def test_python_dash_m_and_the_console_script_agree(project: Path) -> None:
    """`python -m lakeflow` and the `lakeflow` script are the same program."""
    script = Path(sys.executable).parent / "lakeflow"
    via_script = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, check=False
    )
    assert via_script.returncode == 0
    assert via_script.stdout == lakeflow("--help").stdout


def test_lake_contents_after_two_incremental_runs(project: Path) -> None:
    """Rows added after a run, including one tied with the watermark, are published once."""
    path = str(project / "pipeline.yaml")
    assert lakeflow("run", path).returncode == 0
    import sqlite3

    with sqlite3.connect(project / "users.db") as conn:
        (newest,) = conn.execute("SELECT max(updated_at) FROM users").fetchone()
        conn.execute("INSERT INTO users VALUES (21, 'late@example.com', 50, ?)", (newest,))
        conn.execute("INSERT INTO users VALUES (22, 'new@example.com', 50, '2024-02-01 00:00:00')")
    second = lakeflow("run", path, "--json")
    assert json.loads(second.stdout)["rows"]["extracted"] == 2
    lake = open_lake(f"local://{project / 'lake'}", repository="etl-pipeline")
    ids = lake.scan("validated_data/users").collect()["id"].sort().to_list()
    assert ids == [i for i in range(1, 23) if i % 4 != 0 or i > 20]
    assert unwrap_io(lake.lake.resolve("lakeflow-history")).map(bool).value_or(False)
