"""``load:`` where validated rows go: a dataset in the lake, and optionally a database table.

Pure. Lake paths are checked here, at config time: relative, ``/``-separated, no empty, ``.``
or ``..`` parts, no control characters, and never under lakeflow's own folders.
"""

from __future__ import annotations

import warnings
from typing import Annotated, ClassVar, Literal, Self

from pydantic import model_validator

from lakeflow.core.config.base import ConfigModel, Expect
from lakeflow.core.config.errors import problems
from lakeflow.core.config.values import Bool, Column, ColumnList, LoadPath, SecretValue, SqlTable
from lakeflow.core.secrets import Secret
from lakeflow.core.table import LoadMode, SchemaPolicy, TableFormat, TableOptions

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


_Policy = Annotated[SchemaPolicy, Expect("one of strict, add_columns, evolve")]

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", 'Field name "schema"', UserWarning)

    class LoadConfig(ConfigModel):
        """Where validated rows go in the lake (and optionally a database)."""

        model_config = ConfigModel.model_config | {
            "json_schema_extra": {
                "examples": [
                    {"path": "validated_data/users", "mode": "append", "raw": True},
                    {
                        "path": "validated_data/users",
                        "mode": "merge",
                        "keys": ["id"],
                        "delete_column": "deleted",
                        "schema": "add_columns",
                    },
                ]
            }
        }

        path: LoadPath
        """The dataset's path inside the lake (not under ``_lakeflow/`` or ``raw/``)."""
        mode: Annotated[LoadMode, Expect("one of append, overwrite, merge")] = "append"
        """``append`` the run's rows, ``overwrite`` the dataset, or ``merge`` them by ``keys``
        into a Delta table (the newest version of a key wins: by the incremental column when
        a run holds several)."""
        keys: ColumnList = ()
        """The columns identifying a row (``merge`` only; a row with a null key is
        quarantined as ``merge_key:<keys>``)."""
        format: Annotated[TableFormat, Expect("one of delta, parquet")] | None = None
        """``delta`` (a Delta Lake table, readable as a table by Spark, DuckDB, Trino and
        Polars) or ``parquet`` (a folder of one part per run). Default: ``delta`` for
        ``merge``, which needs it, and ``parquet`` for ``append`` and ``overwrite``."""
        delete_column: Column | None = None
        """A boolean column: rows where it is true remove their key from the table (``merge``
        only; the column itself is not published)."""
        schema: _Policy = "add_columns"  # type: ignore[assignment]  # the YAML key
        """What a run whose columns differ from the published ones does: ``add_columns``
        publishes new columns (older rows read as null) and fails on a dropped column;
        ``evolve`` also publishes nulls for dropped columns; ``strict`` fails on any
        difference. A changed type always fails (naming the column, both types and the run
        that last published it) unless it widens safely (Int32 to Int64, Float32 to
        Float64). A failed run leaves the published dataset untouched."""
        raw: Bool = True
        """Also keep the extracted rows as read, under ``raw/<pipeline>/``."""
        database: DatabaseLoadConfig | None = None
        """A database table to load the validated rows into as well."""

        section: ClassVar[str] = "load"

        @model_validator(mode="after")
        def _table_fits_mode(self) -> Self:
            found = [((key,), problem) for key, problem in self.table().problems(self.mode)]
            if self.delete_column is not None and self.database is not None:
                found.append(
                    (
                        ("delete_column",),
                        "deletes are not applied to load.database: drop the database sink, or "
                        "leave delete_column out",
                    )
                )
            if found:
                raise problems(*found)
            return self

        def table(self) -> TableOptions:
            """Pure. The table options this block stands for (to validate them here; the
            pipeline builder makes its own from the keys it acts on)."""
            return TableOptions(self.format, self.keys, self.delete_column, self.schema)
