"""The ``validation`` suites: every check kind, valid rows and quarantine written, four ways.

Effect (registers two suites; contenders read and write files). ``validation`` has 0.1% bad
rows, ``validation_dirty`` 10%. The input is the users table of :mod:`benchmarks.datasets`,
repaired into a clean table (unique ids and emails, valid ranges) in which a seeded fraction of
rows then gets exactly one defect: an age of 200, an email without ``@``, an id copied from the
previous row (a duplicate: both rows are invalid), an unknown country, a null email or a negative
income. About 7% of ages are under 18 (the ``adult`` warning rule).

The checks (:data:`CHECKS`, the ``validate:`` config block): schema types, ranges, enum and
pattern; required ``id``/``email``; completeness; unique ``id`` and ``email``; a reference list
for ``country``; rules ``adult`` (warning) and ``positive_income`` (error). Every contender
reads the parquet file, evaluates every row-level check on every row, and writes
``valid.parquet`` (rows passing every error check) and ``quarantine.parquet`` (the others, with
the names of the checks they broke), plus ``counts.json`` (failing rows per check):

* ``polars`` (baseline, the floor): the checks hand-written as ONE Polars expression pass
  (``with_columns`` of one boolean per check, collected once), then split and written;
* ``lakeflow``: ``plan_validation`` + ``collect_together([stats], sinks=[valid, quarantine])``
  + ``conclude`` (the report with samples, completeness and quality metrics, as JSON);
* ``pandera``: a ``pandera.polars`` schema validated on a collected DataFrame (``lazy=True``),
  rows split by the failure cases' indices;
* ``pandas``: the tutorial's validator style in vectorised pandas (one boolean mask per rule,
  ``duplicated(keep=False)``, ``isin``, ``str.contains``), rows split by the masks.

Target: lakeflow <= 1.5x the hand-written Polars pass.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from benchmarks.harness import (
    Contender,
    JSONValue,
    PrepareContext,
    Suite,
    Target,
    Workload,
    register,
)

__all__ = [
    "CHECKS",
    "CLEAN",
    "DIRTY",
    "run_lakeflow",
    "run_pandas",
    "run_pandera",
    "run_polars",
    "validation_frame",
]

VERSION: Final = 1
VALID: Final = "valid.parquet"
QUARANTINE: Final = "quarantine.parquet"
COUNTS: Final = "counts.json"
REASONS: Final = "_lakeflow_failed_rules"

EMAIL_PATTERN: Final = r"^[^@\s]+@[^@\s]+$"
STATUSES: Final = ["active", "inactive", "pending", "suspended"]
COUNTRIES: Final = ["US", "DE", "FR", "GB", "IN", "BR", "CA", "JP"]

CHECKS: Final[dict[str, Any]] = {
    "schema": {
        "properties": {
            "id": {"type": "integer", "minimum": 1},
            "age": {"type": "integer", "minimum": 0, "maximum": 150},
            "income": {"type": "number", "minimum": 0},
            "email": {"type": "string", "pattern": EMAIL_PATTERN},
            "status": {"type": "string", "enum": STATUSES},
        },
        "required": ["id", "email"],
    },
    "completeness": {"columns": ["id", "email", "name"], "threshold": 0.9},
    "unique": ["id", "email"],
    "references": {"country": {"values": COUNTRIES}},
    "rules": [
        {"name": "adult", "condition": "age >= 18", "severity": "warning"},
        {"name": "positive_income", "condition": "income > 0"},
    ],
    "max_invalid_fraction": 0.5,
}

# The error rules in report order, as every contender names them.
ERROR_RULES: Final = (
    "schema:id:minimum",
    "schema:age:minimum",
    "schema:age:maximum",
    "schema:income:minimum",
    "schema:email:pattern",
    "schema:status:enum",
    "required:id",
    "required:email",
    "unique:id",
    "unique:email",
    "references:country",
    "positive_income",
)


def validation_frame(rows: int, seed: int, bad_fraction: float) -> Any:
    """Pure. The users table repaired, then ``bad_fraction`` of rows given one defect each."""
    import numpy as np
    import polars as pl

    from benchmarks.datasets import users_frame

    users = users_frame(rows, seed)
    n = users.height
    ident = pl.Series("id", np.arange(1, n + 1, dtype=np.int64))
    clean = users.with_columns(
        ident,
        pl.col("name").str.strip_chars().fill_null("Anonymous"),
        pl.format("user{}@example.com", ident).alias("email"),
        pl.col("age").clip(0, 100).fill_null(40),
        pl.col("income").abs().fill_null(50_000.0) + 1.0,
        pl.col("status")
        .str.strip_chars()
        .str.to_lowercase()
        .fill_null("active")
        .replace_strict({s: s for s in STATUSES}, default="active"),
        pl.col("country")
        .str.to_uppercase()
        .replace_strict({c: c for c in COUNTRIES}, default="US"),
        pl.col("created_at").str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="us"),
    )
    rng = np.random.default_rng([seed, rows, round(bad_fraction * 1_000_000), VERSION])
    bad = rng.random(n) < bad_fraction
    kind = pl.Series(np.where(bad, rng.integers(0, 6, n), -1))
    return clean.with_columns(
        pl.when(kind == 0).then(200).otherwise(pl.col("age")).alias("age"),
        pl.when(kind == 1)
        .then(pl.format("user{} at example.com", pl.col("id")))
        .when(kind == 4)
        .then(None)
        .otherwise(pl.col("email"))
        .alias("email"),
        pl.when(kind == 2).then(pl.col("id").shift(1, fill_value=2)).otherwise(pl.col("id")),
        pl.when(kind == 3).then(pl.lit("XX")).otherwise(pl.col("country")).alias("country"),
        pl.when(kind == 5).then(-5.0).otherwise(pl.col("income")).alias("income"),
    )


def _prepare(ctx: PrepareContext, bad_fraction: float) -> dict[str, JSONValue]:
    tag = f"{bad_fraction:g}".replace(".", "p")
    path = ctx.data_dir / f"validation-{ctx.size}-seed{ctx.seed}-bad{tag}-v{VERSION}.parquet"
    if not path.exists():
        ctx.data_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        validation_frame(ctx.size, ctx.seed, bad_fraction).write_parquet(tmp)
        tmp.replace(path)
    return {"users": str(path)}


def prepare_clean(ctx: PrepareContext) -> dict[str, JSONValue]:
    """Effect. The input with 0.1% bad rows (cached under ``ctx.data_dir``)."""
    return _prepare(ctx, 0.001)


def prepare_dirty(ctx: PrepareContext) -> dict[str, JSONValue]:
    """Effect. The input with 10% bad rows (cached under ``ctx.data_dir``)."""
    return _prepare(ctx, 0.10)


def _write_counts(work: Workload, counts: Mapping[str, int]) -> None:
    (work.out_dir / COUNTS).write_text(json.dumps(dict(counts), sort_keys=True))


# --- contenders --------------------------------------------------------------------------------


def run_polars(work: Workload) -> None:
    """Effect. The floor: the same row checks hand-written as one Polars expression pass."""
    import polars as pl

    c = pl.col
    failing = {
        "schema:id:minimum": c("id") < 1,
        "schema:age:minimum": c("age") < 0,
        "schema:age:maximum": c("age") > 150,
        "schema:income:minimum": c("income") < 0,
        "schema:email:pattern": ~c("email").str.contains(EMAIL_PATTERN),
        "schema:status:enum": ~c("status").is_in(STATUSES),
        "required:id": c("id").is_null(),
        "required:email": c("email").is_null(),
        "unique:id": c("id").is_duplicated() & c("id").is_not_null(),
        "unique:email": c("email").is_duplicated() & c("email").is_not_null(),
        "references:country": ~c("country").is_in(COUNTRIES),
        "positive_income": c("income") <= 0,
        "adult": c("age") < 18,
    }
    lazy = pl.scan_parquet(work.input_path("users"))
    columns = lazy.collect_schema().names()
    flags = [f"__bad_{i}" for i in range(len(failing))]
    frame = lazy.with_columns(
        e.fill_null(False).alias(f) for f, e in zip(flags, failing.values(), strict=True)
    ).collect()
    errors = [pl.col(f) for f, n in zip(flags, failing, strict=True) if n in ERROR_RULES]
    bad = pl.any_horizontal(errors)
    reasons = pl.concat_list(
        [
            pl.when(pl.col(f)).then(pl.lit(n))
            for f, n in zip(flags, failing, strict=True)
            if n in ERROR_RULES
        ]
    ).list.drop_nulls()
    frame.filter(~bad).select(columns).write_parquet(work.out_dir / VALID)
    frame.filter(bad).select(*columns, reasons.alias(REASONS)).write_parquet(
        work.out_dir / QUARANTINE
    )
    sums = frame.select(pl.col(f).sum().alias(n) for f, n in zip(flags, failing, strict=True))
    _write_counts(work, {k: int(v) for k, v in sums.row(0, named=True).items()})


def run_lakeflow(work: Workload) -> None:
    """Effect. lakeflow: plan (pure), one execution with two sinks, conclude, write the report."""
    import polars as pl

    from lakeflow.core.validate import Checks, plan_validation
    from lakeflow.execute import collect_together

    checks = Checks.from_config(CHECKS).unwrap()
    plan = plan_validation(pl.scan_parquet(work.input_path("users")), checks).unwrap()
    (stats,) = collect_together(
        [plan.stats],
        sinks=[(plan.valid, work.out_dir / VALID), (plan.quarantine, work.out_dir / QUARANTINE)],
    ).unwrap()
    outcome = plan.conclude(stats).unwrap()
    (work.out_dir / "report.json").write_text(json.dumps(outcome.report.to_json()))
    _write_counts(
        work,
        {
            r.name: r.failed_rows
            for r in outcome.report.rules
            if r.failed_rows is not None and r.level == "row"
        },
    )


def run_pandera(work: Workload) -> None:
    """Effect. pandera's polars backend on a collected DataFrame; rows split by failure index."""
    import warnings

    import pandera.polars as pa
    import polars as pl

    schema = pa.DataFrameSchema(
        {
            "id": pa.Column(pl.Int64, pa.Check.ge(1), unique=True),
            "age": pa.Column(
                pl.Int64,
                [pa.Check.in_range(0, 150), pa.Check.ge(18, raise_warning=True)],
                nullable=True,
            ),
            "income": pa.Column(pl.Float64, [pa.Check.ge(0), pa.Check.gt(0)], nullable=True),
            "email": pa.Column(pl.String, pa.Check.str_matches(EMAIL_PATTERN), unique=True),
            "status": pa.Column(pl.String, pa.Check.isin(STATUSES), nullable=True),
            "country": pa.Column(pl.String, pa.Check.isin(COUNTRIES), nullable=True),
        }
    )
    frame = pl.read_parquet(work.input_path("users"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            schema.validate(frame, lazy=True)
            cases = pl.DataFrame({"index": [], "column": [], "check": []})
        except pa.errors.SchemaErrors as exc:
            cases = exc.failure_cases
    cases = cases.filter(pl.col("index").is_not_null()).select(
        pl.col("index").cast(pl.UInt32), (pl.col("column") + ":" + pl.col("check")).alias("rule")
    )
    per_row = cases.group_by("index").agg(pl.col("rule").alias(REASONS))
    indexed = frame.with_row_index("index")
    quarantine = indexed.join(per_row, on="index", how="inner").drop("index")
    valid = indexed.join(per_row, on="index", how="anti").drop("index")
    valid.write_parquet(work.out_dir / VALID)
    quarantine.write_parquet(work.out_dir / QUARANTINE)
    counts = cases.group_by("rule").len()
    _write_counts(work, dict(zip(counts["rule"].to_list(), counts["len"].to_list(), strict=True)))


def run_pandas(work: Workload) -> None:
    """Effect. The tutorial's DataValidator style, vectorised: a mask per rule, then a split."""
    import numpy as np
    import pandas as pd

    df = pd.read_parquet(work.input_path("users"))
    email = df["email"]
    failing = {
        "schema:id:minimum": df["id"] < 1,
        "schema:age:minimum": df["age"] < 0,
        "schema:age:maximum": df["age"] > 150,
        "schema:income:minimum": df["income"] < 0,
        "schema:email:pattern": email.notna()
        & ~email.str.contains(EMAIL_PATTERN, regex=True, na=False),
        "schema:status:enum": df["status"].notna() & ~df["status"].isin(STATUSES),
        "required:id": df["id"].isna(),
        "required:email": email.isna(),
        "unique:id": df["id"].notna() & df["id"].duplicated(keep=False),
        "unique:email": email.notna() & email.duplicated(keep=False),
        "references:country": df["country"].notna() & ~df["country"].isin(COUNTRIES),
        "positive_income": df["income"] <= 0,
        "adult": df["age"] < 18,
    }
    masks = pd.DataFrame({k: v.fillna(False).astype(bool) for k, v in failing.items()})
    errors = masks[list(ERROR_RULES)]
    bad = errors.any(axis=1).to_numpy()
    names = np.array([f"{n};" for n in ERROR_RULES], dtype=object)
    reasons = errors[bad].to_numpy() @ names  # concatenated names per row, no Python row loop
    df[~bad].to_parquet(work.out_dir / VALID, index=False)
    quarantine = df[bad].assign(**{REASONS: reasons})
    quarantine.to_parquet(work.out_dir / QUARANTINE, index=False)
    _write_counts(work, {str(k): int(v) for k, v in masks.sum().items()})


# --- verification ------------------------------------------------------------------------------


def verify(outputs: Mapping[str, Path]) -> list[str]:
    """Effect (reads outputs). Every contender keeps the same valid rows and quarantines as many."""
    import polars as pl

    from benchmarks.datasets import same_rows

    problems = same_rows({name: out / VALID for name, out in outputs.items()}, reference="polars")
    heights = {
        name: pl.scan_parquet(out / QUARANTINE).select(pl.len()).collect().item()
        for name, out in outputs.items()
    }
    if len(set(heights.values())) > 1:
        problems.append(f"quarantined rows differ: {heights}")
    return problems


def output_facts(out_dir: Path) -> dict[str, JSONValue]:
    """Effect (reads parquet footers). Valid and quarantined rows written."""
    import polars as pl

    def rows(name: str) -> int:
        return int(pl.scan_parquet(out_dir / name).select(pl.len()).collect().item())

    return {"rows_out": rows(VALID), "quarantined": rows(QUARANTINE)}


def _suite(name: str, description: str, prepare: Any) -> Suite:
    return Suite(
        name=name,
        description=description,
        prepare=prepare,
        contenders=(
            Contender(
                "polars",
                run_polars,
                "the checks hand-written as one Polars expression pass, collected, split",
                imports=("polars",),
            ),
            Contender(
                "lakeflow",
                run_lakeflow,
                "plan_validation + collect_together (one read, 2 sinks) + report",
                imports=("polars", "lakeflow.core.validate", "lakeflow.execute"),
            ),
            Contender(
                "pandera",
                run_pandera,
                "pandera.polars schema on a collected DataFrame, split by failure cases",
                imports=("polars", "pandera.polars"),
            ),
            Contender(
                "pandas",
                run_pandas,
                "tutorial-style validator in vectorised pandas, split by masks",
                imports=("numpy", "pandas", "pyarrow.parquet"),
            ),
        ),
        baseline="polars",
        targets=(
            Target("lakeflow", "time", 1.5, label="lakeflow <= 1.5x the hand-written Polars pass"),
        ),
        default_sizes=(1_000_000, 10_000_000),
        verify=verify,
        output_facts=output_facts,
        packages=("polars", "pandera", "pandas"),
    )


CLEAN = register(
    _suite("validation", "every check kind on users with 0.1% bad rows", prepare_clean)
)
DIRTY = register(
    _suite("validation_dirty", "every check kind on users with 10% bad rows", prepare_dirty)
)
