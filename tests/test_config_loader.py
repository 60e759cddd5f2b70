"""Loading config files: YAML errors with locations, the environment, relative paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from returns.io import IOResult, IOSuccess
from returns.result import Failure, Result, Success
from returns.unsafe import unsafe_perform_io

from lakeflow.config_loader import config_from_yaml, load_config
from lakeflow.core.config import (
    CategorizeStep,
    CleanStep,
    ParquetSourceConfig,
    PipelineConfig,
    SqlSourceConfig,
)
from lakeflow.core.errors import ConfigError

# The example of DESIGN.md ("Pipeline config (YAML), the shape the CLI reads"), with the
# aggregate step's elided group_by filled in.
DESIGN_EXAMPLE = """\
pipeline: users
lake: {url: "local://./lake", repository: etl-pipeline}   # or lakefs://… ; secrets from env only
source:
  sql: {uri: "${SOURCE_DB_URI}", table: users, incremental: {column: updated_at}}
  # or: sql: {uri: …, query: "select …"}, parquet: {path: …}, csv: {path: …}
transform:
  clean:
    remove_duplicates: true
    null_handling: {email: drop, age: fill_zero, income: fill_mean, status: active}
    type_conversions: {created_at: datetime, age: int, income: float}
    string_cleaning: {email: [strip, lower], name: [strip], status: [strip, lower]}
  derive: {income_bracket: "income / 10000 * 10000"}        # SQL expressions
  filters: ["age >= 18", "income > 0", "status = 'active'"]
  categorize: {income: {Low: {min: 0, max: 30000}, Medium: {min: 30001, max: 80000}, High: {min: 80001}}}
  aggregate: {group_by: [country], aggregations: {income: [mean, median, count]}}   # optional
validate:
  schema: {properties: {id: {type: integer, minimum: 1}, age: {type: integer, minimum: 0, maximum: 150}}, required: [id, email]}
  completeness: {columns: [id, name, email], threshold: 0.95}
  unique: [id, email]
  references: {country: {values: [US, DE, FR]}}
  rules: [{name: adult, condition: "age >= 18", severity: warning}]
  max_invalid_fraction: 0.05
load:
  path: validated_data/users
  mode: append                      # append | overwrite
  database: {uri: "${TARGET_DB_URI}", table: processed_users, mode: upsert, keys: [id]}
monitoring:
  sla: {max_duration_s: 1800, min_success_rate: 0.95}
  alerts: {email: {to: [data-team@example.com]}, webhook: {url: "${ALERT_WEBHOOK}"}}
"""  # noqa: E501 - kept exactly as DESIGN.md writes it
DESIGN_ENV = {
    "SOURCE_DB_URI": "postgresql://etl:hunter2@db:5432/prod",
    "TARGET_DB_URI": "postgresql://loader:s3cret@dw:5432/warehouse",
    "ALERT_WEBHOOK": "https://hooks.example.com/T000/token",
}
MINIMAL = """\
pipeline: users
lake: {url: "local://./lake", repository: etl-pipeline}
source:
  parquet: {path: "data/*.parquet"}
load: {path: validated_data/users}
"""


def load(path: Path, env: dict[str, str] | None = None) -> Result[PipelineConfig, ConfigError]:
    """Run the effectful loader and unwrap its IO container (tests may)."""
    return unwrap_io(load_config(path, env=env or {}))


def unwrap_io(result: IOResult[PipelineConfig, ConfigError]) -> Result[PipelineConfig, ConfigError]:
    """The Result inside the loader's IO container (tests may leave the IO world)."""
    if isinstance(result, IOSuccess):
        return Success(unsafe_perform_io(result.unwrap()))
    return Failure(unsafe_perform_io(result.failure()))


def messages(result: Result[PipelineConfig, ConfigError]) -> list[str]:
    """The problems of a rejected config, as ``path: message`` strings."""
    assert isinstance(result, Failure), "expected the config to be rejected"
    return [str(p) for p in result.failure().problems]


def write(folder: Path, text: str, name: str = "pipeline.yaml") -> Path:
    """Write a config file and return its path."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_design_example_loads(tmp_path: Path) -> None:
    """The DESIGN.md example decodes, with its transform steps in the order written."""
    config = load(write(tmp_path, DESIGN_EXAMPLE), DESIGN_ENV).unwrap()
    assert config.pipeline == "users"
    assert isinstance(config.source, SqlSourceConfig)
    assert config.source.uri.reveal() == DESIGN_ENV["SOURCE_DB_URI"]
    kinds = [step.kind for step in config.transform.steps]
    assert kinds == ["clean", "derive", "filters", "categorize", "aggregate"]
    clean, categorize = config.transform.steps[0], config.transform.steps[3]
    assert isinstance(clean, CleanStep) and isinstance(categorize, CategorizeStep)
    assert list(clean.null_handling) == ["email", "age", "income", "status"]
    assert list(categorize.columns["income"].bins) == ["Low", "Medium", "High"]
    assert config.validate is not None and config.validate.unique == ("id", "email")
    assert config.load.database is not None and config.load.database.mode == "upsert"
    assert "hunter2" not in repr(config) and "s3cret" not in str(config.to_dict())


def test_environment_defaults_to_os_environ(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``env``, ``${NAME}`` reads the process environment."""
    for name, value in DESIGN_ENV.items():
        monkeypatch.setenv(name, value)
    config = unwrap_io(load_config(write(tmp_path, DESIGN_EXAMPLE))).unwrap()
    assert config.load.database is not None
    assert config.load.database.uri.reveal() == DESIGN_ENV["TARGET_DB_URI"]


def test_missing_environment_is_reported_per_key_with_location(tmp_path: Path) -> None:
    """Each unset variable is named at its key path with file, line and column."""
    path = write(tmp_path, DESIGN_EXAMPLE)
    assert messages(load(path)) == [
        f"source.sql.uri: environment variable SOURCE_DB_URI is not set ({path}:4:9)",
        f"load.database.uri: environment variable TARGET_DB_URI is not set ({path}:26:14)",
        f"monitoring.alerts.webhook.url: environment variable ALERT_WEBHOOK is not set "
        f"({path}:29:60)",
    ]


def test_problems_carry_the_location_of_their_key(tmp_path: Path) -> None:
    """Wrong values point at their key; missing keys at the nearest enclosing key."""
    text = MINIMAL.replace("load: {path: validated_data/users}", "load:\n  mode: apend\n")
    text = text.replace('parquet: {path: "data/*.parquet"}', "parquet: {paht: x}")
    path = write(tmp_path, text)
    assert messages(load(path)) == [
        f"source.parquet.paht: unknown key; did you mean 'path'? ({path}:4:13)",
        f"source.parquet.path: required key is missing ({path}:4:3)",
        f"load.mode: expected one of append, overwrite, merge, got 'apend'; did you mean 'append'? "
        f"({path}:6:3)",
        f"load.path: required key is missing ({path}:5:1)",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "a: [1\nb: 2\n",
            "2:2: invalid YAML: expected ',' or ']', but got ':' (while parsing a "
            "flow sequence at line 1, column 4)",
        ),
        ("pipeline: users\n  lake: x\n", "2:7: invalid YAML: mapping values are not allowed here"),
        (
            "pipeline:\tusers\n",
            "1:10: invalid YAML: found character '\\t' that cannot start any token",
        ),
        ("a: *missing\n", "1:4: invalid YAML: found undefined alias 'missing'"),
        (
            "a: 1\n---\nb: 2\n",
            "2:1: invalid YAML: but found another document (expected a single "
            "document in the stream at line 1, column 1)",
        ),
        (
            'a: "\x07"\n',
            "1:5: invalid YAML: character #x0007 is not allowed (special characters "
            "are not allowed)",
        ),
    ],
)
def test_yaml_syntax_errors_name_line_and_column(tmp_path: Path, text: str, expected: str) -> None:
    """A YAML syntax error is one problem with the file, line and column."""
    path = write(tmp_path, text)
    assert messages(load(path)) == [f"{path}:{expected}"]


def test_duplicate_keys_are_reported_with_both_lines(tmp_path: Path) -> None:
    """A key written twice (YAML would silently keep the last) is a problem, with other ones."""
    text = MINIMAL + "transform:\n  filters: ['a > 0']\n  derive: {b: a}\n  filters: ['b > 0']\n"
    path = write(tmp_path, text.replace("pipeline: users", "pipeline: users!"))
    assert messages(load(path)) == [
        f"transform.filters: duplicate key (first written at line 7); YAML would keep only the "
        f"last one ({path}:9:3)",
        f"pipeline: expected a name of 1-63 letters, digits, '_' and '-', starting with a letter "
        f"or digit, got 'users!' ({path}:1:1)",
    ]


def test_merge_keys_may_override_without_being_duplicates(tmp_path: Path) -> None:
    """``<<: *anchor`` followed by an override is not a duplicate key."""
    text = MINIMAL + "run:\n  <<: &defaults {max_retries: 1, batch_size: 10}\n  max_retries: 5\n"
    config = load(write(tmp_path, text)).unwrap()
    assert (config.run.max_retries, config.run.batch_size) == (5, 10)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "",
            "config file {path} is empty: expected a mapping with pipeline, lake, source and load",
        ),
        (
            "# nothing but a comment\n",
            "config file {path} is empty: expected a mapping with pipeline, lake, source and load",
        ),
        (
            "- pipeline: users\n",
            "expected a mapping with pipeline, lake, source and load at the "
            "top level, got a list ({path})",
        ),
        (
            "just text\n",
            "expected a mapping with pipeline, lake, source and load at the top "
            "level, got a string ({path})",
        ),
        (
            "a: &a [*a]\n",
            "a[0]: {path}:1:4: invalid config: a recursive alias (a value that contains itself)",
        ),
    ],
)
def test_documents_that_are_not_a_config_are_rejected(
    tmp_path: Path, text: str, expected: str
) -> None:
    """Empty files, non-mapping documents and self-containing aliases are one problem."""
    path = write(tmp_path, text)
    assert messages(load(path)) == [expected.format(path=path)]


def test_unreadable_files_are_config_errors(tmp_path: Path) -> None:
    """A missing file, a directory or bytes that are not UTF-8 give a ConfigError, not a crash."""
    assert messages(load(tmp_path / "nope.yaml")) == [
        f"config file not found: {tmp_path / 'nope.yaml'}"
    ]
    assert messages(load(tmp_path)) == [f"config file {tmp_path} is a directory"]
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"pipeline: caf\xe9\n")
    assert messages(load(binary)) == [f"config file {binary} is not UTF-8 text (byte 13)"]


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    """Editors that write a byte-order mark do not break the config."""
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode())
    assert load(path).unwrap().pipeline == "users"


def test_relative_paths_resolve_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The local lake and file sources resolve against the file's folder, not the cwd."""
    folder = tmp_path / "project" / "conf"
    folder.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    text = MINIMAL.replace('"data/*.parquet"', '"../data/*.parquet"')
    config = load(write(folder, text)).unwrap()
    assert config.lake.url == f"local://{folder / 'lake'}"
    assert isinstance(config.source, ParquetSourceConfig)
    assert config.source.path == str(tmp_path / "project" / "data" / "*.parquet")
    assert config.load.path == "validated_data/users"  # a lake path, not a file


def test_absolute_urls_and_lake_paths_stay_as_written(tmp_path: Path) -> None:
    """``local:///abs``, ``s3://`` sources and lake sources are not touched."""
    text = MINIMAL.replace("local://./lake", "local:///srv/lake").replace(
        '"data/*.parquet"', '"s3://bucket/users/*.parquet"'
    )
    config = load(write(tmp_path, text)).unwrap()
    assert config.lake.url == "local:///srv/lake"
    assert config.source.path == "s3://bucket/users/*.parquet"  # type: ignore[union-attr]
    lake_source = MINIMAL.replace('parquet: {path: "data/*.parquet"}', "lake: {path: raw/users}")
    assert load(write(tmp_path, lake_source)).unwrap().source.path == "raw/users"  # type: ignore[union-attr]


def test_home_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``~`` in the lake URL and file paths means the user's home folder."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    text = MINIMAL.replace("local://./lake", "local://~/lake").replace(
        '"data/*.parquet"', '"~/in.parquet"'
    )
    config = load(write(tmp_path, text)).unwrap()
    assert config.lake.url == f"local://{tmp_path / 'home' / 'lake'}"
    assert config.source.path == str(tmp_path / "home" / "in.parquet")  # type: ignore[union-attr]


def test_hash_is_the_same_wherever_the_file_lives(tmp_path: Path) -> None:
    """Resolving relative paths does not change config_sha256: it hashes the file as written."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = load(write(tmp_path / "a", MINIMAL)).unwrap()
    second = load(write(tmp_path / "b", MINIMAL)).unwrap()
    assert first.lake.url != second.lake.url
    assert first.config_sha256 == second.config_sha256
    unresolved = config_from_yaml(MINIMAL).unwrap()
    assert unresolved.lake.url == "local://./lake"
    assert unresolved.config_sha256 == first.config_sha256


def test_literal_secrets_in_the_file_are_rejected_without_echo(tmp_path: Path) -> None:
    """A password written in the file is refused, and never appears in the error."""
    text = MINIMAL.replace(
        'parquet: {path: "data/*.parquet"}',
        "sql: {uri: 'postgresql://etl:hunter2@db/prod', table: users}",
    )
    path = write(tmp_path, text)
    problems = messages(load(path))
    assert problems == [
        "source.sql.uri: the URI contains a password written in the config file; put it in an "
        f'environment variable: uri: "${{SOURCE_DB_URI}}" ({path}:4:9)'
    ]
    assert "hunter2" not in str(problems)
