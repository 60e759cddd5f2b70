"""What `lakeflow run` shows: a live status line on a terminal, plain lines otherwise."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from tests.e2e.test_cli import ROOT, base_config, lakeflow, sqlite_source, write_config


def _on_a_terminal(*args: str) -> str:
    """Run `python -m lakeflow ARGS` with stdout and stderr on a pseudo-terminal."""
    main, secondary = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "lakeflow", *args],
        stdout=secondary,
        stderr=secondary,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "120", "TERM": "xterm-256color"},
    )
    os.close(secondary)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait()
    os.close(main)
    assert process.returncode == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode(errors="replace")


def _project(tmp_path: Path) -> str:
    sqlite_source(tmp_path)
    config = str(write_config(tmp_path, base_config()))
    assert lakeflow("init", config).returncode == 0
    return config


def test_on_a_terminal_a_live_status_line_names_the_running_step(tmp_path: Path) -> None:
    """On a TTY the running step is shown live (with ANSI control codes) before its line."""
    shown = _on_a_terminal("run", _project(tmp_path))
    assert "extract ..." in shown
    assert "\x1b[" in shown
    assert "published run" in shown


def test_without_a_terminal_there_is_no_live_output(tmp_path: Path) -> None:
    """Piped output has step lines and a summary, and no control codes."""
    done = lakeflow("run", _project(tmp_path))
    assert done.returncode == 0
    assert "\x1b[" not in done.stdout + done.stderr
    assert "  extract   ok" in done.stdout


def test_quiet_prints_only_the_summary(tmp_path: Path) -> None:
    """`--quiet` drops the header and the step lines, even on a terminal."""
    shown = _on_a_terminal("run", _project(tmp_path), "--quiet")
    assert "extract ..." not in shown
    assert "  extract   ok" not in shown
    assert "published run" in shown
