"""The benchmark child process: import, start the clock, run one contender, report what it took.

Effect. Started by the harness as ``python -m benchmarks._child`` with a JSON request on stdin
(``target``, ``setup``, ``imports``, ``workload``, ``result_path``). The clock runs around the
target only: the imports and the optional ``setup`` function happen before it starts. Writes
``{"time_s", "peak_rss_kib", "import_rss_kib", "rss_source"}`` to ``result_path``; on failure
prints the traceback and exits 1.

Peak RSS is this process's ``VmHWM`` (``/proc/self/status``): the high-water mark of the memory
map created by ``exec``. ``ru_maxrss`` (from ``getrusage`` here or ``wait4`` in the parent) is not
used on Linux because ``exec`` folds the *parent's* high-water mark into it: a child of a 1.5 GB
harness reports >= 1.5 GB however little it uses. Where ``/proc`` is missing, ``ru_maxrss`` is
the fallback and ``rss_source`` says so.
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any

_STATUS = Path("/proc/self/status")


def _high_water_kib() -> tuple[int, str]:
    """Effect (reads /proc). Peak RSS of this process's memory map in KiB, and its source."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]), "VmHWM"
    except (OSError, ValueError, IndexError):
        pass
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return (maxrss // 1024 if sys.platform == "darwin" else maxrss), "ru_maxrss"


def _function(target: str) -> Any:
    """Effect (imports). The module-level function named ``module:qualname``."""
    module_name, _, qualname = target.partition(":")
    return getattr(importlib.import_module(module_name), qualname)


def main() -> int:
    """Effect. Serve one request from stdin; return the process exit code."""
    request = json.loads(sys.stdin.buffer.read())
    result_path = Path(request["result_path"])
    try:
        for module in request["imports"]:
            importlib.import_module(module)
        run = _function(str(request["target"]))
        setup = _function(str(request["setup"])) if request.get("setup") else None
        from benchmarks.harness import Workload

        work = Workload.from_json(request["workload"])
        if setup is not None:
            setup(work)  # untimed: state the timed part needs (see Contender.setup)
        import_rss_kib, _ = _high_water_kib()
        started = time.perf_counter()
        run(work)
        elapsed = time.perf_counter() - started
        peak_rss_kib, rss_source = _high_water_kib()
    except BaseException as exc:  # PanicException is a BaseException: report it as a failure
        if isinstance(exc, KeyboardInterrupt):
            raise
        traceback.print_exc()
        return 1
    result_path.write_text(
        json.dumps(
            {
                "time_s": elapsed,
                "peak_rss_kib": peak_rss_kib,
                "import_rss_kib": import_rss_kib,
                "rss_source": rss_source,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
