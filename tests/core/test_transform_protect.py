"""protect: salted SHA-256 pseudonyms, masking and dropping; the salt never leaks."""

from __future__ import annotations

import hashlib

import polars as pl
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from lakeflow.core.secrets import Secret
from lakeflow.core.transform import protect
from lakeflow.errors import InvalidOption
from lakeflow.testing.strategies import emails
from tests.core.stages import run

values = st.lists(st.none() | emails() | st.text(max_size=10), max_size=10)
# Salts made of characters that never occur in hex digests or in the generated values.
salts = st.text(alphabet="ghijklmnopqrstuvwGHIJKL!#%&<>?^~", min_size=6, max_size=20)


@given(texts=values, salt=salts)
@example(texts=[], salt="pepper!")
@example(texts=[None, None], salt="pepper!")
def test_hash_is_deterministic_sha256_of_salt_and_value(texts: list[str | None], salt: str) -> None:
    """hash gives hex SHA-256 of salt + value (UTF-8), the same every time; null stays null."""
    frame = pl.DataFrame({"email": texts}, schema={"email": pl.String})
    stage = protect({"email": "hash"}, salt=salt)
    first = run(stage, frame)["email"].to_list()
    assert first == run(stage, frame)["email"].to_list()
    assert first == [
        None if t is None else hashlib.sha256((salt + t).encode()).hexdigest() for t in texts
    ]


@given(
    texts=st.lists(emails(), min_size=1, max_size=5),
    salts_=st.lists(salts, min_size=2, max_size=2, unique=True),
)
def test_different_salts_give_different_digests(texts: list[str], salts_: list[str]) -> None:
    """The same value hashed with two different salts gives two different digests."""
    frame = pl.DataFrame({"email": texts})
    one, two = (run(protect({"email": "hash"}, salt=s), frame)["email"] for s in salts_)
    assert all(a != b for a, b in zip(one, two, strict=True))


@given(texts=values, salt=salts)
def test_the_salt_never_appears_in_output_repr_or_plan(texts: list[str | None], salt: str) -> None:
    """The salt is absent from the output values, the stage's repr and the plan's description."""
    frame = pl.DataFrame(
        {"email": texts, "card": texts}, schema={"email": pl.String, "card": pl.String}
    )
    stage = protect({"email": "hash", "card": "mask"}, salt=Secret(salt))
    plan = stage(frame.lazy()).unwrap()
    out = plan.collect()
    rendered = " ".join(str(v) for v in out.to_dict(as_series=False).values())
    for text in (rendered, repr(stage), str(stage), plan.explain(), str(out)):
        assert salt not in text


@given(texts=st.lists(st.none() | st.text(max_size=12), max_size=10), keep_last=st.integers(0, 6))
@example(texts=["4111111111111111", "abc", "", "日本語テキスト"], keep_last=4)
def test_mask_keeps_the_length_and_only_the_last_characters(
    texts: list[str | None], keep_last: int
) -> None:
    """mask shows at most keep_last trailing characters, stars the rest, keeps the length."""
    frame = pl.DataFrame({"card": texts}, schema={"card": pl.String})
    out = run(protect({"card": "mask"}, keep_last=keep_last), frame)["card"].to_list()
    for text, masked in zip(texts, out, strict=True):
        if text is None:
            assert masked is None
            continue
        assert masked is not None
        assert len(masked) == len(text)
        if len(text) > keep_last:
            shown = text[len(text) - keep_last :]
            assert masked == "*" * (len(text) - keep_last) + shown
        else:
            assert masked == "*" * len(text)


def test_drop_removes_the_column_and_non_text_columns_are_hashed_by_their_text() -> None:
    """drop removes a column; an integer column is hashed through its string form."""
    frame = pl.DataFrame({"ssn": ["123"], "phone": [5551234]})
    out = run(protect({"ssn": "drop", "phone": "hash"}, salt="k"), frame)
    assert out.columns == ["phone"]
    assert out["phone"][0] == hashlib.sha256(b"k5551234").hexdigest()


@pytest.mark.parametrize("salt", [None, "", Secret("")])
def test_hash_without_a_salt_is_refused(salt: str | Secret | None) -> None:
    """A missing or empty salt with a hashed column is an InvalidOption on the salt."""
    stage = protect({"email": "hash"}, salt=salt)
    assert [(p.kind, getattr(p, "option", None)) for p in stage.problems] == [
        ("invalid_option", "salt")
    ]


def test_bad_options_are_all_reported_and_never_show_the_salt() -> None:
    """Unknown actions, a bad keep_last and a wrongly typed salt are reported together, safely."""
    stage = protect({"email": "encrypt", "card": "mask"}, salt=b"raw-bytes-salt", keep_last=-1)  # type: ignore[arg-type]
    options = [p.option for p in stage.problems if isinstance(p, InvalidOption)]
    assert options == ["columns.email", "salt", "keep_last"]
    assert all("raw-bytes-salt" not in p.message for p in stage.problems)


def test_missing_columns_fail_at_plan_time() -> None:
    """A protected column that does not exist fails before any data is read."""
    result = protect({"email": "drop"})(pl.LazyFrame({"id": [1]}))
    assert result.failure().kind == "missing_columns"
