"""lakeflow benchmarks: suites of contenders, each timed in a fresh process.

Run them with ``python -m benchmarks`` (``make bench``); see ``benchmarks/README.md``.

Keep this package's ``__init__`` free of imports: every benchmark child process imports it, and
anything imported here would count towards every contender's peak RSS.
"""
