"""A child process that runs ``init_lake`` once, for crash tests.

    python -m tests.e2e.init_child LAKE_ROOT REPOSITORY [--kill-at N | --count]

Like :mod:`tests.e2e.run_child`: ``--count`` prints how many watched events one init makes,
``--kill-at N`` SIGKILLs the process at the N-th.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lakeflow.adapters.local import LocalLake
from lakeflow.run import init_lake
from tests.e2e.run_child import kill_at


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", type=Path)
    parser.add_argument("repository")
    parser.add_argument("--kill-at", type=int, default=0)
    parser.add_argument("--count", action="store_true")
    args = parser.parse_args()
    lake = LocalLake(args.root, args.repository)
    events, profile = kill_at(args.kill_at)
    if args.count or args.kill_at:
        sys.setprofile(profile)
    done = init_lake(lake)
    sys.setprofile(None)
    if args.count:
        print(events[0])
        return
    print(done.unwrap().layout)


if __name__ == "__main__":
    main()
