"""A child process that runs one ``lakeflow`` command, for crash tests through the CLI.

    python -m tests.e2e.cli_child [--kill-at N | --count] -- run CONFIG ...

Like :mod:`tests.e2e.run_child`, on the shell and the lakeFS adapter: ``--count`` runs the
command and prints, as JSON, how many watched events it made and at which one the lake's
``merge`` (the publish) started; ``--kill-at N`` SIGKILLs the process at the N-th event.
"""

from __future__ import annotations

import argparse
import json
import sys
from types import FrameType

from lakeflow.cli import main as cli_main
from tests.e2e.run_child import kill_at

WATCHED = ("/lakeflow/run/", "/lakeflow/adapters/lakefs/")
"""Source folders whose calls count as crash points: the shell and the lakeFS adapter."""
MERGE = ("/lakeflow/adapters/lakefs/lake.py", "merge")
"""The call that publishes: ``LakeFSLake.merge``."""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kill-at", type=int, default=0)
    parser.add_argument("--count", action="store_true")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = [a for a in args.command if a != "--"]
    events, count = kill_at(args.kill_at, WATCHED)
    merge_at: list[int] = []

    def profile(frame: FrameType, event: str, arg: object) -> None:
        count(frame, event, arg)
        code = frame.f_code
        if (
            event == "call"
            and not merge_at
            and code.co_name == MERGE[1]
            and code.co_filename.endswith(MERGE[0])
        ):
            merge_at.append(events[0])

    sys.setprofile(profile)
    try:
        cli_main(command)
        status = 0
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    finally:
        sys.setprofile(None)
    if args.count:
        print(json.dumps({"events": events[0], "merge_at": merge_at[0] if merge_at else None}))
    sys.exit(status)


if __name__ == "__main__":
    main()
