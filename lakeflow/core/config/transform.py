"""``transform:`` the steps, in the order written: clean, derive, filters, categorize, ...

Pure. The block is a mapping of steps (``{clean: ..., derive: ...}``, each kind once) or a list
of one-step mappings (``[{filters: [...]}, {derive: ...}, {filters: [...]}]``, kinds may
repeat). Each step's model is also the typed options of its stage builder
(:mod:`lakeflow.core.transform`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Final, Literal, Self, TypeAlias

from annotated_types import MinLen
from pydantic import (
    ConfigDict,
    GetJsonSchemaHandler,
    JsonValue,
    PrivateAttr,
    RootModel,
    Strict,
    ValidatorFunctionWrapHandler,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from lakeflow.core.config.base import ConfigModel, Expect, OneKey, Shapes
from lakeflow.core.config.clean import CleanStep
from lakeflow.core.config.errors import key_path, problems, shown
from lakeflow.core.config.values import (
    Bound,
    Column,
    ColumnList,
    NonEmpty,
    NonNegativeInt,
    Scalar,
    SecretValue,
    SqlCondition,
    Text,
)
from lakeflow.core.secrets import Secret

__all__ = [
    "AggregateStep",
    "AggregationName",
    "Bin",
    "Categorization",
    "CategorizeStep",
    "DeriveStep",
    "FiltersStep",
    "ProtectAction",
    "ProtectStep",
    "RangeBin",
    "TransformConfig",
    "TransformStep",
    "ValuesBin",
    "family",
]

AggregationName: TypeAlias = Literal[
    "mean", "median", "count", "sum", "min", "max", "std", "n_unique"
]
ProtectAction: TypeAlias = Literal["hash", "mask", "drop"]
_ROOT: Final = ConfigDict(frozen=True, use_attribute_docstrings=True)

# ---------------------------------------------------------------------------------------------
# derive, filters
# ---------------------------------------------------------------------------------------------


class DeriveStep(RootModel[Mapping[Column, SqlCondition]]):
    """Add (or replace) columns computed from SQL expressions: ``{name: "SQL expression"}``.

    Entries run in the order written, so a later one may use an earlier derived column.
    """

    model_config = _ROOT | {
        "json_schema_extra": {
            "examples": [{"income_bracket": "floor(income / 10000) * 10000", "adult": "age >= 18"}]
        }
    }
    root: Annotated[
        Mapping[Column, SqlCondition],
        NonEmpty(),
        Expect("a non-empty mapping of column name to SQL"),
    ]

    kind: ClassVar[str] = "derive"

    @property
    def columns(self) -> Mapping[str, str]:
        """The derived columns and their SQL, in order."""
        return self.root


class FiltersStep(RootModel[tuple[SqlCondition, ...]]):
    """Keep rows where every SQL condition holds (a condition that is null does not hold)."""

    model_config = _ROOT | {"json_schema_extra": {"examples": [["age >= 18", "status = 'active'"]]}}
    root: Annotated[
        tuple[SqlCondition, ...], NonEmpty(), Expect("a non-empty list of SQL conditions")
    ]

    kind: ClassVar[str] = "filters"

    @property
    def conditions(self) -> tuple[str, ...]:
        """The conditions, in order."""
        return self.root


# ---------------------------------------------------------------------------------------------
# categorize
# ---------------------------------------------------------------------------------------------


def family(value: object) -> str | None:
    """Pure. The kind of column a bound or listed value compares with (``None``: unusable)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, dt.date):
        return "temporal"
    if isinstance(value, str):
        return "string"
    return None


def _as_datetime(value: dt.date) -> dt.datetime:
    return (
        value if isinstance(value, dt.datetime) else dt.datetime(value.year, value.month, value.day)
    )


def bounds_problem(low: object, high: object, low_name: str, high_name: str) -> str | None:
    """Pure. Why ``low``..``high`` is not a range (different kinds, or inverted), or ``None``."""
    if low is None or high is None:
        return None
    if family(low) != family(high):
        return f"{low_name} and {high_name} must both be numbers or both dates"
    try:
        inverted = (
            _as_datetime(low) > _as_datetime(high)  # type: ignore[arg-type]
            if isinstance(low, dt.date)
            else low > high  # type: ignore[operator]
        )
    except TypeError:  # naive and aware date-times
        return f"{low_name} and {high_name} must both have a time zone or both not"
    if inverted:
        return f"must be >= {low_name} ({shown(low)}), got {shown(high)}"
    return None


class RangeBin(ConfigModel):
    """Values between ``min`` and ``max``, both inclusive; a missing bound is unbounded."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {"examples": [{"min": 30001, "max": 80000}]}
    }

    min: Bound | None = None
    """The lowest value of the bin (a number, date or date-time)."""
    max: Bound | None = None
    """The highest value of the bin."""

    @model_validator(mode="after")
    def _a_range(self) -> Self:
        if self.min is None and self.max is None:
            raise problems(((), "expected min and/or max (use default: for a catch-all)"))
        problem = bounds_problem(self.min, self.max, "min", "max")
        if problem is not None:
            raise problems((("max",), problem))
        return self


class ValuesBin(RootModel[tuple[Scalar, ...]]):
    """Any of these values (all of one kind: text, numbers, booleans or dates)."""

    model_config = _ROOT | {"json_schema_extra": {"examples": [["DE", "FR", "NL"]]}}
    root: Annotated[tuple[Scalar, ...], NonEmpty(), Expect("a non-empty list of values")]

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if len({family(v) for v in self.root}) > 1:
            raise problems(((), "expected values of one kind (text, numbers, booleans or dates)"))
        return self

    @property
    def values(self) -> tuple[object, ...]:
        """The values, in order."""
        return self.root


def _bin_shape(value: object) -> str | None:
    if isinstance(value, Mapping | RangeBin):
        return "range"
    if isinstance(value, list | tuple | ValuesBin):
        return "values"
    return None


Bin: TypeAlias = Annotated[
    RangeBin | ValuesBin,
    Shapes(
        {"range": RangeBin, "values": ValuesBin},
        _bin_shape,
        "a range {min, max} or a list of values",
    ),
]
Label: TypeAlias = Annotated[str, Strict(), MinLen(1), Expect("a label")]
Bins: TypeAlias = Annotated[
    Mapping[Label, Bin],
    NonEmpty(),
    Expect("a non-empty mapping of label to {min, max} or [values]"),
]


def bin_family(bin_: RangeBin | ValuesBin) -> str | None:
    """Pure. The kind of value a bin compares (``number``, ``temporal``, ``string``, ``bool``)."""
    if isinstance(bin_, RangeBin):
        return family(bin_.min if bin_.min is not None else bin_.max)
    return family(bin_.root[0])


class Categorization(ConfigModel):
    """Labels for one column: the first bin that matches wins; ``default`` for the rest.

    Missing values (null, and NaN in a float column) get a null label, never ``default``.
    """

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {
            "examples": [
                {"bins": {"EU": ["DE", "FR"], "NA": ["US", "CA"]}, "into": "region"},
            ]
        }
    }

    bins: Bins
    """``{label: {min, max} or [values]}``, tried in the order written."""
    into: Column | None = None
    """The new column's name (``<column>_category`` when unset)."""
    default: Text | None = "Other"
    """The label of values no bin matches."""

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        kinds = {bin_family(b) for b in self.bins.values()}
        if len(kinds) > 1:
            listed = ", ".join(sorted(k or "?" for k in kinds))
            raise problems((("bins",), f"expected bins of one kind, got {listed}"))
        return self


def _categorization_shape(value: object) -> str | None:
    if isinstance(value, Categorization) or (isinstance(value, Mapping) and "bins" in value):
        return "full"
    return "short" if isinstance(value, Mapping) else None


CategorizationOption: TypeAlias = Annotated[
    Categorization,
    Shapes(
        {"full": Categorization, "short": Bins},
        _categorization_shape,
        "a mapping of label to {min, max} or [values]",
        convert={"short": lambda bins: Categorization(bins=bins)},
    ),
]


class CategorizeStep(RootModel[Mapping[Column, CategorizationOption]]):
    """Label columns by ranges or value lists: ``{column: {label: bin, ...}}``.

    The nested form ``{column: {bins: {...}, into: name, default: label}}`` names the output
    column or the default label.
    """

    model_config = _ROOT | {
        "json_schema_extra": {
            "examples": [
                {"income": {"Low": {"max": 30000}, "Medium": {"min": 30001, "max": 80000}}},
            ]
        }
    }
    root: Annotated[
        Mapping[Column, CategorizationOption],
        NonEmpty(),
        Expect("a non-empty mapping of column to labels"),
    ]

    kind: ClassVar[str] = "categorize"

    @property
    def columns(self) -> Mapping[str, Categorization]:
        """Each categorized column and its labels, in order."""
        return self.root


# ---------------------------------------------------------------------------------------------
# aggregate, protect
# ---------------------------------------------------------------------------------------------

Aggregations: TypeAlias = Annotated[
    tuple[
        Annotated[
            AggregationName, Expect("one of mean, median, count, sum, min, max, std, n_unique")
        ],
        ...,
    ],
    NonEmpty(),
    Expect("a non-empty list of aggregations"),
]


class AggregateStep(ConfigModel):
    """One row per group with flat column names (``income_mean``), sorted by the keys."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {
            "examples": [{"group_by": ["country"], "aggregations": {"income": ["mean", "count"]}}]
        }
    }

    group_by: ColumnList
    """The key columns (``[]``: the whole input is one group). Null keys form their own group."""
    aggregations: Annotated[
        Mapping[Column, Aggregations],
        NonEmpty(),
        Expect("a non-empty mapping of column to aggregations"),
    ]
    """``{column: [mean|median|count|sum|min|max|std|n_unique, ...]}`` (missing values are
    skipped, like pandas)."""

    kind: ClassVar[str] = "aggregate"

    @model_validator(mode="after")
    def _output_names_unique(self) -> Self:
        names = [*self.group_by, *self.output_columns()]
        repeated = [n for i, n in enumerate(names) if n in names[:i]]
        if repeated:
            listed = ", ".join(repr(n) for n in dict.fromkeys(repeated))
            raise problems((("aggregations",), f"output column(s) {listed} would repeat"))
        return self

    def output_columns(self) -> tuple[str, ...]:
        """Pure. The aggregated columns' names, in order (``<column>_<aggregation>``)."""
        return tuple(f"{c}_{op}" for c, ops in self.aggregations.items() for op in ops)


class ProtectStep(ConfigModel):
    """Protect personal data: salted SHA-256 ``hash``, ``mask`` (keeps the end) or ``drop``."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {
            "examples": [
                {
                    "columns": {"email": "hash", "card": "mask", "ssn": "drop"},
                    "salt": "${PII_SALT}",
                    "keep_last": 4,
                }
            ]
        }
    }

    columns: Annotated[
        Mapping[Column, Annotated[ProtectAction, Expect("one of hash, mask, drop")]],
        NonEmpty(),
        Expect("a non-empty mapping of column to hash|mask|drop"),
    ]
    """``{column: hash|mask|drop}``. Hashed and masked columns become text; nulls stay null."""
    salt: Annotated[Secret, SecretValue("env", "PII_SALT")] | None = None
    """The secret salt of ``hash`` (required when a column is hashed; from the environment)."""
    keep_last: NonNegativeInt = 4
    """``mask`` keeps this many trailing characters and stars the rest (the length is kept)."""

    kind: ClassVar[str] = "protect"

    @model_validator(mode="after")
    def _salt_for_hashing(self) -> Self:
        if "hash" in self.columns.values() and not self.salt:
            raise problems((("salt",), 'required to hash columns; write salt: "${PII_SALT}"'))
        return self


# ---------------------------------------------------------------------------------------------
# The block
# ---------------------------------------------------------------------------------------------

TransformStep: TypeAlias = (
    CleanStep | DeriveStep | FiltersStep | CategorizeStep | AggregateStep | ProtectStep
)
STEP_KINDS: Final[dict[str, type[Any]]] = {
    c.kind: c
    for c in (CleanStep, DeriveStep, FiltersStep, CategorizeStep, AggregateStep, ProtectStep)
}
Step: TypeAlias = Annotated[TransformStep, OneKey("transform step", STEP_KINDS)]


_TRANSFORM_EXAMPLES: Final[list[JsonValue]] = [
    {"derive": {"adult": "age >= 18"}, "filters": ["adult"]},
    [{"filters": ["age > 0"]}, {"derive": {"b": "age * 2"}}, {"filters": ["b < 99"]}],
]


class TransformConfig(RootModel[tuple[Step, ...]]):
    """The steps, in the order written: a mapping of steps, or a list of one-step mappings."""

    model_config = _ROOT | {"json_schema_extra": {"examples": _TRANSFORM_EXAMPLES}}
    root: tuple[Step, ...] = ()
    _as_list: bool = PrivateAttr(default=False)

    @model_validator(mode="wrap")
    @classmethod
    def _either_form(cls, data: object, handler: ValidatorFunctionWrapHandler) -> Self:
        if isinstance(data, cls):
            return data
        as_list = not isinstance(data, Mapping)
        if isinstance(data, Mapping):
            data = [{kind: body} for kind, body in data.items()]
        found: Self = handler(() if data is None else data)
        found._as_list = as_list and data is not None
        return found

    @property
    def steps(self) -> tuple[TransformStep, ...]:
        """The steps, in order."""
        return self.root

    @property
    def as_list(self) -> bool:
        """Whether the block was written as a list (only where problems are reported)."""
        return self._as_list

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TransformConfig) and self.root == other.root

    def __hash__(self) -> int:
        return hash(self.root)

    def path_of(self, index: int) -> str:
        """Pure. The key path of step ``index``: ``transform.clean`` or ``transform[2].clean``."""
        kind = self.steps[index].kind
        return key_path(("transform", index, kind) if self.as_list else ("transform", kind))

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        as_list = handler(schema)
        resolved = handler.resolve_ref_schema(as_list)
        items = resolved.get("items", {})
        properties: dict[str, Any] = {}
        for block in items.get("oneOf", []):
            properties.update(handler.resolve_ref_schema(block).get("properties", {}))
        as_mapping = {
            "type": "object",
            "properties": properties,
            "additionalProperties": False,
            "description": "Steps as a mapping (each kind once), run in the order written.",
        }
        one_step_each = {**resolved, "description": "Steps as a list of one-step mappings."}
        resolved.clear()
        resolved.update(
            {
                "anyOf": [as_mapping, one_step_each],
                "description": (cls.__doc__ or "").strip().splitlines()[0],
                "examples": _TRANSFORM_EXAMPLES,
            }
        )
        return as_list
