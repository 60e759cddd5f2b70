"""The value types config keys are declared with: names, numbers, paths, SQL, secrets.

Pure. Each type is an ``Annotated`` alias that carries its rules, its JSON Schema and the words
of its problems, so a section declares ``partitions: Partitions | None = None`` and nothing
else. Scalars are strict (YAML ``"4"`` is text, not a number; ``true`` is not an integer); a
string that used ``${...}`` may still stand for a number or a boolean. Secrets validate into
:class:`~lakeflow.core.secrets.Secret` and, in a config file, must come from the environment.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Final, Literal, TypeAlias

import polars as pl
from annotated_types import Ge, Gt, Le, MinLen
from pydantic import (
    AfterValidator,
    AllowInfNan,
    BeforeValidator,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainSerializer,
    PlainValidator,
    Strict,
    ValidationInfo,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema
from returns.result import Failure

from lakeflow.core.config.base import Expect
from lakeflow.core.config.errors import expected, problems
from lakeflow.core.config.interpolation import EnvText
from lakeflow.core.secrets import REDACTED, Secret, redact_uri, uri_secrets
from lakeflow.core.sql import sql_expr

__all__ = [
    "ENV_CONTEXT",
    "FILE_CONTEXT",
    "SECRETS_CONTEXT",
    "Bool",
    "Bound",
    "Column",
    "ColumnList",
    "Columns",
    "EnvOk",
    "Fraction",
    "LakePath",
    "LoadPath",
    "NonEmpty",
    "NonNegativeInt",
    "Partitions",
    "Pattern",
    "Port",
    "PositiveFloat",
    "PositiveInt",
    "Scalar",
    "SecretValue",
    "SqlCondition",
    "SqlTable",
    "Text",
    "lake_path_problem",
    "matching",
    "regex_problem",
    "satisfies",
]

FILE_CONTEXT: Final = "lakeflow.file"
"""Validation context key: the values come from a config file (secrets only from the env)."""
SECRETS_CONTEXT: Final = "lakeflow.secrets"
"""Validation context key: a list that collects every secret value met (to scrub problems)."""
ENV_CONTEXT: Final = "lakeflow.env"
"""Validation context key: the environment, for keys whose default is an environment variable
(the lakectl variables of a ``lakefs://`` lake)."""

ENV_REFERENCE: Final = r"\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}"


class EnvOk:
    """JSON Schema: also accept a string with a ``${...}`` reference (it may stand for this)."""

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        inner = handler(schema)
        return {"anyOf": [inner, {"type": "string", "pattern": ENV_REFERENCE}]}


@dataclass(frozen=True)
class _JsonExtra:
    """JSON Schema: add these keywords to the type's schema."""

    extra: tuple[tuple[str, object], ...]

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {**handler(schema), **dict(self.extra)}


class NonEmpty:
    """A list or mapping with at least one item (``minItems`` / ``minProperties`` 1).

    Checked after the items, so a bad item is reported at its own path, never as "empty".
    """

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        def check(value: Any) -> Any:
            if len(value) == 0:
                raise ValueError("empty")  # worded by the Expect beside it
            return value

        return core_schema.no_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        found = handler(schema)
        target = handler.resolve_ref_schema(found)
        target["minItems" if target.get("type") == "array" else "minProperties"] = 1
        return found


def satisfies(test: Callable[[Any], bool]) -> AfterValidator:
    """Pure. A validator that refuses values failing ``test`` (an :class:`Expect` words it)."""

    def check(value: Any) -> Any:
        if not test(value):
            raise ValueError("invalid")  # worded by the Expect beside it
        return value

    return AfterValidator(check)


def matching(regex: str) -> tuple[AfterValidator, _JsonExtra]:
    """Pure. A validator of text matching ``regex`` in full, and its JSON Schema ``pattern``."""
    compiled = re.compile(regex)
    return satisfies(lambda text: compiled.fullmatch(text) is not None), _JsonExtra(
        (("pattern", f"^(?:{regex})$"),)
    )


# ---------------------------------------------------------------------------------------------
# Text and names
# ---------------------------------------------------------------------------------------------

Text: TypeAlias = Annotated[str, Strict(), MinLen(1), Expect("a string")]
"""A non-empty string."""
Column: TypeAlias = Annotated[str, Strict(), MinLen(1), Expect("a column name")]
"""A column name (any non-empty text)."""
Columns: TypeAlias = Annotated[
    tuple[Column, ...], NonEmpty(), Expect("a non-empty list of column names")
]
"""A non-empty list of column names."""
ColumnList: TypeAlias = Annotated[tuple[Column, ...], Expect("a list of column names")]
"""A list of column names (may be empty)."""

_SQL_TABLE = r"[^\W\d][\w$]*(\.[^\W\d][\w$]*){0,2}"
_table_check, _table_schema = matching(_SQL_TABLE)
SqlTable: TypeAlias = Annotated[
    str,
    Strict(),
    _table_check,
    Expect(
        "a table name ([schema.]table: letters, digits, '_' and '$', not starting with a digit)"
    ),
    _table_schema,
]
"""A ``[catalog.][schema.]table`` name, matched in full (no trailing newline)."""


def _sql(text: str) -> str:
    parsed = sql_expr("config", text)
    if isinstance(parsed, Failure):
        failure = parsed.failure()
        raise problems(((), f"invalid SQL expression {failure.expression!r}: {failure.reason}"))
    return text


SqlCondition: TypeAlias = Annotated[
    str, Strict(), MinLen(1), AfterValidator(_sql), Expect("a SQL expression")
]
"""A SQL expression parsed by Polars (``age >= 18``, ``floor(income / 10000) * 10000``)."""


def regex_problem(pattern: str) -> str | None:
    """Pure. Why Polars' regex engine rejects ``pattern``, or ``None`` when it compiles."""
    try:
        pl.Series("pattern", [], dtype=pl.String).str.contains(pattern)
    except pl.exceptions.PolarsError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        error_lines = [line for line in lines if line.startswith("error:")]
        return error_lines[0] if error_lines else (lines[0] if lines else "invalid regex")
    return None


def _regex(pattern: str) -> str:
    reason = regex_problem(pattern)
    if reason is not None:
        raise problems(((), f"invalid regular expression {pattern!r}: {reason}"))
    return pattern


Pattern: TypeAlias = Annotated[
    str, Strict(), MinLen(1), AfterValidator(_regex), Expect("a regular expression")
]
"""A regular expression in Polars' (Rust ``regex``) syntax."""

# ---------------------------------------------------------------------------------------------
# Lake paths
# ---------------------------------------------------------------------------------------------

_RESERVED_LOAD_PREFIXES: Final = ("_lakeflow", "raw")
_LAKE_PATH_WORDS: Final = (
    "a lake path (relative, '/'-separated, no empty, '.' or '..' parts, no leading '/', "
    "no backslash or control characters)"
)
_LOAD_PATH_WORDS: Final = _LAKE_PATH_WORDS + " outside the reserved folders _lakeflow/ and raw/"


def lake_path_problem(path: str) -> str | None:
    """Pure. Why ``path`` is not a valid path inside the lake, or ``None`` when it is.

    >>> lake_path_problem("validated_data/users") is None
    True
    >>> lake_path_problem("a/\\x07b")
    "control character '\\\\x07' in 'a/\\\\x07b'"
    """
    bad = next((c for c in path if unicodedata.category(c) in ("Cc", "Zl", "Zp")), None)
    if bad is not None:
        return f"control character {bad!r} in {path!r}"
    if path.startswith("/"):
        return f"{path!r} starts with '/'"
    if "\\" in path or "://" in path:
        return f"{path!r} contains a backslash or '://'"
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return f"{path!r} has an empty, '.' or '..' part"
    return None


_LAKE_PATH_JSON = _JsonExtra((("pattern", r"^(?!/)(?!.*(^|/)\.{0,2}(/|$))[^\x00-\x1f\x7f\\]+$"),))
LakePath: TypeAlias = Annotated[
    str,
    Strict(),
    satisfies(lambda path: lake_path_problem(path) is None),
    Expect(_LAKE_PATH_WORDS),
    _LAKE_PATH_JSON,
]
"""A path inside the lake (``validated_data/users``)."""
LoadPath: TypeAlias = Annotated[
    str,
    Strict(),
    satisfies(
        lambda path: (
            lake_path_problem(path) is None
            and path.split("/", maxsplit=1)[0] not in _RESERVED_LOAD_PREFIXES
        )
    ),
    Expect(_LOAD_PATH_WORDS),
    _LAKE_PATH_JSON,
]
"""A lake path where validated rows may be written (not under ``_lakeflow/`` or ``raw/``)."""

# ---------------------------------------------------------------------------------------------
# Numbers and booleans (a ``${...}`` string may stand for one)
# ---------------------------------------------------------------------------------------------

_INTEGER = re.compile(r"[+-]?\d+")
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def _env_int(value: object) -> object:
    if isinstance(value, EnvText) and value.variables and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    return value


def _env_float(value: object) -> object:
    if isinstance(value, EnvText) and value.variables:
        try:
            number = float(value.strip())
        except ValueError:
            return value
        return number if math.isfinite(number) else value
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _env_bool(value: object) -> object:
    if isinstance(value, EnvText) and value.variables:
        word = value.strip().lower()
        if word in _TRUE | _FALSE:
            return word in _TRUE
    return value


_INT = BeforeValidator(_env_int)
_FLOAT = BeforeValidator(_env_float)

# Constraints first (they go into the number's own schema and its JSON Schema), then the
# conversion of a ``${...}`` string, which runs before them.
NonNegativeInt: TypeAlias = Annotated[
    int, Strict(), Ge(0), _INT, Expect("an integer >= 0"), EnvOk()
]
PositiveInt: TypeAlias = Annotated[int, Strict(), Ge(1), _INT, Expect("an integer >= 1"), EnvOk()]
Port: TypeAlias = Annotated[
    int, Strict(), Ge(1), Le(65535), _INT, Expect("a port number (1-65535)"), EnvOk()
]
Partitions: TypeAlias = Annotated[
    int, Strict(), Ge(1), Le(1024), _INT, Expect("an integer between 1 and 1024"), EnvOk()
]
"""How many range queries a partitioned SQL read runs (1 to 1024)."""
PositiveFloat: TypeAlias = Annotated[
    float, Strict(), Gt(0), AllowInfNan(False), _FLOAT, Expect("a number > 0"), EnvOk()
]
Fraction: TypeAlias = Annotated[
    float,
    Strict(),
    Ge(0),
    Le(1),
    AllowInfNan(False),
    _FLOAT,
    Expect("a number between 0 and 1"),
    EnvOk(),
]
Bool: TypeAlias = Annotated[
    bool, Strict(), BeforeValidator(_env_bool), Expect("true or false"), EnvOk()
]

# ---------------------------------------------------------------------------------------------
# Literal values: scalars and bounds
# ---------------------------------------------------------------------------------------------

ScalarValue: TypeAlias = str | int | float | bool | date | datetime


def _scalar(value: object) -> ScalarValue:
    if isinstance(value, EnvText):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise expected("a string, a finite number, a boolean or a date", kinds=("float",))
    if isinstance(value, str | int | float | date):
        return value
    raise expected("a string, number, boolean or date", kinds=("str", "int", "float", "bool"))


def _plain(value: object) -> object:
    """A literal as JSON holds it: dates in ISO 8601, infinite bounds as ``inf`` / ``-inf``."""
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value.isoformat() if isinstance(value, date) else value


_PLAIN_JSON = PlainSerializer(_plain, when_used="json")

Scalar: TypeAlias = Annotated[
    ScalarValue,
    PlainValidator(_scalar, json_schema_input_type=str | int | float | bool | date),
    _PLAIN_JSON,
]
"""A literal value: text, number, boolean or (YAML) date / date-time."""


def _bound(value: object) -> int | float | date | datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and math.isnan(value):
            raise expected("a number, date or date-time", kinds=("float",))
        return value  # an infinite bound is an unbounded side
    if isinstance(value, date):
        return value
    if isinstance(value, EnvText) and value.variables:
        number = _env_float(value)
        if isinstance(number, float):
            return int(number) if _INTEGER.fullmatch(value.strip()) else number
    if isinstance(value, str):
        if value.strip().lower().lstrip("+-.") in ("inf", "infinity"):
            return -math.inf if value.strip().startswith("-") else math.inf
        try:
            return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        except ValueError:
            pass
    raise expected("a number, date or date-time", kinds=("int", "float", "date"))


Bound: TypeAlias = Annotated[
    int | float | date | datetime,
    PlainValidator(_bound, json_schema_input_type=float | date | datetime),
    _PLAIN_JSON,
    EnvOk(),
]
"""A range bound: a number (``inf`` / ``-inf`` for an open side), or a date / date-time (ISO
8601 text is read as one)."""

# ---------------------------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------------------------

SecretKind: TypeAlias = Literal["uri", "env", "url"]
_URL_HOST = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?:[^@/?#]*@)?(?P<host>[^/?#]*)")
_HTTP_URL = re.compile(r"https?://[^/\s]+")


def redact_url(url: str) -> str:
    """Pure. A URL reduced to its scheme and host (``https://hooks.example.com/***``)."""
    match = _URL_HOST.match(url)
    return f"{match['scheme']}{match['host']}/{REDACTED}" if match else REDACTED


@dataclass(frozen=True)
class SecretValue:
    """A secret key: validated into a :class:`Secret`, shown redacted, never written in a file.

    Attributes:
        kind: ``env`` (the whole value is secret and must be ``${VAR}``), ``uri`` (a
            connection URI whose password must come from the environment) or ``url`` (a
            webhook URL: secret, but may be written in the file).
        env: The variable suggested when a secret is written in the file.
    """

    kind: SecretKind
    env: str

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        del source, handler
        return core_schema.with_info_plain_validator_function(
            self._validate,
            serialization=core_schema.plain_serializer_function_ser_schema(self.redacted),
        )

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        del schema, handler
        where = (
            f'from the environment only: "${{{self.env}}}"'
            if self.kind == "env"
            else f'any password from the environment, e.g. "${{{self.env}}}"'
        )
        return {"type": "string", "writeOnly": True, "description": f"A secret; {where}."}

    def redacted(self, value: Secret) -> str:
        """Pure. The secret as records and ``to_dict`` show it."""
        if self.kind == "uri":
            return redact_uri(value.reveal())
        if self.kind == "url":
            return redact_url(value.reveal())
        return REDACTED

    def secrets(self, value: Secret) -> list[Secret]:
        """Pure. The values to scrub from output: a URI's passwords, or the whole secret."""
        return uri_secrets(value.reveal()) if self.kind == "uri" else [value]

    def _validate(self, value: object, info: ValidationInfo) -> Secret:
        key = info.field_name or "key"
        example = f'"${{{self.env}}}"'
        if isinstance(value, Secret):
            return self._keep(value, info)
        if not isinstance(value, str):
            raise expected(f"a string such as {key}: {example}", sensitive=True)
        from_file = bool(info.context and info.context.get(FILE_CONTEXT))
        literal = value.literal if isinstance(value, EnvText) else value
        variables = value.variables if isinstance(value, EnvText) else ()
        if from_file and self.kind == "env" and (literal or not variables):
            raise problems(
                (
                    (),
                    "secrets are never written in the config file; put it in an environment "
                    f"variable: {key}: {example}",
                )
            )
        if from_file and self.kind == "uri" and uri_secrets(literal):
            raise problems(
                (
                    (),
                    "the URI contains a password written in the config file; put it in an "
                    f"environment variable: {key}: {example}",
                )
            )
        if not value:
            names = ", ".join(variables) or "the value"
            raise problems(((), f"is empty ({names} is set but empty)"))
        if self.kind == "url" and not _HTTP_URL.match(value):
            raise expected("an http(s) URL", sensitive=True)
        return self._keep(Secret(str(value)), info)

    def _keep(self, secret: Secret, info: ValidationInfo) -> Secret:
        if info.context is not None and SECRETS_CONTEXT in info.context:
            info.context[SECRETS_CONTEXT].extend(self.secrets(secret))
        return secret
