"""``source:`` where rows come from: one of ``sql``, ``parquet``, ``csv``, ``ndjson``, ``lake``.

Pure. Each kind is a model with a ``kind`` tag; :data:`SourceConfig` is their ``{kind: body}``
union. ``incremental`` (every kind) extracts only rows newer than the last published watermark
(see :mod:`lakeflow.core.incremental`).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Self, TypeAlias

from pydantic import Strict, model_validator

from lakeflow.core.config.base import ConfigModel, Expect, OneKey, Via
from lakeflow.core.config.errors import problems
from lakeflow.core.config.values import (
    Bool,
    Column,
    ColumnList,
    LakePath,
    Partitions,
    Scalar,
    SecretValue,
    SqlTable,
    Text,
    satisfies,
)
from lakeflow.core.incremental import IncrementalSpec
from lakeflow.core.secrets import Secret

__all__ = [
    "CsvSourceConfig",
    "Incremental",
    "LakeSourceConfig",
    "NdjsonSourceConfig",
    "ParquetSourceConfig",
    "SourceConfig",
    "SqlSourceConfig",
]


class Incremental(ConfigModel):
    """Extract incrementally: only rows at or after the last published watermark."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {"examples": [{"column": "updated_at", "key": ["id"]}]}
    }

    column: Column
    """The watermark column (a timestamp or an increasing number)."""
    key: ColumnList = ()
    """Columns that identify a row (all columns when empty): rows already published at the
    watermark value are recognised by it, so none is published twice and none is lost."""
    initial: Scalar | None = None
    """Where the first run starts (a number, a date, a date-time or ISO 8601 text): it reads
    rows at or after it instead of all history. Later runs start at the checkpoint."""


def _spec(model: Incremental) -> IncrementalSpec:
    return IncrementalSpec(model.column, model.key, model.initial)


def _spec_data(spec: IncrementalSpec) -> dict[str, object]:
    data: dict[str, object] = {"column": spec.column}
    if spec.key:
        data["key"] = list(spec.key)
    if spec.initial is not None:
        data["initial"] = spec.initial
    return data


IncrementalOption: TypeAlias = Annotated[
    IncrementalSpec, Via(Incremental, IncrementalSpec, _spec, _spec_data)
]


class SqlSourceConfig(ConfigModel):
    """Read a table or a query through connectorx; exactly one of ``table`` and ``query``."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {
            "examples": [
                {
                    "uri": "${SOURCE_DB_URI}",
                    "table": "users",
                    "incremental": {"column": "updated_at", "key": ["id"]},
                },
                {
                    "uri": "postgresql://etl:${PGPASSWORD}@db:5432/prod",
                    "query": "select * from users where active",
                    "partition_on": "id",
                    "partitions": 4,
                },
            ]
        }
    }

    uri: Annotated[Secret, SecretValue("uri", "SOURCE_DB_URI")]
    """The connection URI (``postgresql://...``, ``sqlite:///abs/file.db`` or ``sqlite://rel.db``
    relative to the config file); any password comes from the environment."""
    table: SqlTable | None = None
    """A ``[schema.]table`` to read whole (or incrementally)."""
    query: Text | None = None
    """Your own SELECT, sent as written."""
    incremental: IncrementalOption | None = None
    """Extract only rows newer than the last published watermark."""
    partition_on: (
        Annotated[str, Strict(), Expect("a numeric column to split the read on")] | None
    ) = None
    """A numeric column: the read is split into ``partitions`` range queries run in parallel
    (give both or neither)."""
    partitions: Partitions | None = None
    """How many range queries (1 to 1024). Each one is a query and a connection at the source
    run in parallel on one machine: more than a few per core never reads faster, and a bound
    keeps planning the ranges cheap whatever is written here."""

    kind: ClassVar[str] = "sql"

    @model_validator(mode="after")
    def _one_of_table_and_query(self) -> Self:
        found: list[tuple[tuple[str, ...], str]] = []
        chosen = [k for k in ("table", "query") if getattr(self, k) is not None]
        if not chosen:
            found.append(((), "expected exactly one of table or query, got neither"))
        elif len(chosen) == 2:
            found.append(((), "expected exactly one of table or query, got both"))
        pair = [k for k in ("partition_on", "partitions") if getattr(self, k) is not None]
        if len(pair) == 1:
            (other,) = {"partition_on", "partitions"} - set(pair)
            found.append(((other,), f"required when {pair[0]} is given (both or neither)"))
        if found:
            raise problems(*found)
        return self


class ParquetSourceConfig(ConfigModel):
    """Read parquet files: a path or a glob (relative paths resolve against the config file)."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {"examples": [{"path": "data/users/*.parquet"}]}
    }

    path: Text
    """A file, a glob (``data/*.parquet``) or a URL such as ``s3://bucket/users/*.parquet``."""
    incremental: IncrementalOption | None = None
    """Extract only rows newer than the last published watermark."""

    kind: ClassVar[str] = "parquet"


class CsvSourceConfig(ConfigModel):
    """Read CSV files: a path or a glob, with a one-character separator."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {
            "examples": [{"path": "exports/*.csv", "separator": ";", "try_parse_dates": True}]
        }
    }

    path: Text
    """A file or a glob (relative paths resolve against the config file)."""
    separator: Annotated[
        str, Strict(), satisfies(lambda text: len(text) == 1), Expect("a single character")
    ] = ","
    """The field separator: one character."""
    has_header: Bool = True
    """Whether the first line names the columns."""
    try_parse_dates: Bool = False
    """Parse columns that look like dates or times."""
    incremental: IncrementalOption | None = None
    """Extract only rows newer than the last published watermark."""

    kind: ClassVar[str] = "csv"


class NdjsonSourceConfig(ConfigModel):
    """Read newline-delimited JSON files: a path or a glob."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {"examples": [{"path": "events/*.ndjson"}]}
    }

    path: Text
    """A file or a glob (relative paths resolve against the config file). JSON has no date
    type: convert date strings with ``clean.type_conversions``."""
    incremental: IncrementalOption | None = None
    """Extract only rows newer than the last published watermark."""

    kind: ClassVar[str] = "ndjson"


class LakeSourceConfig(ConfigModel):
    """Read a dataset already in the lake, at the run's base commit."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {"examples": [{"path": "validated_data/users"}]}
    }

    path: LakePath
    """The dataset's path inside the lake."""
    incremental: IncrementalOption | None = None
    """Extract only rows newer than the last published watermark."""

    kind: ClassVar[str] = "lake"


SOURCE_KINDS: dict[str, type[ConfigModel]] = {
    c.kind: c
    for c in (
        SqlSourceConfig,
        ParquetSourceConfig,
        CsvSourceConfig,
        NdjsonSourceConfig,
        LakeSourceConfig,
    )
}

SourceConfig: TypeAlias = Annotated[
    SqlSourceConfig | ParquetSourceConfig | CsvSourceConfig | NdjsonSourceConfig | LakeSourceConfig,
    OneKey("source kind", SOURCE_KINDS),
]
"""``source:`` -- a mapping with exactly one key, the source kind."""
