"""The README's Python example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def test_the_readme_notebook_example_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every Python block of the README runs against a users.parquet like the tutorial's."""
    blocks = _python_blocks((ROOT / "README.md").read_text())
    assert blocks, "the README shows Python code"
    ids = list(range(1, 201))
    pl.DataFrame(
        {
            "id": ids,
            "email": [f" User{i}@Example.com " for i in ids],
            "age": [20 + i % 60 for i in ids],
            "income": [1000.0 * i for i in ids],
            "updated_at": [f"2024-01-{1 + i % 28:02d}" for i in ids],
        }
    ).write_parquet(tmp_path / "users.parquet")
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})  # noqa: S102 - the README's own code
    printed = capsys.readouterr().out
    assert "Success" in printed or "RunRecord" in printed, printed
