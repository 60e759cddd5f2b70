"""Build the pure parts of a pipeline from its decoded config: the transform stage and checks.

Pure. Each ``transform:`` step becomes a stage (in the order written) and the ``validate:``
block becomes :class:`~lakeflow.core.validate.Checks`. Problems the stage builders find (an
unknown strategy, a SQL expression that does not parse) are placed at the step's key path, so
the CLI reports them with the decoder's own problems, before any effect.

>>> from lakeflow.core.config import parse_config
>>> config = parse_config({
...     "pipeline": "users",
...     "lake": {"url": "local://lake", "repository": "etl"},
...     "source": {"parquet": {"path": "users.parquet"}},
...     "transform": {"derive": {"bad": "income +* 2"}},
...     "load": {"path": "validated_data/users"},
... }).unwrap()
>>> print(build_transform(config.transform).failure().problems[0].path)
transform.derive
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
    builder_options,
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
    options = builder_options(step)
    match step:
        case CleanStep():
            return [clean(**options)]
        case DeriveStep():
            return [derive(options)]
        case FiltersStep():
            return [keep(*options)]
        case CategorizeStep():
            return [
                categorize(
                    column,
                    builder_options(labels.bins),
                    into=labels.into,
                    **({} if labels.default is None else {"default": labels.default}),
                )
                for column, labels in step.columns.items()
            ]
        case ProtectStep():
            return [protect(**options)]
        case AggregateStep():
            return [aggregate(**options)]


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
    built = Checks.from_config(builder_options(validate))
    if isinstance(built, Success):
        return Success(built.unwrap())
    failure = built.failure()
    if isinstance(failure, ConfigError):
        return Failure(failure)
    return Failure(ConfigError(problems_at("validate", [failure])))
