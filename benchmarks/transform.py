"""The ``transform`` suite: the tutorial's cleaning + business rules + a parquet write, three ways.

Effect (registers the suite; contenders read and write files). Every contender reads the same
cached users parquet file (:mod:`benchmarks.datasets`), applies the same pipeline and writes one
parquet file:

* clean: remove whole-row duplicates; nulls: ``email`` drop, ``age`` 0, ``income`` mean (of
  the rows left at that point), ``status`` "active"; types: ``created_at`` datetime, ``age``
  int, ``income`` float; strings: ``email`` strip + lower, ``name`` strip, ``status`` strip +
  lower;
* derive ``income_bracket = floor(income / 10000) * 10000``;
* keep ``age >= 18``, ``income > 0``, ``status = 'active'``;
* categorize ``income`` into ``income_category``: Low [0, 30000], Medium [30001, 80000],
  High [80001, inf), anything else (the gaps, e.g. 30000.50) "Other" — the tutorial's
  first-match ``min <= value <= max`` rule.

Contenders: ``pandas`` (baseline), ``polars`` (hand-written, the floor), ``lakeflow`` (the
library's stages + ``sink_parquet``). Heavy libraries are imported inside functions so that a
child process only loads what its contender uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final

from benchmarks.harness import (
    Contender,
    JSONValue,
    PrepareContext,
    Suite,
    Target,
    Workload,
    register,
)

if TYPE_CHECKING:
    from lakeflow.core.stage import Stage

__all__ = [
    "CATEGORIES",
    "DERIVE",
    "FILTERS",
    "NULL_HANDLING",
    "OUTPUT",
    "STRING_CLEANING",
    "SUITE",
    "TYPE_CONVERSIONS",
    "run_lakeflow",
    "run_pandas",
    "run_polars",
    "users_transform",
]

OUTPUT: Final = "users_clean.parquet"
CREATED_AT_FORMAT: Final = "%Y-%m-%d %H:%M:%S"

# The pipeline, in the shapes of DESIGN.md's ``transform:`` block (lakeflow takes them as is;
# the pandas and Polars contenders spell the same steps out by hand).
NULL_HANDLING: Final[dict[str, str]] = {
    "email": "drop",
    "age": "fill_zero",
    "income": "fill_mean",
    "status": "active",
}
TYPE_CONVERSIONS: Final[dict[str, str]] = {
    "created_at": "datetime",
    "age": "int",
    "income": "float",
}
STRING_CLEANING: Final[dict[str, list[str]]] = {
    "email": ["strip", "lower"],
    "name": ["strip"],
    "status": ["strip", "lower"],
}
DERIVE: Final[dict[str, str]] = {"income_bracket": "floor(income / 10000) * 10000"}
FILTERS: Final[tuple[str, ...]] = ("age >= 18", "income > 0", "status = 'active'")
CATEGORIES: Final[dict[str, dict[str, float]]] = {
    "Low": {"min": 0, "max": 30000},
    "Medium": {"min": 30001, "max": 80000},
    "High": {"min": 80001},
}


def run_pandas(work: Workload) -> None:
    """Effect. The baseline: the tutorial's DataCleaning + BusinessLogic transformers in pandas.

    Same steps and order as the tutorial, written the way a competent pandas user would: no
    ``df.copy()`` per step, a boolean mask instead of ``DataFrame.query``, a vectorised
    expression instead of ``DataFrame.eval``, and ``np.select`` instead of the tutorial's
    per-value ``.apply(categorize_value)``. (The tutorial's ``dtype == 'object'`` guard on
    string cleaning is dropped: pandas 3 reads text as the ``str`` dtype and the guard would
    silently skip the cleaning.)
    """
    import numpy as np
    import pandas as pd

    df = pd.read_parquet(work.input_path("users"))
    # clean: duplicates, then nulls in the configured order (the mean is of the rows left)
    df = df.drop_duplicates()
    df = df.dropna(subset=["email"])
    df["age"] = df["age"].fillna(0)
    df["income"] = df["income"].fillna(df["income"].mean())
    df["status"] = df["status"].fillna("active")
    # clean: types
    df["created_at"] = pd.to_datetime(df["created_at"], format=CREATED_AT_FORMAT)
    df["age"] = df["age"].astype("int64")
    df["income"] = df["income"].astype("float64")
    # clean: strings
    df["email"] = df["email"].str.strip().str.lower()
    df["name"] = df["name"].str.strip()
    df["status"] = df["status"].str.strip().str.lower()
    # business rules: derive, filter, categorize
    df["income_bracket"] = np.floor(df["income"] / 10000) * 10000
    df = df[(df["age"] >= 18) & (df["income"] > 0) & (df["status"] == "active")]
    income = df["income"]
    category = np.select(
        [
            (income >= 0) & (income <= 30000),
            (income >= 30001) & (income <= 80000),
            income >= 80001,
        ],
        ["Low", "Medium", "High"],
        default="Other",
    )
    df["income_category"] = pd.Series(category, index=df.index, dtype="str")
    df.to_parquet(work.out_dir / OUTPUT, index=False)


def run_polars(work: Workload) -> None:
    """Effect. The floor: the same work hand-written in lazy Polars, streamed to parquet.

    What a good Polars user writes without tuning: one lazy chain, ``unique()`` for the
    whole-row dedupe, ``when/then`` for the categories, ``sink_parquet`` at the end.
    """
    import polars as pl

    income = pl.col("income")
    (
        pl.scan_parquet(work.input_path("users"))
        .unique()
        .filter(pl.col("email").is_not_null())
        .with_columns(
            pl.col("age").fill_null(0),
            income.fill_null(income.mean()),
            pl.col("status").fill_null("active"),
        )
        .with_columns(
            pl.col("created_at").str.to_datetime(CREATED_AT_FORMAT, time_unit="us"),
            pl.col("age").cast(pl.Int64),
            income.cast(pl.Float64),
            pl.col("email").str.strip_chars().str.to_lowercase(),
            pl.col("name").str.strip_chars(),
            pl.col("status").str.strip_chars().str.to_lowercase(),
        )
        .with_columns(income_bracket=(income / 10000).floor() * 10000)
        .filter((pl.col("age") >= 18) & (income > 0) & (pl.col("status") == "active"))
        .with_columns(
            income_category=pl.when((income >= 0) & (income <= 30000))
            .then(pl.lit("Low"))
            .when((income >= 30001) & (income <= 80000))
            .then(pl.lit("Medium"))
            .when(income >= 80001)
            .then(pl.lit("High"))
            .otherwise(pl.lit("Other"))
        )
        .sink_parquet(work.out_dir / OUTPUT)
    )


def users_transform() -> Stage:
    """Pure. The suite's pipeline as lakeflow stages (one Polars plan); other suites reuse it."""
    from lakeflow.core.transform import categorize, clean, derive, keep

    return (
        clean(
            remove_duplicates=True,
            null_handling=NULL_HANDLING,
            type_conversions=TYPE_CONVERSIONS,
            string_cleaning=STRING_CLEANING,
        )
        >> derive(DERIVE)
        >> keep(*FILTERS)
        >> categorize("income", CATEGORIES)
    )


def run_lakeflow(work: Workload) -> None:
    """Effect. lakeflow: ``clean >> derive >> keep >> categorize`` on a scan, then ``sink_parquet``.

    The stages build one lazy plan (pure); the only effects are the scan and the sink, which is
    what the shell does with a pipeline's output.
    """
    import polars as pl
    from returns.result import Failure, Success

    match users_transform()(pl.scan_parquet(work.input_path("users"))):
        case Success(plan):
            plan.sink_parquet(work.out_dir / OUTPUT)
        case Failure(error):
            raise RuntimeError(f"lakeflow pipeline failed: {error}")


def prepare(ctx: PrepareContext) -> dict[str, JSONValue]:
    """Effect. Generate (or reuse) the cached users parquet file for ``ctx.size`` rows."""
    from benchmarks.datasets import users_parquet

    return {"users": str(users_parquet(ctx.size, ctx.data_dir, seed=ctx.seed))}


def verify(outputs: Mapping[str, Path]) -> list[str]:
    """Effect (reads outputs). Problems where a contender's rows differ from the baseline's."""
    from benchmarks.datasets import same_rows

    return same_rows({name: out / OUTPUT for name, out in outputs.items()}, reference="pandas")


def output_facts(out_dir: Path) -> dict[str, JSONValue]:
    """Effect (reads the parquet footer). Rows and columns written."""
    from benchmarks.datasets import parquet_facts

    return parquet_facts(out_dir / OUTPUT)


TEN_MILLION: Final = 10_000_000

SUITE = register(
    Suite(
        name="transform",
        description=(
            "tutorial cleaning + business rules on messy users, read from and written to parquet"
        ),
        prepare=prepare,
        contenders=(
            Contender(
                "pandas",
                run_pandas,
                "pandas 3: the tutorial's transformers, vectorised (np.select, masks), to_parquet",
                imports=("numpy", "pandas", "pyarrow.parquet"),
            ),
            Contender(
                "polars",
                run_polars,
                "hand-written lazy Polars (unique, when/then), sink_parquet",
                imports=("polars",),
            ),
            Contender(
                "lakeflow",
                run_lakeflow,
                "lakeflow stages clean >> derive >> keep >> categorize, sink_parquet",
                imports=("polars", "returns.result", "lakeflow.core.transform"),
            ),
        ),
        baseline="pandas",
        targets=(
            Target(
                "lakeflow",
                "time",
                1.0,
                reference="polars",
                label="lakeflow time <= hand-written Polars time",
                min_size=TEN_MILLION,
            ),
            Target(
                "lakeflow",
                "time",
                1 / 3.5,
                label="lakeflow >= 3.5x faster than pandas",
                min_size=TEN_MILLION,
            ),
            Target(
                "lakeflow",
                "rss",
                0.6,
                label="lakeflow peak RSS <= 0.6x pandas'",
                min_size=TEN_MILLION,
            ),
        ),
        verify=verify,
        output_facts=output_facts,
        packages=("polars", "pandas", "numpy", "pyarrow", "returns"),
    )
)
