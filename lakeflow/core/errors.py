"""Failures as values: every expected failure in lakeflow is one frozen, slotted dataclass.

Pure. Each failure has a ``kind`` (stable, for records and JSON), a ``message`` a user can act
on, and a ``retryable`` flag that drives the shell's retries. They form one union,
:data:`StageError`. Exceptions are for bugs and API misuse only (:class:`LakeflowError`).

Polars and connectorx raise ``PanicException`` (a ``BaseException``): :func:`from_exception`
turns those, Polars errors and failures raised inside plans (:func:`raise_in_plan`) into values.
"""

from __future__ import annotations

import difflib
import errno
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NoReturn, TypeAlias, TypeVar

import polars as pl
from returns.result import Failure, Result, Success

if TYPE_CHECKING:
    from lakeflow.core.validate.report import ValidationReport

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
    "catch_engine",
    "from_exception",
    "is_disk_full",
    "is_panic",
    "raise_in_plan",
]

T = TypeVar("T")


class LakeflowError(Exception):
    """Raised for bugs and API misuse (for example a missing ref in a notebook call).

    Expected pipeline failures are never raised: they are returned as :data:`StageError` values.
    """


def _join(names: tuple[str, ...]) -> str:
    return ", ".join(names) if names else "(none)"


def _quote(names: tuple[str, ...]) -> str:
    return ", ".join(repr(n) for n in names) if names else "(none)"


class _Failure:
    """Shared behaviour of failure values: a stable dict shape for records and JSON."""

    __slots__ = ()
    kind: ClassVar[str]

    @property
    def message(self) -> str:  # pragma: no cover - every subclass overrides it
        return self.kind

    def to_dict(self) -> dict[str, object]:
        """Pure. ``{kind, message, retryable}``: the shape records and ``--json`` output use."""
        return {
            "kind": self.kind,
            "message": self.message,
            "retryable": bool(getattr(self, "retryable", False)),
        }

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class MissingColumns(_Failure):
    """A stage references columns its input does not have (found at plan time)."""

    stage: str
    missing: tuple[str, ...]
    available: tuple[str, ...]
    retryable: bool = False
    kind: ClassVar[str] = "missing_columns"

    @property
    def message(self) -> str:
        hints = [
            f"{name!r} -> did you mean {', '.join(repr(c) for c in close)}?"
            for name in self.missing
            if (close := difflib.get_close_matches(name, self.available, n=2, cutoff=0.6))
        ]
        return (
            f"stage {self.stage!r} needs column(s) {_quote(self.missing)} that its input "
            f"does not have; available columns: {_quote(self.available)}"
            + (f" ({'; '.join(hints)})" if hints else "")
        )


@dataclass(frozen=True, slots=True)
class InvalidExpression(_Failure):
    """A SQL expression (derive, keep, rule condition) that Polars cannot parse or plan."""

    stage: str
    expression: str
    reason: str
    retryable: bool = False
    kind: ClassVar[str] = "invalid_expression"

    @property
    def message(self) -> str:
        return f"stage {self.stage!r}: invalid SQL expression {self.expression!r}: {self.reason}"


@dataclass(frozen=True, slots=True)
class InvalidOption(_Failure):
    """An unknown strategy, operation or option value; names the value and the allowed ones."""

    stage: str
    option: str
    value: str
    allowed: tuple[str, ...]
    retryable: bool = False
    kind: ClassVar[str] = "invalid_option"

    @property
    def message(self) -> str:
        return (
            f"stage {self.stage!r}: {self.option} {self.value!r} is not allowed; "
            f"allowed: {_join(self.allowed)}"
        )


@dataclass(frozen=True, slots=True)
class ConversionFailed(_Failure):
    """A strict type conversion met values it cannot convert (up to 5 shown)."""

    stage: str
    column: str
    target: str
    samples: tuple[str, ...]
    retryable: bool = False
    kind: ClassVar[str] = "conversion_failed"

    @property
    def message(self) -> str:
        shown = ", ".join(repr(s) for s in self.samples[:5])
        return (
            f"stage {self.stage!r}: cannot convert column {self.column!r} to {self.target}; "
            f"offending values: {shown}. Use on_error: null to turn them into nulls."
        )


@dataclass(frozen=True, slots=True)
class StageFailed(_Failure):
    """A stage (often a user's) failed for a reason of its own, or its plan failed to execute."""

    stage: str
    reason: str
    retryable: bool = False
    kind: ClassVar[str] = "stage_failed"

    @property
    def message(self) -> str:
        return f"stage {self.stage!r} failed: {self.reason}"


@dataclass(frozen=True, slots=True)
class PlanRejected(_Failure):
    """A run's plan does not fit its source; every problem found before any row was read."""

    problems: tuple[str, ...]
    retryable: bool = False
    kind: ClassVar[str] = "plan_rejected"

    @property
    def message(self) -> str:
        return "the plan does not fit the source (no row was read): " + "; ".join(self.problems)


@dataclass(frozen=True, slots=True)
class ValidationFailed(_Failure):
    """Validation found dataset-level failures or too many invalid rows."""

    report: ValidationReport
    retryable: bool = False
    kind: ClassVar[str] = "validation_failed"

    @property
    def message(self) -> str:
        return self.report.summary()


@dataclass(frozen=True, slots=True)
class ExtractError(_Failure):
    """Reading a source failed (unreachable server, bad query, driver panic...)."""

    source: str
    reason: str
    retryable: bool = False
    kind: ClassVar[str] = "extract"

    @property
    def message(self) -> str:
        return f"extract from {self.source} failed: {self.reason}"


@dataclass(frozen=True, slots=True)
class LoadError(_Failure):
    """Writing to a sink (a database table, a file) failed."""

    sink: str
    reason: str
    retryable: bool = False
    kind: ClassVar[str] = "load"

    @property
    def message(self) -> str:
        return f"load into {self.sink} failed: {self.reason}"


@dataclass(frozen=True, slots=True)
class UnusableWatermark(_Failure):
    """An incremental column cannot order rows against the checkpoint (a changed or unsupported
    type, text that is not a timestamp); nothing was published."""

    column: str
    reason: str
    retryable: bool = False
    kind: ClassVar[str] = "watermark"

    @property
    def message(self) -> str:
        return f"incremental column {self.column!r}: {self.reason}"


@dataclass(frozen=True, slots=True)
class SchemaMismatch(_Failure):
    """A run's rows do not fit the published dataset's schema under its ``load.schema`` policy.

    Nothing was published; ``problems`` name every column that does not fit (added, dropped,
    retyped, with both types and the run that last published the dataset) and ``hint`` says how
    to proceed.
    """

    dataset: str
    policy: str
    problems: tuple[str, ...]
    hint: str
    retryable: bool = False
    kind: ClassVar[str] = "schema_mismatch"

    @property
    def message(self) -> str:
        return (
            f"the rows do not fit the published schema of {self.dataset!r} "
            f"(load.schema: {self.policy}): {'; '.join(self.problems)}. {self.hint}"
        )


LakeErrorCode: TypeAlias = Literal[
    "conflict",
    "not_found",
    "auth",
    "unavailable",
    "invalid",
    "corrupt",
    "read_only",
    "precondition",
]
"""How a lake operation failed, the one list every adapter uses.

``conflict``: a concurrent change or a merge/revert conflict (lakeFS 409); ``not_found``: no such
repository, branch, commit or object (404); ``auth``: credentials or permissions refused
(401/403); ``unavailable``: the lake cannot be reached or is busy (429/5xx, I/O errors);
``invalid``: the request itself is wrong (400); ``corrupt``: stored data or metadata is damaged
(a checksum mismatch, an unreadable metadata file); ``read_only``: the lake cannot be written
here (a read-only filesystem or folder); ``precondition``: lakeFS refused on a precondition
(412/423: a protected branch, a failed hook).
"""


@dataclass(frozen=True, slots=True)
class LakeError(_Failure):
    """A lake operation failed; ``code`` says how, ``retryable`` whether to try again."""

    op: str
    reason: str
    code: LakeErrorCode
    retryable: bool = False
    kind: ClassVar[str] = "lake"

    @property
    def conflict(self) -> bool:
        return self.code == "conflict"

    @property
    def message(self) -> str:
        return f"lake {self.op} failed ({self.code}): {self.reason}"

    def to_dict(self) -> dict[str, object]:
        return {**_Failure.to_dict(self), "code": self.code}


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One problem in a pipeline config, at a dotted key path such as ``source.sql.table``."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass(frozen=True, slots=True)
class ConfigError(_Failure):
    """A pipeline config is invalid; every problem is reported at once."""

    problems: tuple[ConfigProblem, ...]
    retryable: bool = False
    kind: ClassVar[str] = "config"

    @property
    def message(self) -> str:
        lines = "\n".join(f"  - {p}" for p in self.problems)
        return f"invalid pipeline config ({len(self.problems)} problem(s)):\n{lines}"


StageError: TypeAlias = (
    MissingColumns
    | InvalidExpression
    | InvalidOption
    | ConversionFailed
    | StageFailed
    | PlanRejected
    | ValidationFailed
    | ExtractError
    | LoadError
    | LakeError
    | ConfigError
    | UnusableWatermark
    | SchemaMismatch
)
"""Every expected failure in lakeflow."""

# Failures a plan may raise while it executes (see raise_in_plan); all fields are JSON-able.
_PLAN_FAILURES: dict[str, type[ConversionFailed | StageFailed | InvalidOption]] = {
    cls.kind: cls for cls in (ConversionFailed, StageFailed, InvalidOption)
}
_PLAN_MARKER = "lakeflow-plan-failure:"


class PlanFailure(Exception):  # noqa: N818 - it carries a failure value through Polars, not a bug
    """Carries a failure value out of an executing Polars plan (see :func:`raise_in_plan`).

    Polars re-creates exceptions raised in user functions from their message, so the failure
    travels as JSON in the message; :func:`from_exception` turns it back into the value.
    """


def raise_in_plan(failure: ConversionFailed | StageFailed | InvalidOption) -> NoReturn:
    """Abort the executing plan with ``failure``; only for use inside ``map_batches`` functions."""
    payload: dict[str, object] = {"kind": failure.kind}
    for f in fields(failure):
        value = getattr(failure, f.name)
        payload[f.name] = list(value) if isinstance(value, tuple) else value
    raise PlanFailure(_PLAN_MARKER + json.dumps(payload))


def _decode_plan_failure(text: str) -> StageError | None:
    start = text.find(_PLAN_MARKER)
    if start < 0:
        return None
    try:
        payload, _ = json.JSONDecoder().raw_decode(text, start + len(_PLAN_MARKER))
    except json.JSONDecodeError:
        return None
    if not isinstance(payload, Mapping):
        return None
    cls = _PLAN_FAILURES.get(str(payload.get("kind")))
    if cls is None:
        return None
    kwargs: dict[str, Any] = {
        f.name: tuple(payload[f.name]) if isinstance(payload[f.name], list) else payload[f.name]
        for f in fields(cls)
        if f.name in payload
    }
    try:
        return cls(**kwargs)
    except TypeError:
        return None


def is_panic(exc: BaseException) -> bool:
    """Pure. True for a pyo3 ``PanicException`` (each Rust extension defines its own class)."""
    return any(t.__name__ == "PanicException" for t in type(exc).__mro__)


def catch_engine(build: Callable[[], T], *also: type[BaseException]) -> Result[T, BaseException]:
    """Pure (as pure as ``build``). ``build()``, with the engine's exceptions as values.

    The one place lakeflow turns what Polars (and other Rust engines) raise into values:
    Polars errors, failures raised inside an executing plan, pyo3 panics (which derive from
    ``BaseException``, so ``except Exception`` misses them) and the driver exception types an
    adapter passes as ``also``. Any other exception is a bug and propagates.

    >>> catch_engine(lambda: pl.sql_expr("a +* 1")).failure().__class__.__name__
    'SQLInterfaceError'
    >>> catch_engine(lambda: 1 / 0)
    Traceback (most recent call last):
    ...
    ZeroDivisionError: division by zero
    """
    try:
        return Success(build())
    except BaseException as exc:
        if isinstance(exc, (pl.exceptions.PolarsError, PlanFailure, *also)) or is_panic(exc):
            return Failure(exc)
        raise


_MISSING_COLUMN = re.compile(r'unable to find column "([^"]*)"(?:; valid columns: \[(.*?)\])?')


def _first_paragraph(text: str) -> str:
    return text.strip().split("\n\n", 1)[0].strip()


_DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
# What Rust libraries (Polars, delta-rs) print for ENOSPC and EDQUOT: they keep no errno.
_DISK_FULL = re.compile(r"No space left on device|Disk quota exceeded|os error (?:28|122)\b")


def is_disk_full(exc: BaseException) -> bool:
    """Pure. Whether ``exc`` reports a full disk or an exhausted quota (errno or message)."""
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL_ERRNOS:
        return True
    return _DISK_FULL.search(str(exc)) is not None


def from_exception(exc: BaseException, *, stage: str, writing: str | None = None) -> StageError:
    """Pure. Translate an exception raised while planning or executing ``stage`` into a value.

    Handles failures raised inside plans, Polars errors (a missing column becomes
    :class:`MissingColumns`) and pyo3 panics. A full disk while the plan was ``writing`` files
    (a description of where) is a :class:`LakeError` of the ``write`` operation, not a failed
    stage. Anything else is a bug: callers should only pass exceptions they decided to treat as
    expected failures.
    """
    text = str(exc)
    decoded = _decode_plan_failure(text)
    if decoded is not None:
        return decoded
    if writing is not None and is_disk_full(exc):
        return LakeError(
            "write",
            f"the disk is full: no space left writing {writing} ({_first_paragraph(text)}); "
            "free space there and run again",
            "unavailable",
        )
    if isinstance(exc, pl.exceptions.ColumnNotFoundError):
        found = _MISSING_COLUMN.search(text)
        if found is not None:
            available = tuple(re.findall(r'"([^"]*)"', found.group(2) or ""))
            return MissingColumns(stage, (found.group(1),), available)
    if isinstance(exc, pl.exceptions.SQLInterfaceError | pl.exceptions.SQLSyntaxError):
        return StageFailed(stage, f"SQL error: {_first_paragraph(text)}")
    if is_panic(exc):
        return StageFailed(stage, f"internal panic in a Rust library: {_first_paragraph(text)}")
    return StageFailed(stage, f"{type(exc).__name__}: {_first_paragraph(text)}")
