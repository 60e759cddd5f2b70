"""``transform: clean:`` options: duplicates, missing values, type conversions, string cleaning.

Pure. :class:`CleanStep` is both the config block and the typed options of the
:func:`~lakeflow.core.transform.clean` builder; the closed sets here (:data:`NullStrategy`,
:data:`TargetType`, :data:`StringOp`, :data:`DedupeKeep`, :data:`OnError`) are the only place
those names are declared.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from collections.abc import Mapping
from typing import Annotated, ClassVar, Final, Literal, Self, TypeAlias, get_args

from pydantic import (
    BeforeValidator,
    Field,
    PlainSerializer,
    PlainValidator,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from lakeflow.core.config.base import ConfigModel, Expect, Shapes
from lakeflow.core.config.errors import expected, problems
from lakeflow.core.config.interpolation import EnvText
from lakeflow.core.config.values import Bool, Column, ColumnList, NonEmpty, Text

__all__ = [
    "CleanStep",
    "Dedupe",
    "DedupeKeep",
    "FillValue",
    "NullHandling",
    "NullStrategy",
    "OnError",
    "StringOp",
    "TargetType",
    "TypeConversion",
]

NullStrategy: TypeAlias = Literal["drop", "fill_zero", "fill_mean", "fill_median", "fill_forward"]
TargetType: TypeAlias = Literal["int", "float", "str", "bool", "datetime", "date", "numeric"]
StringOp: TypeAlias = Literal["strip", "lower", "upper", "title", "remove_special_chars"]
DedupeKeep: TypeAlias = Literal["first", "last", "latest"]
OnError: TypeAlias = Literal["null", "fail"]

NULL_STRATEGIES: Final[tuple[str, ...]] = get_args(NullStrategy)
_LITERAL_TYPES: Final = (str, int, float, dt.date, dt.time, dt.timedelta)


# ---------------------------------------------------------------------------------------------
# remove_duplicates
# ---------------------------------------------------------------------------------------------


class Dedupe(ConfigModel):
    """Keep one row per key: the first, the last, or the latest by ``order_by``."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {
            "examples": [{"keys": ["id"], "keep": "latest", "order_by": "updated_at"}]
        }
    }

    keys: ColumnList = ()
    """The key columns (all columns when empty)."""
    keep: Annotated[DedupeKeep, Expect("one of first, last, latest")] = "first"
    """``first`` / ``last`` by input order, or ``latest``: the greatest ``order_by`` (null and
    NaN lowest; ties go to the last row in input order)."""
    order_by: Column | None = None
    """The column ``keep: latest`` orders by (only with ``latest``)."""

    @model_validator(mode="after")
    def _order_by_goes_with_latest(self) -> Self:
        if self.keep == "latest" and self.order_by is None:
            raise problems((("order_by",), "required with keep: latest"))
        if self.keep != "latest" and self.order_by is not None:
            raise problems((("order_by",), "only used with keep: latest"))
        return self


def _dedupe_shape(value: object) -> str | None:
    if isinstance(value, bool) or (isinstance(value, EnvText) and value.variables):
        return "flag"
    if isinstance(value, Mapping | Dedupe):
        return "keys"
    return None


RemoveDuplicates: TypeAlias = Annotated[
    bool | Dedupe,
    Shapes(
        {"flag": Bool, "keys": Dedupe},
        _dedupe_shape,
        "true, false or a mapping {keys, keep, order_by}",
    ),
]

# ---------------------------------------------------------------------------------------------
# null_handling
# ---------------------------------------------------------------------------------------------


def _fill_literal(value: object) -> object:
    if isinstance(value, EnvText):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise expected("a fill value (a finite number)", kinds=("float",))
    if isinstance(value, _LITERAL_TYPES):
        return value
    raise expected("a null strategy or a fill value")


def _fill_json(value: object) -> object:
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return value


FillLiteral: TypeAlias = Annotated[
    str | int | float | bool | dt.date | dt.time | dt.timedelta,
    PlainValidator(_fill_literal, json_schema_input_type=str | float | bool),
    PlainSerializer(_fill_json, when_used="json"),
]


def strategy_lookalike(text: str) -> str | None:
    """Pure. The strategy ``text`` probably means (``""``: some ``fill_...``), or ``None``.

    Folds case, spaces and dashes first (``DROP``, ``fill-mean``).
    """
    folded = text.strip().lower().replace("-", "_").replace(" ", "_")
    close = difflib.get_close_matches(folded, NULL_STRATEGIES, n=1, cutoff=0.75)
    if close:
        return close[0]
    return "" if folded.startswith("fill_") else None


class FillValue(ConfigModel):
    """Fill missing values with this literal (``{value: drop}`` when it looks like a strategy)."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {"examples": [{"value": "fill_zero"}]}
    }

    value: FillLiteral
    """The literal; it must fit the column's type."""

    @model_serializer(mode="wrap")
    def _short(self, handler: SerializerFunctionWrapHandler) -> object:
        data = handler(self)
        if isinstance(self.value, str) and strategy_lookalike(self.value) is not None:
            return data
        return data["value"]


def _not_a_typo(value: object) -> object:
    if isinstance(value, str) and not getattr(value, "from_env", False):
        close = strategy_lookalike(value)
        if close is not None:
            suggestion = f"did you mean {close!r}? " if close else ""
            raise expected(
                "a null strategy",
                choices=NULL_STRATEGIES,
                message=(
                    f"unknown null strategy {str(value)!r}; {suggestion}allowed: "
                    f"{', '.join(NULL_STRATEGIES)}. To fill with this text itself, write "
                    f"{{value: {str(value)!r}}}"
                ),
            )
    return value


def _null_shape(value: object) -> str | None:
    if isinstance(value, Mapping | FillValue):
        return "fill"
    if isinstance(value, str) and value in NULL_STRATEGIES:
        return "strategy"
    if isinstance(value, _LITERAL_TYPES):
        return "literal"
    return None


NullHandling: TypeAlias = Annotated[
    NullStrategy | FillValue,
    Shapes(
        {
            "strategy": NullStrategy,
            "fill": FillValue,
            "literal": Annotated[FillLiteral, BeforeValidator(_not_a_typo)],
        },
        _null_shape,
        "a null strategy or a fill value",
        convert={"literal": lambda value: FillValue(value=value)},
        any_of=True,
    ),
]
"""A strategy (``drop``, ``fill_zero``, ``fill_mean``, ``fill_median``, ``fill_forward``) or a
literal to fill with (``{value: ...}`` for a literal that looks like a strategy)."""

# ---------------------------------------------------------------------------------------------
# type_conversions
# ---------------------------------------------------------------------------------------------

Target: TypeAlias = Annotated[
    TargetType, Expect("one of int, float, str, bool, datetime, date, numeric")
]


class TypeConversion(ConfigModel):
    """Convert a column to ``to``; ``format`` parses dates; ``on_error`` null or fail."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {
            "examples": [{"to": "datetime", "format": "%d/%m/%Y %H:%M", "on_error": "null"}]
        }
    }

    to: Target
    """The target type (``numeric`` is a float that turns what does not parse into null)."""
    format: Annotated[Text, Expect("a strftime format such as %Y-%m-%d")] | None = None
    """A strftime format for ``to: datetime`` or ``to: date`` (``%Y-%m-%d``)."""
    on_error: Annotated[OnError, Expect("one of null, fail")] = Field(
        default_factory=lambda given: "null" if given.get("to") == "numeric" else "fail"
    )
    """``fail`` stops the run naming up to five values that do not convert; ``null`` turns them
    into nulls. Unset: ``null`` for ``numeric``, ``fail`` otherwise (YAML ``null`` means
    ``null``)."""

    null_means: ClassVar[Mapping[str, object]] = {"on_error": "null"}

    @model_validator(mode="after")
    def _format_goes_with_dates(self) -> Self:
        if self.format is not None and self.to not in ("datetime", "date"):
            raise problems(
                (("format",), f"only used with to: datetime or to: date, not to: {self.to}")
            )
        if self.format is not None and "%" not in self.format:
            raise problems((("format",), "expected a strftime format such as %Y-%m-%d"))
        return self

    @model_serializer(mode="wrap")
    def _short(self, handler: SerializerFunctionWrapHandler) -> object:
        default = "null" if self.to == "numeric" else "fail"
        if self.format is None and self.on_error == default:
            return self.to
        return handler(self)


def _conversion_shape(value: object) -> str | None:
    if isinstance(value, Mapping | TypeConversion):
        return "full"
    return "short" if isinstance(value, str) else None


Conversion: TypeAlias = Annotated[
    TypeConversion,
    Shapes(
        {"short": Target, "full": TypeConversion},
        _conversion_shape,
        "a type (int, float, str, bool, datetime, date, numeric) or {to, format, on_error}",
        convert={"short": lambda target: TypeConversion(to=target)},
    ),
]

# ---------------------------------------------------------------------------------------------
# The clean step
# ---------------------------------------------------------------------------------------------

StringOps: TypeAlias = Annotated[
    tuple[
        Annotated[StringOp, Expect("one of strip, lower, upper, title, remove_special_chars")], ...
    ],
    NonEmpty(),
    Expect("a non-empty list of string operations"),
]


class CleanStep(ConfigModel):
    """Clean rows: duplicates, then missing values, then type conversions, then strings.

    The parts always run in that order, whatever order they are written in; entries of each
    run in the order written. In a float column NaN counts as missing, like null.
    """

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {
            "examples": [
                {
                    "remove_duplicates": {"keys": ["id"], "keep": "latest", "order_by": "ts"},
                    "null_handling": {"email": "drop", "age": "fill_zero", "status": "active"},
                    "type_conversions": {"created_at": "datetime", "age": "int"},
                    "string_cleaning": {"email": ["strip", "lower"]},
                }
            ]
        }
    }

    remove_duplicates: RemoveDuplicates = False
    """``true`` removes whole-row duplicates (keeping the first); ``{keys, keep, order_by}``
    keeps one row per key."""
    null_handling: Mapping[Column, NullHandling] = Field(default_factory=dict)
    """``{column: strategy or fill value}``, applied in the order written."""
    type_conversions: Mapping[Column, Conversion] = Field(default_factory=dict)
    """``{column: type}`` or ``{column: {to, format, on_error}}``."""
    string_cleaning: Mapping[Column, StringOps] = Field(default_factory=dict)
    """``{column: [operation, ...]}`` on String columns, in the order written."""

    kind: ClassVar[str] = "clean"

    @model_validator(mode="after")
    def _does_something(self) -> Self:
        parts = (self.null_handling, self.type_conversions, self.string_cleaning)
        if self.remove_duplicates is False and not any(parts):
            raise problems(
                (
                    (),
                    "a clean step needs at least one of remove_duplicates, null_handling, "
                    "type_conversions, string_cleaning",
                )
            )
        return self

    def required_columns(self) -> tuple[str, ...]:
        """Pure. Every column the options name, in order, without repeats."""
        names: list[str] = []
        if isinstance(self.remove_duplicates, Dedupe):
            names.extend(self.remove_duplicates.keys)
            names.extend(
                [self.remove_duplicates.order_by] if self.remove_duplicates.order_by else []
            )
        names.extend(self.null_handling)
        names.extend(self.type_conversions)
        names.extend(self.string_cleaning)
        return tuple(dict.fromkeys(names))
