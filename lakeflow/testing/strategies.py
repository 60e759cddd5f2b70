"""Hypothesis strategies for property-testing pipelines: users-like frames with the nasty cases.

Shipped for users (needs ``hypothesis``). Frames come from ``polars.testing.parametric`` with
column strategies that produce what real extracts contain: NaN, ``+inf``/``-inf``, ``-0.0``,
nulls, padded and mixed-case strings, unicode, exact duplicate rows, empty frames and all-null
columns. The fixed frames (:func:`empty_users`, :func:`all_null_users`,
:func:`special_float_users`) are meant for ``@example``.

>>> from hypothesis import given
>>> @given(frame=users_frames(max_size=5))
... def test_ids_survive(frame):
...     assert frame.columns == list(USERS_SCHEMA)
>>> test_ids_survive()
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

import polars as pl
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from polars.testing.parametric import column, dataframes

__all__ = [
    "STATUSES",
    "USERS_SCHEMA",
    "all_null_users",
    "emails",
    "empty_users",
    "iso_timestamps",
    "messy_strings",
    "numbers",
    "special_float_users",
    "statuses",
    "users_frame",
    "users_frames",
]

USERS_SCHEMA: Final = pl.Schema(
    {
        "id": pl.Int64(),
        "name": pl.String(),
        "email": pl.String(),
        "age": pl.Float64(),
        "income": pl.Float64(),
        "status": pl.String(),
        "created_at": pl.String(),
    }
)
"""The users table of the tutorial, as an extract typically arrives (ages as floats, text dates)."""

STATUSES: Final = (" Active", "active", "ACTIVE ", "inactive", " Inactive", "pending", "")

_SPECIAL_FLOATS: Final = (math.nan, math.inf, -math.inf, -0.0)
_NAME_ALPHABET: Final = "abcxyzABCXYZ éøßÉ日本 -'._!@#\t"


def numbers(
    min_value: float,
    max_value: float,
    *,
    nan: bool = True,
    infinity: bool = True,
    whole: bool = False,
) -> SearchStrategy[float]:
    """Floats in ``[min_value, max_value]`` plus, on request, NaN, ``+inf``, ``-inf`` and -0.0.

    Args:
        min_value: Smallest finite value.
        max_value: Largest finite value.
        nan: Include NaN.
        infinity: Include ``+inf`` and ``-inf``.
        whole: Finite values are whole numbers (ages, amounts in cents).
    """
    finite: SearchStrategy[float]
    if whole:
        finite = st.integers(math.ceil(min_value), math.floor(max_value)).map(float)
    else:
        finite = st.floats(min_value, max_value, allow_nan=False, allow_infinity=False)
    specials = [
        v for v in _SPECIAL_FLOATS if (nan or not math.isnan(v)) and (infinity or not math.isinf(v))
    ]
    return st.one_of(finite, st.sampled_from(specials)) if specials else finite


def messy_strings(alphabet: str = _NAME_ALPHABET, max_size: int = 12) -> SearchStrategy[str]:
    """Strings with padding, mixed case, punctuation, tabs and non-ASCII letters (or empty)."""
    core = st.text(alphabet=alphabet, max_size=max_size)
    pad = st.sampled_from(["", " ", "  ", "\t", " \n"])
    return st.tuples(pad, core, pad).map("".join)


def emails() -> SearchStrategy[str]:
    """E-mail addresses with random case and surrounding whitespace, as typed into forms."""
    local = st.text(alphabet="abcdefXYZ0123._+", min_size=1, max_size=8)
    domain = st.sampled_from(["example.com", "Example.COM", "mail.de", "test.fr"])
    pad = st.sampled_from(["", " ", "  "])
    return st.tuples(pad, local, domain, pad).map(lambda p: f"{p[0]}{p[1]}@{p[2]}{p[3]}")


def statuses() -> SearchStrategy[str]:
    """Status values that only agree after stripping and lower-casing (and an empty one)."""
    return st.sampled_from(STATUSES)


def iso_timestamps() -> SearchStrategy[str]:
    """Naive ISO 8601 date or date-time strings in the shapes extracts use."""
    moments = st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(2100, 1, 1))
    shapes = st.sampled_from(
        [
            "%Y-%m-%d",
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%d %H:%M:%S.%f",
            "%Y-%m-%dT%H:%M:%S.%f",
            "%Y-%m-%d %H:%M",
            "%Y-%m-%dT%H:%M",
        ]
    )
    return st.tuples(moments, shapes).map(lambda p: p[0].strftime(p[1]))


def _columns(nan: bool, infinity: bool) -> list[column]:
    return [
        column("id", dtype=pl.Int64, strategy=st.integers(1, 50), allow_null=False),
        column("name", dtype=pl.String, strategy=messy_strings(), allow_null=True),
        column("email", dtype=pl.String, strategy=emails(), allow_null=True),
        column(
            "age",
            dtype=pl.Float64,
            strategy=numbers(0, 120, nan=nan, infinity=infinity, whole=True),
            allow_null=True,
        ),
        column(
            "income",
            dtype=pl.Float64,
            strategy=numbers(-1000, 200_000, nan=nan, infinity=infinity),
            allow_null=True,
        ),
        column("status", dtype=pl.String, strategy=statuses(), allow_null=True),
        column("created_at", dtype=pl.String, strategy=iso_timestamps(), allow_null=True),
    ]


def users_frames(
    *,
    min_size: int = 0,
    max_size: int = 20,
    duplicates: bool = True,
    nan: bool = True,
    infinity: bool = True,
    all_null: bool = True,
) -> SearchStrategy[pl.DataFrame]:
    """Users-like frames with :data:`USERS_SCHEMA` and the cases that break pipelines.

    Args:
        min_size: Fewest rows generated before duplication.
        max_size: Most rows generated before duplication.
        duplicates: Sometimes append exact copies of some rows, at random positions.
        nan: Float columns may hold NaN.
        infinity: Float columns may hold ``+inf``/``-inf``.
        all_null: Sometimes make one column entirely null (keeping its dtype).
    """

    @st.composite
    def build(draw: st.DrawFn) -> pl.DataFrame:
        frame: pl.DataFrame = draw(
            dataframes(
                _columns(nan, infinity),
                min_size=min_size,
                max_size=max_size,
                allow_masked_out=False,
            )
        )
        if duplicates and frame.height:
            copies = draw(st.lists(st.integers(0, frame.height - 1), max_size=frame.height))
            if copies:
                frame = pl.concat([frame, frame[copies]])
                order = draw(st.permutations(range(frame.height)))
                frame = frame[list(order)]
        if all_null:
            blank = draw(st.sampled_from([None, *USERS_SCHEMA.names()]))
            if blank is not None:
                frame = frame.with_columns(pl.lit(None, dtype=USERS_SCHEMA[blank]).alias(blank))
        return frame

    return build()


def users_frame(rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """A users frame with :data:`USERS_SCHEMA` from row dicts (missing keys are null)."""
    names = USERS_SCHEMA.names()
    data = {n: [row.get(n) for row in rows] for n in names}
    return pl.DataFrame(data, schema=USERS_SCHEMA)


def empty_users() -> pl.DataFrame:
    """No rows, the users schema."""
    return pl.DataFrame(schema=USERS_SCHEMA)


def all_null_users(rows: int = 3) -> pl.DataFrame:
    """``rows`` rows, every value null (duplicates of each other), the users schema."""
    return users_frame([{}] * rows)


def special_float_users() -> pl.DataFrame:
    """Rows whose numbers are NaN, ``+inf``, ``-inf``, -0.0 and null, with one duplicate."""
    rows: list[dict[str, Any]] = [
        {"id": 1, "name": " Ann ", "email": "ANN@example.com", "age": math.nan, "income": math.inf},
        {"id": 2, "name": "Bob", "email": None, "age": 30.0, "income": -math.inf},
        {"id": 3, "name": "Čeněk", "email": " c@x.de", "age": -0.0, "income": math.nan},
        {"id": 4, "name": None, "email": "d@x.fr", "age": None, "income": None},
        {"id": 2, "name": "Bob", "email": None, "age": 30.0, "income": -math.inf},
    ]
    statuses_ = [" Active", "inactive", "ACTIVE ", None, "inactive"]
    created = [
        "2024-01-01",
        "2024-01-02 03:04:05",
        None,
        "2024-01-04T00:00:00",
        "2024-01-02 03:04:05",
    ]
    return users_frame(
        [
            {**r, "status": s, "created_at": c}
            for r, s, c in zip(rows, statuses_, created, strict=True)
        ]
    )
