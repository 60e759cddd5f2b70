"""The pipeline config, declared once as pydantic models: a parsed mapping in, a typed config out.

Pure. One module per section (:mod:`~lakeflow.core.config.lake`, ``source``, ``clean`` and
``transform``, ``validate``, ``load``, ``run``, ``monitoring``), the whole config in
``pipeline``, and the machinery in ``base`` (the base model and schema markers), ``values``
(the value types keys are declared with), ``interpolation`` (``${VAR}``) and ``errors``
(pydantic's errors in lakeflow's words). Adding a key is adding one annotated, documented
field to its section: validation, problems, the JSON Schema (``lakeflow schema``) and the
reference in ``docs/config.md`` follow from it.

:func:`parse_config` reports every problem at once, each at its key path in document order,
with a did-you-mean for unknown keys and misspelt values. Secrets come only from the
environment: a URI with a password written in the file, a literal salt, lakeFS key or SMTP
password are refused. The models are also the typed options of the stage builders
(``lf.clean(CleanStep(...))`` or ``lf.clean(null_handling={...})``) and of
``Checks.from_config``.

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

from lakeflow.core.config.base import ConfigModel, typed_options
from lakeflow.core.config.clean import (
    CleanStep,
    Dedupe,
    DedupeKeep,
    FillValue,
    NullHandling,
    NullStrategy,
    OnError,
    StringOp,
    TargetType,
    TypeConversion,
)
from lakeflow.core.config.errors import config_error, key_path, problems_at
from lakeflow.core.config.interpolation import interpolate
from lakeflow.core.config.lake import LakeConfig
from lakeflow.core.config.load import DatabaseLoadConfig, LoadConfig
from lakeflow.core.config.monitoring import (
    AlertsConfig,
    EmailAlertConfig,
    MonitoringConfig,
    PrometheusConfig,
    SlaConfig,
    SmtpConfig,
    WebhookAlertConfig,
)
from lakeflow.core.config.pipeline import CONFIG_HASH_VERSION, PipelineConfig, parse_config
from lakeflow.core.config.run import RunConfig
from lakeflow.core.config.schema import json_schema
from lakeflow.core.config.source import (
    CsvSourceConfig,
    Incremental,
    LakeSourceConfig,
    NdjsonSourceConfig,
    ParquetSourceConfig,
    SourceConfig,
    SqlSourceConfig,
)
from lakeflow.core.config.transform import (
    AggregateStep,
    AggregationName,
    Bin,
    Categorization,
    CategorizeStep,
    DeriveStep,
    FiltersStep,
    ProtectAction,
    ProtectStep,
    RangeBin,
    TransformConfig,
    TransformStep,
    ValuesBin,
)
from lakeflow.core.config.validate import (
    ColumnCheck,
    ColumnType,
    CompletenessCheck,
    DatasetReference,
    NullResult,
    QualityCheck,
    Reference,
    RuleCheck,
    SchemaCheck,
    Severity,
    ValidateConfig,
    ValuesReference,
)
from lakeflow.core.config.values import Bound, Scalar

__all__ = [
    "CONFIG_HASH_VERSION",
    "AggregateStep",
    "AggregationName",
    "AlertsConfig",
    "Bin",
    "Bound",
    "Categorization",
    "CategorizeStep",
    "CleanStep",
    "ColumnCheck",
    "ColumnType",
    "CompletenessCheck",
    "ConfigModel",
    "CsvSourceConfig",
    "DatabaseLoadConfig",
    "DatasetReference",
    "Dedupe",
    "DedupeKeep",
    "DeriveStep",
    "EmailAlertConfig",
    "FillValue",
    "FiltersStep",
    "Incremental",
    "LakeConfig",
    "LakeSourceConfig",
    "LoadConfig",
    "MonitoringConfig",
    "NdjsonSourceConfig",
    "NullHandling",
    "NullResult",
    "NullStrategy",
    "OnError",
    "ParquetSourceConfig",
    "PipelineConfig",
    "PrometheusConfig",
    "ProtectAction",
    "ProtectStep",
    "QualityCheck",
    "RangeBin",
    "Reference",
    "RuleCheck",
    "RunConfig",
    "Scalar",
    "SchemaCheck",
    "Severity",
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
    "config_error",
    "interpolate",
    "json_schema",
    "key_path",
    "parse_config",
    "problems_at",
    "typed_options",
]
