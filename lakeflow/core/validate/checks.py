"""The checks a dataset must pass, as frozen values; built in Python or from the config block.

Pure. :class:`Checks` is what validation runs: the ``validate:`` block of a pipeline config
(:class:`~lakeflow.core.config.ValidateConfig`, which declares and checks its shape) plus what
only Python can hold (``pl.Expr`` rules, reference frames, pandera schemas).
:meth:`Checks.from_config` validates a block (a plain mapping or the model) and maps it here;
references to lake datasets and pandera import paths are resolved later by the shell
(:func:`resolve_references`, :func:`resolve_pandera`).

>>> checks = Checks.from_config({
...     "schema": {"properties": {"age": {"type": "integer", "minimum": 0}}, "required": ["id"]},
...     "unique": ["id", ["year", "flight"]],
...     "rules": [{"name": "adult", "condition": "age >= 18", "severity": "warning"}],
... }).unwrap()
>>> checks.rules[0].severity, checks.unique
('warning', ('id', ('year', 'flight')))
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, TypeAlias, cast, get_args

import polars as pl
from pydantic import ValidationError
from returns.result import Failure, Result, Success

from lakeflow.core.config.errors import config_problems, issues_from, problems_at
from lakeflow.core.config.validate import (
    SEVERITIES,
    TYPE_NAMES,
    ColumnType,
    DatasetReference,
    NullResult,
    Severity,
    UniqueCheck,
    UniqueScope,
    ValidateConfig,
)
from lakeflow.core.config.values import regex_problem
from lakeflow.core.errors import ConfigError, InvalidExpression, InvalidOption, StageError
from lakeflow.core.sql import describe_expr, sql_expr

__all__ = [
    "Bound",
    "Checks",
    "Completeness",
    "DatasetRef",
    "FrameRef",
    "PanderaRef",
    "PanderaSchema",
    "Property",
    "PublishedRows",
    "Quality",
    "Reference",
    "Rule",
    "Schema",
    "TypeName",
    "UniqueScope",
    "ValuesRef",
    "checks_of",
    "resolve_pandera",
    "resolve_references",
]

STAGE = "validate"
"""The stage name validation failures carry."""

TypeName: TypeAlias = ColumnType
Bound: TypeAlias = int | float | date | datetime
"""A ``minimum`` / ``maximum``: a number, or a date / datetime for temporal columns."""
NULL_RESULTS: tuple[str, ...] = get_args(NullResult)


@dataclass(frozen=True, slots=True)
class Property:
    """Expectations on one column (JSON-Schema style); absent columns are not checked.

    Attributes:
        type: The column's type family; a mismatch is a dataset-level failure, found from the
            schema before any data is read (unless ``Schema.coerce`` casts the column).
        minimum: Inclusive lower bound (a row-level rule; null passes, NaN fails).
        maximum: Inclusive upper bound (a row-level rule; null passes, NaN fails).
        enum: The allowed values (a row-level rule; null passes).
        pattern: A regular expression (Rust ``regex`` syntax) each string must contain
            somewhere; anchor it with ``^...$`` for a full match (null passes).
    """

    type: TypeName | None = None
    minimum: Bound | None = None
    maximum: Bound | None = None
    enum: Sequence[object] | None = None
    pattern: str | None = None

    def __post_init__(self) -> None:
        if self.enum is not None and not isinstance(self.enum, tuple):
            object.__setattr__(self, "enum", tuple(self.enum))


@dataclass(frozen=True, slots=True)
class Schema:
    """Per-column expectations, required columns and whether to cast to the declared types.

    Attributes:
        properties: Column name -> :class:`Property`.
        required: Columns that must be present (dataset-level) and non-null, non-NaN
            (row-level, rule ``required:<column>``).
        coerce: Cast columns whose type differs from the declared one (strings are parsed;
            see :mod:`lakeflow.core.validate.plan`). A value that does not convert breaks the
            row-level rule ``schema:<column>:type``; valid rows carry the cast values, while
            quarantined rows keep the original ones as evidence.
    """

    properties: Mapping[str, Property] = field(default_factory=dict)
    required: Sequence[str] = ()
    coerce: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "properties", types.MappingProxyType(dict(self.properties)))
        object.__setattr__(self, "required", _names(self.required))


@dataclass(frozen=True, slots=True)
class Completeness:
    """Dataset-level: the fraction of non-null (and non-NaN) values of each column >= threshold.

    An empty dataset is complete (nothing is missing).
    """

    columns: Sequence[str]
    threshold: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", _names(self.columns))


@dataclass(frozen=True, slots=True)
class ValuesRef:
    """Reference by value: the column's non-null values must be among ``values``."""

    values: Sequence[object]

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(self.values))


@dataclass(frozen=True, slots=True, eq=False)
class FrameRef:
    """Reference by frame: the column's non-null values must appear in ``frame[key]``.

    The reference frame is read once, inside the same plan as the validated data.
    """

    frame: pl.LazyFrame
    key: str


@dataclass(frozen=True, slots=True)
class DatasetRef:
    """A lake dataset's column, resolved to a :class:`FrameRef` by :func:`resolve_references`."""

    dataset: str
    key: str


Reference: TypeAlias = ValuesRef | FrameRef | DatasetRef


@dataclass(frozen=True, slots=True, eq=False)
class Rule:
    """A named condition that must hold for each row.

    Attributes:
        name: Shown in reports and in ``_lakeflow_failed_rules``; unique among all rules.
        condition: SQL (``"age >= 18"``) or a ``pl.Expr``.
        severity: ``error`` quarantines failing rows; ``warning`` keeps them, counts them and
            makes the report a warning; ``info`` only records how many rows failed (the report
            status and the quality scores ignore it).
        nulls: What a row whose condition is NULL (unknown, because a column it reads is null)
            means. ``pass`` (the default) is SQL ``CHECK`` and pandera ``ignore_na``
            semantics; ``fail`` is ``WHERE`` semantics (like ``keep``), the same as writing
            ``age IS NOT NULL AND age >= 18``.
    """

    name: str
    condition: str | pl.Expr
    severity: Severity = "error"
    nulls: NullResult = "pass"


@dataclass(frozen=True, slots=True)
class Quality:
    """Settings of the timeliness metric: a timestamp column and how fresh rows must be.

    Naive timestamps (and a naive ``now``) are taken as UTC.
    """

    timestamp_column: str
    freshness: timedelta = timedelta(hours=24)


@dataclass(frozen=True, slots=True, eq=False)
class PublishedRows:
    """The rows a dataset already holds at the run's base commit, for ``unique`` keys of scope
    ``published``; the shell supplies them (a lazy scan: only the key columns are read).

    Attributes:
        frame: The published rows.
        merge_keys: The dataset's merge keys (empty for an ``append`` dataset). A published row
            whose merge key the run carries is replaced by the run, so it cannot collide.
    """

    frame: pl.LazyFrame
    merge_keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PanderaRef:
    """A pandera model named by import path (``package.module:Model``), imported by the shell."""

    target: str


PanderaSchema: TypeAlias = Any
"""A ``pandera.polars.DataFrameSchema``, a ``pandera.polars.DataFrameModel`` subclass, or a
:class:`PanderaRef` (pandera ships no precise types for these, hence ``Any``)."""


def _names(values: Iterable[str] | str) -> tuple[str, ...]:
    if isinstance(values, str):
        return (values,)
    return tuple(values)


def _unique_keys(values: Iterable[str | Sequence[str]]) -> tuple[str | tuple[str, ...], ...]:
    out: list[str | tuple[str, ...]] = []
    for item in values:
        if isinstance(item, str):
            out.append(item)
        else:
            key = tuple(item)
            out.append(key[0] if len(key) == 1 else key)
    return tuple(out)


@dataclass(frozen=True, slots=True, eq=False)
class Checks:
    """Everything one dataset is validated against (all fields optional).

    Attributes:
        schema: Per-column types, ranges, enums, patterns and required columns.
        completeness: Dataset-level non-null fractions.
        unique: Columns (or tuples of columns: a composite key) whose values must be unique.
            Every row sharing a duplicated value is quarantined (``unique:<column>``, or
            ``unique:<a>,<b>``). Nulls never collide (SQL semantics: a key with a null part
            is never a duplicate); NaN equals NaN and -0.0 equals 0.0.
        references: Column -> :class:`ValuesRef` / :class:`FrameRef` / :class:`DatasetRef`;
            rows whose non-null value is not in the reference are quarantined
            (``references:<column>``).
        rules: Named SQL conditions with a severity.
        pandera: pandera (polars backend) schemas or models, checked as more rules.
        max_invalid_fraction: Tolerated fraction of invalid rows (0..1): above it the
            validation fails, at or below it the invalid rows are quarantined.
        enforce: ``False`` turns every failure into a warning (the tutorial's
            ``validation_enabled`` switch): nothing fails, rows are still split.
        quality: Timestamp column and freshness window of the timeliness metric.
        unique_scopes: Key (as written in ``unique``) -> :data:`UniqueScope`; a key not listed
            has scope ``published``.
        published: The rows already published (:class:`PublishedRows`), for keys of scope
            ``published``: a run row whose key is already published breaks
            ``unique:<columns>:published``. ``None`` (no published dataset, or an ``overwrite``
            target) checks every key among the run's rows only.

    Checks compare by identity: they may hold lazy frames and expressions, which have no
    boolean equality.
    """

    schema: Schema | None = None
    completeness: Completeness | None = None
    unique: Sequence[str | Sequence[str]] = ()
    references: Mapping[str, Reference] = field(default_factory=dict)
    rules: Sequence[Rule] = ()
    pandera: Sequence[PanderaSchema] | PanderaSchema = ()
    max_invalid_fraction: float = 0.0
    enforce: bool = True
    quality: Quality | None = None
    unique_scopes: Mapping[str | tuple[str, ...], UniqueScope] = field(default_factory=dict)
    published: PublishedRows | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "unique", _unique_keys(self.unique))
        scopes = {_unique_keys([k])[0]: v for k, v in dict(self.unique_scopes).items()}
        object.__setattr__(self, "unique_scopes", types.MappingProxyType(scopes))
        object.__setattr__(self, "references", types.MappingProxyType(dict(self.references)))
        object.__setattr__(self, "rules", tuple(self.rules))
        pandera = self.pandera
        if isinstance(pandera, str | PanderaRef) or not isinstance(pandera, Sequence):
            pandera = (pandera,)
        object.__setattr__(self, "pandera", tuple(pandera))

    @staticmethod
    def from_config(
        config: Mapping[str, object] | ValidateConfig, *, path: str = "validate"
    ) -> Result[Checks, ConfigError]:
        """Pure. Checks from a ``validate:`` block; every problem is reported at once.

        Args:
            config: The block as parsed from YAML (plain dicts, lists and scalars), or the
                :class:`~lakeflow.core.config.ValidateConfig` it validates into.
            path: Key path prefix used in problem messages.

        Returns:
            ``Success(Checks)`` or ``Failure(ConfigError)`` listing each problem with its key
            path. ``references`` with ``dataset:`` stay unresolved (:class:`DatasetRef`) and a
            ``pandera: "module:Model"`` stays a :class:`PanderaRef` until the shell resolves them.
        """
        if isinstance(config, ValidateConfig):
            return Success(checks_of(config))
        try:
            model = ValidateConfig.model_validate(config)
        except ValidationError as exc:
            found = config_problems(issues_from(exc, config))
            return Failure(ConfigError(problems_at(path, found)))
        return Success(checks_of(model))


def checks_of(config: ValidateConfig) -> Checks:
    """Pure. The :class:`Checks` a validated ``validate:`` block stands for."""
    schema = None
    if config.schema is not None:
        properties = {
            column: Property(c.type, c.minimum, c.maximum, c.enum, c.pattern)
            for column, c in config.schema.properties.items()
        }
        schema = Schema(properties, config.schema.required, config.schema.coerce)
    completeness = None
    if config.completeness is not None:
        completeness = Completeness(config.completeness.columns, config.completeness.threshold)
    references: dict[str, Reference] = {
        column: DatasetRef(ref.dataset, ref.key)
        if isinstance(ref, DatasetReference)
        else ValuesRef(ref.values)
        for column, ref in config.references.items()
    }
    rules = [Rule(r.name, r.condition, r.severity, r.nulls) for r in config.rules]
    pandera = config.pandera
    targets = () if pandera is None else (pandera,) if isinstance(pandera, str) else pandera
    quality = None
    if config.quality is not None:
        hours = timedelta(hours=config.quality.freshness_hours)
        quality = Quality(config.quality.timestamp_column, hours)
    unique: list[str | tuple[str, ...]] = []
    scopes: dict[str | tuple[str, ...], UniqueScope] = {}
    for item in config.unique:
        if isinstance(item, UniqueCheck):
            unique.append(item.columns)
            scopes[item.columns] = item.scope
        else:
            unique.append(item)
    return Checks(
        schema=schema,
        completeness=completeness,
        unique=unique,
        unique_scopes=scopes,
        references=references,
        rules=rules,
        pandera=tuple(PanderaRef(t) for t in targets),
        max_invalid_fraction=config.max_invalid_fraction,
        enforce=config.enforce,
        quality=quality,
    )


# ---------------------------------------------------------------------------------------------
# Semantic checks shared by the Python API (plan_validation) and the config decoder
# ---------------------------------------------------------------------------------------------


def _problem_text(problem: StageError) -> str:
    if isinstance(problem, InvalidOption):
        return f"{problem.value!r} is not allowed; expected {', '.join(problem.allowed)}"
    if isinstance(problem, InvalidExpression):
        return f"invalid SQL expression {problem.expression!r}: {problem.reason}"
    return problem.message


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _bound_ok(value: object) -> bool:
    if _is_number(value):
        return not math.isnan(cast(float, value))
    return isinstance(value, date | datetime)


def _option(where: str, value: object, *allowed: str) -> InvalidOption:
    return InvalidOption(STAGE, where, describe_expr(value), allowed)


def option_problems(checks: Checks) -> list[tuple[str, StageError]]:
    """Pure. Every invalid option in ``checks``, each with its key path (empty when valid)."""
    out: list[tuple[str, StageError]] = []
    if checks.schema is not None:
        for column, prop in checks.schema.properties.items():
            out.extend(_property_problems(f"schema.properties.{column}", prop))
    if checks.completeness is not None:
        threshold = checks.completeness.threshold
        if not _is_number(threshold) or not 0.0 <= threshold <= 1.0:
            where = "completeness.threshold"
            out.append((where, _option(where, threshold, "a number between 0 and 1")))
        if not checks.completeness.columns:
            where = "completeness.columns"
            out.append((where, _option(where, [], "a non-empty list of column names")))
    for index, key in enumerate(checks.unique):
        if not isinstance(key, str) and not key:
            where = f"unique[{index}]"
            out.append((where, _option(where, [], "a column name or a non-empty list of names")))
    for key, scope in checks.unique_scopes.items():
        if scope not in ("run", "published"):
            where = f"unique[{key!r}].scope"
            out.append((where, _option(where, scope, "run", "published")))
    for column, ref in checks.references.items():
        where = f"references.{column}"
        if isinstance(ref, ValuesRef) and not ref.values:
            out.append((where, _option(f"{where}.values", [], "a non-empty list of values")))
    seen: dict[str, int] = {}
    for index, rule in enumerate(checks.rules):
        where = f"rules[{index}]"
        if not isinstance(rule.name, str) or not rule.name.strip():
            out.append((f"{where}.name", _option(f"{where}.name", rule.name, "a non-empty name")))
        elif rule.name in seen:
            out.append(
                (
                    f"{where}.name",
                    _option(
                        f"{where}.name",
                        rule.name,
                        f"a name not used by rules[{seen[rule.name]}]",
                    ),
                )
            )
        else:
            seen[rule.name] = index
        if rule.severity not in SEVERITIES:
            out.append(
                (f"{where}.severity", _option(f"{where}.severity", rule.severity, *SEVERITIES))
            )
        if rule.nulls not in NULL_RESULTS:
            out.append((f"{where}.nulls", _option(f"{where}.nulls", rule.nulls, *NULL_RESULTS)))
        parsed = sql_expr(STAGE, rule.condition)
        if isinstance(parsed, Failure):
            out.append((f"{where}.condition", parsed.failure()))
    fraction = checks.max_invalid_fraction
    if not _is_number(fraction) or not 0.0 <= fraction <= 1.0:
        out.append(
            (
                "max_invalid_fraction",
                _option("max_invalid_fraction", fraction, "a number between 0 and 1"),
            )
        )
    if checks.quality is not None and checks.quality.freshness <= timedelta(0):
        where = "quality.freshness"
        out.append((where, _option(where, checks.quality.freshness, "a positive duration")))
    return out


def _property_problems(where: str, prop: Property) -> list[tuple[str, StageError]]:
    out: list[tuple[str, StageError]] = []
    if prop.type is not None and prop.type not in TYPE_NAMES:
        out.append((f"{where}.type", _option(f"{where}.type", prop.type, *TYPE_NAMES)))
    for name in ("minimum", "maximum"):
        bound = getattr(prop, name)
        if bound is not None and not _bound_ok(bound):
            out.append(
                (f"{where}.{name}", _option(f"{where}.{name}", bound, "a number, date or datetime"))
            )
    low, high = prop.minimum, prop.maximum
    if low is not None and high is not None and _bound_ok(low) and _bound_ok(high):
        same_kind = (_is_number(low) and _is_number(high)) or type(low) is type(high)
        where_min = f"{where}.minimum"
        if not same_kind:
            expected = f"a bound of the same kind as maximum ({high!r})"
            out.append((where_min, _option(where_min, low, expected)))
        elif cast(Any, low) > cast(Any, high):
            out.append((where_min, _option(where_min, low, f"a value <= maximum ({high!r})")))
    if prop.enum is not None and not prop.enum:
        out.append((f"{where}.enum", _option(f"{where}.enum", [], "a non-empty list of values")))
    if prop.pattern is not None:
        if not isinstance(cast(object, prop.pattern), str):
            out.append((f"{where}.pattern", _option(f"{where}.pattern", prop.pattern, "a string")))
        else:
            reason = regex_problem(prop.pattern)
            if reason is not None:
                out.append(
                    (
                        f"{where}.pattern",
                        InvalidExpression(STAGE, prop.pattern, f"invalid regex: {reason}"),
                    )
                )
    return out


# ---------------------------------------------------------------------------------------------
# Resolution of lake references and pandera import paths (the shell supplies the effects)
# ---------------------------------------------------------------------------------------------


def resolve_references(checks: Checks, resolver: Callable[[str], pl.LazyFrame]) -> Checks:
    """Pure. Replace each :class:`DatasetRef` by a :class:`FrameRef` over ``resolver(dataset)``.

    ``resolver`` maps a lake path to a lazy frame (the shell scans the dataset at the run's
    base commit); calling it must not read data. A reference left unresolved makes
    :func:`~lakeflow.core.validate.plan_validation` fail with a message naming it.
    """
    if not any(isinstance(ref, DatasetRef) for ref in checks.references.values()):
        return checks
    resolved: dict[str, Reference] = {
        column: FrameRef(resolver(ref.dataset), ref.key) if isinstance(ref, DatasetRef) else ref
        for column, ref in checks.references.items()
    }
    return replace(checks, references=resolved)


def resolve_pandera(checks: Checks, loader: Callable[[str], PanderaSchema]) -> Checks:
    """Pure. Replace each :class:`PanderaRef` by ``loader(target)`` (the shell imports models)."""
    if not any(isinstance(item, PanderaRef) for item in checks.pandera):
        return checks
    loaded = tuple(
        loader(item.target) if isinstance(item, PanderaRef) else item for item in checks.pandera
    )
    return replace(checks, pandera=loaded)
