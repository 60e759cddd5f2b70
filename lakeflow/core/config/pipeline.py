"""The whole config, and :func:`parse_config`: a parsed document in, a config or every problem out.

Pure. :func:`parse_config` interpolates ``${...}`` references from the environment it is given,
validates the document against :class:`PipelineConfig` and, on failure, returns one
:class:`~lakeflow.core.errors.ConfigError` with every problem at its key path, in document
order, secrets scrubbed.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Final

from pydantic import (
    BaseModel,
    ConfigDict,
    JsonValue,
    PrivateAttr,
    RootModel,
    Strict,
    ValidationError,
)
from returns.result import Failure, Result, Success

from lakeflow.core.config.base import ConfigModel, Expect
from lakeflow.core.config.errors import (
    Issue,
    config_error,
    config_problems,
    in_document_order,
    issues_from,
    kind_of,
)
from lakeflow.core.config.interpolation import interpolate_tree
from lakeflow.core.config.lake import LakeConfig
from lakeflow.core.config.load import LoadConfig
from lakeflow.core.config.monitoring import MonitoringConfig
from lakeflow.core.config.run import RunConfig
from lakeflow.core.config.source import SourceConfig
from lakeflow.core.config.transform import TransformConfig
from lakeflow.core.config.validate import ValidateConfig
from lakeflow.core.config.values import (
    ENV_CONTEXT,
    FILE_CONTEXT,
    SECRETS_CONTEXT,
    SecretValue,
    matching,
)
from lakeflow.core.errors import ConfigError, ConfigProblem
from lakeflow.core.secrets import Secret, scrub

__all__ = ["CONFIG_HASH_VERSION", "SECTIONS", "PipelineConfig", "parse_config"]

CONFIG_HASH_VERSION: Final = 2
"""Bumped whenever the normalised form hashed by ``config_sha256`` changes meaning."""
_TOP_LEVEL: Final = "pipeline, lake, source and load"
SECTIONS: Final = (
    "pipeline",
    "lake",
    "source",
    "transform",
    "validate",
    "load",
    "run",
    "monitoring",
)
"""The top-level keys, in the order records and the reference show them."""

_NAME_CHECK = matching(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")
PipelineName = Annotated[
    str,
    Strict(),
    _NAME_CHECK[0],
    Expect("a name of 1-63 letters, digits, '_' and '-', starting with a letter or digit"),
    _NAME_CHECK[1],
]

_EXAMPLE: Final[dict[str, JsonValue]] = {
    "pipeline": "users",
    "lake": {"url": "local://./lake", "repository": "etl-pipeline"},
    "source": {"sql": {"uri": "${SOURCE_DB_URI}", "table": "users"}},
    "transform": {"filters": ["age >= 18"]},
    "validate": {"unique": ["id"]},
    "load": {"path": "validated_data/users"},
}

with warnings.catch_warnings():
    # The YAML key is `validate`; pydantic warns that it shadows the deprecated BaseModel.validate.
    warnings.filterwarnings("ignore", 'Field name "validate"', UserWarning)

    class PipelineConfig(ConfigModel):
        """A lakeflow pipeline: where rows come from, what is done to them, where they go."""

        model_config = ConfigModel.model_config | ConfigDict(
            title="lakeflow pipeline config", json_schema_extra={"examples": [_EXAMPLE]}
        )

        pipeline: PipelineName
        """The pipeline's name: it names run branches, records and checkpoints."""
        lake: LakeConfig
        """Where the lake lives."""
        source: SourceConfig
        """Where rows come from: exactly one of ``sql``, ``parquet``, ``csv``, ``ndjson``,
        ``lake``."""
        transform: TransformConfig = TransformConfig(())
        """The transform steps, in the order written."""
        validate: ValidateConfig | None = None  # type: ignore[assignment]  # the YAML key
        """The checks rows must pass before they are published."""
        load: LoadConfig
        """Where validated rows go."""
        run: RunConfig = RunConfig()
        """Retries and limits of a run."""
        monitoring: MonitoringConfig | None = None
        """Service levels and alert channels."""

        _config_sha256: str = PrivateAttr(default="")

        def model_post_init(self, context: Any, /) -> None:
            """Compute ``config_sha256`` from the normalised config."""
            del context
            normalised = {"lakeflow_config": CONFIG_HASH_VERSION, **self._normalised()}
            text = json.dumps(normalised, ensure_ascii=False, separators=(",", ":"))
            self._config_sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()

        @property
        def config_sha256(self) -> str:
            """The SHA-256 of the normalised config *as written*, recorded with every run.

            After interpolation and validation, with defaults filled in, secrets replaced by
            ``***`` and URIs redacted (so rotating a password or salt does not change it, but
            pointing at another database host does), before relative paths are resolved
            against the config file's folder (so the same file hashes the same on every
            machine). Mapping entries keep their written order because order can matter (null
            handling, derived columns, first-match-wins labels); top-level blocks are hashed in
            a fixed order. It is computed when the config is validated (build one with
            :func:`parse_config` or ``lakeflow.config_loader.load_config``) and kept by
            ``model_copy``.
            """
            return self._config_sha256

        def _normalised(self) -> dict[str, Any]:
            data = self.model_dump(mode="json", by_alias=True, exclude_none=True)
            return {key: data[key] for key in SECTIONS if key in data}

        def secrets(self) -> tuple[Secret, ...]:
            """Pure. Every secret value (URI passwords raw and decoded, keys, salt, webhook URL)."""
            found: dict[Secret, None] = {}
            for value, kind in _secret_fields(self):
                found.update(dict.fromkeys(s for s in kind.secrets(value) if s))
            return tuple(found)

        def to_dict(self) -> dict[str, object]:
            """Pure. The normalised config in its YAML shape, JSON-able and secret-free.

            Defaults are filled in, secrets are ``***``, URIs are redacted; ``transform`` is a
            list of one-step mappings. It validates back into an equal config when the config
            holds no secret.
            """
            scrubbed = _scrub_data(self._normalised(), self.secrets())
            assert isinstance(scrubbed, dict)  # noqa: S101 - _scrub_data keeps the shape
            return scrubbed

        def describe(self) -> dict[str, object]:
            """Pure. A short, secret-free summary for run records and ``--json`` output."""
            data = self._normalised()
            ((kind, source),) = data["source"].items()
            summary: dict[str, object] = {
                "pipeline": self.pipeline,
                "config_sha256": self.config_sha256,
                "lake": data["lake"],
                "source": {"kind": kind, **source},
                "transform": [step.kind for step in self.transform.steps],
                "validate": [] if self.validate is None else self.validate.check_names(),
                "load": data["load"],
            }
            scrubbed = _scrub_data(summary, self.secrets())
            assert isinstance(scrubbed, dict)  # noqa: S101 - _scrub_data keeps the shape
            return scrubbed


def _secret_fields(value: object) -> Iterator[tuple[Secret, SecretValue]]:
    """Every secret held in ``value`` (a model, mapping or tuple), with its kind."""
    if isinstance(value, RootModel):
        yield from _secret_fields(value.root)
    elif isinstance(value, BaseModel):
        for name, info in type(value).model_fields.items():
            item = getattr(value, name)
            kind = next((m for m in info.metadata if isinstance(m, SecretValue)), None)
            kind = kind or _nested_kind(info.annotation)
            if isinstance(item, Secret) and kind is not None:
                yield item, kind
            else:
                yield from _secret_fields(item)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _secret_fields(item)
    elif isinstance(value, tuple):
        for item in value:
            yield from _secret_fields(item)


def _nested_kind(annotation: object) -> SecretValue | None:
    """The :class:`SecretValue` inside ``Annotated[Secret, SecretValue(...)] | None``."""
    for arg in getattr(annotation, "__args__", ()):
        for meta in getattr(arg, "__metadata__", ()):
            if isinstance(meta, SecretValue):
                return meta
    return None


def _scrub_data(data: object, secrets: tuple[Secret, ...]) -> object:
    if isinstance(data, str):
        return scrub(data, secrets)
    if isinstance(data, dict):
        return {scrub(str(k), secrets): _scrub_data(v, secrets) for k, v in data.items()}
    if isinstance(data, list):
        return [_scrub_data(v, secrets) for v in data]
    return data


def parse_config(
    data: object, env: Mapping[str, str] | None = None
) -> Result[PipelineConfig, ConfigError]:
    """Pure. Validate a parsed YAML document into a :class:`PipelineConfig`, or every problem.

    Args:
        data: The parsed document (``yaml.safe_load`` output, or a dict built in code).
        env: The environment ``${NAME}`` references read; empty when omitted.

    Returns:
        ``Success(config)``, or ``Failure(ConfigError)`` listing every problem with its key
        path, in document order. No problem message contains a secret or an environment value.
    """
    if not isinstance(data, Mapping):
        what = "an empty document" if data is None else kind_of(data)
        message = f"expected a mapping with {_TOP_LEVEL} at the top level, got {what}"
        return Failure(ConfigError((ConfigProblem("", message),)))
    environment = {} if env is None else env
    expanded, broken = interpolate_tree(data, environment)
    secrets: list[Secret] = []
    context = {FILE_CONTEXT: True, SECRETS_CONTEXT: secrets, ENV_CONTEXT: environment}
    found = [Issue(path, message) for path, message in broken]
    try:
        config = PipelineConfig.model_validate(expanded, context=context)
    except ValidationError as exc:
        hidden = {path for path, _ in broken}  # a broken reference is reported once
        found.extend(i for i in issues_from(exc, expanded) if i.path not in hidden)
    if found:
        problems = config_problems(in_document_order(found, expanded))
        return Failure(config_error(problems, secrets) or ConfigError(()))
    return Success(config)
