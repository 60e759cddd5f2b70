"""``python -m benchmarks`` (``make bench``): run benchmark suites and print/write their results.

Effect. Examples::

    python -m benchmarks                                   # transform suite, 100k/1M/10M, 3 repeats
    python -m benchmarks --sizes 100k,1M --verify          # check every contender agrees
    python -m benchmarks --suite transform --contenders polars,lakeflow --repeats 5
    python -m benchmarks --list                            # suites, contenders, targets

Exit codes: 0 every run succeeded (targets are reported, never enforced); 1 a run failed or
contenders disagreed under ``--verify``; 2 usage error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.harness import (
    DEFAULT_DATA_DIR,
    DEFAULT_RESULTS_DIR,
    Options,
    Suite,
    discover,
    format_report,
    format_size,
    machine_info,
    parse_size,
    registered,
    run_suite,
    write_report,
)

DEFAULT_SUITE = "transform"


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _sizes(text: str) -> tuple[int, ...]:
    try:
        return tuple(parse_size(part) for part in _csv(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _repeats(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("--repeats must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Pure. The command-line parser."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=(
            "Run lakeflow's benchmark suites. Every contender runs in a fresh process; "
            "results are medians, reported as ratios against the suite's baseline measured "
            "in the same run, and written as JSON under benchmarks/results/."
        ),
    )
    parser.add_argument(
        "--suite",
        default=DEFAULT_SUITE,
        help=f"suite name(s), comma-separated, or 'all' (default: {DEFAULT_SUITE})",
    )
    parser.add_argument(
        "--sizes", type=_sizes, default=(), help="input rows, e.g. 100k,1M,10M (default: suite's)"
    )
    parser.add_argument(
        "--repeats", type=_repeats, default=3, help="fresh-process runs per contender (default 3)"
    )
    parser.add_argument(
        "--contenders",
        type=_csv,
        default=[],
        help="contender names, comma-separated (the baseline is always added)",
    )
    parser.add_argument(
        "--verify",
        action="store_true",
        help="check that every contender produces the same result at each size",
    )
    parser.add_argument("--seed", type=int, default=42, help="seed for generated data (default 42)")
    parser.add_argument(
        "--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="cache for generated inputs"
    )
    parser.add_argument(
        "--results-dir", type=Path, default=DEFAULT_RESULTS_DIR, help="where the JSON goes"
    )
    parser.add_argument(
        "--timeout", type=float, default=3600.0, help="seconds before a run is killed"
    )
    parser.add_argument("--list", action="store_true", help="list suites and contenders, then exit")
    return parser


def _describe(suites: dict[str, Suite]) -> str:
    lines: list[str] = []
    for suite in suites.values():
        sizes = ", ".join(format_size(s) for s in suite.default_sizes)
        lines.append(f"{suite.name}: {suite.description}")
        lines.append(f"  baseline: {suite.baseline}; default sizes: {sizes} {suite.size_unit}")
        lines.extend(f"  - {c.name}: {c.description}" for c in suite.contenders)
        lines.extend(f"  target: {t.describe(suite.baseline)}" for t in suite.targets)
    return "\n".join(lines)


def _choose(
    parser: argparse.ArgumentParser, spec: str, suites: dict[str, Suite], errors: dict[str, str]
) -> list[Suite]:
    names = list(suites) if spec.strip() == "all" else _csv(spec)
    unknown = [n for n in names if n not in suites]
    if unknown:
        hints = [f"{m}: {e}" for m, e in errors.items() if m in unknown]
        parser.error(
            f"unknown suite(s) {', '.join(unknown)}; known: {', '.join(suites) or '(none)'}"
            + ("".join(f"\n  import error in {h}" for h in hints))
        )
    return [suites[n] for n in names]


def main(argv: Sequence[str] | None = None) -> int:
    """Effect. Parse ``argv``, run the chosen suites, print tables, write JSON; exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    errors = discover()
    for module, error in errors.items():
        print(f"warning: benchmarks.{module} did not import ({error}); skipped", file=sys.stderr)
    suites = registered()
    if args.list:
        print(_describe(suites))
        return 0
    chosen = _choose(parser, args.suite, suites, errors)
    wanted = tuple(args.contenders)
    known = {c.name for suite in chosen for c in suite.contenders}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        parser.error(
            f"unknown contender(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    load1 = os.getloadavg()[0]
    cores = os.cpu_count() or 1
    if load1 > 0.5 * cores:
        print(
            f"warning: load average {load1:.2f} on {cores} cores: timings will be noisy",
            file=sys.stderr,
        )
    machine = machine_info()
    all_ok = True
    for suite in chosen:
        options = Options(
            sizes=tuple(args.sizes),
            repeats=args.repeats,
            contenders=tuple(n for n in wanted if n in suite.contender_names),
            verify=args.verify,
            seed=args.seed,
            data_dir=args.data_dir.resolve(),
            results_dir=args.results_dir.resolve(),
            timeout_s=args.timeout,
        )
        report = run_suite(suite, options, progress=lambda msg: print(msg, file=sys.stderr))
        print(format_report(report))
        path = write_report(report, machine)
        print(f"\nresults: {path}")
        all_ok = all_ok and report.ok
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
