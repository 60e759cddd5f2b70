"""From a decoded config to a runnable pipeline: sources, stages, checks, sinks and the lake.

Effectful only where it must be: importing a ``pandera:`` model named in the config and opening
the lake. Everything that can be wrong with a config (the decoder's problems, the stage
builders' problems, an adapter's invalid options, a pandera model that does not import) is
reported together as one :class:`ConfigError`, before any data is touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from returns.result import Failure, Result, Success

from lakeflow.adapters.db_sink import DatabaseSink
from lakeflow.adapters.file_source import FileSource, LakeSource
from lakeflow.adapters.sql_source import SqlSource
from lakeflow.config_loader import load_config
from lakeflow.core.build import build_checks, build_transform
from lakeflow.core.config import (
    CsvSourceConfig,
    LakeSourceConfig,
    NdjsonSourceConfig,
    ParquetSourceConfig,
    PipelineConfig,
    SqlSourceConfig,
    config_error,
)
from lakeflow.core.errors import ConfigError, ConfigProblem, LakeflowError
from lakeflow.core.table import TableOptions
from lakeflow.core.validate import Checks, PanderaRef, resolve_pandera
from lakeflow.execute import import_pandera
from lakeflow.lakes import open_lake
from lakeflow.ports import Lake, Sink, Source, unwrap_io
from lakeflow.run.monitor import Monitoring, monitoring_from_config
from lakeflow.run.pipeline import Pipeline, RetryPolicy

__all__ = ["Job", "job_from_config", "load_job", "pipeline_from_config"]


@dataclass(frozen=True)
class Job:
    """A pipeline ready to run, with the config it came from, the lake it publishes to and how
    its runs are monitored (``run(job.pipeline, job.lake, monitoring=job.monitoring)``)."""

    config: PipelineConfig
    pipeline: Pipeline
    lake: Lake
    monitoring: Monitoring = field(default_factory=Monitoring)


def _source(config: PipelineConfig) -> tuple[Source, tuple[str, ...], str]:
    source = config.source
    match source:
        case SqlSourceConfig():
            sql = SqlSource(
                source.uri,
                table=source.table,
                query=source.query,
                incremental=source.incremental,
                partition_on=source.partition_on,
                partitions=source.partitions,
            )
            return sql, sql.problems, "source.sql"
        case ParquetSourceConfig():
            files = FileSource(source.path, format="parquet", incremental=source.incremental)
            return files, files.problems, "source.parquet"
        case NdjsonSourceConfig():
            files = FileSource(source.path, format="ndjson", incremental=source.incremental)
            return files, files.problems, "source.ndjson"
        case CsvSourceConfig():
            csv = FileSource(
                source.path,
                format="csv",
                separator=source.separator,
                has_header=source.has_header,
                try_parse_dates=source.try_parse_dates,
                incremental=source.incremental,
            )
            return csv, csv.problems, "source.csv"
        case LakeSourceConfig():
            return LakeSource(source.path, incremental=source.incremental), (), "source.lake"
    raise AssertionError(f"unhandled source config {type(source).__name__}")  # pragma: no cover


def _checks(config: PipelineConfig, problems: list[ConfigProblem]) -> Checks:
    built = build_checks(config.validate)
    if isinstance(built, Failure):
        problems.extend(built.failure().problems)
        return Checks()
    checks = built.unwrap()
    for item in checks.pandera:
        if isinstance(item, PanderaRef):
            imported = import_pandera(item.target)
            if isinstance(imported, Failure):
                problems.append(ConfigProblem("validate.pandera", imported.failure().message))
    if problems:
        return checks
    return resolve_pandera(checks, lambda target: import_pandera(target).unwrap())


def pipeline_from_config(config: PipelineConfig) -> Result[Pipeline, ConfigError]:
    """Effect (imports a ``pandera:`` model). The :class:`Pipeline` a config describes."""
    problems: list[ConfigProblem] = []
    source, source_problems, source_path = _source(config)
    problems.extend(ConfigProblem(source_path, p) for p in source_problems)

    transform = build_transform(config.transform)
    if isinstance(transform, Failure):
        problems.extend(transform.failure().problems)

    checks = _checks(config, problems)

    sinks: list[Sink] = []
    database = config.load.database
    if database is not None:
        sink = DatabaseSink(
            database.uri,
            database.table,
            mode=database.mode,
            keys=database.keys,
            batch_size=config.run.batch_size,
        )
        problems.extend(ConfigProblem("load.database", p) for p in sink.problems)
        sinks.append(sink)

    error = config_error(problems, config.secrets())
    if error is not None:
        return Failure(error)
    policy = RetryPolicy(
        max_retries=config.run.max_retries,
        timeout_seconds=config.run.timeout_seconds,
        retry_on_conflict=config.run.retry_on_conflict,
    )
    return Success(
        Pipeline(
            name=config.pipeline,
            source=source,
            transform=transform.unwrap(),
            checks=checks,
            sinks=tuple(sinks),
            load_path=config.load.path,
            mode=config.load.mode,
            table=TableOptions(
                config.load.format, config.load.keys, config.load.delete_column, config.load.schema
            ),
            keep_raw=config.load.raw,
            retry=policy,
            config_sha256=config.config_sha256,
            secrets=config.secrets(),
        )
    )


def job_from_config(config: PipelineConfig) -> Result[Job, ConfigError]:
    """Effect. The pipeline and an open handle on its lake (nothing is created or read)."""
    built = pipeline_from_config(config)
    if isinstance(built, Failure):
        return Failure(built.failure())
    settings = config.lake
    try:
        lake = open_lake(
            settings.url,
            repository=settings.repository,
            verify_reads=settings.verify_reads,
            storage_namespace=settings.storage_namespace,
            endpoint=settings.endpoint,
            access_key_id=settings.access_key_id,
            secret_access_key=settings.secret_access_key,
        ).lake
    except LakeflowError as exc:
        return Failure(ConfigError((ConfigProblem("lake.url", str(exc)),)))
    monitoring = monitoring_from_config(config.monitoring, secrets=config.secrets())
    return Success(Job(config, built.unwrap(), lake, monitoring))


def load_job(path: str | Path) -> Result[Job, ConfigError]:
    """Effect. Read the config file at ``path`` and build its job (every problem at once).

    Alerts name ``path`` in the command that shows a run (``lakeflow show PATH RUN_ID``).
    """

    def shown_as(job: Job) -> Job:
        return replace(job, monitoring=replace(job.monitoring, config_path=str(path)))

    return unwrap_io(load_config(path)).bind(job_from_config).map(shown_as)
