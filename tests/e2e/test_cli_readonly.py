"""The CLI on a lake it cannot write: reads work, writes fail with a clear message (exit 1)."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_cli import ROOT, base_config, lakeflow, sqlite_source, write_config


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = ["unshare", "--user", "--map-root-user", "--mount", "true"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


def _read_only(lake: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m lakeflow ARGS` with ``lake`` bind-mounted read-only (a real read-only
    filesystem, which root cannot write either)."""
    command = " ".join(shlex.quote(a) for a in (sys.executable, "-m", "lakeflow", *args))
    script = (
        f'mount --bind "{lake}" "{lake}" && mount -o remount,bind,ro "{lake}" "{lake}" && '
        f"cd {shlex.quote(str(ROOT))} && {command}"
    )
    return subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.skipif(not _unshare_works(), reason="needs unshare (user + mount namespaces)")
def test_read_only_lake_reads_work_and_writes_fail_cleanly(tmp_path: Path) -> None:
    """runs and show work on a read-only lake; run and init exit 1 saying the lake is
    read-only, with no traceback."""
    sqlite_source(tmp_path)
    config = str(write_config(tmp_path, base_config()))
    assert lakeflow("init", config).returncode == 0
    first = lakeflow("run", config, "--json")
    assert first.returncode == 0, first.stderr
    lake = tmp_path / "lake"

    listed = _read_only(lake, "runs", config)
    assert listed.returncode == 0, listed.stderr
    assert "published" in listed.stdout

    for args in (("run", config), ("init", config)):
        done = _read_only(lake, *args)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        shown = done.stdout + done.stderr
        assert "Traceback" not in shown, shown
        assert "read-only" in shown or "read_only" in shown, shown
