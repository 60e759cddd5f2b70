"""``validate:`` the checks run on the transformed rows before anything is published.

Pure. :class:`ValidateConfig` is both the config block and the typed options of
:meth:`lakeflow.core.validate.Checks.from_config`; :data:`ColumnType`, :data:`Severity` and
:data:`NullResult` are declared only here.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Annotated, Final, Literal, Self, TypeAlias, get_args

from pydantic import AfterValidator, BeforeValidator, Field, Strict, model_validator

from lakeflow.core.config.base import ConfigModel, Expect, Shapes
from lakeflow.core.config.errors import problems
from lakeflow.core.config.transform import bounds_problem
from lakeflow.core.config.values import (
    Bool,
    Bound,
    Column,
    ColumnList,
    Columns,
    Fraction,
    LakePath,
    NonEmpty,
    Pattern,
    PositiveFloat,
    Scalar,
    SqlCondition,
    Text,
    matching,
)

__all__ = [
    "SEVERITIES",
    "TYPE_NAMES",
    "ColumnCheck",
    "ColumnType",
    "CompletenessCheck",
    "DatasetReference",
    "NullResult",
    "QualityCheck",
    "Reference",
    "RuleCheck",
    "SchemaCheck",
    "Severity",
    "UniqueCheck",
    "UniqueScope",
    "ValidateConfig",
    "ValuesReference",
]

ColumnType: TypeAlias = Literal["integer", "number", "string", "boolean", "datetime", "date"]
Severity: TypeAlias = Literal["error", "warning", "info"]
"""``error`` quarantines failing rows; ``warning`` keeps them and marks the run a warning;
``info`` only records how many rows failed."""
NullResult: TypeAlias = Literal["pass", "fail"]
"""What a rule whose condition is null (unknown) means for a row."""
TYPE_NAMES: Final[tuple[str, ...]] = get_args(ColumnType)
SEVERITIES: Final[tuple[str, ...]] = get_args(Severity)

_PANDERA_CHECK = matching(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
PanderaPath: TypeAlias = Annotated[
    str,
    Strict(),
    _PANDERA_CHECK[0],
    Expect("an import path like 'package.module:Model'"),
    _PANDERA_CHECK[1],
]


class ColumnCheck(ConfigModel):
    """Expectations on one column: type, inclusive range, allowed values, regex pattern.

    Range, enum and pattern are row rules (a null passes; NaN fails a range); a wrong type is
    a dataset-level failure found from the schema before any data is read.
    """

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {
            "examples": [
                {"type": "integer", "minimum": 0, "maximum": 150},
                {"type": "string", "pattern": "^[^@\\s]+@[^@\\s]+$"},
                {"enum": ["active", "inactive"]},
            ]
        }
    }

    type: (
        Annotated[ColumnType, Expect("one of integer, number, string, boolean, datetime, date")]
        | None
    ) = None
    """The column's type family (``schema.coerce`` casts a column of another type)."""
    minimum: Bound | None = None
    """Inclusive lower bound: a number, or a date / date-time for temporal columns."""
    maximum: Bound | None = None
    """Inclusive upper bound."""
    enum: Annotated[tuple[Scalar, ...], NonEmpty(), Expect("a non-empty list of values")] | None = (
        None
    )
    """The allowed values."""
    pattern: Pattern | None = None
    """A regular expression each text must contain (anchor it with ``^...$``)."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        found = []
        problem = bounds_problem(self.minimum, self.maximum, "minimum", "maximum")
        if problem is not None:
            found.append((("maximum",), problem))
        if self.pattern is not None and self.type not in (None, "string"):
            found.append((("pattern",), f"only used with type: string, not type: {self.type}"))
        if found:
            raise problems(*found)
        return self


class SchemaCheck(ConfigModel):
    """Column expectations, required columns (present and non-null), and whether to cast."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {
            "examples": [
                {
                    "properties": {"id": {"type": "integer", "minimum": 1}},
                    "required": ["id", "email"],
                    "coerce": False,
                }
            ]
        }
    }

    properties: Mapping[Column, ColumnCheck] = Field(default_factory=dict)
    """``{column: expectations}``; absent columns are not checked unless required."""
    required: ColumnList = ()
    """Columns that must be present (dataset-level) and non-null, non-NaN (row-level)."""
    coerce: Bool = False
    """Cast columns whose type differs from the declared one; a value that does not
    convert breaks the row rule ``schema:<column>:type``."""

    @model_validator(mode="after")
    def _says_something(self) -> Self:
        if not self.properties and not self.required:
            raise problems(((), "expected properties and/or required"))
        return self


class CompletenessCheck(ConfigModel):
    """The non-null (and non-NaN) fraction of each column must reach ``threshold``."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {"examples": [{"columns": ["id", "email"], "threshold": 0.95}]}
    }

    columns: Columns
    """The columns measured."""
    threshold: Fraction = 1.0
    """The lowest acceptable fraction of present values (0 to 1)."""


class ValuesReference(ConfigModel):
    """The column's non-null values must be among ``values``."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {"examples": [{"values": ["US", "DE", "FR"]}]}
    }

    values: Annotated[tuple[Scalar, ...], NonEmpty(), Expect("a non-empty list of values")]
    """The allowed values."""


class DatasetReference(ConfigModel):
    """The column's non-null values must appear in column ``key`` of a lake dataset."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {"examples": [{"dataset": "reference/countries", "key": "code"}]}
    }

    dataset: LakePath
    """The dataset's path inside the lake, read at the run's base commit."""
    key: Column
    """The column of the dataset holding the allowed values."""


def _reference_shape(value: object) -> str | None:
    if isinstance(value, ValuesReference) or (isinstance(value, Mapping) and "values" in value):
        return "values"
    if isinstance(value, DatasetReference) or (isinstance(value, Mapping) and "dataset" in value):
        return "dataset"
    return None


def _not_both(value: object) -> object:
    if isinstance(value, Mapping) and "values" in value and "dataset" in value:
        raise problems(((), "expected either values or dataset, not both"))
    return value


Reference: TypeAlias = Annotated[
    ValuesReference | DatasetReference,
    Shapes(
        {"values": ValuesReference, "dataset": DatasetReference},
        _reference_shape,
        "{values: [...]} or {dataset: PATH, key: COLUMN}",
    ),
    BeforeValidator(_not_both),
]


class RuleCheck(ConfigModel):
    """A named SQL condition each row must satisfy.

    As in a SQL ``CHECK`` constraint (and pandera's ``ignore_na``), a row where the condition
    is null -- unknown, because a column it reads is null -- passes; ``nulls: fail`` makes it
    fail, like a ``WHERE`` clause (``filters``) would drop it.
    """

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {
            "examples": [
                {"name": "adult", "condition": "age >= 18", "severity": "warning"},
                {"name": "has_income", "condition": "income > 0", "nulls": "fail"},
                {"name": "gmail", "condition": "email LIKE '%@gmail.com'", "severity": "info"},
            ]
        }
    }

    name: Text
    """Shown in reports and in the quarantine's ``_lakeflow_failed_rules``; unique."""
    condition: SqlCondition
    """A SQL condition (``age >= 18``)."""
    severity: Annotated[Severity, Expect("one of error, warning, info")] = "error"
    """``error`` quarantines failing rows; ``warning`` keeps them (the run is a warning);
    ``info`` only records how many rows failed, in the report."""
    nulls: Annotated[NullResult, Expect("one of pass, fail")] = "pass"
    """A row whose condition is null: ``pass`` (SQL ``CHECK`` semantics) or ``fail``."""


def _unique_names(rules: tuple[RuleCheck, ...]) -> tuple[RuleCheck, ...]:
    seen: dict[str, int] = {}
    found = []
    for index, rule in enumerate(rules):
        if rule.name in seen:
            found.append(
                (
                    (index, "name"),
                    f"duplicate rule name {rule.name!r} (also rules[{seen[rule.name]}])",
                )
            )
        seen.setdefault(rule.name, index)
    if found:
        raise problems(*found)
    return rules


class QualityCheck(ConfigModel):
    """Timeliness: rows are fresh when ``timestamp_column`` is within ``freshness_hours``."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {
            "examples": [{"timestamp_column": "updated_at", "freshness_hours": 72}]
        }
    }

    timestamp_column: Column
    """A date or date-time column (naive values are taken as UTC)."""
    freshness_hours: PositiveFloat = 24.0
    """How old a row may be and still count as timely."""


UniqueScope: TypeAlias = Literal["run", "published"]
"""``run``: unique among the run's rows; ``published``: also against the rows already published
at the run's base commit."""


def _key_shape(value: object) -> str | None:
    if isinstance(value, str):
        return "column"
    return "columns" if isinstance(value, list | tuple) else None


KeyColumns: TypeAlias = Annotated[
    str | tuple[str, ...],
    Shapes(
        {"column": Column, "columns": Columns},
        _key_shape,
        "a column name or a list of column names (a composite key)",
        convert={"columns": lambda names: names[0] if len(names) == 1 else names},
    ),
]


class UniqueCheck(ConfigModel):
    """A unique key with its scope: among the run's rows only, or also against the published
    rows (a key already published breaks ``unique:<columns>:published`` in ``append`` mode and
    is an update in ``merge`` mode)."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {"examples": [{"columns": ["id"], "scope": "run"}]}
    }

    columns: KeyColumns
    """A column name or a list of column names (a composite key)."""
    scope: Annotated[UniqueScope, Expect("one of run, published")] = "published"
    """``published`` (the default) also checks the rows already published at the run's base
    commit, reading only the key columns; ``run`` checks the run's rows only. ``overwrite``
    targets replace what is published: their keys are checked among the run's rows."""


def _unique_shape(value: object) -> str | None:
    if isinstance(value, UniqueCheck | Mapping):
        return "check"
    return _key_shape(value)


UniqueKey: TypeAlias = Annotated[
    str | tuple[str, ...] | UniqueCheck,
    Shapes(
        {"column": Column, "columns": Columns, "check": UniqueCheck},
        _unique_shape,
        "a column name, a list of column names (a composite key) or {columns, scope}",
        convert={"columns": lambda names: names[0] if len(names) == 1 else names},
    ),
]


def _pandera_shape(value: object) -> str | None:
    if isinstance(value, str):
        return "one"
    return "many" if isinstance(value, list | tuple) else None


PanderaOption: TypeAlias = Annotated[
    str | tuple[str, ...],
    Shapes(
        {"one": PanderaPath, "many": Annotated[tuple[PanderaPath, ...], NonEmpty()]},
        _pandera_shape,
        "an import path like 'package.module:Model' (or a list of them)",
    ),
]

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", 'Field name "schema"', UserWarning)

    class ValidateConfig(ConfigModel):
        """The checks the transformed rows must pass; failing rows are quarantined with reasons."""

        model_config = ConfigModel.model_config | {
            "json_schema_extra": {
                "examples": [
                    {
                        "schema": {"properties": {"age": {"type": "integer", "minimum": 0}}},
                        "unique": ["id", ["year", "month", "day", "flight"]],
                        "rules": [{"name": "adult", "condition": "age >= 18"}],
                        "max_invalid_fraction": 0.05,
                    }
                ]
            }
        }

        schema: SchemaCheck | None = None  # type: ignore[assignment]  # the YAML key
        """Per-column types, ranges, enums, patterns and required columns."""
        completeness: CompletenessCheck | None = None
        """Dataset-level: the fraction of present values per column."""
        unique: Annotated[
            tuple[UniqueKey, ...],
            Expect("a list of column names or lists of column names (composite keys)"),
        ] = ()
        """Columns, or lists of columns (composite keys), whose values must be unique; every
        row sharing a duplicated value is quarantined. A key with a null part never collides.
        By default a key is also checked against the rows already published at the run's base
        commit (``{columns: [...], scope: run}`` checks the run's rows only)."""
        references: Mapping[Column, Reference] = Field(default_factory=dict)
        """``{column: {values: [...]}}`` or ``{column: {dataset: PATH, key: COLUMN}}``."""
        rules: Annotated[tuple[RuleCheck, ...], AfterValidator(_unique_names)] = ()
        """Named SQL conditions with a severity and a null policy."""
        pandera: PanderaOption | None = None
        """A pandera (polars) model by import path, checked as more rules."""
        max_invalid_fraction: Fraction = 0.0
        """Tolerated fraction of invalid rows: above it the run fails, at or below it the
        invalid rows are quarantined and the rest published."""
        enforce: Bool = True
        """``false`` turns every failure into a warning: nothing fails, rows are still split."""
        quality: QualityCheck | None = None
        """Settings of the timeliness metric."""

        def check_names(self) -> list[str]:
            """Pure. The kinds of checks this block configures, for run records."""
            kinds = ("schema", "completeness", "unique", "references", "rules", "pandera")
            return [k for k in kinds if getattr(self, k) not in (None, (), {})]
