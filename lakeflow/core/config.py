"""The pipeline config: a parsed mapping and an environment in, a typed config or every problem out.

Pure. :func:`parse_config` decodes the YAML shape of DESIGN.md (already parsed into plain Python
values; ``lakeflow.config_loader`` reads the file) into frozen dataclasses, checking structure,
scalar types and the closed value sets before any effect. Every problem is reported at once in
one :class:`~lakeflow.core.errors.ConfigError`, each at its key path (``source.sql.partitions``,
``transform[0].clean``) with a did-you-mean for unknown keys and misspelt values.

String values may reference the environment: ``${NAME}`` (an unset variable is a problem naming
the variable and the key path), ``${NAME:-default}`` (the default when unset *or empty*, taken
literally up to the first ``}``) and ``$$`` for a literal ``$``. Any other ``$`` is literal, so
regular expressions such as ``^[a-z]+$`` need no escaping. Environment values are inserted
verbatim (never interpolated again) and are never echoed in error messages. A string that used
a reference may stand for an integer, number or boolean (``partitions: "${PARTITIONS:-4}"``);
a literal string may not.

Secrets come only from the environment: a connection URI whose password is written in the file
(including in a ``${VAR:-default}`` default) is rejected, and so are literal lakeFS keys, the
``protect`` salt and the SMTP password. URIs are held as :class:`~lakeflow.core.secrets.Secret`;
:meth:`PipelineConfig.secrets` lists every secret value for scrubbing output, and
:meth:`PipelineConfig.to_dict` / :meth:`PipelineConfig.describe` are secret-free.

>>> result = parse_config(
...     {
...         "pipeline": "users",
...         "lake": {"url": "local://./lake", "repository": "etl-pipeline"},
...         "source": {"sql": {"uri": "${SOURCE_DB_URI}", "table": "users"}},
...         "load": {"path": "validated_data/users"},
...     },
...     env={"SOURCE_DB_URI": "postgresql://etl:hunter2@db/prod"},
... )
>>> config = result.unwrap()
>>> config.source.uri.reveal()
'postgresql://etl:hunter2@db/prod'
>>> config.to_dict()["source"]
{'sql': {'uri': 'postgresql://etl:***@db/prod', 'table': 'users'}}
>>> "hunter2" in repr(config)
False
>>> bad = parse_config({"pipeline": "users", "lake": {"url": "local://x", "repositry": "r"}})
>>> print(bad.failure().message)
invalid pipeline config (4 problem(s)):
  - lake.repositry: unknown key; did you mean 'repository'?
  - lake.repository: required key is missing
  - source: required key is missing
  - load: required key is missing
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
import re
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import (
    Any,
    ClassVar,
    Final,
    Literal,
    TypeAlias,
    Union,
    get_args,
    get_origin,
    get_type_hints,
)

from returns.result import Failure, Result, Success

from lakeflow.core.errors import ConfigError, ConfigProblem, StageError
from lakeflow.core.incremental import IncrementalSpec
from lakeflow.core.secrets import REDACTED, Secret, redact_uri, scrub, uri_secrets

__all__ = [
    "AggregateStep",
    "AggregationName",
    "AlertsConfig",
    "Bin",
    "Bound",
    "Categorization",
    "CategorizeStep",
    "CleanStep",
    "ColumnCheck",
    "CompletenessCheck",
    "CsvSourceConfig",
    "DatabaseLoadConfig",
    "DatasetReference",
    "Dedupe",
    "DeriveStep",
    "EmailAlertConfig",
    "FillValue",
    "FiltersStep",
    "LakeConfig",
    "LakeSourceConfig",
    "LoadConfig",
    "MonitoringConfig",
    "NdjsonSourceConfig",
    "NullHandling",
    "NullStrategy",
    "ParquetSourceConfig",
    "PipelineConfig",
    "ProtectStep",
    "QualityCheck",
    "RangeBin",
    "Reference",
    "RuleCheck",
    "RunConfig",
    "Scalar",
    "SchemaCheck",
    "SlaConfig",
    "SmtpConfig",
    "SourceConfig",
    "SqlSourceConfig",
    "StringOp",
    "TargetType",
    "TransformConfig",
    "TransformStep",
    "TypeConversion",
    "ValidateConfig",
    "ValuesBin",
    "ValuesReference",
    "WebhookAlertConfig",
    "builder_options",
    "config_error",
    "interpolate",
    "key_path",
    "parse_config",
    "problems_at",
]

CONFIG_HASH_VERSION: Final = 1
"""Bumped whenever the normalised form hashed by ``config_sha256`` changes meaning."""

# ---------------------------------------------------------------------------------------------
# Key paths
# ---------------------------------------------------------------------------------------------

_Path: TypeAlias = tuple[str | int, ...]
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_\-]+")


def key_path(parts: Iterable[str | int]) -> str:
    """Pure. Render a key path: ``source.sql.table``, ``transform[0].clean``, ``a["b c"]``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


def _join_path(prefix: str, sub: str) -> str:
    if not sub:
        return prefix
    if not prefix:
        return sub
    return prefix + sub if sub.startswith("[") else f"{prefix}.{sub}"


# ---------------------------------------------------------------------------------------------
# Interpolation
# ---------------------------------------------------------------------------------------------

_REFERENCE = re.compile(r"\$(?:(?P<dollar>\$)|\{(?P<body>[^}]*)\}|(?P<open>\{))")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class _Interpolated:
    """A string value after interpolation, and what the file itself contributed to it."""

    value: str
    literal: str  # the text written in the file: references removed, defaults kept
    variables: tuple[str, ...]  # every variable referenced
    from_env: bool  # whether any environment value was inserted
    problems: tuple[str, ...]


def _interpolate(text: str, env: Mapping[str, str]) -> _Interpolated:
    value: list[str] = []
    literal: list[str] = []
    variables: list[str] = []
    problems: list[str] = []
    from_env = False
    position = 0
    for match in _REFERENCE.finditer(text):
        chunk = text[position : match.start()]
        value.append(chunk)
        literal.append(chunk)
        position = match.end()
        if match["dollar"] is not None:
            value.append("$")
            literal.append("$")
            continue
        if match["open"] is not None:
            problems.append("unterminated '${' (write '$$' for a literal '$')")
            continue
        body = match["body"]
        name, separator, default = body.partition(":-")
        if not _VARIABLE.fullmatch(name):
            problems.append(
                f"invalid reference '${{{body}}}': expected ${{NAME}} or ${{NAME:-default}} "
                "(write '$$' for a literal '$')"
            )
            continue
        if "${" in default:
            problems.append(f"nested references are not supported in the default of ${{{name}}}")
            continue
        variables.append(name)
        found = env.get(name)
        if separator:
            literal.append(default)
            if found:
                value.append(found)
                from_env = True
            else:
                value.append(default)
        elif found is None:
            close = difflib.get_close_matches(name, list(env), n=1, cutoff=0.8)
            hint = f"; did you mean {close[0]}?" if close else ""
            problems.append(f"environment variable {name} is not set{hint}")
        else:
            value.append(found)
            from_env = True
    value.append(text[position:])
    literal.append(text[position:])
    return _Interpolated(
        "".join(value), "".join(literal), tuple(variables), from_env, tuple(problems)
    )


def interpolate(text: str, env: Mapping[str, str]) -> Result[str, ConfigError]:
    """Pure. ``text`` with ``${NAME}``, ``${NAME:-default}`` and ``$$`` replaced from ``env``.

    >>> interpolate("${USER}: $$5, ${MISSING:-none}", {"USER": "ann"}).unwrap()
    'ann: $5, none'
    >>> print(interpolate("${NOPE}", {}).failure().problems[0])
    environment variable NOPE is not set
    """
    result = _interpolate(text, env)
    if result.problems:
        return Failure(ConfigError(tuple(ConfigProblem("", p) for p in result.problems)))
    return Success(result.value)


# ---------------------------------------------------------------------------------------------
# The generic decoder: dataclass fields + type hints + per-field specs
# ---------------------------------------------------------------------------------------------


class _Sentinel:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


_INVALID: Final = _Sentinel("<invalid>")
_ABSENT: Final = _Sentinel("<absent>")
_META: Final = "lakeflow.config"

_Decode: TypeAlias = Callable[["_Decoder", object, _Path], object]


@dataclass(frozen=True, slots=True)
class _Spec:
    """How one field (or the items of a list or mapping field) is decoded and checked."""

    key: str | None = None  # the YAML key, when it differs from the attribute name
    expected: str | None = None  # what the value must be, for messages
    check: Callable[[Any], object] | None = None  # constraint on the decoded value
    sensitive: Literal["uri", "env", "url"] | None = None
    env_hint: str = ""  # the variable name suggested when a secret is written in the file
    decode: _Decode | None = None  # custom decoder for irregular shapes
    item: _Spec | None = None  # spec of list items or mapping values
    null_as: object = _ABSENT  # what an explicit YAML null means (absent by default)
    allow_empty: bool = False  # strings may be empty
    internal: bool = False  # not a YAML key


_NO_SPEC: Final = _Spec()


def _m(**kwargs: Any) -> dict[str, _Spec]:
    return {_META: _Spec(**kwargs)}


def _spec_of(f: dataclasses.Field[Any]) -> _Spec:
    spec = f.metadata.get(_META, _NO_SPEC)
    assert isinstance(spec, _Spec)  # noqa: S101 - only this module writes the metadata
    return spec


@dataclass(frozen=True, slots=True)
class _FieldInfo:
    name: str
    key: str
    type: Any
    spec: _Spec
    required: bool
    default: object


_FIELDS_CACHE: dict[type[Any], tuple[_FieldInfo, ...]] = {}


def _fields_of(cls: type[Any]) -> tuple[_FieldInfo, ...]:
    cached = _FIELDS_CACHE.get(cls)
    if cached is not None:
        return cached
    hints = get_type_hints(cls)
    infos = []
    for f in dataclasses.fields(cls):
        spec = _spec_of(f)
        if f.default is not dataclasses.MISSING:
            default: object = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = _ABSENT
        infos.append(
            _FieldInfo(f.name, spec.key or f.name, hints[f.name], spec, default is _ABSENT, default)
        )
    _FIELDS_CACHE[cls] = tuple(infos)
    return _FIELDS_CACHE[cls]


@dataclass(frozen=True, slots=True)
class _Decoded:
    """The fields of one mapping as decoded so far, for cross-field checks."""

    values: Mapping[str, object]  # valid decoded values, and defaults of absent fields
    given: frozenset[str]  # fields written with a non-null value
    invalid: frozenset[str]

    def get(self, name: str) -> object:
        return self.values.get(name, _INVALID)


_CrossCheck: TypeAlias = Callable[[_Decoded], Iterator[tuple[_Path, str]]]


def _show(raw: object) -> str:
    """A short, secret-safe rendering of a value written in the file, for messages."""
    if raw is None:
        return "null"
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, str):
        text = redact_uri(raw)
        return repr(text if len(text) <= 60 else text[:57] + "...")
    if isinstance(raw, int | float):
        return repr(raw)
    if isinstance(raw, datetime | date):
        return raw.isoformat()
    if isinstance(raw, Mapping | list | tuple) and not raw:
        return "{}" if isinstance(raw, Mapping) else "[]"
    return _kind_of(raw)


def _kind_of(raw: object) -> str:
    if raw is None:
        return "null"
    if isinstance(raw, bool):
        return "a boolean"
    if isinstance(raw, int | float):
        return "a number"
    if isinstance(raw, str):
        return "a string"
    if isinstance(raw, datetime | date):
        return "a date"
    if isinstance(raw, Mapping):
        return "a mapping"
    if isinstance(raw, list | tuple):
        return "a list"
    return f"a {type(raw).__name__}"


def _describe(tp: Any) -> str:
    """What a value of type ``tp`` looks like, for messages."""
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        parts = [_describe(a) for a in get_args(tp) if a is not type(None)]
        return " or ".join(dict.fromkeys(parts))
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in get_args(tp))
    if origin is tuple:
        return "a list"
    if origin is Mapping:
        return "a mapping"
    names = {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        date: "a date",
        datetime: "a date-time",
        Secret: "a string",
    }
    if tp in names:
        return names[tp]
    return "a mapping"


_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
_INTEGER = re.compile(r"[+-]?\d+")


class _Decoder:
    """Walks parsed YAML against the dataclasses, collecting every problem and secret."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[ConfigProblem] = []
        self.secrets: list[Secret] = []

    def report(self, path: _Path, message: str) -> None:
        self.problems.append(ConfigProblem(key_path(path), message))

    # -- entry points ----------------------------------------------------------------------

    def value(self, tp: Any, raw: object, path: _Path, spec: _Spec = _NO_SPEC) -> object:
        """Decode ``raw`` as ``tp``; report problems and return ``_INVALID`` when it is not."""
        if raw is None:
            if spec.null_as is not _ABSENT:
                return spec.null_as
            if _is_optional(tp):
                return None
            self.report(path, f"expected {spec.expected or _describe(tp)}, got null")
            return _INVALID
        if spec.decode is not None:
            decoded = spec.decode(self, raw, path)
        else:
            decoded = self._by_type(tp, raw, path, spec)
        if decoded is _INVALID:
            return _INVALID
        if spec.check is not None and not spec.check(decoded):
            got = "" if spec.sensitive else f", got {_show_decoded(raw, decoded)}"
            self.report(path, f"expected {spec.expected}{got}")
            return _INVALID
        return decoded

    def record(self, cls: type[Any], raw: object, path: _Path) -> Any:
        """Decode a mapping into the dataclass ``cls``: unknown, missing and wrong keys."""
        infos = [i for i in _fields_of(cls) if not i.spec.internal]
        if not isinstance(raw, Mapping):
            keys = ", ".join(i.key for i in infos)
            self.report(path, f"expected a mapping with keys {keys}, got {_show(raw)}")
            return _INVALID
        by_key = {i.key: i for i in infos}
        values: dict[str, object] = {}
        given: set[str] = set()
        invalid: set[str] = set()
        for key, item in raw.items():
            if not isinstance(key, str):
                self.report(path, _non_string_key(key))
                continue
            info = by_key.get(key)
            if info is None:
                self.unknown_key((*path, key), key, list(by_key))
                continue
            if item is None and info.spec.null_as is _ABSENT:
                continue  # an explicit null means "not given"
            given.add(info.name)
            decoded = self.value(info.type, item, (*path, key), info.spec)
            if decoded is _INVALID:
                invalid.add(info.name)
            else:
                values[info.name] = decoded
        missing = [i for i in infos if i.required and i.name not in given]
        for info in missing:
            self.report((*path, info.key), "required key is missing")
        defaults = {i.name: i.default for i in infos if not i.required and i.name not in given}
        state = _Decoded({**defaults, **values}, frozenset(given), frozenset(invalid))
        cross: _CrossCheck | None = getattr(cls, "_cross_checks", None)
        cross_problems = list(cross(state)) if cross is not None else []
        for sub, message in cross_problems:
            self.report(path + sub, message)
        if invalid or missing or cross_problems:
            return _INVALID
        return cls(**values)

    def unknown_key(self, path: _Path, key: str, allowed: list[str], what: str = "key") -> None:
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        if close:
            self.report(path, f"unknown {what}; did you mean {close[0]!r}?")
        else:
            self.report(path, f"unknown {what}; expected one of: {', '.join(allowed)}")

    # -- by type ---------------------------------------------------------------------------

    def _by_type(self, tp: Any, raw: object, path: _Path, spec: _Spec) -> object:
        origin = get_origin(tp)
        if origin in (Union, types.UnionType):
            args = tuple(a for a in get_args(tp) if a is not type(None))
            if len(args) == 1:
                return self._by_type(args[0], raw, path, spec)
            return self._scalar(args, raw, path, spec)
        if origin is Literal:
            return self._literal(get_args(tp), raw, path, spec)
        if origin is tuple:
            return self._list(get_args(tp)[0], raw, path, spec)
        if origin is Mapping:
            return self._mapping(get_args(tp)[1], raw, path, spec)
        if tp is Secret:
            return self._secret(raw, path, spec)
        if tp in (str, int, float, bool):
            return self._scalar((tp,), raw, path, spec)
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            return self.record(tp, raw, path)
        raise TypeError(f"lakeflow.core.config cannot decode {tp!r}")  # pragma: no cover

    def text(self, raw: str, path: _Path) -> _Interpolated | None:
        """Interpolate ``raw``, reporting its problems; ``None`` when it had any."""
        result = _interpolate(raw, self.env)
        for problem in result.problems:
            self.report(path, problem)
        return None if result.problems else result

    def _scalar(self, kinds: tuple[Any, ...], raw: object, path: _Path, spec: _Spec) -> object:
        """A str / int / float / bool / date value (or a union of them)."""

        def expected() -> str:
            return spec.expected or _describe(Union[kinds])  # noqa: UP007 - a runtime union

        if isinstance(raw, str):
            text = self.text(raw, path)
            if text is None:
                return _INVALID
            parsed = _from_text(text, kinds)
            if parsed is _INVALID:
                self.report(path, f"expected {expected()}, got {_shown(text)}{_hint(text, kinds)}")
                return _INVALID
            if parsed == "" and not spec.allow_empty:
                self.report(path, f"expected {expected()}, got an empty string")
                return _INVALID
            return parsed
        if isinstance(raw, float) and not math.isfinite(raw) and float in kinds:
            self.report(path, f"expected {expected()} (a finite number), got {_show(raw)}")
            return _INVALID
        if _instance_of(raw, kinds):
            return float(raw) if float in kinds and int not in kinds else raw  # type: ignore[arg-type]
        quote = " (quote it to use it as text)" if str in kinds else ""
        self.report(path, f"expected {expected()}, got {_show(raw)}{quote}")
        return _INVALID

    def _literal(self, choices: tuple[Any, ...], raw: object, path: _Path, spec: _Spec) -> object:
        expected = spec.expected or "one of " + ", ".join(str(c) for c in choices)
        if not isinstance(raw, str):
            self.report(path, f"expected {expected}, got {_show(raw)}")
            return _INVALID
        text = self.text(raw, path)
        if text is None:
            return _INVALID
        if text.value in choices:
            return text.value
        close = difflib.get_close_matches(text.value, [str(c) for c in choices], n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close and not text.from_env else ""
        self.report(path, f"expected {expected}, got {_shown(text)}{hint}")
        return _INVALID

    def _list(self, inner: Any, raw: object, path: _Path, spec: _Spec) -> object:
        if not isinstance(raw, list | tuple):
            expected = spec.expected or f"a list of {_plural(inner)}"
            hint = f" (write [{raw}])" if isinstance(raw, str) else ""
            self.report(path, f"expected {expected}, got {_show(raw)}{hint}")
            return _INVALID
        items = [
            self.value(inner, item, (*path, i), spec.item or _NO_SPEC) for i, item in enumerate(raw)
        ]
        if any(item is _INVALID for item in items):
            return _INVALID
        return tuple(items)

    def _mapping(self, inner: Any, raw: object, path: _Path, spec: _Spec) -> object:
        if not isinstance(raw, Mapping):
            self.report(path, f"expected {spec.expected or 'a mapping'}, got {_show(raw)}")
            return _INVALID
        out: dict[str, object] = {}
        ok = True
        for key, item in raw.items():
            if not isinstance(key, str) or not key:
                self.report(path, _non_string_key(key))
                ok = False
                continue
            decoded = self.value(inner, item, (*path, key), spec.item or _NO_SPEC)
            if decoded is _INVALID:
                ok = False
            else:
                out[key] = decoded
        return types.MappingProxyType(out) if ok else _INVALID

    def _secret(self, raw: object, path: _Path, spec: _Spec) -> object:
        example = f'"${{{spec.env_hint}}}"' if spec.env_hint else '"${NAME}"'
        key = next((p for p in reversed(path) if isinstance(p, str)), "key")
        if not isinstance(raw, str):
            self.report(path, f"expected a string such as {key}: {example}, got {_kind_of(raw)}")
            return _INVALID
        text = self.text(raw, path)
        if text is None:
            return _INVALID
        if spec.sensitive == "env" and (text.literal or not text.variables):
            self.report(
                path,
                "secrets are never written in the config file; put it in an environment "
                f"variable: {key}: {example}",
            )
            return _INVALID
        if spec.sensitive == "uri" and uri_secrets(text.literal):
            self.report(
                path,
                "the URI contains a password written in the config file; put it in an "
                f"environment variable: {key}: {example}",
            )
            return _INVALID
        if not text.value:
            names = ", ".join(text.variables) or "the value"
            self.report(path, f"is empty ({names} is set but empty)")
            return _INVALID
        secret = Secret(text.value)
        if spec.sensitive == "uri":
            self.secrets.extend(uri_secrets(text.value))
        else:
            self.secrets.append(secret)
        return secret


def _is_optional(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType) and type(None) in get_args(tp)


def _instance_of(raw: object, kinds: tuple[Any, ...]) -> bool:
    if isinstance(raw, bool):
        return bool in kinds
    if isinstance(raw, int):
        return int in kinds or float in kinds
    if isinstance(raw, float):
        return float in kinds
    if isinstance(raw, datetime):
        return datetime in kinds or date in kinds
    if isinstance(raw, date):
        return date in kinds
    return isinstance(raw, str) and str in kinds


def _from_text(text: _Interpolated, kinds: tuple[Any, ...]) -> object:
    """A string value as one of ``kinds``; only interpolated strings may stand for non-strings."""
    if str in kinds:
        return text.value
    if not text.variables:
        return _INVALID
    word = text.value.strip()
    if bool in kinds and word.lower() in _TRUE | _FALSE:
        return word.lower() in _TRUE
    if int in kinds and _INTEGER.fullmatch(word):
        return int(word)
    if float in kinds:
        try:
            number = float(word)
        except ValueError:
            return _INVALID
        return number if math.isfinite(number) else _INVALID
    return _INVALID


def _shown(text: _Interpolated) -> str:
    if text.from_env:
        names = ", ".join(f"${{{v}}}" for v in text.variables)
        return f"the value of {names} (environment values are not shown)"
    return _show(text.value)


def _show_decoded(raw: object, decoded: object) -> str:
    if isinstance(raw, str) and "${" in raw:
        return "an environment value (environment values are not shown)"
    return _show(raw if not isinstance(decoded, Mapping | tuple) else decoded)


def _hint(text: _Interpolated, kinds: tuple[Any, ...]) -> str:
    """Explain why a quoted number is refused, when the text would have been one."""
    if text.variables or _from_text(dataclasses.replace(text, variables=("_",)), kinds) is _INVALID:
        return ""
    return (
        " (quoted: write it without quotes; a string stands for a number or boolean only "
        "when it uses ${...})"
    )


def _plural(tp: Any) -> str:
    return {str: "strings", int: "integers", float: "numbers"}.get(tp, "values")


def _non_string_key(key: object) -> str:
    if isinstance(key, bool):
        return (
            f"key {_show(key)} is not a string (YAML reads yes/no/on/off/true/false as "
            f"booleans: quote it)"
        )
    if key == "":
        return "empty key"
    return f"key {_show(key)} is not a string (quote it)"


# ---------------------------------------------------------------------------------------------
# Field constraints
# ---------------------------------------------------------------------------------------------

_PIPELINE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")
_REPOSITORY = re.compile(r"[a-z0-9][a-z0-9-]{2,62}")
_BRANCH = re.compile(r"[A-Za-z0-9_][-A-Za-z0-9_]*")
_LAKEFS_URL = re.compile(
    r"lakefs://(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])"
    r"(?::(?P<port>\d{1,5}))?/?"
)
_PANDERA_REF = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
_RESERVED_LOAD_PREFIXES = ("_lakeflow", "raw")


def _at_least(minimum: float) -> Callable[[Any], bool]:
    return lambda value: value >= minimum


def _positive(value: float) -> bool:
    return value > 0


def _fraction(value: float) -> bool:
    return 0.0 <= value <= 1.0


def _nonempty(value: tuple[object, ...] | Mapping[str, object]) -> bool:
    return len(value) > 0


def _lake_url_ok(url: str) -> bool:
    if url.startswith("local://"):
        return len(url) > len("local://")
    match = _LAKEFS_URL.fullmatch(url)
    return match is not None and (match["port"] is None or 1 <= int(match["port"]) <= 65535)


def _lake_path_ok(path: str) -> bool:
    if path.startswith("/") or "\\" in path or "://" in path:
        return False
    return all(part not in ("", ".", "..") for part in path.split("/"))


def _load_path_ok(path: str) -> bool:
    return _lake_path_ok(path) and path.split("/", maxsplit=1)[0] not in _RESERVED_LOAD_PREFIXES


def _email_ok(address: str) -> bool:
    local, at, domain = address.rpartition("@")
    return bool(at and local and domain) and not any(c.isspace() for c in address)


def _http_url_ok(url: Secret) -> bool:
    return re.match(r"https?://[^/\s]+", url.reveal()) is not None


_LAKE_PATH_EXPECTED: Final = "a lake path (relative, '/'-separated, no '..', no leading '/')"
_LOAD_PATH_EXPECTED: Final = (
    _LAKE_PATH_EXPECTED + " outside the reserved folders _lakeflow/ and raw/"
)
_NAMES: Final = "a non-empty list of column names"

# ---------------------------------------------------------------------------------------------
# lake:
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LakeConfig:
    """Where the lake lives: ``local://PATH`` (embedded) or ``lakefs://HOST[:PORT]``.

    ``access_key_id`` and ``secret_access_key`` are required for lakeFS and must come from the
    environment; they are not allowed for a local lake.
    """

    url: str = field(
        metadata=_m(check=_lake_url_ok, expected="local://PATH or lakefs://HOST[:PORT]")
    )
    repository: str = field(
        metadata=_m(
            check=_REPOSITORY.fullmatch,
            expected="a repository id of 3-63 lowercase letters, digits and dashes, "
            "starting with a letter or digit",
        )
    )
    default_branch: str = field(
        default="main",
        metadata=_m(
            check=_BRANCH.fullmatch,
            expected="a branch id of letters, digits, '_' and '-' (no '/' or '.')",
        ),
    )
    access_key_id: Secret | None = field(
        default=None,
        metadata=_m(sensitive="env", env_hint="LAKECTL_CREDENTIALS_ACCESS_KEY_ID"),
    )
    secret_access_key: Secret | None = field(
        default=None,
        metadata=_m(sensitive="env", env_hint="LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY"),
    )

    @property
    def kind(self) -> Literal["local", "lakefs"]:
        """``local`` or ``lakefs``, from the URL's scheme."""
        return "lakefs" if self.url.startswith("lakefs://") else "local"

    @staticmethod
    def _cross_checks(v: _Decoded) -> Iterator[tuple[_Path, str]]:
        url = v.get("url")
        if not isinstance(url, str):
            return
        keys = {
            "access_key_id": "LAKECTL_CREDENTIALS_ACCESS_KEY_ID",
            "secret_access_key": "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY",
        }
        for key, variable in keys.items():
            if url.startswith("lakefs://") and key not in v.given:
                yield (key,), f'required for lakefs:// lakes; write {key}: "${{{variable}}}"'
            if url.startswith("local://") and key in v.given:
                yield (key,), "only used with lakefs:// lakes"


# ---------------------------------------------------------------------------------------------
# source:
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SqlSourceConfig:
    """Read a table or a query through connectorx; exactly one of ``table`` and ``query``.

    ``partition_on`` and ``partitions`` go together (parallel reads split on a numeric column).
    """

    uri: Secret = field(metadata=_m(sensitive="uri", env_hint="SOURCE_DB_URI"))
    table: str | None = None
    query: str | None = None
    incremental: IncrementalSpec | None = None
    partition_on: str | None = None
    partitions: int | None = field(
        default=None, metadata=_m(check=_at_least(1), expected="an integer >= 1")
    )
    kind: ClassVar[str] = "sql"

    @staticmethod
    def _cross_checks(v: _Decoded) -> Iterator[tuple[_Path, str]]:
        chosen = {"table", "query"} & (v.given | v.invalid)
        if not chosen:
            yield (), "expected exactly one of table or query, got neither"
        elif len(chosen) == 2:
            yield (), "expected exactly one of table or query, got both"
        pair = {"partition_on", "partitions"} & (v.given | v.invalid)
        if len(pair) == 1:
            missing = ({"partition_on", "partitions"} - pair).pop()
            yield (missing,), f"required when {pair.pop()} is given (both or neither)"


@dataclass(frozen=True, slots=True)
class ParquetSourceConfig:
    """Read parquet files: a path or a glob (relative paths resolve against the config file)."""

    path: str
    incremental: IncrementalSpec | None = None
    kind: ClassVar[str] = "parquet"


@dataclass(frozen=True, slots=True)
class CsvSourceConfig:
    """Read CSV files: a path or a glob, with a one-character separator.

    ``try_parse_dates`` parses columns that look like dates or times.
    """

    path: str
    separator: str = field(
        default=",", metadata=_m(check=lambda s: len(s) == 1, expected="a single character")
    )
    has_header: bool = True
    try_parse_dates: bool = False
    incremental: IncrementalSpec | None = None
    kind: ClassVar[str] = "csv"


@dataclass(frozen=True, slots=True)
class NdjsonSourceConfig:
    """Read newline-delimited JSON files: a path or a glob."""

    path: str
    try_parse_dates: bool = False
    incremental: IncrementalSpec | None = None
    kind: ClassVar[str] = "ndjson"


@dataclass(frozen=True, slots=True)
class LakeSourceConfig:
    """Read a dataset already in the lake, at the run's base commit."""

    path: str = field(metadata=_m(check=_lake_path_ok, expected=_LAKE_PATH_EXPECTED))
    incremental: IncrementalSpec | None = None
    kind: ClassVar[str] = "lake"


SourceConfig: TypeAlias = (
    SqlSourceConfig | ParquetSourceConfig | CsvSourceConfig | NdjsonSourceConfig | LakeSourceConfig
)
_SOURCE_KINDS: Final[dict[str, type[Any]]] = {
    c.kind: c
    for c in (
        SqlSourceConfig,
        ParquetSourceConfig,
        CsvSourceConfig,
        NdjsonSourceConfig,
        LakeSourceConfig,
    )
}


def _decode_source(dec: _Decoder, raw: object, path: _Path) -> object:
    kinds = list(_SOURCE_KINDS)
    if not isinstance(raw, Mapping):
        dec.report(path, f"expected a mapping with one source kind ({', '.join(kinds)})")
        return _INVALID
    found: list[object] = []
    unknown = False
    for key, value in raw.items():
        if not isinstance(key, str):
            dec.report(path, _non_string_key(key))
            unknown = True
        elif key not in _SOURCE_KINDS:
            dec.unknown_key((*path, key), key, kinds, what="source kind")
            unknown = True
        else:
            found.append(
                dec.record(_SOURCE_KINDS[key], {} if value is None else value, (*path, key))
            )
    given = [k for k in raw if k in _SOURCE_KINDS]
    if len(given) > 1:
        dec.report(path, f"expected exactly one source kind, got {' and '.join(given)}")
        return _INVALID
    if not given:
        if not unknown:
            dec.report(path, f"expected exactly one source kind: {', '.join(kinds)}")
        return _INVALID
    return found[0] if not unknown else _INVALID


# ---------------------------------------------------------------------------------------------
# transform:
# ---------------------------------------------------------------------------------------------

Scalar: TypeAlias = str | int | float | bool | date | datetime
"""A literal value in a config: text, number, boolean or (YAML) date / date-time."""
Bound: TypeAlias = int | float | date | datetime
"""A range bound: a number, date or date-time."""
NullStrategy: TypeAlias = Literal["drop", "fill_zero", "fill_mean", "fill_median", "fill_forward"]
TargetType: TypeAlias = Literal["int", "float", "str", "bool", "datetime", "date", "numeric"]
StringOp: TypeAlias = Literal["strip", "lower", "upper", "title", "remove_special_chars"]
AggregationName: TypeAlias = Literal[
    "mean", "median", "count", "sum", "min", "max", "std", "n_unique"
]
_NULL_STRATEGIES: Final[tuple[str, ...]] = get_args(NullStrategy)


@dataclass(frozen=True, slots=True)
class FillValue:
    """Fill nulls with this literal (YAML ``{value: ...}`` when the text looks like a strategy)."""

    value: Scalar = field(metadata=_m(allow_empty=True))

    def _to_data(self, options: bool) -> object:
        if isinstance(self.value, str) and _strategy_lookalike(self.value) is not None:
            return {"value": self.value}
        return _data(self.value, options)


NullHandling: TypeAlias = NullStrategy | FillValue


def _strategy_lookalike(text: str) -> str | None:
    """The strategy a text probably means ("" for any ``fill_...``), or None for a plain literal.

    Folds case, spaces and dashes first (``DROP``, ``fill-mean``), like the clean builder.
    """
    folded = text.strip().lower().replace("-", "_").replace(" ", "_")
    close = difflib.get_close_matches(folded, _NULL_STRATEGIES, n=1, cutoff=0.75)
    if close:
        return close[0]
    return "" if folded.startswith("fill_") else None


def _decode_null_handling(dec: _Decoder, raw: object, path: _Path) -> object:
    if isinstance(raw, Mapping):
        return dec.record(FillValue, raw, path)
    if not isinstance(raw, str):
        value = dec.value(Scalar, raw, path, _Spec(expected="a null strategy or a fill value"))
        return _INVALID if value is _INVALID else FillValue(value)  # type: ignore[arg-type]
    text = dec.text(raw, path)
    if text is None:
        return _INVALID
    if text.value in _NULL_STRATEGIES:
        return text.value
    close = _strategy_lookalike(text.value)
    if not text.from_env and close is not None:
        suggestion = f"did you mean {close!r}? " if close else ""
        dec.report(
            path,
            f"unknown null strategy {text.value!r}; {suggestion}allowed: "
            f"{', '.join(_NULL_STRATEGIES)}. To fill with this text itself, write "
            f"{{value: {text.value!r}}}",
        )
        return _INVALID
    return FillValue(text.value)


@dataclass(frozen=True, slots=True)
class Dedupe:
    """Remove rows with duplicate ``keys`` (all columns if empty), keeping first, last or latest.

    ``latest`` keeps the row with the greatest ``order_by`` and needs it; ``order_by`` is only
    used with ``latest``.
    """

    keys: tuple[str, ...] = ()
    keep: Literal["first", "last", "latest"] = "first"
    order_by: str | None = None

    @staticmethod
    def _cross_checks(v: _Decoded) -> Iterator[tuple[_Path, str]]:
        keep = v.get("keep")
        if keep == "latest" and "order_by" not in v.given | v.invalid:
            yield ("order_by",), "required with keep: latest"
        if keep in ("first", "last") and "order_by" in v.given:
            yield ("order_by",), "only used with keep: latest"


def _decode_dedupe(dec: _Decoder, raw: object, path: _Path) -> object:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, Mapping):
        return dec.record(Dedupe, raw, path)
    dec.report(
        path, f"expected true, false or a mapping {{keys, keep, order_by}}, got {_show(raw)}"
    )
    return _INVALID


@dataclass(frozen=True, slots=True)
class TypeConversion:
    """Convert a column to ``to``; ``format`` parses dates; ``on_error`` null or fail.

    ``on_error`` left unset means the builder's default: ``null`` for ``numeric`` (which
    coerces what it cannot parse), ``fail`` for every other target.
    """

    to: TargetType
    format: str | None = None
    on_error: Literal["null", "fail"] | None = field(default=None, metadata=_m(null_as="null"))

    @property
    def effective_on_error(self) -> Literal["null", "fail"]:
        """``on_error`` with the default for the target applied."""
        if self.on_error is not None:
            return self.on_error
        return "null" if self.to == "numeric" else "fail"

    @staticmethod
    def _cross_checks(v: _Decoded) -> Iterator[tuple[_Path, str]]:
        to = v.get("to")
        if "format" in v.given and isinstance(to, str) and to not in ("datetime", "date"):
            yield ("format",), f"only used with to: datetime or to: date, not to: {to}"

    def _to_data(self, options: bool) -> object:
        del options  # nothing secret or typed in a conversion
        if self.format is None and self.on_error in (None, self.effective_on_error):
            return self.to
        data: dict[str, object] = {"to": self.to}
        if self.format is not None:
            data["format"] = self.format
        data["on_error"] = self.effective_on_error
        return data


def _decode_type_conversion(dec: _Decoder, raw: object, path: _Path) -> object:
    if isinstance(raw, Mapping):
        return dec.record(TypeConversion, raw, path)
    target = dec.value(TargetType, raw, path)
    return _INVALID if target is _INVALID else TypeConversion(target)  # type: ignore[arg-type]


def _clean_cross_checks(v: _Decoded) -> Iterator[tuple[_Path, str]]:
    if not v.given and not v.invalid:
        yield (
            (),
            (
                "a clean step needs at least one of remove_duplicates, null_handling, "
                "type_conversions, string_cleaning"
            ),
        )


@dataclass(frozen=True, slots=True)
class CleanStep:
    """Clean rows: duplicates, then nulls, then type conversions, then string cleaning."""

    remove_duplicates: bool | Dedupe = field(default=False, metadata=_m(decode=_decode_dedupe))
    null_handling: Mapping[str, NullHandling] = field(
        default_factory=lambda: types.MappingProxyType({}),
        metadata=_m(item=_Spec(decode=_decode_null_handling)),
    )
    type_conversions: Mapping[str, TypeConversion] = field(
        default_factory=lambda: types.MappingProxyType({}),
        metadata=_m(item=_Spec(decode=_decode_type_conversion)),
    )
    string_cleaning: Mapping[str, tuple[StringOp, ...]] = field(
        default_factory=lambda: types.MappingProxyType({}),
        metadata=_m(item=_Spec(check=_nonempty, expected="a non-empty list of string operations")),
    )
    kind: ClassVar[str] = "clean"
    _cross_checks = staticmethod(_clean_cross_checks)


@dataclass(frozen=True, slots=True)
class DeriveStep:
    """Add columns from SQL expressions: ``{name: "SQL expression"}``."""

    columns: Mapping[str, str] = field(
        metadata=_m(check=_nonempty, expected="a non-empty mapping of column name to SQL")
    )
    kind: ClassVar[str] = "derive"
    bare: ClassVar[str] = "columns"

    def _to_data(self, options: bool) -> object:
        del options  # plain strings
        return dict(self.columns)


@dataclass(frozen=True, slots=True)
class FiltersStep:
    """Keep rows where every SQL condition holds."""

    conditions: tuple[str, ...] = field(
        metadata=_m(check=_nonempty, expected="a non-empty list of SQL conditions")
    )
    kind: ClassVar[str] = "filters"
    bare: ClassVar[str] = "conditions"

    def _to_data(self, options: bool) -> object:
        del options  # plain strings
        return list(self.conditions)


@dataclass(frozen=True, slots=True)
class RangeBin:
    """Values between ``min`` and ``max``, both inclusive; a missing bound is unbounded."""

    min: Bound | None = None
    max: Bound | None = None

    @staticmethod
    def _cross_checks(v: _Decoded) -> Iterator[tuple[_Path, str]]:
        yield from _bounds_problems(v, "min", "max", need_one=True)


@dataclass(frozen=True, slots=True)
class ValuesBin:
    """Any of these values."""

    values: tuple[Scalar, ...]

    def _to_data(self, options: bool) -> object:
        return [_data(x, options) for x in self.values]


Bin: TypeAlias = RangeBin | ValuesBin


def _bounds_problems(
    v: _Decoded, low: str, high: str, *, need_one: bool = False
) -> Iterator[tuple[_Path, str]]:
    if need_one and not ({low, high} & (v.given | v.invalid)):
        yield (), f"expected {low} and/or {high} (use default: for a catch-all)"
        return
    lo, hi = v.get(low), v.get(high)
    if lo is None or hi is None or _INVALID in (lo, hi):
        return
    try:
        inverted = lo > hi  # type: ignore[operator]
    except TypeError:
        yield (high,), f"{low} and {high} must both be numbers or both dates"
        return
    if inverted:
        yield (high,), f"must be >= {low} ({_show(lo)}), got {_show(hi)}"


def _decode_bin(dec: _Decoder, raw: object, path: _Path) -> object:
    if isinstance(raw, Mapping):
        return dec.record(RangeBin, raw, path)
    if isinstance(raw, list):
        values = dec.value(
            tuple[Scalar, ...],
            raw,
            path,
            _Spec(check=_nonempty, expected="a non-empty list of values"),
        )
        return _INVALID if values is _INVALID else ValuesBin(values)  # type: ignore[arg-type]
    dec.report(path, f"expected a range {{min, max}} or a list of values, got {_show(raw)}")
    return _INVALID


@dataclass(frozen=True, slots=True)
class Categorization:
    """Labels for one column: the first bin that matches wins; ``default`` for the rest.

    YAML: ``{Label: {min, max} | [values], ...}``, or the nested form ``{bins: {...}, into:
    column, default: label}`` to name the output column or the default label (``into`` and
    ``default`` left unset mean the builder's defaults).
    """

    bins: Mapping[str, Bin] = field(
        metadata=_m(
            check=_nonempty,
            expected="a non-empty mapping of label to {min, max} or [values]",
            item=_Spec(decode=_decode_bin),
        )
    )
    into: str | None = None
    default: str | None = None

    def _to_data(self, options: bool) -> object:
        bins = {label: _data(b, options) for label, b in self.bins.items()}
        if self.into is None and self.default is None and "bins" not in self.bins:
            return bins
        return _data_fields(self, options) | {"bins": bins}


def _decode_categorization(dec: _Decoder, raw: object, path: _Path) -> object:
    if isinstance(raw, Mapping) and "bins" in raw:
        return dec.record(Categorization, raw, path)
    if isinstance(raw, Mapping):
        bins = dec.value(Mapping[str, Bin], raw, path, _fields_of(Categorization)[0].spec)
        return _INVALID if bins is _INVALID else Categorization(bins)  # type: ignore[arg-type]
    dec.report(path, f"expected a mapping of label to {{min, max}} or [values], got {_show(raw)}")
    return _INVALID


@dataclass(frozen=True, slots=True)
class CategorizeStep:
    """Label columns by ranges or value lists: ``{column: Categorization}``."""

    columns: Mapping[str, Categorization] = field(
        metadata=_m(
            check=_nonempty,
            expected="a non-empty mapping of column to labels",
            item=_Spec(decode=_decode_categorization),
        )
    )
    kind: ClassVar[str] = "categorize"
    bare: ClassVar[str] = "columns"

    def _to_data(self, options: bool) -> object:
        return {column: _data(c, options) for column, c in self.columns.items()}


@dataclass(frozen=True, slots=True)
class AggregateStep:
    """Group by ``group_by`` (everything when empty) and aggregate columns."""

    group_by: tuple[str, ...]
    aggregations: Mapping[str, tuple[AggregationName, ...]] = field(
        metadata=_m(
            check=_nonempty,
            expected="a non-empty mapping of column to aggregations",
            item=_Spec(check=_nonempty, expected="a non-empty list of aggregations"),
        )
    )
    kind: ClassVar[str] = "aggregate"


@dataclass(frozen=True, slots=True)
class ProtectStep:
    """Protect personal data: salted SHA-256 ``hash``, ``mask`` (keeps the end) or ``drop``.

    ``salt`` comes from the environment and is required when any column is hashed.
    """

    columns: Mapping[str, Literal["hash", "mask", "drop"]] = field(
        metadata=_m(check=_nonempty, expected="a non-empty mapping of column to hash|mask|drop")
    )
    salt: Secret | None = field(default=None, metadata=_m(sensitive="env", env_hint="PII_SALT"))
    keep_last: int = field(default=4, metadata=_m(check=_at_least(0), expected="an integer >= 0"))
    kind: ClassVar[str] = "protect"

    @staticmethod
    def _cross_checks(v: _Decoded) -> Iterator[tuple[_Path, str]]:
        columns = v.get("columns")
        hashed = isinstance(columns, Mapping) and "hash" in columns.values()
        if hashed and "salt" not in v.given | v.invalid:
            yield ("salt",), 'required to hash columns; write salt: "${PII_SALT}"'


TransformStep: TypeAlias = (
    CleanStep | DeriveStep | FiltersStep | CategorizeStep | AggregateStep | ProtectStep
)
_STEP_KINDS: Final[dict[str, type[Any]]] = {
    c.kind: c
    for c in (CleanStep, DeriveStep, FiltersStep, CategorizeStep, AggregateStep, ProtectStep)
}


@dataclass(frozen=True, slots=True)
class TransformConfig:
    """The transform steps, in the order written; ``as_list`` remembers the YAML form."""

    steps: tuple[TransformStep, ...] = ()
    as_list: bool = field(default=False, compare=False)  # only where problems are reported

    def path_of(self, index: int) -> str:
        """Pure. The key path of step ``index``: ``transform.clean`` or ``transform[2].clean``."""
        kind = self.steps[index].kind
        return key_path(("transform", index, kind) if self.as_list else ("transform", kind))

    def _to_data(self, options: bool) -> object:
        return [{step.kind: _data(step, options)} for step in self.steps]


def _decode_step(dec: _Decoder, cls: type[Any], raw: object, path: _Path) -> object:
    bare: str | None = getattr(cls, "bare", None)
    if bare is None:
        return dec.record(cls, {} if raw is None else raw, path)
    info = next(i for i in _fields_of(cls) if i.name == bare)
    value = dec.value(info.type, raw, path, info.spec)
    return _INVALID if value is _INVALID else cls(**{bare: value})


def _decode_transform(dec: _Decoder, raw: object, path: _Path) -> object:
    kinds = list(_STEP_KINDS)
    entries: list[tuple[_Path, object, object]] = []
    if isinstance(raw, Mapping):
        entries = [((*path, str(k)), k, v) for k, v in raw.items()]
        as_list = False
    elif isinstance(raw, list):
        as_list = True
        for index, item in enumerate(raw):
            if isinstance(item, Mapping) and len(item) == 1:
                ((kind, value),) = item.items()
                entries.append(((*path, index, str(kind)), kind, value))
            else:
                dec.report(
                    (*path, index),
                    f"expected a mapping with exactly one step kind ({', '.join(kinds)}), "
                    f"got {_show(item) if not isinstance(item, Mapping) else _keys(item)}",
                )
                entries.append(((*path, index), _INVALID, None))
    else:
        dec.report(
            path,
            "expected a mapping of steps (in order) or a list of one-step mappings, "
            f"got {_show(raw)}",
        )
        return _INVALID
    steps: list[object] = []
    for step_path, kind, value in entries:
        if kind is _INVALID:
            steps.append(_INVALID)
        elif not isinstance(kind, str):
            dec.report(step_path[:-1], _non_string_key(kind))
            steps.append(_INVALID)
        elif kind not in _STEP_KINDS:
            dec.unknown_key(step_path, kind, kinds, what="transform step")
            steps.append(_INVALID)
        else:
            steps.append(_decode_step(dec, _STEP_KINDS[kind], value, step_path))
    if any(s is _INVALID for s in steps):
        return _INVALID
    return TransformConfig(tuple(steps), as_list)  # type: ignore[arg-type]


def _keys(mapping: Mapping[object, object]) -> str:
    return "a mapping with keys " + ", ".join(str(k) for k in mapping) if mapping else "{}"


# ---------------------------------------------------------------------------------------------
# validate:
# ---------------------------------------------------------------------------------------------

ColumnType: TypeAlias = Literal["integer", "number", "string", "boolean", "datetime", "date"]


@dataclass(frozen=True, slots=True)
class ColumnCheck:
    """Expectations on one column: type, inclusive range, allowed values, regex pattern."""

    type: ColumnType | None = None
    minimum: Bound | None = None
    maximum: Bound | None = None
    enum: tuple[Scalar, ...] | None = field(
        default=None, metadata=_m(check=_nonempty, expected="a non-empty list of values")
    )
    pattern: str | None = None

    @staticmethod
    def _cross_checks(v: _Decoded) -> Iterator[tuple[_Path, str]]:
        yield from _bounds_problems(v, "minimum", "maximum")
        kind = v.get("type")
        if "pattern" in v.given and isinstance(kind, str) and kind != "string":
            yield ("pattern",), f"only used with type: string, not type: {kind}"


@dataclass(frozen=True, slots=True)
class SchemaCheck:
    """Column expectations, required columns (present and non-null), and whether to cast."""

    properties: Mapping[str, ColumnCheck] = field(
        default_factory=lambda: types.MappingProxyType({})
    )
    required: tuple[str, ...] = ()
    coerce: bool = False

    @staticmethod
    def _cross_checks(v: _Decoded) -> Iterator[tuple[_Path, str]]:
        if not ({"properties", "required"} & (v.given | v.invalid)):
            yield (), "expected properties and/or required"


@dataclass(frozen=True, slots=True)
class CompletenessCheck:
    """The non-null fraction of each column must reach ``threshold``."""

    columns: tuple[str, ...] = field(metadata=_m(check=_nonempty, expected=_NAMES))
    threshold: float = field(
        default=1.0, metadata=_m(check=_fraction, expected="a number between 0 and 1")
    )


@dataclass(frozen=True, slots=True)
class ValuesReference:
    """The column's values must be among ``values``."""

    values: tuple[Scalar, ...] = field(
        metadata=_m(check=_nonempty, expected="a non-empty list of values")
    )


@dataclass(frozen=True, slots=True)
class DatasetReference:
    """The column's values must appear in column ``key`` of a lake dataset."""

    dataset: str = field(metadata=_m(check=_lake_path_ok, expected=_LAKE_PATH_EXPECTED))
    key: str


Reference: TypeAlias = ValuesReference | DatasetReference


def _decode_reference(dec: _Decoder, raw: object, path: _Path) -> object:
    if isinstance(raw, Mapping) and "values" in raw and "dataset" in raw:
        dec.report(path, "expected either values or dataset, not both")
        return _INVALID
    if isinstance(raw, Mapping) and "dataset" in raw:
        return dec.record(DatasetReference, raw, path)
    if isinstance(raw, Mapping) and "values" in raw:
        return dec.record(ValuesReference, raw, path)
    dec.report(
        path, f"expected {{values: [...]}} or {{dataset: PATH, key: COLUMN}}, got {_show(raw)}"
    )
    return _INVALID


@dataclass(frozen=True, slots=True)
class RuleCheck:
    """A named SQL condition that must hold: ``error`` quarantines rows, ``warning`` reports."""

    name: str
    condition: str
    severity: Literal["error", "warning"] = "error"


@dataclass(frozen=True, slots=True)
class QualityCheck:
    """Timeliness: rows are fresh when ``timestamp_column`` is within ``freshness_hours``."""

    timestamp_column: str
    freshness_hours: float = field(
        default=24.0, metadata=_m(check=_positive, expected="a number > 0")
    )


def _validate_cross_checks(v: _Decoded) -> Iterator[tuple[_Path, str]]:
    rules = v.get("rules")
    if isinstance(rules, tuple):
        seen: dict[str, int] = {}
        for index, rule in enumerate(rules):
            if rule.name in seen:
                yield (
                    ("rules", index, "name"),
                    f"duplicate rule name {rule.name!r} (also rules[{seen[rule.name]}])",
                )
            seen.setdefault(rule.name, index)


@dataclass(frozen=True, slots=True)
class ValidateConfig:
    """The checks run on the transformed rows (see ``lakeflow.core.validate``)."""

    schema: SchemaCheck | None = None
    completeness: CompletenessCheck | None = None
    unique: tuple[str, ...] = ()
    references: Mapping[str, Reference] = field(
        default_factory=lambda: types.MappingProxyType({}),
        metadata=_m(item=_Spec(decode=_decode_reference)),
    )
    rules: tuple[RuleCheck, ...] = ()
    pandera: str | None = field(
        default=None,
        metadata=_m(
            check=_PANDERA_REF.fullmatch, expected="an import path like 'package.module:Model'"
        ),
    )
    max_invalid_fraction: float = field(
        default=0.0, metadata=_m(check=_fraction, expected="a number between 0 and 1")
    )
    enforce: bool = True
    quality: QualityCheck | None = None
    _cross_checks = staticmethod(_validate_cross_checks)


# ---------------------------------------------------------------------------------------------
# load:, run:, monitoring:
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DatabaseLoadConfig:
    """Also load the validated rows into a database table (``keys`` required for upsert)."""

    uri: Secret = field(metadata=_m(sensitive="uri", env_hint="TARGET_DB_URI"))
    table: str
    mode: Literal["append", "replace", "upsert"] = "append"
    keys: tuple[str, ...] = ()

    @staticmethod
    def _cross_checks(v: _Decoded) -> Iterator[tuple[_Path, str]]:
        mode = v.get("mode")
        if mode == "upsert" and "keys" not in v.given | v.invalid:
            yield ("keys",), "required with mode: upsert"
        if mode in ("append", "replace") and "keys" in v.given:
            yield ("keys",), f"only used with mode: upsert, not mode: {mode}"


@dataclass(frozen=True, slots=True)
class LoadConfig:
    """Where validated rows go in the lake (and optionally a database)."""

    path: str = field(metadata=_m(check=_load_path_ok, expected=_LOAD_PATH_EXPECTED))
    mode: Literal["append", "overwrite"] = "append"
    raw: bool = True
    database: DatabaseLoadConfig | None = None


@dataclass(frozen=True, slots=True)
class RunConfig:
    """Retries and limits of a run."""

    max_retries: int = field(default=3, metadata=_m(check=_at_least(0), expected="an integer >= 0"))
    timeout_seconds: float = field(
        default=300.0, metadata=_m(check=_positive, expected="a number > 0")
    )
    retry_on_conflict: int = field(
        default=1, metadata=_m(check=_at_least(0), expected="an integer >= 0")
    )
    batch_size: int = field(
        default=100_000, metadata=_m(check=_at_least(1), expected="an integer >= 1")
    )


@dataclass(frozen=True, slots=True)
class SlaConfig:
    """Service levels: the longest acceptable run and the lowest acceptable success rate."""

    max_duration_s: float | None = field(
        default=None, metadata=_m(check=_positive, expected="a number > 0")
    )
    min_success_rate: float | None = field(
        default=None, metadata=_m(check=_fraction, expected="a number between 0 and 1")
    )

    @staticmethod
    def _cross_checks(v: _Decoded) -> Iterator[tuple[_Path, str]]:
        if not v.given and not v.invalid:
            yield (), "expected max_duration_s and/or min_success_rate"


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """The SMTP server alerts are sent through (``password`` from the environment)."""

    host: str
    port: int = field(
        default=25,
        metadata=_m(check=lambda p: 1 <= p <= 65535, expected="a port number (1-65535)"),
    )
    username: str | None = None
    password: Secret | None = field(
        default=None, metadata=_m(sensitive="env", env_hint="SMTP_PASSWORD")
    )
    starttls: bool = False
    ssl: bool = False
    timeout_seconds: float = field(
        default=10.0, metadata=_m(check=_positive, expected="a number > 0")
    )

    @staticmethod
    def _cross_checks(v: _Decoded) -> Iterator[tuple[_Path, str]]:
        if v.get("starttls") is True and v.get("ssl") is True:
            yield ("ssl",), "use either starttls or ssl, not both"


@dataclass(frozen=True, slots=True)
class EmailAlertConfig:
    """Email alerts: recipients, sender (YAML key ``from``) and SMTP server."""

    to: tuple[str, ...] = field(
        metadata=_m(
            check=_nonempty,
            expected="a non-empty list of email addresses",
            item=_Spec(check=_email_ok, expected="an email address"),
        )
    )
    sender: str | None = field(
        default=None, metadata=_m(key="from", check=_email_ok, expected="an email address")
    )
    smtp: SmtpConfig | None = None


@dataclass(frozen=True, slots=True)
class WebhookAlertConfig:
    """Webhook alerts: the URL is treated as a secret (webhook URLs usually embed a token)."""

    url: Secret = field(
        metadata=_m(
            sensitive="url", env_hint="ALERT_WEBHOOK", check=_http_url_ok, expected="an http(s) URL"
        )
    )


@dataclass(frozen=True, slots=True)
class AlertsConfig:
    """Where alerts go."""

    email: EmailAlertConfig | None = None
    webhook: WebhookAlertConfig | None = None


@dataclass(frozen=True, slots=True)
class MonitoringConfig:
    """Service levels and alert channels (parsed and kept; alerting comes later)."""

    sla: SlaConfig | None = None
    alerts: AlertsConfig | None = None


# ---------------------------------------------------------------------------------------------
# The whole config
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """A decoded, validated pipeline config (pure data; no secret in its repr).

    Build it with :func:`parse_config` or ``lakeflow.config_loader.load_config``.

    ``config_sha256`` is the SHA-256 of the normalised config *as written*: after
    interpolation and decoding, with defaults filled in, secrets replaced by ``***`` and URIs
    redacted (so rotating a password or salt does not change it, but pointing at another
    database host does), before relative paths are resolved against the config file's folder
    (so the same file hashes the same on every machine). Mapping entries keep their written
    order because order can matter (null handling, derived columns, first-match-wins labels);
    top-level blocks are hashed in a fixed order. It is computed when the config is built and
    kept by ``dataclasses.replace``; pass ``config_sha256=""`` to recompute it.
    """

    pipeline: str = field(
        metadata=_m(
            check=_PIPELINE_NAME.fullmatch,
            expected="a name of 1-63 letters, digits, '_' and '-', starting with a letter or digit",
        )
    )
    lake: LakeConfig
    source: SourceConfig = field(metadata=_m(decode=_decode_source))
    load: LoadConfig
    transform: TransformConfig = field(
        default=TransformConfig(), metadata=_m(decode=_decode_transform)
    )
    validate: ValidateConfig | None = None
    run: RunConfig = RunConfig()
    monitoring: MonitoringConfig | None = None
    config_sha256: str = field(default="", metadata=_m(internal=True), compare=False)

    def __post_init__(self) -> None:
        if not self.config_sha256:
            normalised = {"lakeflow_config": CONFIG_HASH_VERSION, **self._normalised()}
            text = json.dumps(normalised, ensure_ascii=False, separators=(",", ":"))
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
            object.__setattr__(self, "config_sha256", digest)

    def _normalised(self) -> dict[str, object]:
        data: dict[str, object] = {
            "pipeline": self.pipeline,
            "lake": _data(self.lake),
            "source": {self.source.kind: _data(self.source)},
            "transform": _data(self.transform),
        }
        if self.validate is not None:
            data["validate"] = _data(self.validate)
        data["load"] = _data(self.load)
        data["run"] = _data(self.run)
        if self.monitoring is not None:
            data["monitoring"] = _data(self.monitoring)
        return data

    def secrets(self) -> tuple[Secret, ...]:
        """Pure. Every secret value (URI passwords raw and decoded, keys, salt, webhook URL)."""
        found: dict[Secret, None] = {}
        for value, spec in _secret_fields(self):
            if spec.sensitive == "uri":
                found.update(dict.fromkeys(uri_secrets(value.reveal())))
            elif value:
                found[value] = None
        return tuple(found)

    def to_dict(self) -> dict[str, object]:
        """Pure. The normalised config in its YAML shape, JSON-able and secret-free.

        Defaults are filled in, secrets are ``***``, URIs are redacted. The ``transform``,
        ``validate`` and step values have the shapes the stage builders accept.
        """
        scrubbed = _scrub_data(self._normalised(), self.secrets())
        assert isinstance(scrubbed, dict)  # noqa: S101 - _scrub_data keeps the shape
        return scrubbed

    def describe(self) -> dict[str, object]:
        """Pure. A short, secret-free summary for run records and ``--json`` output."""
        source = {"kind": self.source.kind, **_data_fields(self.source)}
        checks: list[str] = []
        if self.validate is not None:
            checks = [
                f.name
                for f in dataclasses.fields(self.validate)
                if getattr(self.validate, f.name) not in (None, (), {})
                and f.name in ("schema", "completeness", "unique", "references", "rules", "pandera")
            ]
        summary: dict[str, object] = {
            "pipeline": self.pipeline,
            "config_sha256": self.config_sha256,
            "lake": _data(self.lake),
            "source": source,
            "transform": [step.kind for step in self.transform.steps],
            "validate": checks,
            "load": _data(self.load),
        }
        scrubbed = _scrub_data(summary, self.secrets())
        assert isinstance(scrubbed, dict)  # noqa: S101 - _scrub_data keeps the shape
        return scrubbed


# ---------------------------------------------------------------------------------------------
# Normalised data (records, hashing) and secrets
# ---------------------------------------------------------------------------------------------

_URL_HOST = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?:[^@/?#]*@)?(?P<host>[^/?#]*)")


def _redact_url(url: str) -> str:
    match = _URL_HOST.match(url)
    return f"{match['scheme']}{match['host']}/{REDACTED}" if match else REDACTED


def _secret_data(value: Secret, spec: _Spec) -> str:
    if spec.sensitive == "uri":
        return redact_uri(value.reveal())
    if spec.sensitive == "url":
        return _redact_url(value.reveal())
    return REDACTED


def _data_fields(obj: Any, options: bool = False) -> dict[str, object]:
    out: dict[str, object] = {}
    for info in _fields_of(type(obj)):
        value = getattr(obj, info.name)
        if info.spec.internal or value is None:
            continue
        if isinstance(value, Secret) and not options:
            out[info.key] = _secret_data(value, info.spec)
        else:
            out[info.key] = _data(value, options)
    return out


def _data(value: object, options: bool = False) -> object:
    """The YAML shape of a config value: JSON-able and redacted, or (``options``) as is."""
    custom = getattr(value, "_to_data", None)
    if custom is not None:
        return custom(options)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _data_fields(value, options)
    if isinstance(value, Secret):
        return value if options else REDACTED
    if isinstance(value, Mapping):
        return {str(k): _data(v, options) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_data(v, options) for v in value]
    if isinstance(value, datetime | date) and not options:
        return value.isoformat()
    return value


def builder_options(value: object) -> Any:
    """Pure. A config block in the plain shape the stage builders and ``Checks.from_config`` take.

    The YAML shape with defaults filled in; unlike :meth:`PipelineConfig.to_dict` it keeps
    :class:`Secret` values (the ``protect`` salt) and dates as they are, so it is for wiring,
    never for output.

    >>> options = builder_options(CleanStep(null_handling={"a": "drop", "b": FillValue("DROP")}))
    >>> options["null_handling"]
    {'a': 'drop', 'b': {'value': 'DROP'}}
    >>> builder_options(ProtectStep({"email": "hash"}, salt=Secret("pepper")))["salt"]
    Secret(***)
    """
    return _data(value, options=True)


def _secret_fields(obj: object) -> Iterator[tuple[Secret, _Spec]]:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for info in _fields_of(type(obj)):
            value = getattr(obj, info.name)
            if isinstance(value, Secret):
                yield value, info.spec
            else:
                yield from _secret_fields(value)
    elif isinstance(obj, Mapping):
        for value in obj.values():
            yield from _secret_fields(value)
    elif isinstance(obj, tuple):
        for value in obj:
            yield from _secret_fields(value)


def _scrub_data(data: object, secrets: tuple[Secret, ...]) -> object:
    if isinstance(data, str):
        return scrub(data, secrets)
    if isinstance(data, dict):
        return {scrub(str(k), secrets): _scrub_data(v, secrets) for k, v in data.items()}
    if isinstance(data, list):
        return [_scrub_data(v, secrets) for v in data]
    return data


# ---------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------


def parse_config(
    data: object, env: Mapping[str, str] | None = None
) -> Result[PipelineConfig, ConfigError]:
    """Pure. Decode a parsed YAML document into a :class:`PipelineConfig`, or every problem.

    Args:
        data: The parsed document (``yaml.safe_load`` output, or a dict built in code).
        env: The environment ``${NAME}`` references read; empty when omitted.

    Returns:
        ``Success(config)``, or ``Failure(ConfigError)`` listing every problem with its key
        path. No problem message contains a secret or an environment value.
    """
    decoder = _Decoder({} if env is None else env)
    if not isinstance(data, Mapping):
        what = "an empty document" if data is None else _kind_of(data)
        message = (
            f"expected a mapping with pipeline, lake, source and load at the top level, got {what}"
        )
        return Failure(ConfigError((ConfigProblem("", message),)))
    config = decoder.record(PipelineConfig, data, ())
    if config is _INVALID or decoder.problems:
        return Failure(config_error(decoder.problems, decoder.secrets) or ConfigError(()))
    assert isinstance(config, PipelineConfig)  # noqa: S101 - record() built it
    return Success(config)


def problems_at(
    path: str, failures: Iterable[StageError | ConfigProblem]
) -> tuple[ConfigProblem, ...]:
    """Pure. Place a stage builder's problems (``Stage.problems``) at a config key path.

    >>> from lakeflow.core.errors import InvalidOption
    >>> failure = InvalidOption("clean", "strategy", "x", ("drop",))
    >>> print(problems_at("transform[0].clean", [failure])[0])
    transform[0].clean: stage 'clean': strategy 'x' is not allowed; allowed: drop
    """
    out: list[ConfigProblem] = []
    for failure in failures:
        if isinstance(failure, ConfigProblem):
            out.append(ConfigProblem(_join_path(path, failure.path), failure.message))
        elif isinstance(failure, ConfigError):
            out.extend(ConfigProblem(_join_path(path, p.path), p.message) for p in failure.problems)
        else:
            out.append(ConfigProblem(path, failure.message))
    return tuple(out)


def config_error(
    problems: Iterable[ConfigProblem], secrets: Iterable[Secret] = ()
) -> ConfigError | None:
    """Pure. One :class:`ConfigError` with every problem (messages scrubbed), or ``None``.

    Use it to merge the decoder's problems with the stage builders' (:func:`problems_at`),
    passing ``config.secrets()``.
    """
    hidden = tuple(secrets)
    unique = dict.fromkeys(
        ConfigProblem(p.path, scrub(p.message, hidden) if hidden else p.message) for p in problems
    )
    return ConfigError(tuple(unique)) if unique else None
