"""``${NAME}`` and ``${NAME:-default}`` in config values: the environment, read once, passed in.

Pure. String values may reference the environment: ``${NAME}`` (an unset variable is a problem
naming the variable and the key path), ``${NAME:-default}`` (the default when unset *or empty*,
taken literally up to the first ``}``) and ``$$`` for a literal ``$``. Any other ``$`` is
literal, so regular expressions such as ``^[a-z]+$`` need no escaping. Environment values are
inserted verbatim (never interpolated again) and are never echoed in problems.

A string that went through interpolation becomes an :class:`EnvText`: a ``str`` that remembers
what the file itself wrote (``literal``) and which variables it read, so the models can refuse
secrets written in the file, let ``"${PARTITIONS:-4}"`` stand for an integer, and word problems
without showing an environment value.

>>> interpolate("${USER}: $$5, ${MISSING:-none}", {"USER": "ann"}).unwrap()
'ann: $5, none'
>>> print(interpolate("${NOPE}", {}).failure().problems[0])
environment variable NOPE is not set
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import TypeAlias

from returns.result import Failure, Result, Success

from lakeflow.core.errors import ConfigError, ConfigProblem

__all__ = ["EnvText", "KeyPath", "interpolate", "interpolate_tree"]

KeyPath: TypeAlias = tuple[str | int, ...]
"""Where a value sits in the parsed document: mapping keys and list indexes."""

_REFERENCE = re.compile(r"\$(?:(?P<dollar>\$)|\{(?P<body>[^}]*)\}|(?P<open>\{))")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class EnvText(str):
    """A string value after interpolation, and what the config file itself contributed to it.

    Attributes:
        literal: The text written in the file: references removed, defaults kept.
        variables: Every variable referenced, in order.
        from_env: Whether any environment value was inserted.
        broken: Whether interpolation found a problem (the value is then the text as written).
    """

    literal: str
    variables: tuple[str, ...]
    from_env: bool
    broken: bool

    def __new__(
        cls,
        value: str,
        literal: str,
        variables: tuple[str, ...] = (),
        *,
        from_env: bool = False,
        broken: bool = False,
    ) -> EnvText:
        text = super().__new__(cls, value)
        text.literal = literal
        text.variables = variables
        text.from_env = from_env
        text.broken = broken
        return text

    def __repr__(self) -> str:
        if self.from_env:
            return "EnvText(<from the environment>)"
        return f"EnvText({str.__repr__(self)})"

    def shown(self) -> str:
        """Pure. How the value may be shown in a problem: never an environment value."""
        if self.from_env:
            names = ", ".join(f"${{{v}}}" for v in self.variables)
            return f"the value of {names} (environment values are not shown)"
        return repr(str(self))


def _expand(text: str, env: Mapping[str, str]) -> tuple[EnvText, tuple[str, ...]]:
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
    if problems:
        return EnvText(text, text, tuple(variables), broken=True), tuple(problems)
    expanded = EnvText("".join(value), "".join(literal), tuple(variables), from_env=from_env)
    return expanded, ()


def interpolate(text: str, env: Mapping[str, str]) -> Result[str, ConfigError]:
    """Pure. ``text`` with ``${NAME}``, ``${NAME:-default}`` and ``$$`` replaced from ``env``."""
    expanded, problems = _expand(text, env)
    if problems:
        return Failure(ConfigError(tuple(ConfigProblem("", p) for p in problems)))
    return Success(str(expanded))


def interpolate_tree(
    data: object, env: Mapping[str, str], path: KeyPath = ()
) -> tuple[object, list[tuple[KeyPath, str]]]:
    """Pure. ``data`` with every string value containing ``$`` interpolated, and the problems.

    Mapping keys are never interpolated. Strings with references (or ``$$``) become
    :class:`EnvText`; a string whose references are broken stays as written (an ``EnvText``
    with ``broken=True``) and its problems are returned with its key path.
    """
    problems: list[tuple[KeyPath, str]] = []
    if isinstance(data, str):
        if "$" not in data:
            return data, problems
        expanded, found = _expand(data, env)
        problems.extend((path, p) for p in found)
        return expanded, problems
    if isinstance(data, Mapping):
        out: dict[object, object] = {}
        for key, value in data.items():
            child = (*path, key) if isinstance(key, str | int) else path
            out[key], found_here = interpolate_tree(value, env, child)
            problems.extend(found_here)
        return out, problems
    if isinstance(data, list | tuple):
        items: list[object] = []
        for index, value in enumerate(data):
            item, found_here = interpolate_tree(value, env, (*path, index))
            items.append(item)
            problems.extend(found_here)
        return items, problems
    return data, problems
