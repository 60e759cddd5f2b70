"""The pipeline config decoder: typed values, every kind of problem, secrets, hashing."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.result import Failure, Success

from lakeflow.core.config import (
    CategorizeStep,
    CleanStep,
    Dedupe,
    DeriveStep,
    FillValue,
    FiltersStep,
    PipelineConfig,
    ProtectStep,
    RangeBin,
    SqlSourceConfig,
    TypeConversion,
    ValuesBin,
    config_error,
    interpolate,
    key_path,
    parse_config,
    problems_at,
)
from lakeflow.core.errors import (
    ConfigError,
    ConfigProblem,
    InvalidExpression,
    InvalidOption,
    StageError,
)
from lakeflow.core.incremental import IncrementalSpec
from lakeflow.core.secrets import Secret

FULL_ENV = {
    "LAKECTL_CREDENTIALS_ACCESS_KEY_ID": "AKIAEXAMPLEKEYID",
    "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY": "wJalrXUtnFEMIexamplesecret",
    "SOURCE_DB_URI": "postgresql://etl:s0urce-pw@db.internal:5432/prod?sslmode=require",
    "TARGET_DB_URI": "postgresql://loader:t%40rget@dw.internal/warehouse",
    "PII_SALT": "pepper-and-salt-1234",
    "SMTP_PASSWORD": "smtp-pass-5678",
    "ALERT_WEBHOOK": "https://hooks.example.com/services/T000/B000/webhooktoken",
}
SECRET_VALUES = (
    "AKIAEXAMPLEKEYID",
    "wJalrXUtnFEMIexamplesecret",
    "s0urce-pw",
    "t%40rget",
    "t@rget",
    "pepper-and-salt-1234",
    "smtp-pass-5678",
    "webhooktoken",
)


def full_config() -> dict[str, Any]:
    """A config using every block and most options (a fresh copy each call)."""
    return copy.deepcopy(
        {
            "pipeline": "users",
            "lake": {
                "url": "lakefs://lakefs.internal:8000",
                "repository": "etl-pipeline",
                "default_branch": "main",
                "access_key_id": "${LAKECTL_CREDENTIALS_ACCESS_KEY_ID}",
                "secret_access_key": "${LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY}",
            },
            "source": {
                "sql": {
                    "uri": "${SOURCE_DB_URI}",
                    "query": "select * from users",
                    "incremental": {"column": "updated_at", "key": ["id"]},
                    "partition_on": "id",
                    "partitions": 4,
                }
            },
            "transform": [
                {
                    "clean": {
                        "remove_duplicates": {
                            "keys": ["id"],
                            "keep": "latest",
                            "order_by": "updated_at",
                        },
                        "null_handling": {
                            "email": "drop",
                            "age": "fill_median",
                            "status": "active",
                            "score": {"value": "fill_zero"},
                        },
                        "type_conversions": {
                            "created_at": {
                                "to": "datetime",
                                "format": "%Y-%m-%d",
                                "on_error": None,
                            },
                            "age": "int",
                        },
                        "string_cleaning": {"email": ["strip", "lower"]},
                    }
                },
                {"derive": {"income_bracket": "floor(income / 10000) * 10000"}},
                {"filters": ["age >= 18"]},
                {
                    "categorize": {
                        "income": {"Low": {"max": 30000}, "High": {"min": 30001}},
                        "country": {
                            "bins": {"EU": ["DE", "FR"]},
                            "into": "region",
                            "default": "Other",
                        },
                    }
                },
                {
                    "protect": {
                        "salt": "${PII_SALT}",
                        "columns": {"email": "hash", "phone": "mask"},
                        "keep_last": 2,
                    }
                },
                {"filters": ["income > 0"]},
                {
                    "aggregate": {
                        "group_by": ["country"],
                        "aggregations": {"income": ["mean", "n_unique"]},
                    }
                },
            ],
            "validate": {
                "schema": {
                    "properties": {
                        "id": {"type": "integer", "minimum": 1},
                        "email": {"type": "string", "pattern": "^[^@]+@[^@]+$"},
                        "status": {"enum": ["active", "inactive"]},
                    },
                    "required": ["id"],
                    "coerce": True,
                },
                "completeness": {"columns": ["id", "email"], "threshold": 0.95},
                "unique": ["id"],
                "references": {
                    "country": {"values": ["US", "DE"]},
                    "plan": {"dataset": "validated_data/plans", "key": "plan_id"},
                },
                "rules": [
                    {"name": "adult", "condition": "age >= 18", "severity": "warning"},
                    {"name": "positive_income", "condition": "income > 0"},
                ],
                "pandera": "my_models.users:UserModel",
                "max_invalid_fraction": 0.05,
                "enforce": False,
                "quality": {"timestamp_column": "updated_at", "freshness_hours": 24},
            },
            "load": {
                "path": "validated_data/users",
                "mode": "overwrite",
                "raw": False,
                "database": {
                    "uri": "${TARGET_DB_URI}",
                    "table": "processed_users",
                    "mode": "upsert",
                    "keys": ["id"],
                },
            },
            "run": {
                "max_retries": 5,
                "timeout_seconds": 120,
                "retry_on_conflict": 2,
                "batch_size": 50000,
            },
            "monitoring": {
                "sla": {"max_duration_s": 1800, "min_success_rate": 0.95},
                "alerts": {
                    "email": {
                        "to": ["data-team@example.com"],
                        "from": "etl@example.com",
                        "smtp": {
                            "host": "smtp.example.com",
                            "port": 587,
                            "username": "etl",
                            "password": "${SMTP_PASSWORD}",
                            "starttls": True,
                        },
                    },
                    "webhook": {"url": "${ALERT_WEBHOOK}"},
                },
            },
        }
    )


def minimal_config() -> dict[str, Any]:
    """The smallest valid config: a local lake, a parquet source, a lake path to load."""
    return {
        "pipeline": "users",
        "lake": {"url": "local://./lake", "repository": "etl-pipeline"},
        "source": {"parquet": {"path": "data/*.parquet"}},
        "load": {"path": "validated_data/users"},
    }


def problems_of(data: object, env: dict[str, str] | None = None) -> list[str]:
    """The problems of an invalid config, as ``path: message`` strings."""
    result = parse_config(data, env)
    assert isinstance(result, Failure), "expected the config to be rejected"
    return [str(p) for p in result.failure().problems]


def decoded(data: object, env: dict[str, str] | None = None) -> PipelineConfig:
    """The decoded config; fails the test with every problem if it is rejected."""
    result = parse_config(data, env)
    if isinstance(result, Failure):
        pytest.fail(result.failure().message)
    return result.unwrap()


def with_value(data: dict[str, Any], path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    """``data`` with the value at ``path`` replaced (or added)."""
    node: Any = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return data


# -- successful decoding ---------------------------------------------------------------------


def test_full_config_decodes_into_typed_values() -> None:
    """Every block of a complete config decodes into its typed dataclass with its values."""
    config = decoded(full_config(), FULL_ENV)
    assert config.lake.kind == "lakefs"
    assert config.lake.secret_access_key == Secret("wJalrXUtnFEMIexamplesecret")
    assert isinstance(config.source, SqlSourceConfig)
    assert config.source.uri.reveal() == FULL_ENV["SOURCE_DB_URI"]
    assert config.source.incremental == IncrementalSpec("updated_at", ("id",))
    assert config.source.partitions == 4
    kinds = [step.kind for step in config.transform.steps]
    assert kinds == ["clean", "derive", "filters", "categorize", "protect", "filters", "aggregate"]
    clean = config.transform.steps[0]
    assert isinstance(clean, CleanStep)
    assert clean.remove_duplicates == Dedupe(keys=("id",), keep="latest", order_by="updated_at")
    assert dict(clean.null_handling) == {
        "email": "drop",
        "age": "fill_median",
        "status": FillValue(value="active"),
        "score": FillValue(value="fill_zero"),
    }
    assert clean.type_conversions["created_at"] == TypeConversion(
        to="datetime", format="%Y-%m-%d", on_error="null"
    )
    assert clean.type_conversions["age"] == TypeConversion(to="int")
    categorize = config.transform.steps[3]
    assert isinstance(categorize, CategorizeStep)
    assert categorize.columns["income"].bins["Low"] == RangeBin(max=30000)
    assert categorize.columns["country"].bins["EU"] == ValuesBin(("DE", "FR"))
    assert categorize.columns["country"].into == "region"
    protect = config.transform.steps[4]
    assert isinstance(protect, ProtectStep)
    assert protect.salt is not None and protect.salt.reveal() == "pepper-and-salt-1234"
    assert config.validate is not None
    assert config.validate.rules[1].severity == "error"
    assert config.validate.max_invalid_fraction == 0.05
    assert config.load.database is not None and config.load.database.keys == ("id",)
    assert config.run.timeout_seconds == 120.0
    assert config.monitoring is not None and config.monitoring.alerts is not None
    email = config.monitoring.alerts.email
    assert email is not None and email.sender == "etl@example.com"
    assert email.smtp is not None and email.smtp.port == 587


def test_minimal_config_gets_documented_defaults() -> None:
    """Optional blocks default to: no transform, no validation, append + raw copy, run limits."""
    config = decoded(minimal_config())
    assert config.lake.default_branch == "main"
    assert config.transform.steps == ()
    assert config.validate is None
    assert (config.load.mode, config.load.raw, config.load.database) == ("append", True, None)
    assert (config.run.max_retries, config.run.timeout_seconds) == (3, 300.0)
    assert (config.run.retry_on_conflict, config.run.batch_size) == (1, 100_000)
    assert config.monitoring is None


def test_transform_mapping_and_list_forms_decode_to_the_same_steps() -> None:
    """A mapping of steps and a list of one-step mappings give the same steps in order."""
    steps = {"derive": {"a": "b + 1"}, "filters": ["a > 0"]}
    as_mapping = decoded({**minimal_config(), "transform": steps})
    as_list = decoded({**minimal_config(), "transform": [{k: v} for k, v in steps.items()]})
    assert as_mapping == as_list
    assert as_mapping.config_sha256 == as_list.config_sha256
    assert as_mapping.transform.steps == (DeriveStep({"a": "b + 1"}), FiltersStep(("a > 0",)))
    assert as_mapping.transform.path_of(1) == "transform.filters"
    assert as_list.transform.path_of(1) == "transform[1].filters"


def test_list_form_lets_a_step_kind_repeat_in_order() -> None:
    """The list form keeps repeated step kinds, in the order written."""
    transform = [{"filters": ["a > 0"]}, {"derive": {"b": "a * 2"}}, {"filters": ["b < 10"]}]
    config = decoded({**minimal_config(), "transform": transform})
    assert config.transform.steps == (
        FiltersStep(("a > 0",)),
        DeriveStep({"b": "a * 2"}),
        FiltersStep(("b < 10",)),
    )


def test_every_source_kind_decodes() -> None:
    """Each source kind decodes into its own type, with csv options defaulted."""
    sources = {
        "parquet": {"path": "in/*.parquet"},
        "csv": {"path": "in.csv"},
        "ndjson": {"path": "in.ndjson", "incremental": {"column": "ts"}},
        "lake": {"path": "validated_data/other"},
    }
    for kind, body in sources.items():
        config = decoded({**minimal_config(), "source": {kind: body}})
        assert config.source.kind == kind
    csv = decoded({**minimal_config(), "source": {"csv": {"path": "in.csv"}}}).source
    assert (getattr(csv, "separator", None), getattr(csv, "has_header", None)) == (",", True)


def test_explicit_null_on_error_means_null_not_unset() -> None:
    """YAML reads ``on_error: null`` as None: it means "turn failures into nulls", not unset."""
    data = minimal_config()
    data["transform"] = {"clean": {"type_conversions": {"a": {"to": "int", "on_error": None}}}}
    step = decoded(data).transform.steps[0]
    assert isinstance(step, CleanStep)
    assert step.type_conversions["a"].on_error == "null"
    assert TypeConversion(to="int").on_error == "fail"
    assert TypeConversion(to="numeric").on_error == "null"


def test_fill_literals_keep_their_type_and_strategy_lookalikes_need_the_value_form() -> None:
    """Numbers and text fill as literals; ``{value: drop}`` fills with the text 'drop'."""
    data = minimal_config()
    data["transform"] = {
        "clean": {"null_handling": {"a": 0, "b": False, "c": "n/a", "d": {"value": "drop"}}}
    }
    step = decoded(data).transform.steps[0]
    assert isinstance(step, CleanStep)
    assert dict(step.null_handling) == {
        "a": FillValue(value=0),
        "b": FillValue(value=False),
        "c": FillValue(value="n/a"),
        "d": FillValue(value="drop"),
    }


def test_yaml_dates_are_accepted_as_bounds() -> None:
    """Date bounds (YAML timestamps) decode, and an inverted date range is a problem."""
    from datetime import date

    data = minimal_config()
    data["validate"] = {"schema": {"properties": {"d": {"minimum": date(2024, 1, 1)}}}}
    config = decoded(data)
    assert config.validate is not None and config.validate.schema is not None
    assert config.validate.schema.properties["d"].minimum == date(2024, 1, 1)
    assert '"minimum": "2024-01-01"' in json.dumps(config.to_dict())  # records stay JSON-able
    data["validate"]["schema"]["properties"]["d"]["maximum"] = date(2023, 1, 1)
    assert problems_of(data) == [
        "validate.schema.properties.d.maximum: must be >= minimum (2024-01-01), got 2023-01-01"
    ]


# -- interpolation -----------------------------------------------------------------------------


def test_interpolation_default_and_escape() -> None:
    """``${A:-x}`` defaults when unset or empty; ``$$`` is a literal ``$``; ``$x`` stays."""
    env = {"SET": "v", "EMPTY": ""}
    assert interpolate("${SET:-d}|${EMPTY:-d}|${UNSET:-d}", env).unwrap() == "v|d|d"
    assert interpolate("$$5 and ^a+$ and ${EMPTY}", env).unwrap() == "$5 and ^a+$ and "


def test_interpolated_strings_may_stand_for_numbers_and_booleans() -> None:
    """``"${N:-4}"`` becomes an integer where one is expected; a literal "4" does not."""
    data = minimal_config()
    data["run"] = {"batch_size": "${BATCH:-1000}", "timeout_seconds": "${TIMEOUT}"}
    data["load"]["raw"] = "${KEEP_RAW}"
    config = decoded(data, {"TIMEOUT": "2.5", "KEEP_RAW": "false"})
    assert (config.run.batch_size, config.run.timeout_seconds, config.load.raw) == (
        1000,
        2.5,
        False,
    )
    data["run"] = {"batch_size": "1000"}
    assert problems_of(data, {"KEEP_RAW": "no"}) == [
        "run.batch_size: expected an integer >= 1, got '1000' (quoted: write it without quotes; "
        "a string stands for a number or boolean only when it uses ${...})"
    ]


def test_unset_variable_names_variable_and_key_path_with_a_suggestion() -> None:
    """An unset variable is reported at its key path, naming it, with a close env name."""
    data = minimal_config()
    data["source"] = {"sql": {"uri": "${SOURCE_DB_URL}", "table": "users"}}
    assert problems_of(data, {"SOURCE_DB_URI": "sqlite:///x.db"}) == [
        "source.sql.uri: environment variable SOURCE_DB_URL is not set; did you mean SOURCE_DB_URI?"
    ]


def test_malformed_references_are_problems() -> None:
    """``${}``, ``${1X}``, an unterminated ``${`` and nested defaults are reported."""
    data = minimal_config()
    data["transform"] = {"filters": ["${}", "${1X}", "a > ${B", "${A:-${B}}"]}
    problems = problems_of(data)
    assert problems[0].startswith("transform.filters[0]: invalid reference '${}'")
    assert problems[1].startswith("transform.filters[1]: invalid reference '${1X}'")
    assert problems[2] == ("transform.filters[2]: unterminated '${' (write '$$' for a literal '$')")
    assert problems[3] == (
        "transform.filters[3]: nested references are not supported in the default of ${A}"
    )


def test_environment_values_are_never_echoed_in_problems() -> None:
    """A bad value that came from the environment is named by its variable, not shown."""
    data = minimal_config()
    data["source"] = {"sql": {"uri": "sqlite:///x.db", "table": "t", "partition_on": "id"}}
    data["source"]["sql"]["partitions"] = "${PARTS}"
    data["load"]["mode"] = "${MODE}"
    problems = problems_of(data, {"PARTS": "top-secret-0", "MODE": "top-secret-1"})
    assert problems == [
        "source.sql.partitions: expected an integer between 1 and 1024, got the value of "
        "${PARTS} "
        "(environment values are not shown)",
        "load.mode: expected one of append, overwrite, merge, got the value of ${MODE} "
        "(environment values are not shown)",
    ]


# -- problems: keys ------------------------------------------------------------------------------


def test_unknown_key_gets_a_did_you_mean() -> None:
    """A misspelt key is reported at its path with the closest allowed key."""
    data = minimal_config()
    data["lake"]["repositry"] = data["lake"].pop("repository")
    assert problems_of(data) == [
        "lake.repositry: unknown key; did you mean 'repository'?",
        "lake.repository: required key is missing",
    ]


def test_unknown_key_without_close_match_lists_allowed_keys() -> None:
    """An unknown key with no close match lists the keys that are allowed there."""
    data = with_value(minimal_config(), ("load", "zzz"), 1)
    assert problems_of(data) == [
        "load.zzz: unknown key; expected one of: path, mode, keys, format, delete_column, "
        "schema, raw, database"
    ]


def test_unknown_step_and_source_kinds_get_a_did_you_mean() -> None:
    """Misspelt transform step kinds and source kinds are named with a suggestion."""
    data = minimal_config()
    data["source"] = {"parket": {"path": "x"}}
    data["transform"] = [{"fliters": ["a > 0"]}]
    assert problems_of(data) == [
        "source.parket: unknown source kind; did you mean 'parquet'?",
        "transform[0].fliters: unknown transform step; did you mean 'filters'?",
    ]


def test_source_needs_exactly_one_kind() -> None:
    """No source kind, or two of them, is a problem at ``source``."""
    data = minimal_config()
    data["source"] = {}
    assert problems_of(data) == [
        "source: expected exactly one source kind: sql, parquet, csv, ndjson, lake"
    ]
    data["source"] = {"parquet": {"path": "a"}, "csv": {"path": "b"}}
    assert problems_of(data) == ["source: expected exactly one source kind, got parquet and csv"]


def test_yaml_boolean_keys_are_explained() -> None:
    """A key YAML turned into a boolean (``on:``, ``no:``) is reported with how to fix it."""
    data = minimal_config()
    data["transform"] = {"categorize": {"flag": {True: ["y"], "No": ["n"]}}}
    assert problems_of(data) == [
        "transform.categorize.flag: key true is not a string (YAML reads "
        "yes/no/on/off/true/false as booleans: quote it)"
    ]


def test_list_form_items_need_exactly_one_step() -> None:
    """A list item with two step kinds (or none) is rejected at its index."""
    data = minimal_config()
    data["transform"] = [{"derive": {"a": "1"}, "filters": ["a > 0"]}, "clean"]
    assert problems_of(data) == [
        "transform[0]: expected exactly one transform step, got derive and filters",
        "transform[1]: expected a mapping with exactly one transform step (clean, derive, "
        "filters, categorize, aggregate, protect), got 'clean'",
    ]


def test_top_level_must_be_a_mapping() -> None:
    """An empty document or a list at the top level is one clear problem."""
    assert problems_of(None) == [
        "expected a mapping with pipeline, lake, source and load at the top level, "
        "got an empty document"
    ]
    assert problems_of([1, 2])[0].endswith("got a list")


# -- problems: values ----------------------------------------------------------------------------


def test_wrong_scalar_type_is_named_with_its_path() -> None:
    """The issue's example: a word where an integer is expected."""
    data = minimal_config()
    data["source"] = {"sql": {"uri": "sqlite:///x.db", "table": "t"}}
    data["source"]["sql"] |= {"partition_on": "id", "partitions": "four"}
    assert problems_of(data) == [
        "source.sql.partitions: expected an integer between 1 and 1024, got 'four'"
    ]


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        (
            ("pipeline",),
            "bad name!",
            "pipeline: expected a name of 1-63 letters, digits, '_' and "
            "'-', starting with a letter or digit, got 'bad name!'",
        ),
        (
            ("lake", "repository"),
            "Etl",
            "lake.repository: expected a repository id of 3-63 "
            "lowercase letters, digits and dashes, starting with a letter or digit, got 'Etl'",
        ),
        (
            ("lake", "url"),
            "s3://bucket",
            "lake.url: expected local://PATH, lakefs://[HOST[:PORT]] or "
            "lakefs+https://HOST[:PORT], got 's3://bucket'",
        ),
        (
            ("lake", "default_branch"),
            "feature/x",
            "lake.default_branch: expected a branch id of "
            "letters, digits, '_' and '-' (no '/' or '.'), got 'feature/x'",
        ),
        (
            ("load", "path"),
            "../escape",
            "load.path: expected a lake path (relative, '/'-separated, no empty, '.' or '..' "
            "parts, no leading '/', no backslash or control characters) outside the reserved "
            "folders _lakeflow/ and raw/, got '../escape'",
        ),
        (("load", "path"), "/abs", None),
        (("load", "path"), "_lakeflow/runs", None),
        (("load", "path"), "raw/users", None),
        (("load", "path"), "a//b", None),
        (
            ("load", "mode"),
            "apend",
            "load.mode: expected one of append, overwrite, merge, got 'apend'; "
            "did you mean 'append'?",
        ),
        (
            ("load", "raw"),
            "yes",
            "load.raw: expected true or false, got 'yes' (quoted: write it "
            "without quotes; a string stands for a number or boolean only when it uses ${...})",
        ),
        (("load", "raw"), None, None),
        (("run",), {"max_retries": -1}, "run.max_retries: expected an integer >= 0, got -1"),
        (("run",), {"timeout_seconds": 0}, "run.timeout_seconds: expected a number > 0, got 0"),
        (
            ("run",),
            {"timeout_seconds": float("nan")},
            "run.timeout_seconds: expected a number > 0 (a finite number), got nan",
        ),
        (("run",), {"batch_size": 1.5}, "run.batch_size: expected an integer >= 1, got 1.5"),
        (("run",), {"batch_size": True}, "run.batch_size: expected an integer >= 1, got true"),
        (
            ("monitoring",),
            {"sla": {"min_success_rate": 1.5}},
            "monitoring.sla.min_success_rate: expected a number between 0 and 1, got 1.5",
        ),
        (
            ("monitoring",),
            {"alerts": {"email": {"to": ["nobody"]}}},
            "monitoring.alerts.email.to[0]: expected an email address, got 'nobody'",
        ),
        (
            ("monitoring",),
            {"alerts": {"email": {"to": []}}},
            "monitoring.alerts.email.to: expected a non-empty list of email addresses, got []",
        ),
        (
            ("monitoring",),
            {"sla": {}},
            "monitoring.sla: expected at least one of max_duration_s, min_success_rate, "
            "max_quarantined_rows, max_quarantined_fraction, max_errors, max_staleness_s",
        ),
    ],
)
def test_invalid_values_are_named_with_their_path(
    path: tuple[str, ...], value: object, problem: str | None
) -> None:
    """Each wrong value is reported at its key path saying what was expected (None: just once)."""
    data = with_value(minimal_config(), path, value)
    if value is None:  # an explicit null means "not given": the default applies
        assert isinstance(parse_config(data), Success)
        return
    problems = problems_of(data)
    assert len(problems) == 1
    if problem is not None:
        assert problems == [problem]
    else:
        assert problems[0].startswith(key_path(path) + ": expected")


def test_table_xor_query_and_partition_pair() -> None:
    """A SQL source needs exactly one of table/query, and partition_on with partitions."""
    data = minimal_config()
    data["source"] = {"sql": {"uri": "sqlite:///x.db", "partitions": 2}}
    assert problems_of(data) == [
        "source.sql: expected exactly one of table or query, got neither",
        "source.sql.partition_on: required when partitions is given (both or neither)",
    ]
    data["source"] = {"sql": {"uri": "sqlite:///x.db", "table": "t", "query": "select 1"}}
    assert problems_of(data) == ["source.sql: expected exactly one of table or query, got both"]


def test_clean_options_closed_sets_are_checked_with_suggestions() -> None:
    """Null strategies, conversion targets, string operations and keep are closed sets."""
    data = minimal_config()
    data["transform"] = {
        "clean": {
            "remove_duplicates": {"keep": "latest"},
            "null_handling": {"a": "fill_meen", "b": "fill_max"},
            "type_conversions": {"c": "integer", "d": {"to": "int", "format": "%Y"}},
            "string_cleaning": {"e": ["strip", "lowercase"], "f": []},
        }
    }
    assert problems_of(data) == [
        "transform.clean.remove_duplicates.order_by: required with keep: latest",
        "transform.clean.null_handling.a: unknown null strategy 'fill_meen'; did you mean "
        "'fill_mean'? allowed: drop, fill_zero, fill_mean, fill_median, fill_forward. To fill "
        "with this text itself, write {value: 'fill_meen'}",
        "transform.clean.null_handling.b: unknown null strategy 'fill_max'; did you mean "
        "'fill_mean'? allowed: drop, "
        "fill_zero, fill_mean, fill_median, fill_forward. To fill with this text itself, write "
        "{value: 'fill_max'}",
        "transform.clean.type_conversions.c: expected one of int, float, str, bool, datetime, "
        "date, numeric, got 'integer'; did you mean 'int'?",
        "transform.clean.type_conversions.d.format: only used with to: datetime or to: date, "
        "not to: int",
        "transform.clean.string_cleaning.e[1]: expected one of strip, lower, upper, title, "
        "remove_special_chars, got 'lowercase'; did you mean 'lower'?",
        "transform.clean.string_cleaning.f: expected a non-empty list of string operations, got []",
    ]


def test_empty_steps_are_problems() -> None:
    """A step that would do nothing is reported rather than silently skipped."""
    data = minimal_config()
    data["transform"] = [{"clean": None}, {"derive": {}}, {"filters": []}, {"aggregate": {}}]
    assert problems_of(data) == [
        "transform[0].clean: a clean step needs at least one of remove_duplicates, "
        "null_handling, type_conversions, string_cleaning",
        "transform[1].derive: expected a non-empty mapping of column name to SQL, got {}",
        "transform[2].filters: expected a non-empty list of SQL conditions, got []",
        "transform[3].aggregate.group_by: required key is missing",
        "transform[3].aggregate.aggregations: required key is missing",
    ]


def test_categorize_bins_are_checked() -> None:
    """Ranges need a bound and must not be inverted; labels need a range or a value list."""
    data = minimal_config()
    data["transform"] = {
        "categorize": {
            "a": {"Any": {}, "Bad": {"min": 10, "max": 1}, "Typo": {"minn": 0}},
            "b": {"bins": {"X": "x"}, "into": "b_cat", "defualt": "Y"},
            "c": ["x"],
        }
    }
    assert problems_of(data) == [
        "transform.categorize.a.Any: expected min and/or max (use default: for a catch-all)",
        "transform.categorize.a.Bad.max: must be >= min (10), got 1",
        "transform.categorize.a.Typo.minn: unknown key; did you mean 'min'?",
        "transform.categorize.b.bins.X: expected a range {min, max} or a list of values, got 'x'",
        "transform.categorize.b.defualt: unknown key; did you mean 'default'?",
        "transform.categorize.c: expected a mapping of label to {min, max} or [values], got a list",
    ]


def test_aggregate_and_protect_options_are_checked() -> None:
    """Aggregation names are a closed set; hashing needs a salt; keep_last is >= 0."""
    data = minimal_config()
    data["transform"] = {
        "aggregate": {"group_by": [], "aggregations": {"x": ["avg"]}},
        "protect": {"columns": {"email": "hash", "ssn": "encrypt"}, "keep_last": -1},
    }
    assert problems_of(data) == [
        "transform.aggregate.aggregations.x[0]: expected one of mean, median, count, sum, min, "
        "max, std, n_unique, got 'avg'",
        "transform.protect.columns.ssn: expected one of hash, mask, drop, got 'encrypt'",
        "transform.protect.keep_last: expected an integer >= 0, got -1",
    ]
    data["transform"] = {"protect": {"columns": {"email": "hash"}}}
    assert problems_of(data) == [
        'transform.protect.salt: required to hash columns; write salt: "${PII_SALT}"'
    ]


def test_validate_options_are_checked() -> None:
    """Thresholds, severities, rule names, references, pandera paths and patterns are checked."""
    data = minimal_config()
    data["validate"] = {
        "schema": {"properties": {"n": {"type": "integer", "pattern": "x"}}},
        "completeness": {"columns": ["a"], "threshold": 95},
        "references": {"a": {"values": [1], "dataset": "d", "key": "k"}, "b": {"key": "k"}},
        "rules": [
            {"name": "adult", "condition": "age >= 18"},
            {"name": "adult", "condition": "age < 150", "severity": "warn"},
        ],
        "pandera": "models.UserModel",
        "max_invalid_fraction": -0.1,
    }
    assert problems_of(data) == [
        "validate.schema.properties.n.pattern: only used with type: string, not type: integer",
        "validate.completeness.threshold: expected a number between 0 and 1, got 95",
        "validate.references.a: expected either values or dataset, not both",
        "validate.references.b: expected {values: [...]} or {dataset: PATH, key: COLUMN}, got "
        "a mapping",
        "validate.rules[1].severity: expected one of error, warning, info, got 'warn'; did you "
        "mean 'warning'?",
        "validate.pandera: expected an import path like 'package.module:Model', got "
        "'models.UserModel'",
        "validate.max_invalid_fraction: expected a number between 0 and 1, got -0.1",
    ]
    data["validate"] = {"rules": [{"name": "r", "condition": "a"}, {"name": "r", "condition": "b"}]}
    assert problems_of(data) == ["validate.rules[1].name: duplicate rule name 'r' (also rules[0])"]


def test_database_load_modes_and_keys() -> None:
    """Upsert needs keys; keys without upsert are a mistake worth reporting."""
    data = minimal_config()
    data["load"]["database"] = {"uri": "sqlite:///x.db", "table": "t", "mode": "upsert"}
    assert problems_of(data) == ["load.database.keys: required with mode: upsert"]
    data["load"]["database"] |= {"mode": "append", "keys": ["id"]}
    assert problems_of(data) == [
        "load.database.keys: only used with mode: upsert, not mode: append"
    ]


def test_lakefs_needs_keys_from_env_and_local_refuses_them() -> None:
    """lakefs:// needs both keys (written or from lakectl's variables); local refuses them."""
    data = minimal_config()
    data["lake"]["url"] = "lakefs://lakefs:8000"
    assert problems_of(data) == [
        "lake.access_key_id: required for lakefs:// lakes: set "
        'LAKECTL_CREDENTIALS_ACCESS_KEY_ID in the environment, or write access_key_id: "${VAR}"',
        "lake.secret_access_key: required for lakefs:// lakes: set "
        "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY in the environment, or write secret_access_key: "
        '"${VAR}"',
    ]
    data["lake"] = {"url": "local://l", "repository": "abc", "access_key_id": "${K}"}
    assert problems_of(data, {"K": "x"}) == ["lake.access_key_id: only used with lakefs:// lakes"]
    data["lake"]["url"] = "lakefs://host:70000"
    data["lake"].pop("access_key_id")
    assert problems_of(data)[0] == (
        "lake.url: expected local://PATH, lakefs://[HOST[:PORT]] or lakefs+https://HOST[:PORT], "
        "got 'lakefs://host:70000'"
    )


def test_lakefs_keys_and_endpoint_default_to_the_lakectl_variables() -> None:
    """Keys and endpoint left out of a lakefs:// lake come from lakectl's variables, as secrets."""
    data = minimal_config()
    data["lake"] = {"url": "lakefs://", "repository": "etl-pipeline"}
    env = {**FULL_ENV, "LAKECTL_SERVER_ENDPOINT_URL": "https://lakefs.example.com"}
    config = decoded(data, env)
    assert config.lake.endpoint == "https://lakefs.example.com"
    assert config.lake.access_key_id == Secret("AKIAEXAMPLEKEYID")
    assert config.lake.secret_access_key == Secret("wJalrXUtnFEMIexamplesecret")
    assert {s.reveal() for s in config.secrets()} >= {
        "AKIAEXAMPLEKEYID",
        "wJalrXUtnFEMIexamplesecret",
    }
    shown = json.dumps(config.to_dict())
    assert "AKIAEXAMPLEKEYID" not in shown and "wJalrXUtnFEMIexamplesecret" not in shown
    # Written references win over the lakectl variables.
    data["lake"] |= {"access_key_id": "${OTHER_KEY}", "endpoint": "${OTHER_ENDPOINT}"}
    other = decoded(data, {**env, "OTHER_KEY": "AKIAOTHER", "OTHER_ENDPOINT": "http://h:8000"})
    assert other.lake.access_key_id == Secret("AKIAOTHER")
    assert other.lake.endpoint == "http://h:8000"


def test_lakefs_keys_are_never_literals_in_the_file() -> None:
    """A key written in the file is refused, naming the variable to use, never the key."""
    data = minimal_config()
    data["lake"] = {
        "url": "lakefs://lakefs:8000",
        "repository": "etl-pipeline",
        "access_key_id": "AKIALITERALKEY",
        "secret_access_key": "literal-secret-value",
    }
    problems = problems_of(data, FULL_ENV)
    assert problems == [
        "lake.access_key_id: secrets are never written in the config file; put it in an "
        'environment variable: access_key_id: "${LAKECTL_CREDENTIALS_ACCESS_KEY_ID}"',
        "lake.secret_access_key: secrets are never written in the config file; put it in an "
        'environment variable: secret_access_key: "${LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY}"',
    ]
    assert not any("LITERAL" in p or "literal-secret" in p for p in problems)


def test_lakefs_server_is_named_once_and_lakefs_only_keys_stay_on_lakefs() -> None:
    """A server must be named (url, endpoint or variable) but not twice; local takes none of
    the lakeFS keys; verify_reads applies to both lakes."""
    data = minimal_config()
    data["lake"] = {"url": "lakefs://", "repository": "etl-pipeline"}
    assert problems_of(data, FULL_ENV) == [
        "lake.endpoint: 'lakefs://' names no server: set LAKECTL_SERVER_ENDPOINT_URL in the "
        'environment, write url: lakefs://HOST:PORT, or endpoint: "https://HOST"'
    ]
    data["lake"] = {"url": "lakefs://h:1", "repository": "abc", "endpoint": "http://other"}
    assert problems_of(data, FULL_ENV) == [
        "lake.endpoint: the server is named twice, in url ('lakefs://h:1') and here: keep one "
        "(url: lakefs:// takes the server from endpoint)"
    ]
    data["lake"] = {
        "url": "local://l",
        "repository": "abc",
        "protect_target": True,
        "storage_namespace": "s3://b/p",
        "verify_reads": False,
    }
    assert problems_of(data) == [
        "lake.protect_target: only used with lakefs:// lakes",
        "lake.storage_namespace: only used with lakefs:// lakes",
    ]
    data["lake"] = {
        "url": "lakefs+https://lakefs.example.com",
        "repository": "abc",
        "storage_namespace": "s3://bucket/abc",
        "protect_target": True,
        "verify_reads": False,
    }
    lake = decoded(data, FULL_ENV).lake
    assert (lake.kind, lake.storage_namespace, lake.protect_target, lake.verify_reads) == (
        "lakefs",
        "s3://bucket/abc",
        True,
        False,
    )
    data["lake"]["storage_namespace"] = "bucket/abc"
    assert problems_of(data, FULL_ENV) == [
        "lake.storage_namespace: expected a lakeFS storage namespace: s3://, gs://, http(s)://, "
        "mem://, local:// or transient://, got 'bucket/abc'"
    ]


def test_every_problem_is_reported_at_once() -> None:
    """Problems in every block come back together in one ConfigError, in document order."""
    data = full_config()
    data["pipeline"] = "no spaces allowed"
    data["lake"]["repository"] = "X"
    data["source"]["sql"]["partitions"] = 0
    data["transform"][1]["derive"] = ["not", "a", "mapping"]
    data["transform"][6]["aggregate"]["aggregations"]["income"] = ["mean", "average"]
    data["validate"]["completeness"]["threshold"] = 2
    data["load"]["mode"] = "upsert"
    data["run"]["batch_size"] = 0
    data["monitoring"]["alerts"]["email"]["smtp"]["port"] = 0
    problems = problems_of(data, FULL_ENV)
    assert [p.split(":")[0] for p in problems] == [
        "pipeline",
        "lake.repository",
        "source.sql.partitions",
        "transform[1].derive",
        "transform[6].aggregate.aggregations.income[1]",
        "validate.completeness.threshold",
        "load.mode",
        "run.batch_size",
        "monitoring.alerts.email.smtp.port",
    ]


# -- secrets ---------------------------------------------------------------------------------------


def test_literal_password_in_uri_is_rejected() -> None:
    """A URI with a password written in the file (even as a default) must use the environment."""
    data = minimal_config()
    for uri in (
        "postgresql://etl:hunter2@db/prod",
        "postgresql://etl:pre${PW}@db/prod",
        "${DB_URI:-postgresql://etl:hunter2@db/prod}",
        "mysql://db/prod?password=hunter2",
    ):
        data["source"] = {"sql": {"uri": uri, "table": "t"}}
        problems = problems_of(data, {"PW": "x", "DB_URI": "sqlite:///x"})
        assert problems == [
            "source.sql.uri: the URI contains a password written in the config file; put it in "
            'an environment variable: uri: "${SOURCE_DB_URI}"'
        ]
        assert "hunter2" not in str(problems)


def test_password_from_environment_inside_uri_is_accepted() -> None:
    """``postgresql://etl:${PW}@db`` and a whole-URI reference both keep the password secret."""
    data = minimal_config()
    data["source"] = {"sql": {"uri": "postgresql://etl:${PW}@db/prod", "table": "t"}}
    config = decoded(data, {"PW": "hunter2"})
    assert config.source.uri.reveal() == "postgresql://etl:hunter2@db/prod"  # type: ignore[union-attr]
    assert Secret("hunter2") in config.secrets()
    data["source"] = {"sql": {"uri": "sqlite:///local.db", "table": "t"}}
    assert decoded(data).secrets() == ()


def test_env_only_secrets_refuse_literals_and_defaults() -> None:
    """Salts, lakeFS keys and SMTP passwords must be a bare ``${VAR}`` reference."""
    data = minimal_config()
    for salt in ("literal-salt", "${PII_SALT:-dev-salt}", "x${PII_SALT}", 1234):
        data["transform"] = {"protect": {"columns": {"email": "hash"}, "salt": salt}}
        problems = problems_of(data, {"PII_SALT": "s"})
        assert len(problems) == 1
        assert problems[0].startswith("transform.protect.salt:")
        assert "PII_SALT" in problems[0]
        assert "literal-salt" not in problems[0] and "dev-salt" not in problems[0]
    data["transform"] = {"protect": {"columns": {"email": "hash"}, "salt": "${PII_SALT}"}}
    assert problems_of(data, {"PII_SALT": ""}) == [
        "transform.protect.salt: is empty (PII_SALT is set but empty)"
    ]


def test_secrets_lists_every_secret_value() -> None:
    """``secrets()`` holds URI passwords (raw and decoded), keys, salt, SMTP password, webhook."""
    config = decoded(full_config(), FULL_ENV)
    revealed = {s.reveal() for s in config.secrets()}
    assert revealed == set(SECRET_VALUES) - {"webhooktoken"} | {FULL_ENV["ALERT_WEBHOOK"]}


def test_outputs_are_secret_free() -> None:
    """repr, str, to_dict and describe contain no secret; URIs are shown redacted."""
    config = decoded(full_config(), FULL_ENV)
    outputs = [
        repr(config),
        str(config),
        json.dumps(config.to_dict()),
        json.dumps(config.describe()),
    ]
    for text in outputs:
        for secret in SECRET_VALUES:
            assert secret not in text
    source = config.to_dict()["source"]
    assert source == {
        "sql": {
            "uri": "postgresql://etl:***@db.internal:5432/prod?sslmode=require",
            "query": "select * from users",
            "incremental": {"column": "updated_at", "key": ["id"]},
            "partition_on": "id",
            "partitions": 4,
        }
    }
    monitoring = config.to_dict()["monitoring"]
    assert isinstance(monitoring, dict)
    assert monitoring["alerts"]["webhook"] == {
        "url": "https://hooks.example.com/***",
        "format": "slack",
        "timeout_seconds": 10.0,
    }


def test_describe_summarises_for_run_records() -> None:
    """describe() names the source kind, step kinds, checks and the config hash."""
    summary = decoded(full_config(), FULL_ENV).describe()
    assert summary["transform"] == [
        "clean",
        "derive",
        "filters",
        "categorize",
        "protect",
        "filters",
        "aggregate",
    ]
    assert summary["validate"] == [
        "schema",
        "completeness",
        "unique",
        "references",
        "rules",
        "pandera",
    ]
    assert isinstance(summary["source"], dict) and summary["source"]["kind"] == "sql"
    assert summary["config_sha256"] == decoded(full_config(), FULL_ENV).config_sha256


def test_to_dict_decodes_back_to_the_same_config() -> None:
    """Without secrets, to_dict() is a config that decodes to an equal config (normal form)."""
    data = full_config()
    data.pop("monitoring")
    data["lake"] = {"url": "local://./lake", "repository": "etl-pipeline"}
    data["source"] = {"sql": {"uri": "sqlite:///users.db", "table": "users"}}
    data["load"].pop("database")
    data["transform"][4]["protect"] = {"columns": {"phone": "mask"}}
    config = decoded(data)
    again = decoded(config.to_dict())
    assert again == config
    assert again.config_sha256 == config.config_sha256


# -- hashing -------------------------------------------------------------------------------------


def test_hash_ignores_secret_rotation_key_order_and_explicit_defaults() -> None:
    """Rotating a password, reordering top-level keys or writing a default keeps the hash."""
    base = decoded(full_config(), FULL_ENV).config_sha256
    rotated = {
        **FULL_ENV,
        "PII_SALT": "new-salt",
        "SOURCE_DB_URI": "postgresql://etl:new@db.internal:5432/prod?sslmode=require",
    }
    assert decoded(full_config(), rotated).config_sha256 == base
    reordered = dict(reversed(list(full_config().items())))
    assert decoded(reordered, FULL_ENV).config_sha256 == base
    minimal = decoded(minimal_config()).config_sha256
    explicit = minimal_config()
    explicit["load"] |= {"mode": "append", "raw": True}
    explicit["run"] = {"max_retries": 3}
    assert decoded(explicit).config_sha256 == minimal


def test_hash_changes_with_what_the_pipeline_does() -> None:
    """A different database host, table, step order or option gives a different hash."""
    base = decoded(full_config(), FULL_ENV).config_sha256
    moved = {**FULL_ENV, "SOURCE_DB_URI": "postgresql://etl:s0urce-pw@other-host/prod"}
    assert decoded(full_config(), moved).config_sha256 != base
    changed = with_value(full_config(), ("load", "database", "table"), "users_v2")
    assert decoded(changed, FULL_ENV).config_sha256 != base
    swapped = full_config()
    swapped["transform"][1], swapped["transform"][2] = (
        swapped["transform"][2],
        swapped["transform"][1],
    )
    assert decoded(swapped, FULL_ENV).config_sha256 != base


def test_model_copy_keeps_the_hash_and_validation_recomputes_it() -> None:
    """model_copy keeps config_sha256 (path resolution); validating other content changes it."""
    config = decoded(minimal_config())
    lake = config.lake.model_copy(update={"url": "local:///abs/lake"})
    kept = config.model_copy(update={"lake": lake})
    assert kept.config_sha256 == config.config_sha256
    moved = with_value(minimal_config(), ("lake", "url"), "local:///abs/lake")
    assert decoded(moved).config_sha256 != config.config_sha256


# -- merging builder problems ----------------------------------------------------------------


def test_builder_problems_are_placed_at_the_step_path() -> None:
    """Stage-builder failures map to the step's key path and merge into one ConfigError."""
    config = decoded(full_config(), FULL_ENV)
    failures: list[StageError] = [
        InvalidOption("clean", "strategy", "fill_max", ("drop", "fill_zero")),
        InvalidExpression("derive", "floor(", "unexpected end"),
    ]
    placed = problems_at(config.transform.path_of(0), failures[:1]) + problems_at(
        config.transform.path_of(1), failures[1:]
    )
    assert [p.path for p in placed] == ["transform[0].clean", "transform[1].derive"]
    assert placed[1].message == failures[1].message
    nested = ConfigError((ConfigProblem("rules[0]", "bad"), ConfigProblem("[2]", "worse")))
    assert [p.path for p in problems_at("validate", [nested])] == [
        "validate.rules[0]",
        "validate[2]",
    ]
    merged = config_error(
        [ConfigProblem("x", "uses s0urce-pw"), *placed, ConfigProblem("x", "uses s0urce-pw")],
        config.secrets(),
    )
    assert merged is not None
    assert len(merged.problems) == 3
    assert merged.problems[0].message == "uses ***"
    assert config_error([]) is None


def test_key_paths_quote_unusual_keys() -> None:
    """Keys with spaces or dots are quoted so a path is never ambiguous."""
    assert key_path(("transform", 0, "clean", "null_handling", "first name")) == (
        'transform[0].clean.null_handling["first name"]'
    )
    assert key_path(("a.b",)) == '["a.b"]'


# -- the contract with the stage builders and the validation decoder -----------------------------


def test_every_decoded_step_and_check_builds_without_problems() -> None:
    """Each decoded step and the validate block, given to their builders as is, build cleanly."""
    from lakeflow.core.build import build_checks, build_transform

    config = decoded(full_config(), FULL_ENV)
    assert build_transform(config.transform).unwrap().problems == ()
    assert isinstance(build_checks(config.validate), Success)


# -- what users hit (issues 8 and 10) ---------------------------------------------------------

CONTROL = st.sampled_from([chr(c) for c in (*range(0x20), 0x7F, 0x85, 0x2028)])


@given(
    before=st.sampled_from(["", "data/", "a/b"]),
    control=CONTROL,
    after=st.sampled_from(["x", "users"]),
)
def test_control_characters_in_lake_paths_are_config_errors(
    before: str, control: str, after: str
) -> None:
    """A control character anywhere in a lake path is refused at config time, naming the key."""
    path = before + control + after
    data = minimal_config()
    data["load"]["path"] = path
    data["source"] = {"lake": {"path": path}}
    data["validate"] = {"references": {"c": {"dataset": path, "key": "k"}}}
    problems = problems_of(data)
    assert [p.split(":")[0] for p in problems] == [  # document order
        "source.lake.path",
        "load.path",
        "validate.references.c.dataset",
    ]
    assert all(repr(path) in p for p in problems)


@pytest.mark.parametrize("path", ["/abs", "a/../b", "a//b", "a/", ".", "a\\b", "s3://x"])
def test_other_invalid_lake_path_forms_are_config_errors(path: str) -> None:
    """Leading '/', '..', empty parts, backslashes and URLs are not paths inside the lake."""
    data = with_value(minimal_config(), ("source",), {"lake": {"path": path}})
    assert [p.split(":")[0] for p in problems_of(data)] == ["source.lake.path"]


@pytest.mark.parametrize(
    ("partitions", "ok"), [(1, True), (1024, True), (0, False), (1025, False), (10**12, False)]
)
def test_partitions_are_bounded(partitions: int, ok: bool) -> None:
    """`partitions` accepts 1..1024, so a huge count is a config error, not minutes of planning."""
    data = minimal_config()
    data["source"] = {"sql": {"uri": "sqlite:///x.db", "table": "t", "partition_on": "id"}}
    data["source"]["sql"]["partitions"] = partitions
    result = parse_config(data)
    assert isinstance(result, Success) == ok
    if not ok:
        assert problems_of(data) == [
            f"source.sql.partitions: expected an integer between 1 and 1024, got {partitions}"
        ]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("pipeline",), "users\n"),
        (("lake", "repository"), "etl-pipeline\n"),
        (("lake", "default_branch"), "main\n"),
        (("source",), {"sql": {"uri": "sqlite:///x.db", "table": "users\n"}}),
        (("load", "database"), {"uri": "sqlite:///x.db", "table": "out\n"}),
    ],
)
def test_identifiers_are_matched_in_full(path: tuple[str, ...], value: object) -> None:
    """A name with a trailing newline is refused (no `$`-before-newline acceptance)."""
    problems = problems_of(with_value(minimal_config(), path, value))
    assert len(problems) == 1
    assert "\\n" in problems[0]


def test_composite_unique_keys_in_yaml() -> None:
    """`unique: [id, [year, month, day, flight]]` declares a single and a composite key."""
    data = minimal_config()
    data["validate"] = {"unique": ["id", ["year", "month", "day", "flight"], ["email"]]}
    config = decoded(data)
    assert config.validate is not None
    assert config.validate.unique == ("id", ("year", "month", "day", "flight"), "email")
    data["validate"] = {"unique": ["id", []]}
    assert problems_of(data) == [
        "validate.unique[1]: expected a non-empty list of column names, got []"
    ]


def test_rules_take_a_null_policy_and_an_info_severity() -> None:
    """Rules default to `nulls: pass` and `severity: error`; `fail` and `info` are accepted."""
    data = minimal_config()
    data["validate"] = {
        "rules": [
            {"name": "a", "condition": "x > 0"},
            {"name": "b", "condition": "x > 0", "nulls": "fail", "severity": "info"},
        ]
    }
    rules = decoded(data).validate.rules  # type: ignore[union-attr]
    assert [(r.nulls, r.severity) for r in rules] == [("pass", "error"), ("fail", "info")]
    data["validate"]["rules"][1]["nulls"] = "drop"
    assert problems_of(data) == ["validate.rules[1].nulls: expected one of pass, fail, got 'drop'"]


def test_sql_that_does_not_parse_is_a_config_problem_at_its_key() -> None:
    """A derive expression, filter or rule condition that does not parse is named precisely."""
    data = minimal_config()
    data["transform"] = [{"derive": {"a": "x +* 2"}}, {"filters": ["ok > 1", "b >"]}]
    data["validate"] = {"rules": [{"name": "r", "condition": "(("}]}
    assert [p.split(":")[0] for p in problems_of(data)] == [
        "transform[0].derive.a",
        "transform[1].filters[1]",
        "validate.rules[0].condition",
    ]


def test_keys_yaml_did_not_read_as_text_are_explained_where_they_are() -> None:
    """A boolean or empty key in a section is reported at that section, saying what to do."""
    data = minimal_config()
    data["lake"][True] = 1
    data["load"][""] = 2
    assert problems_of(data) == [
        "lake: key true is not a string (YAML reads yes/no/on/off/true/false as booleans: "
        "quote it)",
        "load: empty key",
    ]
