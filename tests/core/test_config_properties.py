"""Properties of the config decoder: unknown keys at any depth, interpolation, secrets."""

from __future__ import annotations

import json
import string
from typing import Any
from urllib.parse import quote

from hypothesis import example, given, note
from hypothesis import strategies as st
from returns.result import Failure, Success

from lakeflow.core.config import interpolate, key_path, parse_config
from tests.core.config_strategies import pipeline_configs
from tests.core.test_config import FULL_ENV, full_config

# Every mapping of the full config whose keys are fixed by the schema (not column names or
# labels chosen by the user), by its path.
CLOSED_MAPPINGS: tuple[tuple[str | int, ...], ...] = (
    (),
    ("lake",),
    ("source",),
    ("source", "sql"),
    ("source", "sql", "incremental"),
    ("transform", 0, "clean"),
    ("transform", 0, "clean", "remove_duplicates"),
    ("transform", 0, "clean", "null_handling", "score"),
    ("transform", 0, "clean", "type_conversions", "created_at"),
    ("transform", 3, "categorize", "income", "Low"),
    ("transform", 3, "categorize", "country"),
    ("transform", 4, "protect"),
    ("transform", 6, "aggregate"),
    ("validate",),
    ("validate", "schema"),
    ("validate", "schema", "properties", "id"),
    ("validate", "completeness"),
    ("validate", "references", "country"),
    ("validate", "references", "plan"),
    ("validate", "rules", 0),
    ("validate", "quality"),
    ("load",),
    ("load", "database"),
    ("run",),
    ("monitoring",),
    ("monitoring", "sla"),
    ("monitoring", "alerts"),
    ("monitoring", "alerts", "email"),
    ("monitoring", "alerts", "email", "smtp"),
    ("monitoring", "alerts", "webhook"),
)

# No key of the schema starts with "zz", so these are unknown wherever they are inserted.
unknown_keys = st.from_regex(r"zz[a-z_]{0,12}", fullmatch=True)
any_values = st.none() | st.integers() | st.text(max_size=10) | st.lists(st.integers(), max_size=2)
variable_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True)


def node_at(data: Any, path: tuple[str | int, ...]) -> Any:
    """The value at ``path`` inside nested dicts and lists."""
    for part in path:
        data = data[part]
    return data


@given(
    inserts=st.lists(
        st.tuples(st.sampled_from(CLOSED_MAPPINGS), unknown_keys, any_values),
        min_size=1,
        max_size=6,
        unique_by=lambda t: (t[0], t[1]),
    )
)
def test_unknown_keys_at_any_depth_are_each_reported_at_their_exact_path(
    inserts: list[tuple[tuple[str | int, ...], str, object]],
) -> None:
    """Every unknown key inserted anywhere is reported once, at its own path, and nothing else."""
    data = full_config()
    for path, key, value in inserts:
        node_at(data, path)[key] = value
    result = parse_config(data, FULL_ENV)
    assert isinstance(result, Failure)
    problems = result.failure().problems
    note(str(result.failure()))
    expected = sorted(key_path((*path, key)) for path, key, _ in inserts)
    assert sorted(p.path for p in problems) == expected
    assert all(p.message.startswith("unknown") for p in problems)


@given(path=st.sampled_from(CLOSED_MAPPINGS))
def test_the_full_config_has_no_unknown_keys_to_begin_with(path: tuple[str | int, ...]) -> None:
    """The fixture itself decodes, and each closed mapping in it really is a mapping."""
    assert isinstance(parse_config(full_config(), FULL_ENV), Success)
    assert isinstance(node_at(full_config(), path), dict)


# -- interpolation -------------------------------------------------------------------------------


@given(value=st.text(), name=variable_names)
@example(value="${OTHER}", name="X")
@example(value="$$", name="X")
@example(value="", name="X")
def test_a_reference_yields_the_environment_value_verbatim(value: str, name: str) -> None:
    """``${NAME}`` becomes exactly the variable's value; values are never interpolated again."""
    assert interpolate("${" + name + "}", {name: value}) == Success(value)


@given(text=st.text())
@example(text="${X}")
@example(text="$")
@example(text="a$$b${")
def test_escaping_dollars_round_trips_any_text(text: str) -> None:
    """Doubling every ``$`` makes any text come back unchanged, whatever it contains."""
    assert interpolate(text.replace("$", "$$"), {}) == Success(text)


@given(before=st.text(), after=st.text(), value=st.text(), name=variable_names)
def test_references_compose_with_escaped_literal_text(
    before: str, after: str, value: str, name: str
) -> None:
    """Escaped text around a reference is kept and the reference is replaced in place."""
    template = before.replace("$", "$$") + "${" + name + "}" + after.replace("$", "$$")
    assert interpolate(template, {name: value}) == Success(before + value + after)


@given(
    name=variable_names,
    default=st.text().filter(lambda d: "}" not in d and "${" not in d),
    value=st.none() | st.text(),
)
def test_default_applies_when_unset_or_empty(name: str, default: str, value: str | None) -> None:
    """``${NAME:-default}`` is the value when it is set and non-empty, else the default."""
    env = {} if value is None else {name: value}
    expected = value if value else default
    assert interpolate("${" + name + ":-" + default + "}", env) == Success(expected)


@given(name=variable_names, env=st.dictionaries(variable_names, st.text(), max_size=3))
def test_unset_variable_is_a_problem_naming_it(name: str, env: dict[str, str]) -> None:
    """An unset variable without default fails, naming the variable and no env value."""
    env.pop(name, None)
    result = interpolate("prefix ${" + name + "} suffix", env)
    assert isinstance(result, Failure)
    (problem,) = result.failure().problems
    assert problem.message.startswith(f"environment variable {name} is not set")
    for value in env.values():
        if len(value) > 3:
            assert value not in problem.message


# -- secrets -------------------------------------------------------------------------------------

# Generated secrets start with a marker that no config text contains, so a match in an output
# is a leak and never a coincidence (a secret equal to, say, a class name).
LEAK_MARKER = "zQ7"
secret_text = st.text(
    alphabet=string.ascii_letters + string.digits + "!*-_~@:/ ", min_size=9, max_size=30
).map(lambda body: LEAK_MARKER + body)
secret_sets = st.fixed_dictionaries(
    {
        "source_pw": secret_text,
        "target_pw": secret_text,
        "salt": secret_text,
        "key_id": secret_text,
        "secret_key": secret_text,
        "smtp": secret_text,
        "token": st.text(alphabet=string.ascii_letters + string.digits, min_size=9).map(
            lambda body: LEAK_MARKER + body
        ),
    }
)


def env_with(secrets: dict[str, str]) -> dict[str, str]:
    """FULL_ENV with every secret replaced by a generated one (URI passwords %-encoded)."""
    return {
        **FULL_ENV,
        "LAKECTL_CREDENTIALS_ACCESS_KEY_ID": secrets["key_id"],
        "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY": secrets["secret_key"],
        "SOURCE_DB_URI": f"postgresql://etl:{quote(secrets['source_pw'], safe='')}@db/prod",
        "TARGET_DB_URI": f"postgresql://w:{quote(secrets['target_pw'], safe='')}@dw/x",
        "PII_SALT": secrets["salt"],
        "SMTP_PASSWORD": secrets["smtp"],
        "ALERT_WEBHOOK": f"https://hooks.example.com/services/{secrets['token']}",
    }


def forms(secrets: dict[str, str]) -> set[str]:
    """Every way a generated secret could show up: raw and %-encoded."""
    values = set(secrets.values())
    return values | {quote(v, safe="") for v in values}


@given(secrets=secret_sets)
def test_no_secret_appears_in_repr_or_records(secrets: dict[str, str]) -> None:
    """repr, str, to_dict() and describe() never contain a secret, whatever its value."""
    config = parse_config(full_config(), env_with(secrets)).unwrap()
    outputs = "\n".join(
        [repr(config), str(config), json.dumps(config.to_dict()), json.dumps(config.describe())]
    )
    for secret in forms(secrets):
        assert secret not in outputs
    revealed = {s.reveal() for s in config.secrets()}
    assert {secrets["salt"], secrets["secret_key"], secrets["source_pw"]} <= revealed


@given(first=secret_sets, second=secret_sets)
def test_rotating_secrets_keeps_the_config_hash(
    first: dict[str, str], second: dict[str, str]
) -> None:
    """The config hash depends on what the pipeline does, not on secret values."""
    one = parse_config(full_config(), env_with(first)).unwrap()
    two = parse_config(full_config(), env_with(second)).unwrap()
    assert one.config_sha256 == two.config_sha256


@given(secrets=secret_sets, where=st.integers(0, 3))
def test_no_secret_appears_in_any_error_message(secrets: dict[str, str], where: int) -> None:
    """Secrets written in the file, or env secrets in the wrong place, never reach a message."""
    data = full_config()
    env = env_with(secrets)
    quoted = quote(secrets["source_pw"], safe="")
    if where == 0:  # a literal password in a URI
        data["source"]["sql"]["uri"] = f"postgresql://etl:{quoted}@db/prod"
    elif where == 1:  # a literal salt
        data["transform"][4]["protect"]["salt"] = secrets["salt"]
    elif where == 2:  # environment secrets where other values are expected
        data["source"]["sql"]["partitions"] = "${PII_SALT}"
        data["load"]["mode"] = "${SMTP_PASSWORD}"
        data["lake"]["repository"] = "${LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY}"
    else:  # a webhook that is not an http URL, and secrets in unknown keys
        env["ALERT_WEBHOOK"] = f"ftp://files/{secrets['token']}"
        data["monitoring"]["alerts"]["webhook"]["token"] = secrets["token"]
    result = parse_config(data, env)
    assert isinstance(result, Failure)
    message = result.failure().message
    note(message)
    for secret in forms(secrets):
        assert secret not in message


# -- whole configs -------------------------------------------------------------------------------


@given(data=pipeline_configs())
def test_valid_configs_round_trip_through_to_dict(data: dict[str, Any]) -> None:
    """Any valid config validates back from its to_dict() to an equal config with the same hash."""
    result = parse_config(data)
    assert isinstance(result, Success), result.failure().message
    config = result.unwrap()
    again = parse_config(json.loads(json.dumps(config.to_dict())))
    assert isinstance(again, Success), again.failure().message
    assert again.unwrap() == config
    assert again.unwrap().config_sha256 == config.config_sha256


# Independent mistakes, each in its own key: every one must be reported, at its own path.
MISTAKES: tuple[tuple[tuple[str, ...], object], ...] = (
    (("pipeline",), "bad name!"),
    (("lake", "repository"), "X"),
    (("lake", "zz_extra"), 1),
    (("load", "mode"), "apend"),
    (("load", "path"), "out/\x1bdata"),
    (("run", "max_retries"), -1),
    (("run", "batch_size"), "1000"),
    (("monitoring", "sla", "min_success_rate"), 1.5),
)


def preorder(data: object, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every key path of ``data`` in the order a reader meets it."""
    out = [path]
    if isinstance(data, dict):
        for key, value in data.items():
            out.extend(preorder(value, (*path, key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            out.extend(preorder(value, (*path, index)))
    return out


@given(
    data=pipeline_configs(),
    chosen=st.lists(st.sampled_from(MISTAKES), min_size=1, max_size=len(MISTAKES), unique=True),
    huge_partitions=st.booleans(),
)
def test_every_problem_is_reported_at_once_in_document_order(
    data: dict[str, Any],
    chosen: list[tuple[tuple[str, ...], object]],
    huge_partitions: bool,
) -> None:
    """Mistakes in many places come back together: each once, at its path, in document order."""
    mistakes = list(chosen)
    if huge_partitions and "sql" in data["source"]:
        mistakes.append((("source", "sql", "partitions"), 10**12))
        data["source"]["sql"]["partition_on"] = "id"
    for path, value in mistakes:
        node = data
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    result = parse_config(data)
    assert isinstance(result, Failure)
    note(result.failure().message)
    found = [p.path for p in result.failure().problems]
    order = {p: i for i, p in enumerate(preorder(data))}
    expected = sorted((path for path, _ in mistakes), key=lambda p: order[p])
    assert found == [key_path(p) for p in expected]


junk = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.lists(st.integers() | st.text(max_size=3), max_size=3)
    | st.dictionaries(st.text(max_size=4) | st.booleans(), st.integers(), max_size=2)
)


@given(data=pipeline_configs(), where=st.integers(0, 10**6), value=junk)
def test_any_value_anywhere_gets_worded_problems_never_an_exception(
    data: dict[str, Any], where: int, value: object
) -> None:
    """Replacing any node with any value yields a config or worded problems, never a crash."""
    paths = [p for p in preorder(data) if p]
    path = paths[where % len(paths)]
    node: Any = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    result = parse_config(data)
    if isinstance(result, Failure):
        for problem in result.failure().problems:
            assert problem.message
            assert "Input should" not in problem.message  # never pydantic's own wording
            assert not problem.message.startswith("invalid value"), problem
