"""Run the benchmark command line on a tiny input, as the smoke tests do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def run_benchmarks(tmp_path: Path, suite: str, size: str) -> subprocess.CompletedProcess[str]:
    """`python -m benchmarks` for one suite and size, verified, one repeat; results and data
    under ``tmp_path`` (``tmp_path / "results"`` holds the JSON)."""
    command = [
        sys.executable,
        "-m",
        "benchmarks",
        *("--suite", suite, "--sizes", size, "--repeats", "1", "--verify"),
        *("--data-dir", str(tmp_path / "data"), "--results-dir", str(tmp_path / "results")),
    ]
    return subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, check=False, timeout=600
    )
