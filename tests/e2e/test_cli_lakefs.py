"""The `lakeflow` command line on lakeFS: the users example end to end over the server double.

Everything is real: `lakeflow` subprocesses configured the way lakectl is (``LAKECTL_*``
variables), the lakeFS SDK, HTTP, and the double's three-way merges; quick checks of what a
command prints run the same CLI in this process. The double of this module
is started with a planted access key and secret; every test checks that neither shows up in
what the CLI printed (stdout, and stderr with every logger at DEBUG), in any object or commit
of the lake, or in any file the double stored.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import polars as pl
import pytest
import yaml
from returns.result import Failure, Success

from examples.users.generate import add_changes, create_users
from lakeflow.adapters.lake_helpers import unwrap_io
from lakeflow.cli import main as cli_main
from lakeflow.config_loader import load_config
from lakeflow.core.records import RunRecord
from lakeflow.lakes import LakeHandle
from lakeflow.pipelines import Job, job_from_config
from lakeflow.ports import Lake
from lakeflow.run import init_lake, run, show_run
from lakeflow.testing.lakefs import LakeFSDouble, running_lakefs

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "users" / "pipeline.yaml"
DATASET = "validated_data/users"
KEY = "AKIAPLANTEDKEY4242"
SECRET = "planted/lakeFS+Secret=Key-7f3a9cQ"  # "/" and "+" as in lakeFS quickstart secrets
_numbers = itertools.count(1)
_LOGGED = (
    "import logging, sys; "
    "logging.basicConfig(level=logging.DEBUG, stream=sys.stderr); "
    "from lakeflow.cli import main; main(sys.argv[1:])"
)
"""Run the CLI with every logger (lakeflow's, urllib3's, the SDK's) at DEBUG on stderr."""


def _forms(*values: str) -> set[str]:
    """Every way a planted credential could be written out."""
    found = set()
    for value in values:
        found |= {value, quote(value, safe=""), quote_plus(value)}
        found.add(base64.b64encode(value.encode()).decode())
    found.add(base64.b64encode(f"{KEY}:{SECRET}".encode()).decode())  # an Authorization header
    return found


PLANTED = _forms(KEY, SECRET)


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LakeFSDouble]:
    """A lakeFS double accepting only the planted key and secret."""
    with running_lakefs(
        tmp_path_factory.mktemp("planted-lakefs"), access_key_id=KEY, secret_access_key=SECRET
    ) as server:
        yield server


class Project:
    """A copy of the users example whose lake is a repository on the planted double."""

    def __init__(
        self,
        folder: Path,
        server: LakeFSDouble,
        source: Path,
        inline: tuple[pytest.CaptureFixture[str], pytest.MonkeyPatch],
        **changes: Any,
    ) -> None:
        self.folder = folder
        self._capsys, self._monkeypatch = inline
        self.server = server
        self.repository = f"cli-lakefs-{next(_numbers):04d}"
        self.transcript: list[str] = []
        config = yaml.safe_load(EXAMPLE.read_text())
        config["lake"] = {
            "url": "lakefs://",
            "repository": self.repository,
            "storage_namespace": f"local://lakeflow-cli/{self.repository}",
            **changes.pop("lake", {}),
        }
        for section, values in changes.items():
            config[section] = {**config.get(section, {}), **values}
        folder.mkdir(parents=True, exist_ok=True)
        self.config = folder / "pipeline.yaml"
        self.config.write_text(yaml.safe_dump(config, sort_keys=False))
        self.env = {
            "LAKECTL_SERVER_ENDPOINT_URL": server.endpoint,
            "LAKECTL_CREDENTIALS_ACCESS_KEY_ID": KEY,
            "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY": SECRET,
            "SOURCE_DB_URI": f"sqlite://{source}",
            "TARGET_DB_URI": f"sqlite://{folder / 'warehouse.db'}",
        }
        self._job: Job | None = None

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-c", _LOGGED, *args]

    def environment(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        return {**os.environ, **self.env, **(env or {})}

    def cli(
        self, *args: str, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run `lakeflow ARGS` in a subprocess; what it printed joins the transcript."""
        done = subprocess.run(
            self.command(*args),
            capture_output=True,
            text=True,
            check=False,
            env=self.environment(env),
            cwd=self.folder,
        )
        self.transcript += [done.stdout, done.stderr]
        return done

    def inline(
        self, *args: str, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run `lakeflow ARGS` in this process (for quick checks of what a command says);
        what it printed joins the transcript."""
        with self._monkeypatch.context() as patch:
            for name, value in {**self.env, **(env or {})}.items():
                patch.setenv(name, value)
            self._capsys.readouterr()
            try:
                cli_main(list(args))
                code = 0
            except SystemExit as exit_:
                code = int(exit_.code or 0)
        out, err = self._capsys.readouterr()
        self.transcript += [out, err]
        return subprocess.CompletedProcess(list(args), code, out, err)

    def spawn(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
        """Start `lakeflow ARGS` in a subprocess (collect it with :meth:`collect`)."""
        return subprocess.Popen(
            self.command(*args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.environment(env),
            cwd=self.folder,
        )

    def collect(self, child: subprocess.Popen[str]) -> tuple[int, str, str]:
        out, err = child.communicate(timeout=300)
        self.transcript += [out, err]
        return child.returncode, out, err

    @property
    def job(self) -> Job:
        """The config's job, built in this process with the project's environment."""
        if self._job is None:
            self._job = self.job_of(self.config)
        return self._job

    def job_of(self, config: Path) -> Job:
        """The job of another config file, built with the project's environment."""
        return job_from_config(unwrap_io(load_config(config, env=self.env)).unwrap()).unwrap()

    def strict(self) -> Path:
        """A config like the project's that tolerates no invalid row (the example's data always
        has some, so its runs fail validation)."""
        data = yaml.safe_load(self.config.read_text())
        data["validate"]["max_invalid_fraction"] = 0.0
        path = self.folder / "strict.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    @property
    def lake(self) -> Lake:
        return self.job.lake

    def init(self) -> None:
        """`lakeflow init`, in this process (set-up only: the tests' CLI calls come after)."""
        init_lake(self.lake).unwrap()

    def head(self, ref: str = "main") -> str:
        return unwrap_io(self.lake.resolve(ref)).unwrap()

    def published(self, ref: str = "main") -> pl.DataFrame:
        """The published rows, sorted by id and update time."""
        return LakeHandle(self.lake).scan(DATASET, ref=ref).collect().sort("id", "updated_at")

    def assert_nothing_leaked(self) -> None:
        """No planted credential in the transcript, the lake's objects and commits, or the
        double's files."""
        text = "\n".join(self.transcript)
        assert not [form for form in PLANTED if form in text], "a credential was printed"
        lake = self.lake
        for branch in unwrap_io(lake.list_branches()).unwrap():
            for info in unwrap_io(lake.list_objects(ref=branch.name)).unwrap():
                data = unwrap_io(lake.get_bytes(info.path, ref=branch.name)).unwrap()
                assert not [f for f in PLANTED if f.encode() in data], info.path
            for commit in unwrap_io(lake.log_commits(branch.name)).unwrap():
                written = commit.message + json.dumps(dict(commit.metadata))
                assert not [f for f in PLANTED if f in written], commit.id
        for file in self.server.data_dir.rglob("*"):
            if file.is_file():
                data = file.read_bytes()
                assert not [f for f in PLANTED if f.encode() in data], file


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """The example's messy users table (300 users), shared by a test's projects."""
    path = tmp_path / "users.db"
    create_users(path, rows=300)
    return path


@pytest.fixture
def projects(
    tmp_path: Path,
    planted: LakeFSDouble,
    source: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[..., Project]]:
    """Make copies of the users example on new repositories of the planted double (keyword
    arguments change config sections); each is checked for leaks afterwards."""
    made: list[Project] = []

    def make(**changes: Any) -> Project:
        where = tmp_path / f"project-{len(made)}"
        project = Project(where, planted, source, (capsys, monkeypatch), **changes)
        made.append(project)
        return project

    yield make
    planted.faults.clear()
    for project in made:
        project.assert_nothing_leaked()


def record_of(done: subprocess.CompletedProcess[str] | str) -> dict[str, Any]:
    """The JSON record a `--json` command printed."""
    text = done if isinstance(done, str) else done.stdout
    found: dict[str, Any] = json.loads(text)
    return found


def versions(frame: pl.DataFrame) -> list[tuple[Any, ...]]:
    """The (id, updated_at) pairs published, sorted: every row version once."""
    return sorted(frame.select("id", "updated_at").rows())


def test_the_users_example_runs_on_a_protected_lakefs_main(
    projects: Callable[..., Project], source: Path
) -> None:
    """init (idempotent, protecting main), health, a first and an incremental run publish by
    merge into the protected main; a failed validation keeps its record on its branch."""
    project = projects(lake={"protect_target": True})
    config = str(project.config)
    first_init = project.cli("init", config)
    assert first_init.returncode == 0, first_init.stderr
    assert f"repository {project.repository} at lakefs://" in first_init.stdout
    assert "(created; default branch main)" in first_init.stdout
    assert "protected main" in first_init.stdout
    again = project.inline("init", config)
    assert again.returncode == 0, again.stderr
    assert "(exists; default branch main)" in again.stdout and "layout" in again.stdout
    unpublished = project.inline("health", config)
    assert unpublished.returncode == 1, "the example's freshness SLA: never published yet"
    assert "freshness FAILED" in unpublished.stdout

    first = project.cli("run", config, "--json")
    assert first.returncode == 0, first.stderr
    one = record_of(first)
    health = project.inline("health", config)
    assert health.returncode == 0, health.stdout + health.stderr
    for part in ("endpoint", "credentials", "repository"):
        assert f"lake {part:<12} ok" in health.stdout
    assert one["status"] == "published" and one["rows"]["valid"] > 0
    assert project.head() == one["merge_commit"]
    expect_failure = unwrap_io(project.lake.put_bytes("direct.txt", b"x", branch="main"))
    assert isinstance(expect_failure, Failure) and expect_failure.failure().code == "precondition"

    added = add_changes(source, new=60, updated=20)
    second = project.cli("run", config, "--json")
    assert second.returncode == 0, second.stderr
    two = record_of(second)
    assert two["status"] == "published" and two["base_commit"] == one["merge_commit"]
    assert one["rows"]["extracted"] + two["rows"]["extracted"] == 303 + added.height
    published = project.published()  # a table merged by id: one row per user
    assert published.height == published["id"].n_unique()
    assert published.height <= one["rows"]["valid"] + two["rows"]["valid"]

    strict_config = project.strict()
    add_changes(source, new=30, updated=10, seed=9)
    before = project.head()
    failed = project.cli("run", str(strict_config), "--json")
    assert failed.returncode == 1, failed.stderr
    three = record_of(failed)
    assert three["failed_step"] == "validate" and project.head() == before
    kept = unwrap_io(project.lake.log_commits(three["run_branch"], limit=1)).unwrap()[0]
    assert kept.metadata["lakeflow.status"] == "failed"
    record = unwrap_io(
        project.lake.get_bytes(f"_lakeflow/runs/users/{three['run_id']}.json", ref=kept.id)
    ).unwrap()
    assert json.loads(record)["status"] == "failed"
    shown = project.inline("show", config, three["run_id"])
    assert "FAILED at validate" in shown.stdout


def test_no_merge_then_publish_discard_and_prune_through_the_cli(
    projects: Callable[..., Project], source: Path
) -> None:
    """A run kept with --no-merge publishes on `publish`; a second one from the same base is
    refused (nothing twice), then discarded; `prune` deletes an old failed run's branch."""
    project = projects()
    project.init()
    config = str(project.config)
    base = project.head()
    kept = project.cli("run", config, "--no-merge", "--json")
    assert kept.returncode == 0, kept.stderr
    first = record_of(kept)
    assert first["status"] == "committed" and project.head() == base
    rival = run(project.job.pipeline, project.lake, merge=False)
    assert isinstance(rival, Success)
    second = rival.unwrap()

    published = project.cli("publish", config, first["run_id"], "--json")
    assert published.returncode == 0, published.stderr
    assert record_of(published)["status"] == "published"
    assert project.head() == record_of(published)["merge_commit"]
    assert project.published().height == first["rows"]["valid"]
    refused = project.cli("publish", config, second.run_id)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "another run published to 'main'" in refused.stdout + refused.stderr
    assert project.published().height == first["rows"]["valid"]
    again = project.inline("publish", config, first["run_id"])
    assert again.returncode == 2 and "published already" in again.stderr

    discarded = project.inline("discard", config, second.run_id)
    assert discarded.returncode == 0, discarded.stderr
    assert show_run(project.lake, second.run_id, "users").status == "discarded"
    branches = {b.name for b in unwrap_io(project.lake.list_branches()).unwrap()}
    assert second.run_branch not in branches

    add_changes(source, new=30, updated=10)
    failed = run(project.job_of(project.strict()).pipeline, project.lake)
    assert isinstance(failed, Failure) and failed.failure().run_branch is not None
    pruned = project.inline("prune", config, "--older-than", "0s", "--json")
    assert pruned.returncode == 0, pruned.stderr
    report = json.loads(pruned.stdout)
    assert [p["branch"] for p in report["pruned"]] == [failed.failure().run_branch]
    assert report["kept"] == []
    assert show_run(project.lake, failed.failure().run_id, "users").status == "failed"
    bad_age = project.inline("prune", config, "--older-than", "a week")
    assert bad_age.returncode == 2 and "7d" in bad_age.stderr


def test_two_concurrent_cli_runs_conflict_and_exactly_one_publishes(
    projects: Callable[..., Project],
) -> None:
    """Run A's merge is held inside lakeFS while run B publishes from the same base: A's merge
    then conflicts on the checkpoint and A fails; every row is published once, by B."""
    project = projects(run={"retry_on_conflict": 0})
    project.init()
    config = str(project.config)
    held = project.server.faults.slow(
        120, method="POST", path=f"/repositories/{project.repository}/refs/*/merge/main"
    )
    first = project.spawn("run", config, "--json", env={"TARGET_DB_URI": "sqlite://a.db"})
    assert held.wait(timeout=120), "run A never reached its merge"
    second = project.cli("run", config, "--json", env={"TARGET_DB_URI": "sqlite://b.db"})
    assert second.returncode == 0, second.stderr
    winner = record_of(second)
    project.server.faults.clear()
    code, out, err = project.collect(first)
    assert code == 1, err
    loser = record_of(out)
    assert loser["failed_step"] == "merge" and loser["error"]["code"] == "conflict"
    assert "_lakeflow/checkpoints/users.json" in loser["error"]["message"]
    assert loser["base_commit"] == winner["base_commit"]
    assert project.head() == winner["merge_commit"]
    published = project.published()
    assert published.height == winner["rows"]["valid"]
    assert len(versions(published)) == len(set(versions(published)))


def test_four_concurrent_cli_processes_publish_every_row_exactly_once(
    projects: Callable[..., Project],
) -> None:
    """Four `lakeflow run` processes at once: every row version the pipeline publishes in one
    run is published exactly once, whichever process publishes it."""
    project = projects(run={"retry_on_conflict": 4})
    project.init()
    reference = projects()
    reference.init()
    expected = run(reference.job.pipeline, reference.lake)
    assert isinstance(expected, Success)
    children = [
        project.spawn(
            "run", str(project.config), "--json", env={"TARGET_DB_URI": f"sqlite://w{i}.db"}
        )
        for i in range(4)
    ]
    outcomes = [project.collect(child) for child in children]
    assert [code for code, _, _ in outcomes] == [0, 0, 0, 0], [err for _, _, err in outcomes]
    records = [record_of(out) for _, out, _ in outcomes]
    assert sum(r["rows"]["valid"] for r in records) == expected.unwrap().rows.valid
    assert versions(project.published()) == versions(reference.published())


def test_kill_9_at_several_points_of_a_cli_run_never_half_publishes(
    projects: Callable[..., Project], source: Path
) -> None:
    """`lakeflow run` killed at points before, during and after its merge leaves main as it
    was or with the whole run; the next run publishes the rest, as a run never killed would."""
    project = projects(run={"retry_on_conflict": 0})
    project.init()
    reference = projects()
    reference.init()
    config = str(project.config)
    child = [sys.executable, "-m", "tests.e2e.cli_child"]

    def counted(target: Project) -> tuple[int, int]:
        """Run `lakeflow run` on ``target`` counting events: (all, the merge's)."""
        done = subprocess.run(
            [*child, "--count", "--", "run", str(target.config)],
            capture_output=True, text=True, check=False, env=target.environment(), cwd=ROOT,
        )  # fmt: skip
        target.transcript += [done.stdout, done.stderr]
        assert done.returncode == 0, done.stderr
        facts = json.loads(done.stdout.strip().splitlines()[-1])
        assert facts["merge_at"] is not None and 0 < facts["merge_at"] < facts["events"]
        return int(facts["events"]), int(facts["merge_at"])

    assert isinstance(run(project.job.pipeline, project.lake), Success)
    assert isinstance(run(reference.job.pipeline, reference.lake), Success)
    assert versions(project.published()) == versions(reference.published())
    # The reference is in the project's state before each kill, so its count (which also
    # publishes it) says where this run's merge falls.
    fractions = [(15, 0), (50, 0), (95, 0), (0, 50)]  # % of the way to the merge, % after it

    outcomes = set()
    for number, (before_merge, after_merge) in enumerate(fractions):
        add_changes(source, new=40, updated=10, seed=100 + number)
        total, merge_at = counted(reference)
        point = merge_at * before_merge // 100 + (total - merge_at) * after_merge // 100
        point = max(1, point if before_merge else merge_at + max(1, point))
        before = project.head()
        before_rows = versions(project.published())
        killed = subprocess.run(
            [*child, "--kill-at", str(point), "--", "run", config],
            capture_output=True, text=True, check=False, env=project.environment(), cwd=ROOT,
        )  # fmt: skip
        project.transcript += [killed.stdout, killed.stderr]
        assert killed.returncode == -9, (point, killed.stdout, killed.stderr)
        if project.head() == before:
            assert versions(project.published()) == before_rows, f"kill at {point}"
            outcomes.add("before")
        else:
            (merge,) = unwrap_io(project.lake.log_commits("main", limit=1)).unwrap()
            assert merge.metadata["lakeflow.status"] == "published", f"kill at {point}"
            outcomes.add("after")
        again = run(project.job.pipeline, project.lake)
        assert isinstance(again, Success), again.failure().dumps()
        assert versions(project.published()) == versions(reference.published()), point
    assert outcomes == {"before", "after"}


def test_init_discards_a_stray_change_that_blocks_runs_and_health_names_the_failed_part(
    projects: Callable[..., Project],
) -> None:
    """A change staged on main by hand refuses every run, which says to use
    `init --discard-uncommitted`; that drops it and lists it. `health` names the part that
    failed: the credentials, then the repository."""
    project = projects()
    config = str(project.config)
    project.init()
    unwrap_io(project.lake.put_bytes("stray/notes.csv", b"a,b\n", branch="main")).unwrap()
    blocked = run(project.job.pipeline, project.lake)
    assert isinstance(blocked, Failure)
    assert "lakeflow init CONFIG --discard-uncommitted" in blocked.failure().error.message
    cleared = project.inline("init", config, "--discard-uncommitted")
    assert cleared.returncode == 0, cleared.stderr
    assert "discarded on main: 1 uncommitted change(s)" in cleared.stdout
    assert "added    stray/notes.csv" in cleared.stdout
    assert unwrap_io(project.lake.uncommitted("main")).unwrap() == ()
    published = run(project.job.pipeline, project.lake)
    assert isinstance(published, Success) and isinstance(published.unwrap(), RunRecord)

    wrong = project.inline(
        "health", config, env={"LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY": SECRET[::-1]}
    )
    assert wrong.returncode == 1
    assert "lake endpoint     ok" in wrong.stdout
    assert "lake credentials  FAILED" in wrong.stdout
    assert "lake repository   FAILED" in wrong.stdout and "not checked" in wrong.stdout
    assert SECRET[::-1] not in wrong.stdout + wrong.stderr
    other = yaml.safe_load(project.config.read_text())
    other["lake"]["repository"] = "never-created-0001"
    other_config = project.folder / "other.yaml"
    other_config.write_text(yaml.safe_dump(other, sort_keys=False))
    missing = project.inline("health", str(other_config))
    assert missing.returncode == 1
    assert "lake credentials  ok" in missing.stdout
    assert "lake repository   FAILED" in missing.stdout and "lakeflow init" in missing.stdout
