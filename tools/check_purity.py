"""Check that ``lakeflow/core`` stays pure: an allow-list of imports and a list of banned APIs.

Run by ``make test`` (CI) next to import-linter, whose layers contract keeps the packages in
order (cli/pipelines > run > adapters > ports > core). This check adds what import-linter
cannot say: what the pure core may import at all (an allow-list, so a new I/O library is
refused without anyone having to think of banning it) and which calls it may not make even
through allowed modules (``open``, the clock, the environment, Polars I/O and execution).

Usage: ``python tools/check_purity.py [PACKAGE_DIR]`` (default ``lakeflow/core``); exits 1 and
lists every violation with its file and line.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ALLOWED_IMPORTS = frozenset(
    {
        # the project's own pure core
        "lakeflow.core",
        # third-party libraries that do no I/O when used as the core uses them
        "polars",
        "returns",
        "pandera",
        "pydantic",
        "pydantic_core",
        "typing_extensions",
        "annotated_types",
        # pure parts of the standard library
        "__future__",
        "abc",
        "ast",
        "collections",
        "copy",
        "dataclasses",
        "datetime",
        "decimal",
        "difflib",
        "enum",
        "errno",
        "fractions",
        "functools",
        "hashlib",
        "html",
        "itertools",
        "json",
        "keyword",
        "math",
        "numbers",
        "operator",
        "re",
        "shlex",
        "statistics",
        "string",
        "textwrap",
        "types",
        "typing",
        "unicodedata",
        "urllib.parse",
        "warnings",
        "zoneinfo",
    }
)
"""Modules (and their submodules) ``lakeflow.core`` may import."""

BANNED_CALLS = frozenset({"open", "input", "print", "exec", "eval", "breakpoint", "__import__"})
BANNED_ATTRIBUTES = {
    "collect": "executes a plan",
    "collect_all": "executes plans",
    "collect_batches": "executes a plan",
    "collect_schema_async": "executes a plan",
    "now": "reads the clock",
    "utcnow": "reads the clock",
    "today": "reads the clock",
    "environ": "reads the environment",
    "getenv": "reads the environment",
}
BANNED_PREFIXES = ("read_", "scan_", "sink_", "write_")
"""Polars I/O: ``pl.read_csv``, ``lf.sink_parquet``, ``df.write_parquet``..."""


def _allowed(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in ALLOWED_IMPORTS)


def violations(path: Path) -> Iterator[str]:
    """Effect (reads the file). Every impurity in one source file, as ``file:line: what``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not _allowed(alias.name):
                    yield f"{path}:{node.lineno}: imports {alias.name!r} (not on the allow-list)"
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if not _allowed(node.module):
                yield f"{path}:{node.lineno}: imports {node.module!r} (not on the allow-list)"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in BANNED_CALLS:
                yield f"{path}:{node.lineno}: calls {node.func.id}() (I/O)"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            if name in BANNED_ATTRIBUTES:
                yield f"{path}:{node.lineno}: calls .{name}() ({BANNED_ATTRIBUTES[name]})"
            elif name.startswith(BANNED_PREFIXES):
                yield f"{path}:{node.lineno}: calls .{name}() (Polars I/O)"
        elif isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
            yield f"{path}:{node.lineno}: uses .{node.attr} (reads the environment)"


def main(argv: list[str]) -> int:
    """Effect. Check every ``*.py`` under the package folder; 0 when pure, 1 otherwise."""
    root = Path(argv[1]) if len(argv) > 1 else Path("lakeflow/core")
    found = [v for file in sorted(root.rglob("*.py")) for v in violations(file)]
    for line in found:
        print(line)  # noqa: T201 - a command-line tool
    if found:
        print(f"{len(found)} impurity(ies) in {root}: lakeflow.core must stay pure")  # noqa: T201
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
