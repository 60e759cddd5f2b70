"""Deterministic, messy "users" data for benchmarks: vectorised generation plus a parquet cache.

:func:`users_frame` is pure (same ``rows`` and ``seed`` -> the same frame, bit for bit);
:func:`users_parquet` is an effect (writes the cache file once, then reuses it). Any suite may
use them: ``users_parquet(ctx.size, ctx.data_dir, seed=ctx.seed)``.

Columns (the tutorial's ``users`` table, as a source database would hand it over)::

    id          Int64     1..n_unique; re-extracted rows repeat an id (see below)
    name        String    "First Last"; 5% padded with spaces, 2% null
    email       String    "first.last<id>@domain"; 3% UPPER, 2% Title, 2% invalid (no "@"),
                          3% padded, 0.5% empty, 3% null
    age         Int64     ~N(42, 16) clipped to 0..100 (so ~7% minors); 0.5% out of range
                          (-20..-1 or 151..250); 2% null
    income      Float64   log-normal around 55,000 (cents); 1% negative, 1% zero, 0.4% exactly
                          on a category edge (30,000 / 30,001 / 80,000 / 80,001); 5% null
    status      String    active 70%, inactive 15%, pending 10%, suspended 5%; 8% UPPER or
                          Title case, 5% padded, 2% null
    country     String    US DE FR GB IN BR CA JP; 2% lower case, 1% invalid ("XX" or ""), 1% null
    created_at  String    "YYYY-MM-DD HH:MM:SS" in 2018..2024 (a text column, as many sources
                          deliver it: the pipeline converts it); 1% null
    updated_at  Datetime  created_at + 0..400 days (us)

Duplicates: 3% of the rows are exact copies of another row (whole-row duplicates, what
``remove_duplicates`` removes) and 1% repeat an id with a later ``updated_at`` (same entity
extracted twice: not a whole-row duplicate; a uniqueness check on ``id`` catches it). Ids are
shuffled and the extra rows are spread through the file, so duplicates are not adjacent.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeAlias

import numpy as np
import polars as pl

from benchmarks.harness import JSONValue

__all__ = [
    "GENERATOR_VERSION",
    "USERS_SCHEMA",
    "parquet_facts",
    "same_rows",
    "users_frame",
    "users_parquet",
]

GENERATOR_VERSION = 3
"""Bump when the generated data changes: it is part of the cache file name."""

USERS_SCHEMA = pl.Schema(
    {
        "id": pl.Int64(),
        "name": pl.String(),
        "email": pl.String(),
        "age": pl.Int64(),
        "income": pl.Float64(),
        "status": pl.String(),
        "country": pl.String(),
        "created_at": pl.String(),
        "updated_at": pl.Datetime("us"),
    }
)

EXACT_DUPLICATE_FRACTION = 0.03
SAME_ID_FRACTION = 0.01

_FIRST = (
    "Ada",
    "Alan",
    "Barbara",
    "Grace",
    "Edsger",
    "Donald",
    "Margaret",
    "Ken",
    "Dennis",
    "Linus",
    "Guido",
    "Bjarne",
    "Anders",
    "Radia",
    "Frances",
    "John",
    "Katherine",
    "Dorothy",
    "Tim",
    "Vint",
    "Leslie",
    "Niklaus",
    "Hedy",
    "Shafi",
    "Sophie",
    "Yukihiro",
    "James",
    "Rasmus",
    "Larry",
    "Brian",
    "Fran",
    "Mary",
    "Carl",
    "Emmy",
    "Sofia",
    "Ingrid",
    "Jean",
    "Maria",
    "Ahmed",
    "Wei",
    "Priya",
    "Olu",
    "Lucia",
    "Mateo",
    "Noor",
    "Kenji",
    "Zofia",
    "Aisha",
)
_LAST = (
    "Lovelace",
    "Turing",
    "Liskov",
    "Hopper",
    "Dijkstra",
    "Knuth",
    "Hamilton",
    "Thompson",
    "Ritchie",
    "Torvalds",
    "Rossum",
    "Stroustrup",
    "Hejlsberg",
    "Perlman",
    "Allen",
    "McCarthy",
    "Johnson",
    "Vaughan",
    "Berners-Lee",
    "Cerf",
    "Lamport",
    "Wirth",
    "Lamarr",
    "Goldwasser",
    "Wilson",
    "Matsumoto",
    "Gosling",
    "Lerdorf",
    "Wall",
    "Kernighan",
    "Bilas",
    "Shaw",
    "Gauss",
    "Noether",
    "Kovalevskaya",
    "Daubechies",
    "Sammet",
    "Mirzakhani",
    "Yamamoto",
    "Kowalska",
    "Okafor",
    "Rossi",
    "Garcia",
    "Haddad",
    "Chen",
)
_DOMAINS = ("example.com", "mail.example.org", "corp.example.net", "example.de", "example.fr")
_STATUSES = ("active", "inactive", "pending", "suspended")
_STATUS_WEIGHTS = (0.70, 0.15, 0.10, 0.05)
_COUNTRIES = ("US", "DE", "FR", "GB", "IN", "BR", "CA", "JP")
_EDGES = (30_000.0, 30_001.0, 80_000.0, 80_001.0)
_CREATED_FROM = int(datetime(2018, 1, 1, tzinfo=UTC).timestamp())
_CREATED_TO = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
_DAY_S = 86_400
_SPREAD = 64


Mess: TypeAlias = Callable[[pl.Series], pl.Series]


def _vocab(values: tuple[str, ...], index: np.ndarray) -> pl.Series:
    return pl.Series(values, dtype=pl.String).gather(pl.Series(index))


def _mess(values: pl.Series, rng: np.random.Generator, fraction: float, how: Mess) -> pl.Series:
    """``how`` applied to a random ``fraction`` of ``values`` (only those rows are computed)."""
    rows = np.flatnonzero(rng.random(len(values)) < fraction)
    return values.scatter(rows, how(values.gather(rows)))


def _nulls(values: pl.Series, rng: np.random.Generator, fraction: float) -> pl.Series:
    return values.scatter(np.flatnonzero(rng.random(len(values)) < fraction), None)


def _upper(values: pl.Series) -> pl.Series:
    return values.str.to_uppercase()


def _title(values: pl.Series) -> pl.Series:
    return values.str.to_titlecase()


def _lower(values: pl.Series) -> pl.Series:
    return values.str.to_lowercase()


def _pad(values: pl.Series) -> pl.Series:
    return " " + values + "  "


def _no_at(values: pl.Series) -> pl.Series:
    return values.str.replace("@", "_at_", literal=True)


def _empty(values: pl.Series) -> pl.Series:
    return pl.Series([""] * len(values), dtype=pl.String)


def _unique_users(rng: np.random.Generator, n: int) -> pl.DataFrame:
    """Pure given ``rng``'s state. ``n`` distinct users (ids 1..n, shuffled), every kind of mess.

    Rows are independent draws, so only the ids need shuffling: no row-wise reordering of the
    (expensive, string-heavy) frame is needed.
    """
    ids = rng.permutation(np.arange(1, n + 1, dtype=np.int64))
    first_at = rng.integers(0, len(_FIRST), n)
    last_at = rng.integers(0, len(_LAST), n)
    parts = pl.DataFrame(
        {
            "first": _vocab(_FIRST, first_at),
            "last": _vocab(_LAST, last_at),
            "first_lower": _vocab(tuple(v.lower() for v in _FIRST), first_at),
            "last_lower": _vocab(tuple(v.lower() for v in _LAST), last_at),
            "domain": _vocab(_DOMAINS, rng.integers(0, len(_DOMAINS), n)),
            "id": ids,
        }
    ).select(
        name=pl.concat_str("first", pl.lit(" "), "last"),
        email=pl.concat_str(
            "first_lower",
            pl.lit("."),
            "last_lower",
            pl.col("id").cast(pl.String),
            pl.lit("@"),
            "domain",
        ),
    )

    name = _nulls(_mess(parts["name"], rng, 0.05, _pad), rng, 0.02)
    email = parts["email"]
    email = _mess(email, rng, 0.03, _upper)
    email = _mess(email, rng, 0.02, _title)
    email = _mess(email, rng, 0.02, _no_at)
    email = _mess(email, rng, 0.03, _pad)
    email = _mess(email, rng, 0.005, _empty)
    email = _nulls(email, rng, 0.03)

    age = np.clip(np.rint(rng.normal(42, 16, n)), 0, 100).astype(np.int64)
    out_of_range = np.flatnonzero(rng.random(n) < 0.005)
    age[out_of_range] = np.where(
        rng.random(len(out_of_range)) < 0.5,
        rng.integers(-20, 0, len(out_of_range)),
        rng.integers(151, 251, len(out_of_range)),
    )

    income = np.round(np.exp(rng.normal(np.log(55_000), 0.6, n)), 2)
    kind = rng.random(n)
    income = np.where(kind < 0.01, -income, income)
    income = np.where((kind >= 0.01) & (kind < 0.02), 0.0, income)
    edges = np.asarray(_EDGES)[rng.integers(0, len(_EDGES), n)]
    income = np.where((kind >= 0.02) & (kind < 0.024), edges, income)

    status = _vocab(
        _STATUSES, np.searchsorted(np.cumsum(_STATUS_WEIGHTS), rng.random(n) * 0.999_999)
    )
    status = _mess(status, rng, 0.04, _upper)
    status = _mess(status, rng, 0.04, _title)
    status = _mess(status, rng, 0.05, _pad)

    country = _vocab(_COUNTRIES, rng.integers(0, len(_COUNTRIES), n))
    country = _mess(country, rng, 0.02, _lower)
    invalid = np.flatnonzero(rng.random(n) < 0.01)
    country = country.scatter(invalid, _vocab(("XX", ""), rng.integers(0, 2, len(invalid))))

    created_s = rng.integers(_CREATED_FROM, _CREATED_TO, n)
    updated_s = created_s + rng.integers(0, 400 * _DAY_S, n)
    created_at = pl.select(
        pl.from_epoch(pl.Series(created_s), time_unit="s").dt.strftime("%Y-%m-%d %H:%M:%S")
    ).to_series()

    return pl.DataFrame(
        {
            "id": ids,
            "name": name,
            "email": email,
            "age": _nulls(pl.Series(age), rng, 0.02),
            "income": _nulls(pl.Series(income), rng, 0.05),
            "status": _nulls(status, rng, 0.02),
            "country": _nulls(country, rng, 0.01),
            "created_at": _nulls(created_at, rng, 0.01),
            "updated_at": pl.Series(updated_s * 1_000_000).cast(pl.Datetime("us")),
        }
    )


def users_frame(rows: int, seed: int = 42) -> pl.DataFrame:
    """Pure. ``rows`` messy users, deterministic in (``rows``, ``seed``)."""
    if rows < 1:
        raise ValueError("rows must be positive")
    rng = np.random.default_rng([seed, rows, GENERATOR_VERSION])
    exact = round(rows * EXACT_DUPLICATE_FRACTION)
    same_id = round(rows * SAME_ID_FRACTION)
    unique = rows - exact - same_id
    base = _unique_users(rng, unique)
    copies = base[rng.integers(0, unique, exact)]
    later = pl.Series(rng.integers(1, 30 * _DAY_S, same_id) * 1_000_000).cast(pl.Duration("us"))
    again = base[rng.integers(0, unique, same_id)].with_columns(pl.col("updated_at") + later)
    extra = pl.concat([copies, again])
    extra = extra[rng.permutation(extra.height)]
    # Spread the extra rows through the file in _SPREAD slices (one sequential concat instead
    # of a random gather of every row): a copy lands far from its original.
    cut_base = np.linspace(0, unique, _SPREAD + 1).astype(np.int64)
    cut_extra = np.linspace(0, extra.height, _SPREAD + 1).astype(np.int64)
    pieces: list[pl.DataFrame] = []
    for i in range(_SPREAD):
        pieces.append(base.slice(cut_base[i], cut_base[i + 1] - cut_base[i]))
        pieces.append(extra.slice(cut_extra[i], cut_extra[i + 1] - cut_extra[i]))
    return pl.concat(pieces, rechunk=True)


def users_parquet(rows: int, data_dir: Path, *, seed: int = 42) -> Path:
    """Effect. The cached parquet file of :func:`users_frame` (generated on first use)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / f"users-{rows}-seed{seed}-v{GENERATOR_VERSION}.parquet"
    if path.exists():
        return path
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        users_frame(rows, seed).write_parquet(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    for stale in data_dir.glob(f"users-{rows}-seed{seed}-v*.parquet"):
        if stale != path:  # made by an older generator: never read again
            stale.unlink(missing_ok=True)
    return path


def parquet_facts(path: Path) -> dict[str, JSONValue]:
    """Effect (reads the parquet footer only). ``rows_out`` and ``columns`` of ``path``."""
    plan = pl.scan_parquet(path)
    columns: list[JSONValue] = list(plan.collect_schema().names())
    return {"rows_out": int(plan.select(pl.len()).collect().item()), "columns": columns}


def same_rows(
    outputs: Mapping[str, Path], *, reference: str | None = None, rtol: float = 1e-9
) -> list[str]:
    """Effect (reads files). Problems where an output's rows differ from the reference's.

    Row order is ignored (frames are sorted by every column first); column names, their order
    and dtypes must match; floats may differ by ``rtol`` (a mean summed in another order).

    Args:
        outputs: Contender name -> parquet file (or folder of parquet files) it wrote.
        reference: The contender everyone is compared with; default the first one.
        rtol: Relative tolerance for float columns.
    """
    from polars.testing import assert_frame_equal

    if not outputs:
        return []
    ref_name = reference if reference is not None and reference in outputs else next(iter(outputs))
    expected = _sorted(pl.read_parquet(outputs[ref_name]))
    problems: list[str] = []
    for name, path in outputs.items():
        if name == ref_name:
            continue
        actual = pl.read_parquet(path)
        if actual.schema != expected.schema:
            problems.append(
                f"{name}: schema {dict(actual.schema)} differs from {ref_name}'s "
                f"{dict(expected.schema)}"
            )
            continue
        if actual.height != expected.height:
            problems.append(f"{name}: {actual.height:,} rows, {ref_name} has {expected.height:,}")
            continue
        try:
            assert_frame_equal(_sorted(actual), expected, rel_tol=rtol, abs_tol=1e-6)
        except AssertionError as exc:
            problems.append(f"{name} differs from {ref_name}: {str(exc).strip()[:2000]}")
    return problems


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(frame.columns, nulls_last=True)
