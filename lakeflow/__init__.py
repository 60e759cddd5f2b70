"""lakeflow: trustworthy production ETL.

Pure stage functions over lazy Polars frames, composed with ``returns`` Result types, run inside
a lakeFS-style write-audit-publish transaction that publishes a run's outputs only when every
stage succeeded.
"""

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
    ValidationFailed,
)
from lakeflow.core.stage import Stage, compose, stage

__all__ = [
    "ConfigError",
    "ConfigProblem",
    "ConversionFailed",
    "ExtractError",
    "InvalidExpression",
    "InvalidOption",
    "LakeError",
    "LakeflowError",
    "LoadError",
    "MissingColumns",
    "Stage",
    "StageError",
    "StageFailed",
    "ValidationFailed",
    "compose",
    "stage",
]
