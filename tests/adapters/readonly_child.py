"""A child process that uses a lake it may not write, for the read-only tests.

    python -m tests.adapters.readonly_child LAKE_ROOT REPOSITORY [--as-user UID] [--follow]

Prints one JSON document: what each read returned, and the error code of each write. With
``--follow`` it instead prints main's head, waits for a line on stdin (the parent wrote
meanwhile), and prints main's head again. With
``--as-user`` (run as root) it drops to that user and group after its imports, so the
interpreter may live where that user cannot read it (a virtualenv under ``/root``).
"""

from __future__ import annotations

import json
import os
import sys
from typing import TypeVar

from returns.io import IOResult
from returns.result import Failure

from lakeflow.adapters.lake_helpers import unwrap_io
from lakeflow.adapters.local import LocalLake
from lakeflow.core.errors import LakeError
from lakeflow.run import runs

T = TypeVar("T")


def _value(result: IOResult[T, LakeError]) -> T:
    outcome = unwrap_io(result)
    if isinstance(outcome, Failure):
        raise SystemExit(f"a read failed: {outcome.failure().message}")
    return outcome.unwrap()


def _code(result: IOResult[object, LakeError]) -> str:
    outcome = unwrap_io(result)
    return outcome.failure().code if isinstance(outcome, Failure) else "ok"


def main() -> None:
    root, repository, *rest = sys.argv[1:]
    if rest[:1] == ["--as-user"]:
        uid = int(rest[1])
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    lake = LocalLake(root, repository)
    if "--follow" in rest:
        print(_value(lake.resolve("main")), flush=True)
        sys.stdin.readline()
        print(_value(lake.resolve("main")), flush=True)
        return
    head = _value(lake.resolve("main"))
    reads = {
        "repository": _value(lake.get_repository()).id,
        "branches": [b.name for b in _value(lake.list_branches())],
        "head": head,
        "objects": [o.path for o in _value(lake.list_objects(ref="main"))],
        "text": _value(lake.get_bytes("notes/readme.txt", ref="main")).decode(),
        "rows": _value(lake.scan_frame("validated_data/users", ref="main")).collect().height,
        "log": [c.message for c in _value(lake.log_commits("main"))],
        "diff": len(_value(lake.diff(f"{head}~1", head))),
        "fsck": _value(lake.fsck(deep=True)).ok,
        "runs": [r.status for r in runs(lake, "users")],
    }
    refused = unwrap_io(lake.put_bytes("x", b"1", branch="main"))
    writes = {
        "put_bytes": _code(lake.put_bytes("x", b"1", branch="main")),
        "commit": _code(lake.commit("main", "m", allow_empty=True)),
        "create_branch": _code(lake.create_branch("dev", "main")),
        "discard_changes": _code(lake.discard_changes("main")),
        "gc": _code(lake.gc()),
        "create_repository_exist_ok": _code(lake.create_repository(exist_ok=True)),
        "message": refused.failure().message if isinstance(refused, Failure) else "",
    }
    print(json.dumps({"reads": reads, "writes": writes}))


if __name__ == "__main__":
    main()
