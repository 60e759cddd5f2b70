"""Pure transform stages: clean, derive, keep, categorize, aggregate, protect.

Each builder takes the values of one step of a pipeline config's ``transform:`` block and returns
a :class:`~lakeflow.core.stage.Stage`; invalid options give a failing stage listing every problem.

>>> import polars as pl
>>> from lakeflow.core.stage import compose
>>> users = compose(
...     clean(null_handling={"income": "fill_mean"}, string_cleaning={"status": ["strip"]}),
...     derive({"income_bracket": "floor(income / 10000) * 10000"}),
...     keep("income > 0", "status = 'active'"),
...     categorize("income", {"Low": {"max": 30000}, "High": {"min": 30001}}),
... )
>>> frame = pl.LazyFrame({"income": [25000.0, None, 90000.0], "status": [" active", "active", "x"]})
>>> users(frame).unwrap().collect().rows()
[(25000.0, 'active', 20000.0, 'Low'), (57500.0, 'active', 50000.0, 'High')]
"""

from lakeflow.core.transform.aggregate import AGGREGATIONS, aggregate
from lakeflow.core.transform.categorize import categorize
from lakeflow.core.transform.clean import (
    CONVERSION_TARGETS,
    DEDUPE_KEEP,
    ISO_DATETIME_FORMATS,
    NULL_STRATEGIES,
    ON_ERROR,
    STRING_OPERATIONS,
    clean,
)
from lakeflow.core.transform.derive import derive, keep
from lakeflow.core.transform.protect import PROTECT_ACTIONS, protect

__all__ = [
    "AGGREGATIONS",
    "CONVERSION_TARGETS",
    "DEDUPE_KEEP",
    "ISO_DATETIME_FORMATS",
    "NULL_STRATEGIES",
    "ON_ERROR",
    "PROTECT_ACTIONS",
    "STRING_OPERATIONS",
    "aggregate",
    "categorize",
    "clean",
    "derive",
    "keep",
    "protect",
]
