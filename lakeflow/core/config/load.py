"""``load:`` where validated rows go: a dataset in the lake, and optionally a database table.

Pure. Lake paths are checked here, at config time: relative, ``/``-separated, no empty, ``.``
or ``..`` parts, no control characters, and never under lakeflow's own folders.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Self

from pydantic import model_validator

from lakeflow.core.config.base import ConfigModel, Expect
from lakeflow.core.config.errors import problems
from lakeflow.core.config.values import Bool, ColumnList, LoadPath, SecretValue, SqlTable
from lakeflow.core.secrets import Secret

__all__ = ["DatabaseLoadConfig", "LoadConfig"]


class DatabaseLoadConfig(ConfigModel):
    """Also load the validated rows into a database table (through ADBC)."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {
            "examples": [
                {
                    "uri": "${TARGET_DB_URI}",
                    "table": "processed_users",
                    "mode": "upsert",
                    "keys": ["id"],
                }
            ]
        }
    }

    uri: Annotated[Secret, SecretValue("uri", "TARGET_DB_URI")]
    """The connection URI; any password comes from the environment."""
    table: SqlTable
    """The ``[schema.]table`` to write."""
    mode: Annotated[
        Literal["append", "replace", "upsert"], Expect("one of append, replace, upsert")
    ] = "append"
    """``append`` rows, ``replace`` the table, or ``upsert`` by ``keys`` (an identical rerun
    changes nothing)."""
    keys: ColumnList = ()
    """The key columns of ``upsert`` (only with ``upsert``)."""

    @model_validator(mode="after")
    def _keys_go_with_upsert(self) -> Self:
        if self.mode == "upsert" and not self.keys:
            raise problems((("keys",), "required with mode: upsert"))
        if self.mode != "upsert" and self.keys:
            raise problems((("keys",), f"only used with mode: upsert, not mode: {self.mode}"))
        return self


class LoadConfig(ConfigModel):
    """Where validated rows go in the lake (and optionally a database)."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {
            "examples": [{"path": "validated_data/users", "mode": "append", "raw": True}]
        }
    }

    path: LoadPath
    """The dataset's path inside the lake (not under ``_lakeflow/`` or ``raw/``)."""
    mode: Annotated[Literal["append", "overwrite"], Expect("one of append, overwrite")] = "append"
    """``append`` a part per run, or ``overwrite`` the dataset."""
    raw: Bool = True
    """Also keep the extracted rows as read, under ``raw/<pipeline>/``."""
    database: DatabaseLoadConfig | None = None
    """A database table to load the validated rows into as well."""

    section: ClassVar[str] = "load"
