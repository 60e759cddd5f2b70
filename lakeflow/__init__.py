"""lakeflow: trustworthy production ETL.

Pure stage functions over lazy Polars frames, composed with ``returns`` Result types, run inside
a lakeFS-style write-audit-publish transaction that publishes a run's outputs only when every
stage succeeded, and commits a failure record when one did not.

>>> import polars as pl
>>> import lakeflow as lf
>>> users = pl.LazyFrame({"email": [" A@X.COM ", None], "age": [30, 12]})
>>> tidy = lf.clean(null_handling={"email": "drop"}, string_cleaning={"email": ["strip", "lower"]})
>>> (tidy >> lf.keep("age >= 18"))(users).unwrap().collect()["email"].to_list()
['a@x.com']
"""

from lakeflow.adapters.db_sink import DatabaseSink
from lakeflow.adapters.file_source import FileSource, LakeSource
from lakeflow.adapters.frame_source import FrameSource
from lakeflow.adapters.local import LocalLake
from lakeflow.adapters.sql_source import SqlSource
from lakeflow.config_loader import load_config
from lakeflow.core.config import PipelineConfig, parse_config
from lakeflow.core.errors import (
    ConfigError,
    ConfigProblem,
    ConversionFailed,
    ExtractError,
    InvalidExpression,
    InvalidOption,
    LakeError,
    LakeflowError,
    LoadError,
    MissingColumns,
    StageError,
    StageFailed,
    UnusableWatermark,
    ValidationFailed,
)
from lakeflow.core.incremental import IncrementalSpec, Watermark
from lakeflow.core.records import FailureRecord, RunRecord
from lakeflow.core.secrets import Secret
from lakeflow.core.sql import sql_expr
from lakeflow.core.stage import Stage, compose, stage
from lakeflow.core.transform import aggregate, categorize, clean, derive, keep, protect
from lakeflow.core.validate import (
    QUARANTINE_REASONS,
    Checks,
    Completeness,
    DatasetRef,
    FrameRef,
    Property,
    Quality,
    QualityMetrics,
    Rule,
    Schema,
    Validated,
    ValidationPlan,
    ValidationReport,
    ValuesRef,
    plan_validation,
)
from lakeflow.execute import collect_together, validate
from lakeflow.lakes import LakeHandle, open_lake
from lakeflow.pipelines import load_job, pipeline_from_config
from lakeflow.ports import Lake, Sink, Source
from lakeflow.run import (
    History,
    InitReport,
    Pipeline,
    PrunedBranch,
    PruneReport,
    RetryPolicy,
    RunEvent,
    UnreadableRecord,
    discard_run,
    init_lake,
    load_run,
    prune_runs,
    publish_run,
    read_history,
    run,
    runs,
    show_run,
)

__all__ = [
    "QUARANTINE_REASONS",
    "Checks",
    "Completeness",
    "ConfigError",
    "ConfigProblem",
    "ConversionFailed",
    "DatabaseSink",
    "DatasetRef",
    "ExtractError",
    "FailureRecord",
    "FileSource",
    "FrameRef",
    "FrameSource",
    "History",
    "IncrementalSpec",
    "InitReport",
    "InvalidExpression",
    "InvalidOption",
    "Lake",
    "LakeError",
    "LakeHandle",
    "LakeSource",
    "LakeflowError",
    "LoadError",
    "LocalLake",
    "MissingColumns",
    "Pipeline",
    "PipelineConfig",
    "Property",
    "PruneReport",
    "PrunedBranch",
    "Quality",
    "QualityMetrics",
    "RetryPolicy",
    "Rule",
    "RunEvent",
    "RunRecord",
    "Schema",
    "Secret",
    "Sink",
    "Source",
    "SqlSource",
    "Stage",
    "StageError",
    "StageFailed",
    "UnreadableRecord",
    "UnusableWatermark",
    "Validated",
    "ValidationFailed",
    "ValidationPlan",
    "ValidationReport",
    "ValuesRef",
    "Watermark",
    "aggregate",
    "categorize",
    "clean",
    "collect_together",
    "compose",
    "derive",
    "discard_run",
    "init_lake",
    "keep",
    "load_config",
    "load_job",
    "load_run",
    "open_lake",
    "parse_config",
    "pipeline_from_config",
    "plan_validation",
    "protect",
    "prune_runs",
    "publish_run",
    "read_history",
    "run",
    "runs",
    "show_run",
    "sql_expr",
    "stage",
    "validate",
]
