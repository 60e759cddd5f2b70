"""protect: pseudonymise, mask or drop sensitive columns (the tutorial's "encrypt sensitive data").

Pure. ``hash`` replaces each value by the lowercase hex SHA-256 of ``salt + value`` (both UTF-8;
non-string columns are hashed by their Polars string form), so equal values still join and
group, and the same digest can be computed in SQL, e.g. PostgreSQL
``encode(sha256(convert_to(salt || value, 'UTF8')), 'hex')``. The salt is a secret: it is passed
in (never hard-coded), kept only inside a SHA-256 state, and never appears in the output, a
repr, a plan description or a failure.

Polars 2.1 has no SHA-256 expression (``pl.Expr.hash`` is a fast non-cryptographic hash whose
values change between Polars versions) and ``lakeflow.core`` may not import pyarrow (which has
none either), so ``hash`` is the one transform that loops over values in Python: a batch-wise,
streaming ``map_batches`` over ``hashlib`` (about 0.5 s per million values on one core).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Final, get_args

import polars as pl
from returns.result import Failure, Success

from lakeflow.core.config import ProtectAction, ProtectStep, typed_options
from lakeflow.core.secrets import Secret
from lakeflow.core.stage import Stage, StageResult

__all__ = ["PROTECT_ACTIONS", "protect"]

_STAGE: Final = "protect"
PROTECT_ACTIONS: Final[tuple[str, ...]] = get_args(ProtectAction)
_MASK: Final = "*"


def _salted_sha256(salt: Secret) -> Callable[[pl.Series], pl.Series]:
    """Pure. A function of one string Series: the hex SHA-256 of ``salt + value`` per value."""
    salted = hashlib.sha256(salt.reveal().encode())

    def digest(values: pl.Series) -> pl.Series:
        copy = salted.copy
        out: list[str | None] = []
        append = out.append
        # The one per-value Python loop in lakeflow's transforms: Polars has no SHA-256.
        for value in values.cast(pl.Binary).to_list():
            if value is None:
                append(None)
            else:
                state = copy()
                state.update(value)
                append(state.hexdigest())
        return pl.Series(values.name, out, dtype=pl.String)

    return digest


def _mask(column: pl.Expr, keep_last: int) -> pl.Expr:
    text = column.cast(pl.String)
    length = text.str.len_chars()
    hidden = pl.lit("").str.pad_start(length, _MASK)
    if keep_last == 0:
        return hidden
    shown = text.str.tail(keep_last).str.pad_start(length, _MASK)
    return pl.when(length > keep_last).then(shown).otherwise(hidden)


def protect(
    columns: Mapping[str, object] | ProtectStep,
    salt: str | Secret | None = None,
    keep_last: int = 4,
) -> Stage:
    """Pure. A stage that hashes, masks or drops sensitive columns.

    Args:
        columns: ``{column: hash|mask|drop}``, or the typed options (a
            :class:`~lakeflow.core.config.ProtectStep`, as a config's ``protect:`` step
            validates into; the two arguments below are then ignored).
        salt: The secret salt for ``hash`` (a ``str`` or :class:`~lakeflow.core.secrets.Secret`;
            required and non-empty when any column is hashed). Read it from the environment or
            a secret store; never commit it.
        keep_last: ``mask`` keeps this many trailing characters and replaces the others with
            ``*`` (the length is kept). A value no longer than ``keep_last`` is masked entirely.

    Nulls stay null. Hashed and masked columns become String columns.

    Example:
        >>> import polars as pl
        >>> stage = protect({"card": "mask", "email": "hash", "ssn": "drop"}, salt="s3cret")
        >>> frame = pl.LazyFrame({"card": ["4111111111111111"], "email": ["a@b.c"], "ssn": ["x"]})
        >>> out = stage(frame).unwrap().collect()
        >>> out["card"][0], len(out["email"][0]), out.columns
        ('************1111', 64, ['card', 'email'])
    """
    given: object = columns
    if not isinstance(columns, ProtectStep):
        given = {"columns": columns, "salt": salt, "keep_last": keep_last}
    validated = typed_options(ProtectStep, given, _STAGE)
    if isinstance(validated, Failure):
        return Stage.failing(_STAGE, *validated.failure())
    step = validated.unwrap()
    actions = dict(step.columns)
    secret = step.salt
    keep_last = step.keep_last
    hasher = _salted_sha256(secret) if secret else None
    dropped = [c for c, a in actions.items() if a == "drop"]

    def run(frame: pl.LazyFrame) -> StageResult:
        exprs: list[pl.Expr] = []
        for column, action in actions.items():
            if action == "hash" and hasher is not None:
                source = pl.col(column).cast(pl.String)
                exprs.append(
                    source.map_batches(
                        hasher,
                        return_dtype=pl.String,
                        is_elementwise=True,
                    ).alias(column)
                )
            elif action == "mask":
                exprs.append(_mask(pl.col(column), keep_last).alias(column))
        out = frame.with_columns(exprs) if exprs else frame
        return Success(out.drop(dropped) if dropped else out)

    return Stage(_STAGE, run, requires=tuple(actions))
