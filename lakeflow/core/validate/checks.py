"""The checks a dataset must pass, as frozen values; built in Python or from the config block.

Pure. :class:`Checks` mirrors the ``validate:`` block of a pipeline config (see DESIGN.md):
``schema``, ``completeness``, ``unique``, ``references``, ``rules``, ``pandera``,
``max_invalid_fraction``, ``enforce`` and ``quality``. :meth:`Checks.from_config` decodes that
block reporting every problem at once; references to lake datasets and pandera import paths are
resolved later by the shell (:func:`resolve_references`, :func:`resolve_pandera`).

>>> checks = Checks.from_config({
...     "schema": {"properties": {"age": {"type": "integer", "minimum": 0}}, "required": ["id"]},
...     "unique": ["id"],
...     "rules": [{"name": "adult", "condition": "age >= 18", "severity": "warning"}],
... }).unwrap()
>>> checks.rules[0].severity, checks.unique
('warning', ('id',))
"""

from __future__ import annotations

import difflib
import math
import re
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal, TypeAlias, cast, get_args

import polars as pl
from returns.result import Failure, Result, Success

from lakeflow.core.errors import (
    ConfigError,
    ConfigProblem,
    InvalidExpression,
    InvalidOption,
    StageError,
)
from lakeflow.core.sql import describe_expr, sql_expr
from lakeflow.core.validate.report import Severity

__all__ = [
    "Bound",
    "Checks",
    "Completeness",
    "DatasetRef",
    "FrameRef",
    "PanderaRef",
    "PanderaSchema",
    "Property",
    "Quality",
    "Reference",
    "Rule",
    "Schema",
    "TypeName",
    "ValuesRef",
    "resolve_pandera",
    "resolve_references",
]

STAGE = "validate"
"""The stage name validation failures carry."""

TypeName: TypeAlias = Literal["integer", "number", "string", "boolean", "datetime", "date"]
Bound: TypeAlias = int | float | date | datetime
"""A ``minimum`` / ``maximum``: a number, or a date / datetime for temporal columns."""

TYPE_NAMES: tuple[str, ...] = get_args(TypeName)
SEVERITIES: tuple[str, ...] = ("error", "warning")


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
        condition: SQL (``"age >= 18"``) or a ``pl.Expr``. As in a SQL ``CHECK`` constraint,
            a row where the condition is NULL (unknown) passes: write
            ``age IS NOT NULL AND age >= 18`` to require a value.
        severity: ``error`` quarantines failing rows; ``warning`` only counts and reports.
    """

    name: str
    condition: str | pl.Expr
    severity: Severity = "error"


@dataclass(frozen=True, slots=True)
class Quality:
    """Settings of the timeliness metric: a timestamp column and how fresh rows must be.

    Naive timestamps (and a naive ``now``) are taken as UTC.
    """

    timestamp_column: str
    freshness: timedelta = timedelta(hours=24)


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

    def __post_init__(self) -> None:
        object.__setattr__(self, "unique", _unique_keys(self.unique))
        object.__setattr__(self, "references", types.MappingProxyType(dict(self.references)))
        object.__setattr__(self, "rules", tuple(self.rules))
        pandera = self.pandera
        if isinstance(pandera, str | PanderaRef) or not isinstance(pandera, Sequence):
            pandera = (pandera,)
        object.__setattr__(self, "pandera", tuple(pandera))

    @staticmethod
    def from_config(
        config: Mapping[str, object], *, path: str = "validate"
    ) -> Result[Checks, StageError]:
        """Pure. Decode a ``validate:`` config block; every problem is reported at once.

        Args:
            config: The block as parsed from YAML (plain dicts, lists and scalars).
            path: Key path prefix used in problem messages.

        Returns:
            ``Success(Checks)`` or ``Failure(ConfigError)`` listing each problem with its key
            path. ``references`` with ``dataset:`` stay unresolved (:class:`DatasetRef`) and a
            ``pandera: "module:Model"`` stays a :class:`PanderaRef` until the shell resolves them.
        """
        decoder = _Decoder(path)
        checks = decoder.checks(config)
        if checks is not None:  # semantic checks of every part that decoded
            for where, problem in option_problems(checks):
                decoder.report(decoder.original_path(where), _problem_text(problem))
        if decoder.problems or checks is None:
            return Failure(ConfigError(tuple(decoder.problems)))
        return Success(checks)


# ---------------------------------------------------------------------------------------------
# Semantic checks shared by the Python API (plan_validation) and the config decoder
# ---------------------------------------------------------------------------------------------


def _problem_text(problem: StageError) -> str:
    if isinstance(problem, InvalidOption):
        return f"{problem.value!r} is not allowed; expected {', '.join(problem.allowed)}"
    if isinstance(problem, InvalidExpression):
        return f"invalid SQL expression {problem.expression!r}: {problem.reason}"
    return problem.message


def regex_problem(pattern: str) -> str | None:
    """Pure. Why Polars' regex engine rejects ``pattern``, or ``None`` when it compiles."""
    try:
        pl.Series("pattern", [], dtype=pl.String).str.contains(pattern)
    except pl.exceptions.PolarsError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        error_lines = [line for line in lines if line.startswith("error:")]
        return error_lines[0] if error_lines else (lines[0] if lines else "invalid regex")
    return None


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


# ---------------------------------------------------------------------------------------------
# The config decoder: structure and scalar types, every problem at once
# ---------------------------------------------------------------------------------------------

_TOP_KEYS = (
    "schema",
    "completeness",
    "unique",
    "references",
    "rules",
    "pandera",
    "max_invalid_fraction",
    "enforce",
    "quality",
)
_PANDERA_TARGET = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")  # fullmatch: `$` allows "\n"


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class _Decoder:
    """Collects problems while decoding; each method returns ``None`` for an invalid value."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.problems: list[ConfigProblem] = []
        self.rule_positions: list[int] = []

    def original_path(self, where: str) -> str:
        """Map ``rules[i]`` of the decoded rules back to the position written in the config."""
        found = re.match(r"rules\[(\d+)\]", where)
        if found is None:
            return where
        position = self.rule_positions[int(found.group(1))]
        return f"rules[{position}]" + where[found.end() :]

    def report(self, where: str, message: str) -> None:
        path = f"{self.root}.{where}" if self.root and where else (where or self.root)
        self.problems.append(ConfigProblem(path, message))

    def mapping(
        self, raw: object, where: str, allowed: Sequence[str]
    ) -> Mapping[str, object] | None:
        if not isinstance(raw, Mapping):
            self.report(where, f"expected a mapping, got {_show(raw)}")
            return None
        for key in raw:
            if key not in allowed:
                hint = difflib.get_close_matches(str(key), allowed, n=1)
                suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
                prefix = f"{where}." if where else ""
                self.report(
                    f"{prefix}{key}",
                    f"unknown key (allowed: {', '.join(allowed)}){suggestion}",
                )
        return cast(Mapping[str, object], raw)

    def names(
        self, raw: object, where: str, *, allow_empty: bool = False
    ) -> tuple[str, ...] | None:
        if isinstance(raw, str) or not isinstance(raw, Sequence):
            self.report(where, f"expected a list of column names, got {_show(raw)}")
            return None
        bad = [item for item in raw if not isinstance(item, str) or not item]
        if bad:
            self.report(where, f"expected column names, got {_show(bad[0])}")
            return None
        if not raw and not allow_empty:
            self.report(where, "expected a non-empty list of column names")
            return None
        return tuple(cast(Sequence[str], raw))

    def number(self, raw: object, where: str) -> float | None:
        if not _is_number(raw):
            self.report(where, f"expected a number, got {_show(raw)}")
            return None
        return float(cast(float, raw))

    def boolean(self, raw: object, where: str) -> bool | None:
        if not isinstance(raw, bool):
            self.report(where, f"expected true or false, got {_show(raw)}")
            return None
        return raw

    def text(self, raw: object, where: str) -> str | None:
        if not isinstance(raw, str) or not raw.strip():
            self.report(where, f"expected a non-empty string, got {_show(raw)}")
            return None
        return raw

    def values(self, raw: object, where: str) -> tuple[object, ...] | None:
        if isinstance(raw, str) or not isinstance(raw, Sequence):
            self.report(where, f"expected a list of values, got {_show(raw)}")
            return None
        return tuple(raw)

    # -- blocks ------------------------------------------------------------------------------

    def checks(self, raw: object) -> Checks | None:
        block = self.mapping(raw, "", _TOP_KEYS)
        if block is None:
            return None
        schema = self.schema(block["schema"], "schema") if "schema" in block else None
        completeness = (
            self.completeness(block["completeness"], "completeness")
            if "completeness" in block
            else None
        )
        unique = self.unique(block.get("unique", []), "unique")
        references = self.references(block.get("references", {}), "references")
        rules = self.rules(block.get("rules", []), "rules")
        pandera = self.pandera(block.get("pandera"), "pandera")
        fraction = self.number(block.get("max_invalid_fraction", 0.0), "max_invalid_fraction")
        enforce = self.boolean(block.get("enforce", True), "enforce")
        quality = self.quality(block["quality"], "quality") if "quality" in block else None
        return Checks(
            schema=schema,
            completeness=completeness,
            unique=unique or (),
            references=references or {},
            rules=rules or (),
            pandera=pandera,
            max_invalid_fraction=fraction if fraction is not None else 0.0,  # reported
            enforce=True if enforce is None else enforce,
            quality=quality,
        )

    def schema(self, raw: object, where: str) -> Schema | None:
        block = self.mapping(raw, where, ("type", "properties", "required", "coerce"))
        if block is None:
            return None
        if "type" in block and block["type"] != "object":
            self.report(
                f"{where}.type", f"expected 'object' (or leave it out), got {_show(block['type'])}"
            )
        properties: dict[str, Property] = {}
        raw_props = block.get("properties", {})
        if isinstance(raw_props, Mapping):
            for column, spec in raw_props.items():
                prop = self.property(spec, f"{where}.properties.{column}")
                if prop is not None:
                    properties[str(column)] = prop
        else:
            self.report(
                f"{where}.properties", f"expected a mapping of columns, got {_show(raw_props)}"
            )
        required = self.names(block.get("required", []), f"{where}.required", allow_empty=True)
        coerce = self.boolean(block.get("coerce", False), f"{where}.coerce")
        return Schema(properties, required or (), bool(coerce))

    def property(self, raw: object, where: str) -> Property | None:
        block = self.mapping(raw, where, ("type", "minimum", "maximum", "enum", "pattern"))
        if block is None:
            return None
        kind = block.get("type")
        if kind is not None and kind not in TYPE_NAMES:
            hint = difflib.get_close_matches(str(kind), TYPE_NAMES, n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            self.report(
                f"{where}.type",
                f"expected one of {', '.join(TYPE_NAMES)}, got {_show(kind)}{suggestion}",
            )
            kind = None
        bounds: dict[str, Bound | None] = {}
        for name in ("minimum", "maximum"):
            bounds[name] = self.bound(block.get(name), f"{where}.{name}", kind)
        enum = self.values(block["enum"], f"{where}.enum") if "enum" in block else None
        pattern = self.text(block["pattern"], f"{where}.pattern") if "pattern" in block else None
        return Property(
            type=cast(TypeName | None, kind),
            minimum=bounds["minimum"],
            maximum=bounds["maximum"],
            enum=enum,
            pattern=pattern,
        )

    def bound(self, raw: object, where: str, kind: object) -> Bound | None:
        if raw is None:
            return None
        if _is_number(raw):
            return cast(int | float, raw)
        if isinstance(raw, date | datetime):
            return raw
        if isinstance(raw, str) and kind in ("date", "datetime"):
            try:
                return date.fromisoformat(raw) if kind == "date" else datetime.fromisoformat(raw)
            except ValueError:
                pass
        self.report(
            where,
            f"expected a number (or an ISO date/datetime for type date/datetime), got {_show(raw)}",
        )
        return None

    def completeness(self, raw: object, where: str) -> Completeness | None:
        block = self.mapping(raw, where, ("columns", "threshold"))
        if block is None:
            return None
        columns = self.names(block.get("columns"), f"{where}.columns")
        threshold = self.number(block.get("threshold", 1.0), f"{where}.threshold")
        if columns is None or threshold is None:
            return None
        return Completeness(columns, threshold)

    def unique(self, raw: object, where: str) -> tuple[str | tuple[str, ...], ...] | None:
        if isinstance(raw, str):
            return (raw,)
        if not isinstance(raw, Sequence):
            self.report(
                where, f"expected a list of columns (or lists of columns), got {_show(raw)}"
            )
            return None
        keys: list[str | tuple[str, ...]] = []
        for index, item in enumerate(raw):
            if isinstance(item, str) and item:
                keys.append(item)
                continue
            names = self.names(item, f"{where}[{index}]")
            if names is not None:
                keys.append(names[0] if len(names) == 1 else names)
        return tuple(keys)

    def references(self, raw: object, where: str) -> dict[str, Reference] | None:
        if not isinstance(raw, Mapping):
            self.report(where, f"expected a mapping of columns, got {_show(raw)}")
            return None
        out: dict[str, Reference] = {}
        for column, spec in raw.items():
            at = f"{where}.{column}"
            block = self.mapping(spec, at, ("values", "dataset", "key"))
            if block is None:
                continue
            if ("values" in block) == ("dataset" in block):
                self.report(at, "expected either {values: [...]} or {dataset: PATH, key: COLUMN}")
                continue
            if "values" in block:
                if "key" in block:
                    self.report(f"{at}.key", "only used with dataset")
                values = self.values(block["values"], f"{at}.values")
                if values is not None:
                    out[str(column)] = ValuesRef(values)
                continue
            dataset = self.text(block["dataset"], f"{at}.dataset")
            key = self.text(block.get("key"), f"{at}.key")
            if dataset is not None and key is not None:
                out[str(column)] = DatasetRef(dataset, key)
        return out

    def rules(self, raw: object, where: str) -> tuple[Rule, ...] | None:
        if isinstance(raw, str) or not isinstance(raw, Sequence):
            self.report(where, f"expected a list of rules, got {_show(raw)}")
            return None
        out: list[Rule] = []
        for index, spec in enumerate(raw):
            at = f"{where}[{index}]"
            block = self.mapping(spec, at, ("name", "condition", "severity"))
            if block is None:
                continue
            name = self.text(block.get("name"), f"{at}.name")
            condition = self.text(block.get("condition"), f"{at}.condition")
            severity = block.get("severity", "error")  # its value is checked with the rest
            if name is not None and condition is not None:
                out.append(Rule(name, condition, cast(Severity, severity)))
                self.rule_positions.append(index)
        return tuple(out)

    def pandera(self, raw: object, where: str) -> tuple[PanderaSchema, ...]:
        if raw is None:
            return ()
        items = raw if isinstance(raw, Sequence) and not isinstance(raw, str) else (raw,)
        out: list[PanderaSchema] = []
        for index, item in enumerate(items):
            at = where if items is not raw else f"{where}[{index}]"
            if isinstance(item, str):
                if _PANDERA_TARGET.fullmatch(item):
                    out.append(PanderaRef(item))
                else:
                    self.report(
                        at,
                        f"expected an import path like 'package.module:Model', got {_show(item)}",
                    )
            else:
                out.append(item)
        return tuple(out)

    def quality(self, raw: object, where: str) -> Quality | None:
        block = self.mapping(raw, where, ("timestamp_column", "freshness_hours"))
        if block is None:
            return None
        column = self.text(block.get("timestamp_column"), f"{where}.timestamp_column")
        hours = self.number(block.get("freshness_hours", 24.0), f"{where}.freshness_hours")
        if hours is not None and hours <= 0:
            self.report(f"{where}.freshness_hours", f"expected a number > 0, got {_show(hours)}")
            return None
        if column is None or hours is None:
            return None
        return Quality(column, timedelta(hours=hours))
