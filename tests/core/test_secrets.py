"""Secrets are parsed like drivers parse URIs and removed from messages in every spelling."""

from __future__ import annotations

import json
import math
from urllib.parse import quote, quote_plus, unquote

from hypothesis import example, given
from hypothesis import strategies as st

from lakeflow.core.records import encode_json
from lakeflow.core.secrets import (
    REDACTED,
    Secret,
    normalize_uri,
    parse_uri,
    redact_uri,
    redact_values,
    scrub,
    uri_secrets,
)

# Passwords users really have: reserved URI characters (but not the three that end an
# authority), spaces, quotes, backslashes, Unicode; never empty.
passwords = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/?#*"),
    min_size=1,
    max_size=24,
)
users = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=10)
hosts = st.sampled_from(["127.0.0.1", "db.example.com", "[::1]", "h"])


@given(user=users, password=passwords, host=hosts)
@example(user="etl", password="Qq@TailS3cret99", host="127.0.0.1")
@example(user="etl", password="my pass word", host="127.0.0.1")
@example(user="etl", password="p:a@s@s", host="h")
def test_a_uri_password_is_parsed_like_a_driver_and_redacted_whole(
    user: str, password: str, host: str
) -> None:
    """Whatever a password holds, parse_uri finds all of it and redact_uri hides all of it."""
    uri = f"postgresql://{user}:{password}@{host}:5432/prod?sslmode=require"
    parts = parse_uri(uri)
    assert parts is not None
    assert (parts.user, parts.password, parts.host) == (user, password, f"{host}:5432")
    assert redact_uri(uri) == f"postgresql://{user}:{REDACTED}@{host}:5432/prod?sslmode=require"
    assert password in {s.reveal() for s in uri_secrets(uri)}


@given(user=users, password=passwords, host=hosts)
def test_a_normalised_uri_has_one_user_info_that_every_parser_reads_the_same(
    user: str, password: str, host: str
) -> None:
    """After normalize_uri, libpq (first '@') and WHATWG (last '@') agree on the password."""
    normalized = normalize_uri(f"postgresql://{user}:{password}@{host}/db")
    authority = normalized.removeprefix("postgresql://").split("/", 1)[0]
    assert authority.count("@") == 1
    userinfo = authority.split("@", 1)[0]
    assert unquote(userinfo.split(":", 1)[1]) == password
    assert normalize_uri(normalized) == normalized


@given(password=passwords)
def test_a_password_in_the_query_string_is_a_secret_too(password: str) -> None:
    """`?password=` (percent-encoded, as drivers expect) is redacted and listed."""
    uri = f"postgresql://etl@h/db?sslmode=require&password={quote(password, safe='')}"
    assert redact_uri(uri) == f"postgresql://etl@h/db?sslmode=require&password={REDACTED}"
    assert password in {s.reveal() for s in uri_secrets(uri)}


def test_uris_without_user_info_are_left_alone() -> None:
    """SQLite paths with '@' and URIs without a password are not rewritten."""
    for uri in ("sqlite:///path/with@sign.db", "postgresql://u@h/p@x", "local:///srv/lake"):
        assert redact_uri(uri) == uri
        assert normalize_uri(uri) == uri


_SPELLINGS = (
    lambda s: s,
    lambda s: quote(s, safe=""),
    quote_plus,
    lambda s: json.dumps(s)[1:-1],
    lambda s: repr(s)[1:-1],
)


@given(
    secret=passwords.filter(lambda s: len(s) >= 3),
    spelling=st.integers(0, len(_SPELLINGS) - 1),
    before=st.text(max_size=20),
    after=st.text(max_size=20),
)
def test_scrub_removes_a_secret_in_every_spelling_a_message_uses(
    secret: str, spelling: int, before: str, after: str
) -> None:
    """A secret raw, percent-encoded, +-encoded, JSON- or repr-escaped is gone from a message."""
    spelled = _SPELLINGS[spelling](secret)
    cleaned = scrub(f"{before}{spelled}{after}", [Secret(secret)])
    assert spelled not in cleaned
    assert secret not in cleaned


def test_scrub_hides_unknown_uri_passwords_in_messages() -> None:
    """A URI password nobody declared (a literal in Python code) is hidden in messages too."""
    text = "cannot connect to postgresql://etl:Qq@Tail@db:5432/x; token at https://x.io/?token=abc"
    cleaned = scrub(text, [])
    assert "Qq@Tail" not in cleaned and "Tail@db" not in cleaned
    assert "token=abc" not in cleaned


def test_descriptions_are_redacted_value_by_value() -> None:
    """redact_values cleans each string of a description and keeps its shape."""
    described = {
        "kind": "sql",
        "uri": "postgresql://etl:Qq@TailS3cret99@127.0.0.1:1/db",
        "tables": ["users", "s3cret-in-a-name"],
        "partitions": 4,
    }
    cleaned = redact_values(described, [Secret("s3cret")])
    assert cleaned == {
        "kind": "sql",
        "uri": f"postgresql://etl:{REDACTED}@127.0.0.1:1/db",
        "tables": ["users", f"{REDACTED}-in-a-name"],
        "partitions": 4,
    }


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text()
    | st.sampled_from(['https://x.io/?token=abc"},', '{"a": 1}', "\\", "\x00\x1f", "${X}"]),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def _finite(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


@given(data=st.dictionaries(st.text(max_size=8), json_values, max_size=6))
def test_encode_json_is_strict_and_round_trips_whatever_the_data_holds(
    data: dict[str, object],
) -> None:
    """URL-like strings, quotes, braces, backslashes, control characters and NaN never break
    the JSON lakeflow writes (strict JSON: NaN becomes a string)."""
    text = encode_json(data)
    parsed = json.loads(text, parse_constant=lambda name: (_ for _ in ()).throw(ValueError(name)))
    assert parsed == _finite(data)
