"""Stages: named, pure functions from a lazy plan to a ``Result`` of a lazy plan.

Pure. A stage builds a plan; it never collects, reads, writes, logs or looks at the clock.
Stages compose with ``>>`` (short-circuiting on the first ``Failure``), or with
``returns.pipeline.flow`` and ``bind`` since a stage is a plain callable.

>>> import polars as pl
>>> from returns.result import Success
>>> double = Stage("double", lambda f: Success(f.with_columns(pl.col("x") * 2)))
>>> inc = stage(lambda f: f.with_columns(pl.col("x") + 1), name="inc")
>>> (double >> inc)(pl.LazyFrame({"x": [1, 2]})).unwrap().collect()["x"].to_list()
[3, 5]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import TypeAlias, TypeVar, overload

import polars as pl
from returns.result import Failure, Result, Success

from lakeflow.core.errors import (
    LakeflowError,
    MissingColumns,
    StageError,
    catch_engine,
    from_exception,
)

__all__ = ["Stage", "StageFn", "StageResult", "compose", "stage"]

T = TypeVar("T")

StageResult: TypeAlias = Result[pl.LazyFrame, StageError]
StageFn: TypeAlias = Callable[[pl.LazyFrame], StageResult]
UserFn: TypeAlias = Callable[[pl.LazyFrame], "pl.LazyFrame | StageResult"]


def _available(schema: pl.Schema) -> tuple[str, ...]:
    return tuple(schema.names())


def _engine(name: str, build: Callable[[], T]) -> Result[T, StageError]:
    """``build()`` with engine errors as values. A scan whose file is gone (``OSError``) is a
    failure of the stage that planned on it, not an exception."""
    return catch_engine(build, OSError).alt(lambda exc: from_exception(exc, stage=name))


def _checked(name: str, frame: pl.LazyFrame) -> StageResult:
    """Resolve the plan's schema so missing columns fail now, before any data is read."""
    return _engine(name, frame.collect_schema).map(lambda _: frame)


@dataclass(frozen=True, slots=True)
class Stage:
    """A named callable ``pl.LazyFrame -> Result[pl.LazyFrame, StageError]``.

    Attributes:
        name: Shown in every failure the stage returns.
        fn: Builds the output plan; called only after ``requires`` are checked.
        requires: Columns the input must have; missing ones fail at plan time, all named at once.
        problems: Option errors found when the stage was built (for example an unknown
            strategy). A stage with problems fails with the first one when called; config
            validation reports all of them before any effect.
        parts: The stages a composed stage runs, in order (empty for a single stage), so a
            plan check can try each one and report every problem, not just the first.
    """

    name: str
    fn: StageFn
    requires: tuple[str, ...] = ()
    problems: tuple[StageError, ...] = field(default=())
    parts: tuple[Stage, ...] = field(default=(), compare=False)

    @property
    def leaves(self) -> tuple[Stage, ...]:
        """The single stages this stage runs, in order (itself when it is not composed)."""
        return self.parts or (self,)

    def __call__(self, frame: pl.LazyFrame) -> StageResult:
        if self.problems:
            return Failure(self.problems[0])
        if self.requires:
            resolved = _engine(self.name, frame.collect_schema)
            if isinstance(resolved, Failure):
                return Failure(resolved.failure())
            schema = resolved.unwrap()
            missing = tuple(c for c in self.requires if c not in schema)
            if missing:
                return Failure(MissingColumns(self.name, missing, _available(schema)))
        return (
            _engine(self.name, partial(self.fn, frame))
            .bind(lambda result: result)
            .bind(lambda out: _checked(self.name, out))
        )

    def __rshift__(self, other: Stage) -> Stage:
        """``a >> b``: run ``a``, then ``b`` on its output; stop at the first ``Failure``."""
        if not isinstance(other, Stage):
            return NotImplemented
        first, second = self, other

        def both(frame: pl.LazyFrame) -> StageResult:
            return first(frame).bind(second)

        return Stage(
            f"{first.name} >> {second.name}",
            both,
            problems=first.problems + second.problems,
            parts=first.leaves + second.leaves,
        )

    @staticmethod
    def failing(name: str, *problems: StageError) -> Stage:
        """A stage whose options were invalid: it fails with the first problem when called."""
        if not problems:
            raise LakeflowError("Stage.failing needs at least one problem")
        return Stage(name, Success, problems=problems)


def compose(*stages: Stage, name: str = "identity") -> Stage:
    """Pure. One stage running ``stages`` in order; the identity stage when there are none."""
    if not stages:
        return Stage(name, Success)
    combined = stages[0]
    for nxt in stages[1:]:
        combined = combined >> nxt
    return combined


def _lift(fn: UserFn, name: str) -> StageFn:
    def run(frame: pl.LazyFrame) -> StageResult:
        out = fn(frame)
        if isinstance(out, pl.LazyFrame):
            return Success(out)
        if isinstance(out, Result):
            return out
        raise LakeflowError(
            f"stage {name!r} returned {type(out).__name__}; a stage must return a "
            "pl.LazyFrame or a Result of one (stay lazy: do not collect inside a stage)"
        )

    return run


@overload
def stage(fn: UserFn, /, *, name: str | None = None, requires: Iterable[str] = ()) -> Stage: ...


@overload
def stage(
    fn: None = None, /, *, name: str | None = None, requires: Iterable[str] = ()
) -> Callable[[UserFn], Stage]: ...


def stage(
    fn: UserFn | None = None, /, *, name: str | None = None, requires: Iterable[str] = ()
) -> Stage | Callable[[UserFn], Stage]:
    """Wrap a user function into a :class:`Stage` (function form or decorator).

    The function may return a ``pl.LazyFrame`` (wrapped in ``Success``) or a ``Result``.
    Polars errors and panics it raises while planning become ``Failure`` values.

    >>> import polars as pl
    >>> @stage(requires=["x"])
    ... def positive(frame: pl.LazyFrame) -> pl.LazyFrame:
    ...     return frame.filter(pl.col("x") > 0)
    >>> positive(pl.LazyFrame({"y": [1]})).failure().message.startswith("stage 'positive'")
    True
    """
    required = tuple(requires)

    def wrap(user_fn: UserFn) -> Stage:
        fn_name = getattr(user_fn, "__name__", "stage")
        stage_name = name or ("stage" if fn_name == "<lambda>" else fn_name)
        return Stage(stage_name, _lift(user_fn, stage_name), requires=required)

    if fn is not None:
        return wrap(fn)
    return wrap
