"""The package's public surface and its architecture contract."""

from __future__ import annotations

import shutil
import subprocess
import sys
import types
from pathlib import Path

import lakeflow

ROOT = Path(__file__).resolve().parent.parent


def _isort_key(name: str) -> tuple[int, str]:
    """Constants, then classes, then functions, each alphabetical (ruff's RUF022 order)."""
    if name.isupper():
        return (0, name)
    return (1, name) if name[:1].isupper() else (2, name)


def test_all_is_sorted_and_unique() -> None:
    """`lakeflow.__all__` is sorted, so additions land in one obvious place."""
    assert list(lakeflow.__all__) == sorted(set(lakeflow.__all__), key=_isort_key)


def test_all_is_complete() -> None:
    """Every public name bound in `lakeflow` is exported, and every export exists."""
    public = {
        name
        for name, value in vars(lakeflow).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(lakeflow.__all__)
    for name in lakeflow.__all__:
        assert getattr(lakeflow, name) is not None


def test_package_ships_py_typed() -> None:
    """Type information ships with the package."""
    assert (ROOT / "lakeflow" / "py.typed").is_file()


def _gates(root: Path) -> subprocess.CompletedProcess[str]:
    """Run both purity gates CI runs (import-linter, then the allow-list check) in ``root``."""
    bin_dir = Path(sys.executable).parent
    lint = subprocess.run(
        [str(bin_dir / "lint-imports"), "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    purity = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "check_purity.py"), "lakeflow/core"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    return subprocess.CompletedProcess(
        lint.args,
        lint.returncode or purity.returncode,
        lint.stdout + purity.stdout,
        lint.stderr + purity.stderr,
    )


def test_purity_gates_pass_on_the_package_and_fail_on_planted_impurities(tmp_path: Path) -> None:
    """Both gates pass today and fail, naming each, on an I/O import, open(), the clock, the
    environment, Polars reads/sinks/collect in lakeflow.core and a layer violation."""
    shutil.copytree(ROOT / "lakeflow", tmp_path / "lakeflow")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    kept = _gates(tmp_path)
    assert kept.returncode == 0, kept.stdout + kept.stderr

    stage_py = tmp_path / "lakeflow" / "core" / "stage.py"
    stage_py.write_text(
        "import pathlib  # planted\n"
        "import lakeflow.adapters  # planted: a layer violation\n"
        + stage_py.read_text()
        + "\n\ndef _planted(frame, pl, datetime, os):\n"
        "    open('x')\n"
        "    datetime.now()\n"
        "    os.environ\n"
        "    pl.read_csv('x')\n"
        "    frame.sink_parquet('x')\n"
        "    return frame.collect()\n"
    )
    broken = _gates(tmp_path)
    assert broken.returncode != 0
    report = broken.stdout
    for planted in (
        "BROKEN",
        "'pathlib'",
        "open()",
        ".now()",
        ".environ",
        ".read_csv()",
        ".sink_parquet()",
        ".collect()",
    ):
        assert planted in report, planted
