"""The pydantic glue every config section uses: the base model and four schema markers.

Pure. :class:`ConfigModel` is frozen, forbids unknown keys (suggesting the closest one), reads
each field's docstring as its description and treats an explicit YAML ``null`` as "not given".
The markers go inside ``Annotated[...]``:

* :class:`Expect` words a value's problem (``expected an integer >= 1, got 'four'``);
* :class:`Shapes` picks a model by the *shape* of the value written (``drop`` or
  ``{value: drop}``; ``{min, max}`` or ``[values]``) -- a discriminated union whose
  discriminator looks at the value, and which may convert what it validated;
* :class:`OneKey` is the ``{kind: body}`` union of ``source:`` and of transform steps;
* :class:`Via` validates with one model and keeps another value (``IncrementalSpec``).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, ClassVar, Literal, TypeVar, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationError,
    create_model,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema
from returns.result import Failure, Result, Success

from lakeflow.core.config.errors import (
    EXPECTED,
    KIND,
    PROBLEMS,
    UnknownKey,
    expected,
    invalid_options,
    issues_from,
)
from lakeflow.core.errors import StageError
from lakeflow.core.secrets import Secret

__all__ = ["ConfigModel", "Expect", "OneKey", "Shapes", "Via", "kinds_of", "typed_options"]

M = TypeVar("M", bound=BaseModel)

_OURS = frozenset({EXPECTED, PROBLEMS, KIND})
TAG = "~"
"""Union tags start with this; they never reach a key path."""


class ConfigModel(BaseModel):
    """A mapping of a pipeline config: frozen, closed, documented from its field docstrings."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        use_attribute_docstrings=True,
        validate_by_alias=True,
        validate_by_name=True,
    )

    null_means: ClassVar[Mapping[str, object]] = {}
    """Keys whose explicit ``null`` means a value; for every other key ``null`` means unset."""
    unknown_what: ClassVar[str] = "key"
    """What an unknown key is called in problems (``unknown source kind``)."""
    suggestions: ClassVar[tuple[str, ...]] = ()
    """What an unknown key is compared with, when not the model's own keys."""

    @classmethod
    def yaml_keys(cls) -> tuple[str, ...]:
        """Pure. The keys a user may write, in declaration order."""
        return tuple(f.alias or name for name, f in cls.model_fields.items())

    @model_validator(mode="before")
    @classmethod
    def _given_keys(cls, data: object) -> object:
        """Drop explicit nulls and mark unknown keys (the error suggests the closest one)."""
        if isinstance(data, BaseModel):
            return data
        if not isinstance(data, Mapping):
            raise expected(f"a mapping with keys {', '.join(cls.yaml_keys())}", kinds=("mapping",))
        allowed = cls.suggestions or cls.yaml_keys()
        names = set(cls.yaml_keys()) | set(cls.model_fields)
        out: dict[str, object] = {}
        for position, (key, value) in enumerate(data.items()):
            if not isinstance(key, str) or key not in names:
                # Keys that would pass for union tags ("~...") get a slot of their own too.
                usable = isinstance(key, str) and key and not key.startswith(TAG)
                slot = key if usable else f"\x00{position}"
                out[slot] = UnknownKey(key, value, allowed, cls.unknown_what)
            elif value is None:
                if key in cls.null_means:
                    out[key] = cls.null_means[key]
            else:
                out[key] = value
        return out


# ---------------------------------------------------------------------------------------------
# Expect: the words of a value's problem
# ---------------------------------------------------------------------------------------------

_SCALAR_KINDS: Mapping[object, str] = {
    bool: "bool",
    int: "int",
    float: "float",
    str: "str",
    Secret: "str",
    date: "date",
    datetime: "date",
    time: "time",
    timedelta: "duration",
}


def kinds_of(tp: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Pure. The kinds of value ``tp`` accepts (``int``, ``str``, ``list``...) and its choices."""
    origin = get_origin(tp)
    if origin is Annotated:
        return kinds_of(get_args(tp)[0])
    if origin in (Union, types.UnionType):
        kinds: list[str] = []
        choices: list[str] = []
        for arg in get_args(tp):
            if arg is not type(None):
                more, options = kinds_of(arg)
                kinds.extend(more)
                choices.extend(options)
        return tuple(dict.fromkeys(kinds)), tuple(dict.fromkeys(choices))
    if origin is Literal:
        return (), tuple(str(a) for a in get_args(tp))
    if origin in (tuple, list) or tp in (tuple, list):
        return ("list",), ()
    if origin in (dict, Mapping) or (isinstance(tp, type) and issubclass(tp, BaseModel)):
        return ("mapping",), ()
    kind = _SCALAR_KINDS.get(tp)
    return ((kind,) if kind else ()), ()


@dataclass(frozen=True)
class Expect:
    """Word the problem of a value that fails validation: ``expected <text>, got <value>``.

    Problems inside the value (a list item, a nested mapping) keep their own words and paths;
    only a problem of the value as a whole is replaced.
    """

    text: str
    sensitive: bool = False

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        inner = handler(source)
        kinds, choices = kinds_of(source)
        text, sensitive = self.text, self.sensitive

        def wrap(value: object, validate: core_schema.ValidatorFunctionWrapHandler) -> object:
            try:
                return validate(value)
            except ValidationError as exc:
                whole = [e for e in exc.errors() if not e["loc"]]
                if not whole or any(e["type"] in _OURS for e in whole):
                    raise
                raise expected(text, kinds=kinds, choices=choices, sensitive=sensitive) from None

        return core_schema.no_info_wrap_validator_function(wrap, inner)


# ---------------------------------------------------------------------------------------------
# Shapes and OneKey: unions picked by the value's shape or by its one key
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Shapes:
    """A union picked by the value's shape: ``pick(value)`` names the case, or ``None``.

    Attributes:
        cases: Case name -> the type that validates it.
        pick: The case a value belongs to (instances of the cases' models included).
        expected: What a value of no case should have been, for the problem's words.
        convert: Case name -> a function applied to the validated value (the stored value).
        any_of: Cases overlap (a strategy name is also a string): JSON Schema ``anyOf``.
    """

    cases: Mapping[str, Any]
    pick: Callable[[object], str | None]
    expected: str
    convert: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    any_of: bool = False

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        del source  # the cases decide, not the annotation
        choices: dict[str, CoreSchema] = {}
        for name, tp in self.cases.items():
            schema = handler.generate_schema(tp)
            if name in self.convert:
                schema = core_schema.no_info_after_validator_function(self.convert[name], schema)
            choices[TAG + name] = schema
        return core_schema.tagged_union_schema(
            choices,
            _tagged(self.pick),
            custom_error_type=EXPECTED,
            custom_error_message="expected {expected}",
            custom_error_context={"expected": self.expected},
        )

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        found = handler(schema)
        if self.any_of and "oneOf" in found:
            found["anyOf"] = found.pop("oneOf")
        return found


def _tagged(pick: Callable[[object], str | None]) -> Callable[[object], str | None]:
    """The discriminator of a union whose choices are named by ``pick`` (tags never reach paths)."""

    def discriminator(value: object) -> str | None:
        name = pick(value)
        return None if name is None else TAG + name

    return discriminator


def _kind_picker(kinds: Sequence[str]) -> Callable[[object], str | None]:
    def pick(value: object) -> str | None:
        kind = getattr(value, "kind", None)
        if isinstance(value, BaseModel) and kind in kinds:
            return str(kind)
        if isinstance(value, Mapping):
            known = [key for key in value if key in kinds]
            # One known kind: validate it (other keys are reported as unknown kinds there).
            return str(known[0]) if len(known) == 1 else None
        return None

    return pick


@dataclass(frozen=True, eq=False)
class OneKey:
    """The ``{kind: body}`` union: a mapping with exactly one key naming the kind.

    The stored value is the body's model (each has a ``kind``); it serialises back to
    ``{kind: body}``. ``what`` names the kind in problems (``source kind``, ``transform step``).
    """

    what: str
    members: Mapping[str, type[BaseModel]]

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        del source
        choices: dict[str, CoreSchema] = {}
        for kind, model in self.members.items():
            block = _block_model(kind, model, self.what, tuple(self.members))
            schema = handler.generate_schema(block)
            choices[TAG + kind] = core_schema.no_info_after_validator_function(
                _unwrap(kind, model), schema
            )
        return core_schema.tagged_union_schema(
            choices,
            _tagged(_kind_picker(tuple(self.members))),
            custom_error_type=KIND,
            custom_error_message="expected exactly one {what}",
            custom_error_context={"what": self.what, "kinds": ", ".join(self.members)},
            serialization=core_schema.plain_serializer_function_ser_schema(
                _dump_one_key, info_arg=True
            ),
        )


_BLOCKS: dict[tuple[str, type[BaseModel]], type[ConfigModel]] = {}


def _block_model(
    kind: str, model: type[BaseModel], what: str, kinds: tuple[str, ...]
) -> type[ConfigModel]:
    """The one-key wrapper ``{kind: model}``, made once per kind (its own JSON Schema def)."""
    found = _BLOCKS.get((kind, model))
    if found is None:
        found = create_model(
            f"{model.__name__}Block",
            __base__=ConfigModel,
            __doc__=f"``{kind}:`` {(model.__doc__ or '').strip().splitlines()[0]}",
            **{kind: (model, ...)},  # type: ignore[call-overload]
        )
        found.null_means = {kind: {}}
        found.unknown_what = what
        found.suggestions = kinds
        _BLOCKS[(kind, model)] = found
    return found


def _unwrap(kind: str, model: type[BaseModel]) -> Callable[[object], object]:
    def unwrap(block: object) -> object:
        if isinstance(block, model):  # an instance given in Python
            return block
        return getattr(block, kind)

    return unwrap


def _dump_one_key(value: object, info: core_schema.SerializationInfo) -> object:
    if not isinstance(value, BaseModel):  # pragma: no cover - only models are stored
        return value
    body = value.model_dump(
        mode=info.mode,
        by_alias=bool(info.by_alias),
        exclude_none=info.exclude_none,
    )
    return {getattr(value, "kind", type(value).__name__): body}


# ---------------------------------------------------------------------------------------------
# Via: validate with a model, keep another value
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Via:
    """Validate with ``model``, then keep ``load(model_value)``; instances of ``keeps`` pass.

    ``dump`` gives the value's config shape back (for ``to_dict`` and the config hash).
    """

    model: type[BaseModel]
    keeps: type
    load: Callable[[Any], Any]
    dump: Callable[[Any], object]

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        del source
        validated = core_schema.no_info_after_validator_function(
            self.load, handler.generate_schema(self.model)
        )
        keeps = self.keeps

        def wrap(value: object, validate: core_schema.ValidatorFunctionWrapHandler) -> object:
            return value if isinstance(value, keeps) else validate(value)

        return core_schema.no_info_wrap_validator_function(
            wrap,
            validated,
            serialization=core_schema.plain_serializer_function_ser_schema(self.dump),
        )


def typed_options(model: type[M], given: object, stage: str) -> Result[M, tuple[StageError, ...]]:
    """Pure. ``given`` validated as ``model``, or its problems as a builder's failures.

    The stage builders call it with what a Python user passed (plain dicts and keyword
    arguments) or with a model already validated (returned as it is).
    """
    if isinstance(given, model):
        return Success(given)
    try:
        return Success(model.model_validate(given))
    except ValidationError as exc:
        return Failure(invalid_options(stage, issues_from(exc, given), given))
