"""Test sources: a lazy frame that counts how often the engine reads it.

>>> import polars as pl
>>> frame, reads = counting_source(pl.DataFrame({"x": [1, 2, 3]}))
>>> frame.filter(pl.col("x") > 1).collect().height, reads[0]
(2, 1)
"""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl
from polars.io.plugins import register_io_source

__all__ = ["counting_source"]


def counting_source(frame: pl.DataFrame) -> tuple[pl.LazyFrame, list[int]]:
    """A lazy source over ``frame`` and a one-item list counting how often it is read.

    Use it to prove a plan reads its source once however many outputs it has (each read
    increments ``reads[0]``). Projections, predicates and row limits are applied like a real
    scan would.
    """
    reads = [0]

    def generate(
        columns: list[str] | None, predicate: pl.Expr | None, n_rows: int | None, _: int | None
    ) -> Iterator[pl.DataFrame]:
        reads[0] += 1
        out = frame if columns is None else frame.select(columns)
        if predicate is not None:
            out = out.filter(predicate)
        yield out if n_rows is None else out.head(n_rows)

    return register_io_source(generate, schema=frame.schema), reads
