"""No config key is parsed and then ignored: every key of every config model is read by the code
that acts on configs.

How it stays honest: while the scenarios below build jobs from configs and run them (the CLI's
``init``, ``run`` and ``health`` in-process, so the same code paths as a user's), every read of a
model field is recorded together with the file that read it. Reads from the config package
itself (validators, ``describe``, hashing, the secrets walk), from ``config_loader`` (path
resolution) and from ``config_docs`` do not count: they parse, they do not act. A key added to a
model that nothing outside those reads makes this test fail, naming it. (A read is necessary,
not sufficient, for acting on a key; the feature's own tests show what it does.) Root models
(``derive: {column: expr}`` and the like) have no named keys and are not listed.
"""

from __future__ import annotations

import sqlite3
import sys
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, RootModel

from lakeflow.cli import main as cli_main
from lakeflow.core.config import ConfigModel, PipelineConfig

LAKEFLOW = Path(__file__).resolve().parents[1] / "lakeflow"
NOT_ACTING = (
    LAKEFLOW / "core" / "config",
    LAKEFLOW / "config_loader.py",
    LAKEFLOW / "config_docs.py",
)


def config_fields() -> set[tuple[str, str]]:
    """Every (model, key) reachable from PipelineConfig, root models left out."""
    found: set[tuple[str, str]] = set()
    seen: set[type] = set()

    def walk(annotation: object) -> None:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            walk(typing.get_args(annotation)[0])
        elif origin is not None:
            for arg in typing.get_args(annotation):
                walk(arg)
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation in seen:
                return
            seen.add(annotation)
            for name, info in annotation.model_fields.items():
                if not issubclass(annotation, RootModel):
                    found.add((annotation.__name__, name))
                walk(info.annotation)

    walk(PipelineConfig)
    return found


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> set[tuple[str, str]]:
    """The (model, key) pairs read by code that acts on configs, while the test runs."""
    seen: set[tuple[str, str]] = set()
    original = ConfigModel.__getattribute__

    def tracking(self: Any, name: str) -> Any:
        value = original(self, name)
        if name in type(self).model_fields:
            caller = Path(sys._getframe(1).f_code.co_filename)
            if caller.is_relative_to(LAKEFLOW) and not any(
                caller == p or caller.is_relative_to(p) for p in NOT_ACTING
            ):
                seen.add((type(self).__name__, name))
        return value

    monkeypatch.setattr(ConfigModel, "__getattribute__", tracking)
    return seen


def _sqlite(folder: Path) -> None:
    with sqlite3.connect(folder / "users.db") as db:
        db.execute(
            "CREATE TABLE users (id INTEGER, email TEXT, age INTEGER, income REAL, "
            "status TEXT, country TEXT, phone TEXT, created_at TEXT, updated_at TEXT)"
        )
        db.executemany(
            "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    i,
                    f"u{i}@x.io",
                    20 + i,
                    1000.0 * i,
                    " Active ",
                    "DE",
                    "5550001",
                    "2024-01-02",
                    f"2024-01-01 00:00:{i:02d}",
                )
                for i in range(1, 9)
            ],
        )


def _everything(folder: Path) -> dict[str, Any]:
    """A runnable config using every key that can go together."""
    return {
        "pipeline": "users",
        "lake": {"url": "local://lake", "repository": "etl-pipeline", "default_branch": "main"},
        "source": {
            "sql": {
                "uri": "sqlite://users.db",
                "table": "users",
                "incremental": {"column": "updated_at", "key": ["id"]},
                "partition_on": "id",
                "partitions": 2,
            }
        },
        "transform": [
            {
                "clean": {
                    "remove_duplicates": {
                        "keys": ["id"],
                        "keep": "latest",
                        "order_by": "updated_at",
                    },
                    "null_handling": {"email": "drop", "income": {"value": 0}},
                    "type_conversions": {
                        "created_at": {"to": "date", "format": "%Y-%m-%d", "on_error": "null"},
                    },
                    "string_cleaning": {"status": ["strip", "lower"]},
                }
            },
            {"derive": {"bracket": "floor(income / 1000) * 1000"}},
            {"filters": ["age >= 18"]},
            {
                "categorize": {
                    "income": {"Low": {"min": 0, "max": 3000}, "High": {"min": 3001}},
                    "country": {"bins": {"EU": ["DE", "FR"]}, "into": "region", "default": "Other"},
                }
            },
            {"protect": {"salt": "${PII_SALT}", "columns": {"phone": "mask"}, "keep_last": 2}},
        ],
        "validate": {
            "schema": {
                "properties": {
                    "id": {"type": "integer", "minimum": 1, "maximum": 10**6},
                    "email": {"type": "string", "pattern": "^[^@]+@[^@]+$"},
                    "status": {"enum": ["active", "inactive"]},
                },
                "required": ["id"],
                "coerce": True,
            },
            "completeness": {"columns": ["id", "email"], "threshold": 0.5},
            "unique": ["id"],
            "references": {"country": {"values": ["DE", "US"]}},
            "rules": [
                {"name": "adult", "condition": "age >= 18", "severity": "warning", "nulls": "fail"}
            ],
            "pandera": "tests.core.test_validate_pandera:Users",
            "max_invalid_fraction": 0.5,
            "enforce": True,
            "quality": {"timestamp_column": "updated_at", "freshness_hours": 24},
        },
        "load": {
            "path": "validated_data/users",
            "mode": "append",
            "raw": True,
            "database": {
                "uri": "sqlite://warehouse.db",
                "table": "processed_users",
                "mode": "upsert",
                "keys": ["id"],
            },
        },
        "run": {
            "max_retries": 1,
            "timeout_seconds": 30,
            "retry_on_conflict": 1,
            "batch_size": 1000,
        },
        "monitoring": {
            "sla": {
                "max_duration_s": 600,
                "min_success_rate": 0.1,
                "max_quarantined_rows": 100,
                "max_quarantined_fraction": 0.9,
                "max_errors": 10,
                "max_staleness_s": 3600,
            },
            "alerts": {
                "on_success": False,
                "timeout_seconds": 5,
                "email": {
                    "to": ["ops@example.com"],
                    "from": "etl@example.com",
                    "smtp": {
                        "host": "127.0.0.1",
                        "port": 2525,
                        "username": "etl",
                        "password": "${SMTP_PASSWORD}",
                        "starttls": True,
                        "ssl": False,
                        "timeout_seconds": 1,
                    },
                },
                "webhook": {
                    "url": "http://127.0.0.1:9/hook",
                    "format": "generic",
                    "timeout_seconds": 1,
                },
            },
            "prometheus": {
                "textfile_dir": str(folder / "metrics"),
                "pushgateway": "http://127.0.0.1:9",
                "timeout_seconds": 1,
            },
        },
    }


def _others(folder: Path) -> list[dict[str, Any]]:
    """Configs for the keys that cannot go with the first: other sources, aggregate, datasets,
    TLS from the start, lakeFS keys and a Delta table merged by key."""
    base = _everything(folder)
    (folder / "users.csv").write_text("id,age\n1,30\n")
    (folder / "users.ndjson").write_text('{"id": 1, "age": 30}\n')
    sources = [
        {"sql": {"uri": "sqlite://users.db", "query": "select * from users"}},
        {"parquet": {"path": "users/*.parquet", "incremental": {"column": "id"}}},
        {
            "csv": {
                "path": "users.csv",
                "separator": ",",
                "has_header": True,
                "try_parse_dates": True,
                "incremental": {"column": "id"},
            }
        },
        {"ndjson": {"path": "users.ndjson", "incremental": {"column": "id"}}},
        {"lake": {"path": "validated_data/users", "incremental": {"column": "id"}}},
    ]
    configs = [{**base, "source": source, "monitoring": None} for source in sources]
    aggregate = {"aggregate": {"group_by": ["country"], "aggregations": {"income": ["mean"]}}}
    configs.append({**base, "transform": [aggregate], "validate": None, "monitoring": None})
    references = {"country": {"dataset": "validated_data/users", "key": "country"}}
    configs.append({**base, "validate": {"references": references}, "monitoring": None})
    smtp = {"host": "127.0.0.1", "port": 465, "ssl": True}
    tls = {"alerts": {"email": {"to": ["ops@example.com"], "smtp": smtp}}}
    configs.append({**base, "monitoring": tls})
    lakefs = {
        "url": "lakefs://127.0.0.1:9",
        "repository": "etl-pipeline",
        "access_key_id": "${LAKECTL_CREDENTIALS_ACCESS_KEY_ID}",
        "secret_access_key": "${LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY}",
    }
    configs.append({**base, "lake": lakefs, "monitoring": None})
    table = {
        "path": "validated_data/users",
        "mode": "merge",
        "format": "delta",
        "keys": ["id"],
        "delete_column": "status",
        "schema": "evolve",
    }
    unique = {"unique": [{"columns": ["id"], "scope": "run"}]}
    configs.append({**base, "load": table, "validate": unique, "monitoring": None})
    return configs


def _cli(*args: str) -> None:
    with pytest.raises(SystemExit):
        cli_main(list(args))


def test_every_config_key_is_read_by_the_code_that_acts_on_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reads: set[tuple[str, str]]
) -> None:
    """Running configs that use every key reads each key outside the config parser."""
    monkeypatch.setenv("PII_SALT", "salt-for-the-test")
    monkeypatch.setenv("SMTP_PASSWORD", "pw-for-the-test")
    monkeypatch.setenv("LAKECTL_CREDENTIALS_ACCESS_KEY_ID", "AKIATEST")
    monkeypatch.setenv("LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY", "secret-for-the-test")
    _sqlite(tmp_path)
    main = tmp_path / "pipeline.yaml"
    main.write_text(yaml.safe_dump(_everything(tmp_path), sort_keys=False))
    for command in ("init", "run", "health"):
        _cli(command, str(main))
    for index, config in enumerate(_others(tmp_path)):
        path = tmp_path / f"other-{index}.yaml"
        shown = {k: v for k, v in config.items() if v is not None}
        path.write_text(yaml.safe_dump(shown, sort_keys=False))
        _cli("check", str(path))
    missing = sorted(config_fields() - reads)
    assert missing == [], f"config keys nothing acts on: {missing}"
