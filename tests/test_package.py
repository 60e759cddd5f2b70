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


def test_import_contract_catches_a_forbidden_import(tmp_path: Path) -> None:
    """The purity contract fails when lakeflow.core imports an I/O module."""
    shutil.copytree(ROOT / "lakeflow", tmp_path / "lakeflow")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    lint = [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"]
    kept = subprocess.run(lint, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert kept.returncode == 0, kept.stdout + kept.stderr

    stage_py = tmp_path / "lakeflow" / "core" / "stage.py"
    stage_py.write_text("import pathlib  # forbidden\n" + stage_py.read_text())
    broken = subprocess.run(lint, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert broken.returncode != 0
    assert "BROKEN" in broken.stdout and "pathlib" in broken.stdout
