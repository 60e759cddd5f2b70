"""Problems in options: pydantic's errors in lakeflow's words, at the key path users wrote.

Pure. The models raise three kinds of error of their own (built by :func:`expected`,
:func:`problems` and the ``lakeflow.kind`` discriminator error); every other pydantic error
type is worded here too, so no pydantic text ever reaches a user. :func:`issues_from` turns a
``ValidationError`` into :class:`Issue` values, one per pydantic error (a cross-field error may
name several keys), placed at their key path in the document as written (a mapping-form
``transform:`` keeps its keys, union tags are dropped) and sorted in document order.
:func:`config_problems` words them for a config file and :func:`invalid_options` for a Python
builder call.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from lakeflow.core.config.interpolation import EnvText, KeyPath
from lakeflow.core.errors import ConfigError, ConfigProblem, InvalidOption, StageError
from lakeflow.core.secrets import Secret, redact_uri, scrub

__all__ = [
    "EXPECTED",
    "KIND",
    "PROBLEMS",
    "Issue",
    "UnknownKey",
    "config_error",
    "config_problems",
    "did_you_mean",
    "expected",
    "in_document_order",
    "invalid_options",
    "issues_from",
    "key_path",
    "kind_of",
    "problems",
    "problems_at",
    "shown",
]

EXPECTED: Final = "lakeflow.expected"
"""Error type: a value of the wrong type or out of range; ctx says what was expected."""
PROBLEMS: Final = "lakeflow.problems"
"""Error type: cross-field problems of one mapping, each at a key below it."""
KIND: Final = "lakeflow.kind"
"""Error type: a one-key mapping (``source:``, a transform step) without exactly one known key."""

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_\-]+")
_TAG_PREFIX = "~"
_KEY_ERROR = "[key]"
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_BOOL_WORDS = frozenset({"true", "false", "yes", "no", "on", "off"})


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


def did_you_mean(word: str, choices: Sequence[str], *, cutoff: float = 0.6) -> str | None:
    """Pure. The choice closest to ``word``, when one is close enough."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return close[0] if close else None


def shown(value: object) -> str:
    """Pure. A short, secret-safe rendering of a value written in a config, for messages."""
    if isinstance(value, EnvText):
        return value.shown()
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Secret):
        return "a secret"
    if isinstance(value, str):
        if not value:
            return "an empty string"
        text = redact_uri(value)
        return repr(text if len(text) <= 60 else text[:57] + "...")
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping | list | tuple) and not value:
        return "{}" if isinstance(value, Mapping) else "[]"
    return kind_of(value)


def kind_of(value: object) -> str:
    """Pure. What kind of value ``value`` is, in words (``a mapping``, ``a list``, ``a string``)."""
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return f"a {type(value).__name__}"


# ---------------------------------------------------------------------------------------------
# Errors the models raise
# ---------------------------------------------------------------------------------------------


def expected(
    what: str,
    *,
    kinds: Sequence[str] = (),
    choices: Sequence[str] = (),
    sensitive: bool = False,
    message: str = "",
) -> PydanticCustomError:
    """Pure. The error for a value that is not ``what`` (``kinds``/``choices`` add hints).

    ``message`` replaces the whole ``expected ..., got ...`` sentence when given.
    """
    context = {
        "expected": what,
        "kinds": tuple(kinds),
        "choices": tuple(choices),
        "sensitive": sensitive,
        "message": message,
    }
    return PydanticCustomError(EXPECTED, "expected {expected}", context)


def problems(*found: tuple[KeyPath, str]) -> PydanticCustomError:
    """Pure. The error for cross-field problems, each at a key path below the mapping."""
    return PydanticCustomError(PROBLEMS, "{count} problem(s)", {"problems": found, "count": 1})


@dataclass(frozen=True, slots=True)
class UnknownKey:
    """Put in place of the value of a key a model does not have, so the error can suggest one."""

    key: object
    value: object
    allowed: tuple[str, ...]
    what: str = "key"


# ---------------------------------------------------------------------------------------------
# Translation
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem, worded, at its key path in the document as written.

    Attributes:
        path: Mapping keys and list indexes from the validated value's root.
        message: What is wrong and what would be right (never an environment value or secret).
        value: The offending value as shown to users (``None``: nothing to show).
        allowed: What would have been accepted, for :class:`InvalidOption`.
    """

    path: KeyPath
    message: str
    value: str | None = None
    allowed: tuple[str, ...] = ()


def _kind_hint(value: object, kinds: Sequence[str]) -> str:
    if isinstance(value, EnvText) and value.variables:
        return ""
    if isinstance(value, str) and "str" not in kinds:
        word = value.strip()
        numeric = ("int" in kinds or "float" in kinds) and _NUMBER.fullmatch(word)
        if numeric or ("bool" in kinds and word.lower() in _BOOL_WORDS):
            return (
                " (quoted: write it without quotes; a string stands for a number or boolean "
                "only when it uses ${...})"
            )
    if "str" in kinds and isinstance(value, bool | int | float) and "int" not in kinds:
        return " (quote it to use it as text)"
    if "list" in kinds and isinstance(value, str):
        return f" (write [{value}])"
    return ""


def _expected_issue(path: KeyPath, value: object, context: Mapping[str, Any]) -> Issue:
    what = str(context["expected"])
    kinds: Sequence[str] = context.get("kinds", ())
    choices: Sequence[str] = context.get("choices", ())
    if context.get("sensitive"):
        return Issue(path, f"expected {what}", "(hidden)", (what,))
    if "float" in kinds and isinstance(value, float) and not math.isfinite(value):
        what += " (a finite number)"
    message = f"expected {what}, got {shown(value)}{_kind_hint(value, kinds)}"
    allowed: tuple[str, ...] = tuple(choices) or (what,)
    if choices and isinstance(value, str) and not getattr(value, "from_env", False):
        close = did_you_mean(value.strip().lower(), choices)
        if close is not None:
            message += f"; did you mean {close!r}?"
            allowed = (f"{close} (did you mean this?)", *(c for c in choices if c != close))
    written = str(value) if isinstance(value, str) and not isinstance(value, EnvText) else None
    return Issue(path, context.get("message") or message, written or shown(value), allowed)


def _non_string_key(key: object) -> str:
    if isinstance(key, bool):
        return (
            f"key {shown(key)} is not a string (YAML reads yes/no/on/off/true/false as "
            "booleans: quote it)"
        )
    if key == "":
        return "empty key"
    return f"key {shown(key)} is not a string (quote it)"


def _unknown_key(path: KeyPath, marker: UnknownKey, what: str = "key") -> Issue:
    if not isinstance(marker.key, str) or not marker.key:
        return Issue(path[:-1], _non_string_key(marker.key), shown(marker.key), ("a string key",))
    if path and isinstance(path[-1], str) and path[-1].startswith("\x00"):
        path = (*path[:-1], marker.key)  # a key kept under a slot of its own (see ConfigModel)
    close = did_you_mean(marker.key, marker.allowed)
    if close is not None:
        message = f"unknown {what}; did you mean {close!r}?"
    else:
        message = f"unknown {what}; expected one of: {', '.join(marker.allowed)}"
    return Issue(path, message, marker.key, marker.allowed)


def _kind_issues(path: KeyPath, value: object, context: Mapping[str, Any]) -> list[Issue]:
    what = str(context["what"])
    kinds = tuple(str(context["kinds"]).split(", "))
    listed = ", ".join(kinds)
    if not isinstance(value, Mapping):
        message = f"expected a mapping with exactly one {what} ({listed}), got {shown(value)}"
        return [Issue(path, message, shown(value), kinds)]
    unknown = [k for k in value if k not in kinds]
    if unknown:
        return [_unknown_key((*path, str(k)), UnknownKey(k, None, kinds), what) for k in unknown]
    if not value:
        return [Issue(path, f"expected exactly one {what}: {listed}", "{}", kinds)]
    given = " and ".join(str(k) for k in value)
    return [Issue(path, f"expected exactly one {what}, got {given}", given, kinds)]


_GENERIC: Final[Mapping[str, tuple[str, tuple[str, ...]]]] = {
    "string_type": ("a string", ("str",)),
    "int_type": ("an integer", ("int",)),
    "int_parsing": ("an integer", ("int",)),
    "int_from_float": ("an integer", ("int",)),
    "float_type": ("a number", ("float",)),
    "float_parsing": ("a number", ("float",)),
    "finite_number": ("a number", ("float",)),
    "bool_type": ("true or false", ("bool",)),
    "bool_parsing": ("true or false", ("bool",)),
    "list_type": ("a list", ("list",)),
    "tuple_type": ("a list", ("list",)),
    "dict_type": ("a mapping", ("mapping",)),
    "model_type": ("a mapping", ("mapping",)),
    "model_attributes_type": ("a mapping", ("mapping",)),
    "date_type": ("a date", ("date",)),
    "datetime_type": ("a date-time", ("date",)),
    "literal_error": ("one of the allowed values", ()),
}


def _issues_of(error: Mapping[str, Any], data: object) -> list[Issue]:
    kind = error["type"]
    value = error.get("input")
    context: Mapping[str, Any] = error.get("ctx") or {}
    loc = tuple(error["loc"])
    if loc and loc[-1] == _KEY_ERROR:  # a mapping key of the wrong type
        path = _document_path(loc[:-2], data)
        return [Issue(path, _non_string_key(value), shown(value), ("a string key",))]
    if kind == "default_factory_not_called":  # a default computed from keys that were invalid
        return []
    path = _document_path(loc, data)
    if kind == EXPECTED:
        return [_expected_issue(path, value, context)]
    if kind == PROBLEMS:
        return [Issue((*path, *sub), message) for sub, message in context["problems"]]
    if kind == KIND:
        return _kind_issues(path, value, context)
    if kind == "missing":
        return [Issue(path, "required key is missing", "(missing)", ("required",))]
    if kind == "extra_forbidden":
        if isinstance(value, UnknownKey):
            return [_unknown_key(path, value, value.what)]
        return [Issue(path, "unknown key", str(path[-1]) if path else None)]
    if kind in ("value_error", "assertion_error") and "error" in context:
        return [Issue(path, str(context["error"]), shown(value))]
    if kind in _GENERIC:
        what, kinds = _GENERIC[kind]
        return [_expected_issue(path, value, {"expected": what, "kinds": kinds})]
    if kind == "too_short":
        least = context.get("min_length", 1)
        return [_expected_issue(path, value, {"expected": f"at least {least} item(s)"})]
    return [Issue(path, f"invalid value {shown(value)}", shown(value))]  # pragma: no cover


def _document_path(loc: Sequence[str | int], data: object) -> KeyPath:
    """The key path of a pydantic location in the document as written."""
    parts = list(loc)
    out: list[str | int] = []
    node: object = data
    index = 0
    while index < len(parts):
        part = parts[index]
        is_key = isinstance(node, Mapping) and part in node
        if isinstance(part, str) and part.startswith(_TAG_PREFIX) and not is_key:
            index += 1  # a union's tag, not a key of the document (a key may start with "~")
            continue
        following = next(
            (
                p
                for p in parts[index + 1 :]
                if not (isinstance(p, str) and p.startswith(_TAG_PREFIX))
            ),
            None,
        )
        if (
            isinstance(node, Mapping)
            and isinstance(part, int)
            and 0 <= part < len(node)
            and list(node)[part] == following
        ):
            index += 1  # a mapping validated as a list of one-key mappings: the key follows
            continue
        out.append(part)
        node = _child(node, part)
        index += 1
    return tuple(out)


_ABSENT: Final = object()


def _child(node: object, part: str | int) -> object:
    if isinstance(node, Mapping):
        return node.get(part, _ABSENT)
    if isinstance(node, list | tuple) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return _ABSENT


def _positions(data: object) -> dict[KeyPath, tuple[int, int]]:
    """Every key path of ``data`` with its preorder number and its subtree's last number."""
    out: dict[KeyPath, tuple[int, int]] = {}
    counter = 0

    def walk(node: object, path: KeyPath) -> int:
        nonlocal counter
        counter += 1
        first = last = counter
        if isinstance(node, Mapping):
            for key, value in node.items():
                if isinstance(key, str | int):
                    last = walk(value, (*path, key))
        elif isinstance(node, list | tuple):
            for index, value in enumerate(node):
                last = walk(value, (*path, index))
        out[path] = (first, last)
        return last

    walk(data, ())
    return out


def in_document_order(issues: Iterable[Issue], data: object) -> list[Issue]:
    """``issues`` in the order of the document: a mapping's own problems after its keys'."""
    positions = _positions(data)

    def key(issue: Issue) -> tuple[int, int, int]:
        anchor, missing = issue.path, 0
        while anchor not in positions and anchor:
            anchor, missing = anchor[:-1], 1
        last = positions.get(anchor, (0, 0))[1]
        return (last, -len(anchor), missing)

    return sorted(issues, key=key)


def issues_from(exc: ValidationError, data: object = None) -> list[Issue]:
    """Pure. Every problem of ``exc`` worded, at its path in ``data`` (the validated input)."""
    found: list[Issue] = []
    for error in exc.errors(include_url=False):
        found.extend(_issues_of(error, data))
    unique = list(dict.fromkeys(found))
    return in_document_order(unique, data) if data is not None else unique


def config_problems(issues: Iterable[Issue], prefix: KeyPath = ()) -> tuple[ConfigProblem, ...]:
    """Pure. Issues as config problems, each at ``prefix`` + its path."""
    return tuple(ConfigProblem(key_path((*prefix, *i.path)), i.message) for i in issues)


def invalid_options(
    stage: str, issues: Iterable[Issue], given: object = None
) -> tuple[StageError, ...]:
    """Pure. Issues as :class:`InvalidOption` failures of a builder call named ``stage``.

    ``given`` is what the caller passed: a problem without a value of its own (``max`` below
    ``min``) shows the value written at its path.
    """
    out: list[StageError] = []
    for issue in issues:
        option = key_path(issue.path) or "options"
        value = issue.value
        if value is None:
            node: object = given
            for part in issue.path:
                node = _child(node, part)
            value = "(missing)" if node in (_ABSENT, None) else shown(node)
        out.append(InvalidOption(stage, option, value, issue.allowed or (issue.message,)))
    return tuple(out)


def problems_at(
    path: str, failures: Iterable[StageError | ConfigProblem]
) -> tuple[ConfigProblem, ...]:
    """Pure. Place a stage builder's problems (``Stage.problems``) at a config key path.

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
    found: Iterable[ConfigProblem], secrets: Iterable[Secret] = ()
) -> ConfigError | None:
    """Pure. One :class:`ConfigError` with every problem (messages scrubbed), or ``None``.

    Use it to merge the models' problems with the stage builders' (:func:`problems_at`),
    passing ``config.secrets()``.
    """
    hidden = tuple(secrets)
    unique = dict.fromkeys(
        ConfigProblem(p.path, scrub(p.message, hidden) if hidden else p.message) for p in found
    )
    return ConfigError(tuple(unique)) if unique else None
