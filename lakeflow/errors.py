"""Every failure lakeflow reports, in one place.

Expected failures are values — frozen dataclasses with ``kind``, ``message`` and ``retryable``,
members of the :data:`StageError` union — returned inside ``Failure(...)``; they are never
raised. :class:`LakeflowError` is the one exception: raised for misuse (an unknown run id, a
target that cannot be published to) and by the notebook helpers that return plain values.

>>> from lakeflow.errors import LakeError
>>> LakeError("merge", "both sides changed a.parquet", "conflict").conflict
True
"""

from lakeflow.core.errors import (
    ConfigError,
    ConfigProblem,
    ConversionFailed,
    ExtractError,
    InvalidExpression,
    InvalidOption,
    LakeError,
    LakeErrorCode,
    LakeflowError,
    LoadError,
    MissingColumns,
    PlanRejected,
    SchemaMismatch,
    StageError,
    StageFailed,
    UnusableWatermark,
    ValidationFailed,
)

__all__ = [
    "ConfigError",
    "ConfigProblem",
    "ConversionFailed",
    "ExtractError",
    "InvalidExpression",
    "InvalidOption",
    "LakeError",
    "LakeErrorCode",
    "LakeflowError",
    "LoadError",
    "MissingColumns",
    "PlanRejected",
    "SchemaMismatch",
    "StageError",
    "StageFailed",
    "UnusableWatermark",
    "ValidationFailed",
]
