"""Pure validation: checks compiled to one lazy plan of valid rows, quarantine and counts.

Every rule is really evaluated, failing rows are split off with the names of the rules they
broke (``_lakeflow_failed_rules``), and the report is computed in the same pass:

>>> import polars as pl
>>> from lakeflow.execute import validate
>>> frame = pl.LazyFrame({"id": [1, 2, 2], "age": [30, -1, 40]})
>>> checks = Checks(
...     schema=Schema({"age": Property(type="integer", minimum=0)}),
...     unique=["id"],
...     max_invalid_fraction=1.0,
... )
>>> result = validate(frame, checks).unwrap()
>>> result.quarantine.collect().sort("age")[QUARANTINE_REASONS].to_list()
[['schema:age:minimum', 'unique:id'], ['unique:id']]
>>> for part in result.report.summary().split("; "):
...     print(part)
validation warning
2 of 3 rows invalid (66.67% <= max 100.00%)
failed: schema:age:minimum (1 row), unique:id (2 rows)
"""

from lakeflow.core.validate.checks import (
    Bound,
    Checks,
    Completeness,
    DatasetRef,
    FrameRef,
    PanderaRef,
    PanderaSchema,
    Property,
    PublishedRows,
    Quality,
    Reference,
    Rule,
    Schema,
    TypeName,
    UniqueScope,
    ValuesRef,
    resolve_pandera,
    resolve_references,
)
from lakeflow.core.validate.plan import (
    QUARANTINE_REASONS,
    Validated,
    ValidationOutcome,
    ValidationPlan,
    plan_validation,
)
from lakeflow.core.validate.report import (
    REPORT_SCHEMA_VERSION,
    QualityMetrics,
    RuleResult,
    Totals,
    ValidationReport,
)

__all__ = [
    "QUARANTINE_REASONS",
    "REPORT_SCHEMA_VERSION",
    "Bound",
    "Checks",
    "Completeness",
    "DatasetRef",
    "FrameRef",
    "PanderaRef",
    "PanderaSchema",
    "Property",
    "PublishedRows",
    "Quality",
    "QualityMetrics",
    "Reference",
    "Rule",
    "RuleResult",
    "Schema",
    "Totals",
    "TypeName",
    "UniqueScope",
    "Validated",
    "ValidationOutcome",
    "ValidationPlan",
    "ValidationReport",
    "ValuesRef",
    "plan_validation",
    "resolve_pandera",
    "resolve_references",
]
