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

The top level holds what a notebook user types: the stages and checks, ``validate``, ``run``
and the run history, ``open_lake`` and ``init_lake``, ``Pipeline``, the sources and sinks a
pipeline is built from, and the types their signatures use. Failure types live in
:mod:`lakeflow.errors`; the config models in :mod:`lakeflow.core.config`; execution plumbing
(``collect_together``, ``plan_validation``...) in its own modules.
"""

from lakeflow.adapters.db_sink import DatabaseSink
from lakeflow.adapters.file_source import FileSource, LakeSource
from lakeflow.adapters.frame_source import FrameSource
from lakeflow.adapters.sql_source import SqlSource
from lakeflow.core.incremental import IncrementalSpec, Watermark
from lakeflow.core.records import FailureRecord, RunRecord
from lakeflow.core.secrets import Secret
from lakeflow.core.stage import Stage, compose, stage
from lakeflow.core.table import TableOptions
from lakeflow.core.transform import aggregate, categorize, clean, derive, keep, protect
from lakeflow.core.validate import (
    Checks,
    Completeness,
    DatasetRef,
    FrameRef,
    Property,
    PublishedRows,
    Quality,
    QualityMetrics,
    Rule,
    Schema,
    Validated,
    ValidationReport,
    ValuesRef,
)
from lakeflow.execute import validate
from lakeflow.lakes import LakeHandle, open_lake
from lakeflow.pipelines import Job, load_job
from lakeflow.ports import ExtractContext, Lake, Sink, Source
from lakeflow.run import (
    History,
    InitReport,
    Pipeline,
    PrunedBranch,
    PruneReport,
    RetryPolicy,
    RunEvent,
    UnreadableRecord,
    backfill,
    discard_run,
    init_lake,
    load_run,
    optimize_table,
    prune_runs,
    publish_run,
    quarantined,
    read_history,
    reset_watermark,
    run,
    runs,
    show_run,
)

__all__ = [
    "Checks",
    "Completeness",
    "DatabaseSink",
    "DatasetRef",
    "ExtractContext",
    "FailureRecord",
    "FileSource",
    "FrameRef",
    "FrameSource",
    "History",
    "IncrementalSpec",
    "InitReport",
    "Job",
    "Lake",
    "LakeHandle",
    "LakeSource",
    "Pipeline",
    "Property",
    "PruneReport",
    "PrunedBranch",
    "PublishedRows",
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
    "TableOptions",
    "UnreadableRecord",
    "Validated",
    "ValidationReport",
    "ValuesRef",
    "Watermark",
    "aggregate",
    "backfill",
    "categorize",
    "clean",
    "compose",
    "derive",
    "discard_run",
    "init_lake",
    "keep",
    "load_job",
    "load_run",
    "open_lake",
    "optimize_table",
    "protect",
    "prune_runs",
    "publish_run",
    "quarantined",
    "read_history",
    "reset_watermark",
    "run",
    "runs",
    "show_run",
    "stage",
    "validate",
]
