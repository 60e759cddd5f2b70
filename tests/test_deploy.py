"""deploy/: every manifest parses, runs only commands and options the CLI has, and sets only
environment variables lakeflow reads (its own, or ones the deployed config references)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from lakeflow.adapters.lakefs.connect import ACCESS_KEY_ENV, ENDPOINT_ENV, SECRET_KEY_ENV
from lakeflow.cli import app
from lakeflow.config_loader import config_from_yaml
from lakeflow.environment import VARIABLES, config_variables

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
PIPELINE = DEPLOY / "kubernetes" / "pipeline.yaml"
CLI = typer.main.get_command(app)
COMMANDS: dict[str, Any] = CLI.commands  # type: ignore[attr-defined]  # a group (typer's click)
# The image's own plumbing, not settings of lakeflow: where programs are found, unbuffered
# output for container logs, and how uv builds the environment in the build stage.
IMAGE_PLUMBING = {"PATH", "PYTHONUNBUFFERED"}


def referenced() -> set[str]:
    """The ${VARIABLES} the deployed config reads."""
    return set(config_variables(PIPELINE.read_text()))


def assert_lakeflow_command(argv: list[str]) -> None:
    """``argv`` (without ``lakeflow``) names a command and only options it has."""
    options = {o for p in CLI.params for o in getattr(p, "opts", [])}
    args = list(argv)
    while args and args[0].startswith("--"):  # global options before the command
        option = args.pop(0).split("=")[0]
        assert option in options, f"lakeflow has no global option {option}"
        args.pop(0)
    command = COMMANDS.get(args[0])
    assert command is not None, f"lakeflow has no command {args[0]!r}"
    known = {o for p in command.params for o in getattr(p, "opts", [])}
    for arg in args[1:]:
        if arg.startswith("--"):
            assert arg.split("=")[0] in known, f"lakeflow {args[0]} has no option {arg}"


def lakeflow_lines(script: str) -> Iterator[list[str]]:
    """The lakeflow command lines of a shell script, split like a shell would."""
    for line in script.splitlines():
        words = shlex.split(line.strip(), comments=True) if line.strip() else []
        if words[:1] == ["lakeflow"]:
            yield words[1:]


def dockerfile() -> tuple[dict[str, str], dict[str, list[str]], str]:
    """The final stage's ENV, its exec-form instructions (JSON arrays) and its USER."""
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    final = text[text.rindex("\nFROM ") :]
    env: dict[str, str] = {}
    forms: dict[str, list[str]] = {}
    user = ""
    for line in final.splitlines():
        word, _, rest = line.strip().partition(" ")
        if word == "ENV":
            env.update(dict(re.findall(r"(\w+)=(\S+)", rest)))
        elif word in {"CMD", "ENTRYPOINT", "HEALTHCHECK"}:
            forms[word] = yaml.safe_load(rest[rest.index("[") :])
        elif word == "USER":
            user = rest
    return env, forms, user


def containers() -> Iterator[tuple[str, dict[str, Any]]]:
    for doc in yaml.safe_load_all((DEPLOY / "kubernetes" / "cronjob.yaml").read_text()):
        if doc["kind"] == "CronJob":
            spec = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            for container in spec["containers"]:
                yield doc["metadata"]["name"], container


def test_the_deployed_config_is_valid() -> None:
    """deploy/kubernetes/pipeline.yaml validates, and the ConfigMap holds exactly that file."""
    env = dict.fromkeys(referenced(), "x")
    env |= {"SOURCE_DB_URI": "postgresql://u:p@db/src", "TARGET_DB_URI": "postgresql://u:p@db/t"}
    env["ALERT_WEBHOOK"] = "https://hooks.example.com/x"
    parsed = config_from_yaml(PIPELINE.read_text(), env=env, source=str(PIPELINE))
    assert parsed.map(lambda c: c.pipeline).value_or(None) == "users", parsed
    (configmap,) = (
        d
        for d in yaml.safe_load_all((DEPLOY / "kubernetes" / "cronjob.yaml").read_text())
        if d["kind"] == "ConfigMap"
    )
    assert configmap["data"]["pipeline.yaml"] == PIPELINE.read_text()


def test_the_dockerfile_runs_as_a_user_and_checks_health() -> None:
    """Non-root, HEALTHCHECK is `lakeflow health`, and the commands and variables exist."""
    env, forms, user = dockerfile()
    assert user not in {"", "0", "root"}
    assert forms["ENTRYPOINT"] == ["lakeflow"]
    assert forms["HEALTHCHECK"][:2] == ["lakeflow", "health"]
    assert_lakeflow_command(forms["HEALTHCHECK"][1:])
    assert_lakeflow_command(forms["CMD"])
    assert set(env) - IMAGE_PLUMBING <= set(VARIABLES)
    text = (DEPLOY / "Dockerfile").read_text()
    assert "uv sync --locked" in text and "uv.lock" in text


def test_the_cronjobs_are_daily_forbid_overlap_and_use_secrets() -> None:
    """02:00 daily, Forbid, resource requests, config from the ConfigMap, secrets by reference."""
    docs = {
        d["metadata"]["name"]: d
        for d in yaml.safe_load_all((DEPLOY / "kubernetes" / "cronjob.yaml").read_text())
        if d["kind"] == "CronJob"
    }
    assert docs["lakeflow-users"]["spec"]["schedule"] == "0 2 * * *"
    for name, container in containers():
        spec = docs[name]["spec"]
        assert spec["concurrencyPolicy"] == "Forbid"
        assert (
            container["resources"]["requests"]["cpu"]
            and container["resources"]["requests"]["memory"]
        )
        assert_lakeflow_command(container["args"])
        volumes = docs[name]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"]
        assert {"name": "config", "configMap": {"name": "users-pipeline"}} in volumes
        for variable in container["env"]:
            name_ = variable["name"]
            assert name_ in VARIABLES or name_ in referenced(), f"lakeflow never reads {name_}"
            if name_ in referenced():  # every secret comes from a Secret, never a literal
                assert "secretKeyRef" in variable.get("valueFrom", {}), name_


def test_the_ci_example_runs_check_and_tests() -> None:
    """The workflow runs `lakeflow check` per config and pytest; its env is all read."""
    workflow = yaml.safe_load((DEPLOY / "ci" / "github-actions.yml").read_text())
    (job,) = workflow["jobs"].values()
    scripts = [step["run"] for step in job["steps"] if "run" in step]
    commands = [words for script in scripts for words in lakeflow_lines(script)]
    assert [c[0] for c in commands] == ["check"]
    for words in commands:
        assert_lakeflow_command(words)
    assert any("pytest" in script for script in scripts)
    for variable in job["env"]:
        assert variable in VARIABLES or variable in referenced(), f"lakeflow never reads {variable}"


@pytest.mark.parametrize("name", [ENDPOINT_ENV, ACCESS_KEY_ENV, SECRET_KEY_ENV])
def test_every_variable_an_adapter_reads_is_listed(name: str) -> None:
    """The lakeFS adapter's variables are in the one list of variables lakeflow reads."""
    assert name in VARIABLES


def test_the_cli_options_read_the_listed_variables() -> None:
    """Each envvar= of a CLI option is in the list (and nothing in the list is made up)."""
    envvars = {p.envvar for p in CLI.params if isinstance(p.envvar, str)}
    assert envvars and envvars <= set(VARIABLES)
    lakefs = {ENDPOINT_ENV, ACCESS_KEY_ENV, SECRET_KEY_ENV}
    assert set(VARIABLES) == envvars | lakefs
