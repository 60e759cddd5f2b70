"""Odd but real passwords against a real PostgreSQL: they work, and they never leak.

Each password is set on a real role; the pipeline reads from and upserts into that database
with the password in the URI (written as users write it: raw, percent-encoded, or as a query
parameter), through every command that prints or writes something."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from urllib.parse import quote

import pytest

from lakeflow.cli import main as cli_main
from lakeflow.testing.postgres import EmbeddedPostgres
from tests.e2e.test_cli import base_config, write_config

_roles = itertools.count(1)

PASSWORDS = {
    "reserved": "Qq@TailS3cret99",
    "spaces": "pass word with spaces",
    "quotes": "q\"u'o\\te$`{}",
    "unicode": "ünïcødé-pässwörd-秘密",
    "colon-at": "p:a@s@s:w",
}


def _spellings(password: str) -> set[str]:
    return {
        password,
        quote(password, safe=""),
        json.dumps(password)[1:-1],
        json.dumps(password, ensure_ascii=False)[1:-1],
        repr(password)[1:-1],
    }


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI in-process: exit code, stdout, stderr (log lines included)."""
    with pytest.raises(SystemExit) as done:
        cli_main(list(args))
    captured = capsys.readouterr()
    return int(done.value.code or 0), captured.out, captured.err


def _uri(postgres: EmbeddedPostgres, role: str, password: str, database: str, form: str) -> str:
    where = f"{postgres.host}:{postgres.port}/{database}"
    if form == "raw":
        return f"postgresql://{role}:{password}@{where}"
    if form == "encoded":
        return f"postgresql://{role}:{quote(password, safe='')}@{where}"
    return f"postgresql://{role}@{where}?password={quote(password, safe='')}"


@pytest.mark.parametrize(
    "case",
    [
        ("reserved", "raw"),
        ("spaces", "raw"),
        ("quotes", "encoded"),
        ("unicode", "raw"),
        ("colon-at", "query"),
        ("reserved", "query"),
    ],
)
def test_odd_passwords_work_and_never_leak(
    tmp_path: Path,
    postgres: EmbeddedPostgres,
    pg_uri: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    case: tuple[str, str],
) -> None:
    """run, run --json, runs, show, health and a failing run (wrong password) all work and
    print no spelling of the password; no lake file holds it either."""
    kind, form = case
    password = PASSWORDS[kind]
    database = pg_uri.rsplit("/", 1)[1]
    role = f"etl_{next(_roles)}"
    literal = password.replace("'", "''")
    postgres.execute(
        f"CREATE ROLE {role} LOGIN PASSWORD '{literal}'",
        f"GRANT ALL ON DATABASE {database} TO {role}",
    )
    postgres.execute(
        f"GRANT ALL ON SCHEMA public TO {role}",
        "CREATE TABLE users (id INTEGER, email TEXT, age INTEGER, updated_at TIMESTAMP)",
        "INSERT INTO users SELECT i, 'u' || i || '@x.io', 20 + i % 50, "
        "TIMESTAMP '2024-01-01' + i * INTERVAL '1 minute' FROM generate_series(1, 30) AS i",
        f"GRANT ALL ON users TO {role}",
        database=database,
    )
    config = base_config("${SOURCE_DB_URI}")
    config["load"] = {
        "path": "validated_data/users",
        "database": {
            "uri": "${TARGET_DB_URI}",
            "table": "processed_users",
            "mode": "upsert",
            "keys": ["id"],
        },
    }
    path = str(write_config(tmp_path, config))
    uri = _uri(postgres, role, password, database, form)
    monkeypatch.setenv("SOURCE_DB_URI", uri)
    monkeypatch.setenv("TARGET_DB_URI", uri)

    outputs: list[str] = []
    run_id = ""
    for args in (["init", path], ["run", path], ["run", path, "--json"], ["runs", path]):
        code, out, err = _cli(capsys, *args)
        assert code == 0, out + err
        outputs.append(out + err)
        if "--json" in args:
            run_id = json.loads(out)["run_id"]
    for args in (["show", path, run_id], ["show", path, run_id, "--json"], ["health", path]):
        code, out, err = _cli(capsys, *args)
        assert code == 0, out + err
        outputs.append(out + err)
    monkeypatch.setenv("SOURCE_DB_URI", _uri(postgres, role, password + "x", database, form))
    code, out, err = _cli(capsys, "run", path)
    assert code == 1 and "password authentication failed" in out, out + err
    outputs.append(out + err)

    spellings = _spellings(password) | _spellings(password + "x")
    for text in outputs:
        assert not any(s in text for s in spellings), text
    for file in (tmp_path / "lake").rglob("*"):
        if file.is_file():
            blob = file.read_bytes()
            assert not any(s.encode() in blob for s in spellings), file
    rows = postgres.query("SELECT count(*) FROM processed_users", database=database)
    assert rows[0][0] > 0
