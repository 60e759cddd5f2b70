"""The ``lake:`` section reaches the lake: pipelines.py opens it with every setting it holds."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

import polars as pl
import yaml
from returns.result import Failure

from lakeflow.adapters.lakefs import LakeFSLake
from lakeflow.adapters.local import LocalLake
from lakeflow.config_loader import config_from_yaml
from lakeflow.pipelines import Job, job_from_config
from lakeflow.testing.lake_contract import expect_failure, expect_success
from lakeflow.testing.lakefs import LakeFSDouble


def _job(folder: Path, lake: Mapping[str, object], env: dict[str, str] | None = None) -> Job:
    text = yaml.safe_dump(
        {
            "pipeline": "users",
            "lake": dict(lake),
            "source": {"parquet": {"path": "users.parquet"}},
            "load": {"path": "validated_data/users"},
        }
    )
    config = config_from_yaml(text, env=env or {}, base_dir=folder).unwrap()
    built = job_from_config(config)
    assert not isinstance(built, Failure), built.failure().message
    return built.unwrap()


def _damaged_part(lake: LocalLake) -> None:
    """Commit one parquet part, then flip a byte of its blob on disk."""
    buffer = io.BytesIO()
    pl.DataFrame({"id": list(range(100))}).write_parquet(buffer)
    expect_success(lake.create_repository())
    expect_success(lake.put_bytes("ds/part-1.parquet", buffer.getvalue(), branch="main"))
    expect_success(lake.commit("main", "data"))
    blob = expect_success(lake.blob_path("ds/part-1.parquet", ref="main"))
    damaged = bytearray(blob.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    blob.chmod(0o644)
    blob.write_bytes(bytes(damaged))


def test_verify_reads_from_the_config_reaches_the_local_lake(tmp_path: Path) -> None:
    """lake.verify_reads: false opens the lake without read verification; the default verifies."""
    checked = _job(tmp_path, {"url": "local://lake", "repository": "etl-pipeline"}).lake
    assert isinstance(checked, LocalLake)
    _damaged_part(checked)
    expect_failure(checked.scan_frame("ds", ref="main"), "corrupt")
    trusting = _job(
        tmp_path, {"url": "local://lake", "repository": "etl-pipeline", "verify_reads": False}
    ).lake
    expect_success(trusting.scan_frame("ds", ref="main"))


def test_lakefs_settings_from_the_config_and_the_lakectl_variables_reach_the_lake(
    tmp_path: Path, lakefs_server: LakeFSDouble
) -> None:
    """A lakefs:// lake gets its endpoint, keys and storage namespace from the config and the
    lakectl variables: the repository is created where the config says, with those keys."""
    env = {
        "LAKECTL_SERVER_ENDPOINT_URL": lakefs_server.endpoint,
        "LAKECTL_CREDENTIALS_ACCESS_KEY_ID": lakefs_server.access_key_id,
        "MY_SECRET": lakefs_server.secret_access_key,
    }
    settings = {
        "url": "lakefs://",
        "repository": "pipelines-lake-1",
        "storage_namespace": "local://pipelines-lake-1",
        "secret_access_key": "${MY_SECRET}",
    }
    lake = _job(tmp_path, settings, env).lake
    assert isinstance(lake, LakeFSLake)
    assert lake.storage_namespace == "local://pipelines-lake-1"
    assert expect_success(lake.create_repository()).id == "pipelines-lake-1"
    refused = _job(tmp_path, settings, {**env, "MY_SECRET": "not-the-secret"}).lake
    expect_failure(refused.get_repository(), "auth")
