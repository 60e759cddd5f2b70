"""``run:`` retries and limits of a run.

Pure.
"""

from __future__ import annotations

from lakeflow.core.config.base import ConfigModel
from lakeflow.core.config.values import NonNegativeInt, PositiveFloat, PositiveInt

__all__ = ["RunConfig"]


class RunConfig(ConfigModel):
    """Retries and limits of a run (every key optional)."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {
            "examples": [{"max_retries": 3, "timeout_seconds": 300, "retry_on_conflict": 1}]
        }
    }

    max_retries: NonNegativeInt = 3
    """Retries of a step that failed for a transient reason (an unreachable database)."""
    timeout_seconds: PositiveFloat = 300.0
    """How long retries of one step may take in all."""
    retry_on_conflict: NonNegativeInt = 1
    """Whole-run retries when another run published first (a merge conflict)."""
    batch_size: PositiveInt = 100_000
    """Rows per batch when loading into a database."""
