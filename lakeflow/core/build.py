"""Build the pure parts of a pipeline from its validated config: the transform stage and checks.

Pure. Each ``transform:`` step's model is the typed options of its stage builder, so building
is mapping each model to its builder (in the order written); the ``validate:`` block becomes
:class:`~lakeflow.core.validate.Checks`. Problems a builder still finds (none for a config that
validated, short of a bug) are placed at the step's key path.

>>> from lakeflow.core.config import parse_config
>>> config = parse_config({
...     "pipeline": "users",
...     "lake": {"url": "local://lake", "repository": "etl"},
...     "source": {"parquet": {"path": "users.parquet"}},
...     "transform": {"derive": {"twice": "income * 2"}},
...     "load": {"path": "validated_data/users"},
... }).unwrap()
>>> build_transform(config.transform).unwrap().name
'derive'
"""

from __future__ import annotations

from returns.result import Failure, Result, Success

from lakeflow.core.config import (
    AggregateStep,
    CategorizeStep,
    CleanStep,
    DeriveStep,
    FiltersStep,
    ProtectStep,
    TransformConfig,
    TransformStep,
    ValidateConfig,
    config_error,
    problems_at,
)
from lakeflow.core.errors import ConfigError, ConfigProblem
from lakeflow.core.stage import Stage, compose
from lakeflow.core.transform import aggregate, categorize, clean, derive, keep, protect
from lakeflow.core.validate import Checks

__all__ = ["build_checks", "build_transform", "stages_of"]


def stages_of(step: TransformStep) -> list[Stage]:
    """Pure. The stage(s) one ``transform:`` step stands for (categorize: one per column)."""
    match step:
        case CleanStep():
            return [clean(step)]
        case DeriveStep():
            return [derive(step.columns)]
        case FiltersStep():
            return [keep(*step.conditions)]
        case CategorizeStep():
            return [categorize(column, labels) for column, labels in step.columns.items()]
        case ProtectStep():
            return [protect(step)]
        case AggregateStep():
            return [aggregate(step)]


def build_transform(transform: TransformConfig) -> Result[Stage, ConfigError]:
    """Pure. The composed transform stage, or every builder problem at its key path."""
    stages: list[Stage] = []
    problems: list[ConfigProblem] = []
    for index, step in enumerate(transform.steps):
        built = stages_of(step)
        for item in built:
            problems.extend(problems_at(transform.path_of(index), item.problems))
        stages.extend(built)
    error = config_error(problems)
    if error is not None:
        return Failure(error)
    return Success(compose(*stages, name="transform"))


def build_checks(validate: ValidateConfig | None) -> Result[Checks, ConfigError]:
    """Pure. The checks of a ``validate:`` block (no checks when there is none).

    A ``pandera:`` model named in the block stays a reference: importing it is an effect,
    done by the caller (``lakeflow.pipelines``).
    """
    if validate is None:
        return Success(Checks())
    return Checks.from_config(validate)
