"""The benchmark harness: a registry of suites and the runner that times their contenders.

Effect (spawns processes, writes files). A **suite** is data preparation + **contenders** + the
name of the **baseline** contender (+ optional **targets**). Every run of a contender happens in
a fresh Python process; the harness records the work time the child measures around the
contender's function, the whole process's wall and CPU time, and its peak RSS (``os.wait4``
rusage: no extra dependency). Results are medians over repeats, reported as ratios against the
baseline measured in the same run, and written as JSON with every repeat.

Registering a suite (a module ``benchmarks/<name>.py``; the CLI imports every such module)::

    from benchmarks.harness import Contender, PrepareContext, Suite, Target, Workload, register

    def prepare(ctx: PrepareContext) -> dict[str, JSONValue]:
        from benchmarks.datasets import users_parquet   # heavy imports stay inside functions
        return {"users": str(users_parquet(ctx.size, ctx.data_dir, seed=ctx.seed))}

    def run_pandas(work: Workload) -> None:             # module-level: the child imports it
        import pandas as pd
        pd.read_parquet(work.input_path("users")).to_parquet(work.out_dir / "out.parquet")

    register(Suite(
        name="copy", description="read and write users", prepare=prepare,
        contenders=(Contender("pandas", run_pandas, "pandas read/write", imports=("pandas",)),),
        baseline="pandas",
    ))

This module imports only the standard library, so importing it in a child costs nothing
measurable; suite modules should import heavy libraries inside functions for the same reason.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import pkgutil
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Literal, TypeAlias

__all__ = [
    "BENCH_DIR",
    "DEFAULT_DATA_DIR",
    "DEFAULT_RESULTS_DIR",
    "REPO_ROOT",
    "Contender",
    "JSONValue",
    "Options",
    "PrepareContext",
    "Prepared",
    "RunResult",
    "Suite",
    "SuiteReport",
    "Target",
    "Workload",
    "discover",
    "format_report",
    "format_size",
    "parse_size",
    "register",
    "registered",
    "run_suite",
    "write_report",
]

JSONValue: TypeAlias = "str | int | float | bool | list[JSONValue] | dict[str, JSONValue] | None"
Metric: TypeAlias = Literal["time", "rss"]

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
DEFAULT_DATA_DIR = BENCH_DIR / "data"
DEFAULT_RESULTS_DIR = BENCH_DIR / "results"
RESULT_SCHEMA = "lakeflow-bench/1"

_HELPER_MODULES = frozenset({"harness", "datasets"})


# --------------------------------------------------------------------------------------------
# The registration API
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PrepareContext:
    """What a suite's ``prepare`` gets: the size to prepare, the seed and the data cache folder.

    Attributes:
        size: Number of input rows (the ``--sizes`` value).
        seed: Seed for generated data (``--seed``); the same seed gives the same bytes.
        data_dir: Cache folder for generated inputs (git-ignored ``benchmarks/data``).
    """

    size: int
    seed: int
    data_dir: Path


@dataclass(frozen=True, slots=True)
class Workload:
    """What a contender gets in its child process.

    Attributes:
        suite: Suite name.
        contender: This contender's name.
        size: Number of input rows.
        inputs: The mapping the suite's ``prepare`` returned (JSON values: paths, URIs, numbers).
        out_dir: A fresh, empty folder for this run's outputs; the harness deletes it afterwards
            (after the suite's ``verify`` and ``output_facts`` have looked at it).
    """

    suite: str
    contender: str
    size: int
    inputs: Mapping[str, JSONValue]
    out_dir: Path

    def input_path(self, key: str) -> Path:
        """Pure. ``inputs[key]`` as a path (raises ``KeyError``/``TypeError`` if it is not one)."""
        value = self.inputs[key]
        if not isinstance(value, str):
            raise TypeError(f"input {key!r} is {type(value).__name__}, not a path string")
        return Path(value)

    def to_json(self) -> dict[str, JSONValue]:
        """Pure. The JSON shape sent to the child process."""
        return {
            "suite": self.suite,
            "contender": self.contender,
            "size": self.size,
            "inputs": dict(self.inputs),
            "out_dir": str(self.out_dir),
        }

    @staticmethod
    def from_json(data: Mapping[str, JSONValue]) -> Workload:
        """Pure. Inverse of :meth:`to_json`."""
        inputs = data["inputs"]
        if not isinstance(inputs, dict):
            raise TypeError("workload inputs must be an object")
        return Workload(
            suite=str(data["suite"]),
            contender=str(data["contender"]),
            size=int(str(data["size"])),
            inputs=inputs,
            out_dir=Path(str(data["out_dir"])),
        )


ContenderFn: TypeAlias = Callable[[Workload], None]
Prepared: TypeAlias = "Mapping[str, JSONValue] | AbstractContextManager[Mapping[str, JSONValue]]"


@dataclass(frozen=True, slots=True)
class Contender:
    """One way of doing the suite's work, timed in its own process.

    Attributes:
        name: Short name used on the command line and in tables (``pandas``, ``lakeflow``).
        run: A MODULE-LEVEL function ``(Workload) -> None`` (the child imports it by name).
            Everything it does is timed: read inputs, compute, write outputs to ``out_dir``.
        description: One line saying what it does (shown by ``--list`` and in the JSON).
        imports: Modules imported in the child BEFORE the clock starts (their import time is
            excluded from the work time; their memory still counts towards peak RSS).
        setup: An optional MODULE-LEVEL function ``(Workload) -> None`` the child calls after
            the imports and BEFORE the clock starts, in the same process as :attr:`run`: for
            state the timed part needs but must not pay for (a lake with objects already
            staged, so that only the commit is timed). Its time counts in ``process_s`` and
            ``cpu_s``, never in ``time_s``; its memory counts towards both peak RSS figures.
    """

    name: str
    run: ContenderFn
    description: str
    imports: tuple[str, ...] = ()
    setup: ContenderFn | None = None

    @property
    def target(self) -> str:
        """Pure. ``module:qualname`` of :attr:`run`, which the child process imports."""
        return _target_of(self.run)

    @property
    def setup_target(self) -> str | None:
        """Pure. ``module:qualname`` of :attr:`setup`, or ``None`` when there is none."""
        return None if self.setup is None else _target_of(self.setup)


def _target_of(function: ContenderFn) -> str:
    """Pure. ``module:qualname`` of a module-level function (what the child imports)."""
    module = function.__module__
    if module == "__main__":  # a script run with ``python -m pkg.mod`` knows its real name
        spec = getattr(sys.modules.get("__main__"), "__spec__", None)
        module = getattr(spec, "name", None) or module
    return f"{module}:{function.__qualname__}"


@dataclass(frozen=True, slots=True)
class Target:
    """A goal printed as PASS/MISS: ``metric(contender) <= max_ratio * metric(reference)``.

    Attributes:
        contender: Whose median is judged.
        metric: ``"time"`` (median work time) or ``"rss"`` (median peak RSS).
        max_ratio: The largest acceptable ratio (``1 / 3.5`` means "at least 3.5x faster").
        reference: The contender compared against; ``None`` means the suite's baseline.
        label: Human wording; generated from the other fields when empty.
        min_size: Sizes below this still print the verdict, marked as informational (fixed
            costs such as process start-up dominate small inputs).
    """

    contender: str
    metric: Metric
    max_ratio: float
    reference: str | None = None
    label: str = ""
    min_size: int = 0

    def describe(self, baseline: str) -> str:
        """Pure. The label, or a generated one."""
        if self.label:
            return self.label
        what = "time" if self.metric == "time" else "peak RSS"
        return f"{self.contender} {what} <= {self.max_ratio:.3g}x {self.reference or baseline}"


@dataclass(frozen=True, slots=True)
class Suite:
    """A benchmark suite: how to prepare inputs, who competes, who is the baseline.

    Attributes:
        name: Used by ``--suite`` and in result file names.
        description: One line for ``--list`` and the JSON.
        prepare: Called once per size in the harness process, before any contender runs. Returns
            the ``inputs`` mapping every contender receives, or a context manager yielding it
            (for inputs that need a live resource, such as a database server: it stays up
            while the contenders run and is closed afterwards). Cache expensive data under
            ``ctx.data_dir``.
        contenders: In table order; names must be unique.
        baseline: The contender every ratio is computed against (always run, even when
            ``--contenders`` leaves it out).
        targets: Goals printed as PASS/MISS (they never change the exit code).
        default_sizes: Sizes used when ``--sizes`` is not given.
        verify: ``--verify``: given each contender's ``out_dir`` after its first run at a size,
            return problems (empty when every contender produced the same result). Runs in the
            harness process. An unequal contender is a bug: the run exits non-zero.
        output_facts: Called in the harness process on each successful run's ``out_dir``
            (outside the timing); returns small facts for the table and JSON (``rows_out``).
        packages: Distributions whose installed versions are recorded in the JSON.
        size_unit: What a size counts, for tables and progress lines (``rows``; ``objects``
            for a suite whose size is a number of lake objects).
    """

    name: str
    description: str
    prepare: Callable[[PrepareContext], Prepared]
    contenders: tuple[Contender, ...]
    baseline: str
    targets: tuple[Target, ...] = ()
    default_sizes: tuple[int, ...] = (100_000, 1_000_000, 10_000_000)
    verify: Callable[[Mapping[str, Path]], Sequence[str]] | None = None
    output_facts: Callable[[Path], Mapping[str, JSONValue]] | None = None
    packages: tuple[str, ...] = ()
    size_unit: str = "rows"

    def contender(self, name: str) -> Contender:
        """Pure. The contender called ``name`` (``KeyError`` if there is none)."""
        for candidate in self.contenders:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    @property
    def contender_names(self) -> tuple[str, ...]:
        """Pure. Contender names in table order."""
        return tuple(c.name for c in self.contenders)


_REGISTRY: dict[str, Suite] = {}


def _check_suite(suite: Suite) -> None:
    names = suite.contender_names
    if not names:
        raise ValueError(f"suite {suite.name!r} has no contenders")
    if len(set(names)) != len(names):
        raise ValueError(f"suite {suite.name!r} has duplicate contender names: {names}")
    if suite.baseline not in names:
        raise ValueError(f"suite {suite.name!r}: baseline {suite.baseline!r} is not a contender")
    for contender in suite.contenders:
        for function in (contender.target, contender.setup_target):
            if function is None:
                continue
            module, _, qualname = function.partition(":")
            if "<" in qualname or "." in qualname or module == "__main__":
                raise ValueError(
                    f"suite {suite.name!r}: contender {contender.name!r} runs "
                    f"{module}:{qualname}; use a module-level function of an importable module "
                    "(the child process imports it by name)"
                )
    for target in suite.targets:
        for who in (target.contender, target.reference or suite.baseline):
            if who not in names:
                raise ValueError(f"suite {suite.name!r}: target names unknown contender {who!r}")
        if target.max_ratio <= 0:
            raise ValueError(f"suite {suite.name!r}: target max_ratio must be positive")


def register(suite: Suite) -> Suite:
    """Effect (global registry). Add ``suite``; raises ``ValueError`` when it is malformed."""
    _check_suite(suite)
    existing = _REGISTRY.get(suite.name)
    if existing is not None and existing is not suite:
        raise ValueError(f"a suite named {suite.name!r} is already registered")
    _REGISTRY[suite.name] = suite
    return suite


def registered() -> dict[str, Suite]:
    """Effect-free read of the registry: suites by name, in registration order."""
    return dict(_REGISTRY)


def discover() -> dict[str, str]:
    """Effect (imports). Import every suite module in ``benchmarks/``; return import errors.

    A module that fails to import is reported (module name -> error) instead of stopping the
    other suites: other engineers may be editing theirs.
    """
    errors: dict[str, str] = {}
    for module in sorted(pkgutil.iter_modules([str(BENCH_DIR)]), key=lambda m: m.name):
        if module.name.startswith("_") or module.name in _HELPER_MODULES:
            continue
        try:
            importlib.import_module(f"benchmarks.{module.name}")
        except Exception as exc:
            errors[module.name] = f"{type(exc).__name__}: {exc}"
    return errors


# --------------------------------------------------------------------------------------------
# Sizes
# --------------------------------------------------------------------------------------------

_SUFFIXES = {"k": 1_000, "m": 1_000_000, "g": 1_000_000_000}


def parse_size(text: str) -> int:
    """Pure. ``"100k"`` -> 100000, ``"1M"`` -> 1000000, ``"2_500"`` -> 2500.

    >>> [parse_size(s) for s in ("100k", "1M", "10m", "2_500", "1.5k")]
    [100000, 1000000, 10000000, 2500, 1500]
    """
    cleaned = text.strip().lower().replace("_", "").replace(",", "")
    factor = 1
    if cleaned and cleaned[-1] in _SUFFIXES:
        factor = _SUFFIXES[cleaned[-1]]
        cleaned = cleaned[:-1]
    try:
        value = float(cleaned) * factor
    except ValueError:
        raise ValueError(f"not a size: {text!r} (use e.g. 100k, 1M, 10M, 5000)") from None
    if value < 1 or value != int(value):
        raise ValueError(f"size must be a positive whole number of rows: {text!r}")
    return int(value)


def format_size(size: int) -> str:
    """Pure. The short form used in tables: 100000 -> ``"100k"``, 10000000 -> ``"10M"``.

    >>> [format_size(n) for n in (100_000, 1_000_000, 10_000_000, 2_500)]
    ['100k', '1M', '10M', '2500']
    """
    for suffix, factor in (("M", 1_000_000), ("k", 1_000)):
        if size >= factor and size % factor == 0:
            return f"{size // factor}{suffix}"
    return str(size)


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Options:
    """How to run: sizes, repeats, which contenders, verification, folders, timeout.

    Attributes:
        sizes: Input sizes in rows; empty means the suite's defaults.
        repeats: Runs per contender and size (the median is reported; use >= 3).
        contenders: Names to run; empty means all (the baseline is always added).
        verify: Compare the contenders' outputs at every size (see :attr:`Suite.verify`).
        seed: Seed for generated inputs.
        data_dir: Cache for generated inputs; run scratch folders live under it too.
        results_dir: Where the JSON goes.
        timeout_s: A child running longer is killed and its run recorded as failed.
    """

    sizes: tuple[int, ...] = ()
    repeats: int = 3
    contenders: tuple[str, ...] = ()
    verify: bool = False
    seed: int = 42
    data_dir: Path = DEFAULT_DATA_DIR
    results_dir: Path = DEFAULT_RESULTS_DIR
    timeout_s: float = 3600.0


@dataclass(frozen=True, slots=True)
class RunResult:
    """One run of one contender at one size (one child process).

    Attributes:
        size: Input rows.
        contender: Who ran.
        repeat: 0-based repeat index.
        ok: The child exited 0 and reported its time.
        time_s: Work time measured in the child around the contender function (``None`` if
            the run failed).
        process_s: Wall time of the whole child process (interpreter start, imports, work).
        cpu_s: User + system CPU time of the child (> ``time_s`` means it used several cores).
        peak_rss_mb: Peak resident set size of the child (MiB): its ``VmHWM`` after the work
            (``None`` if the run failed). Includes the interpreter and the declared imports.
        import_rss_mb: Peak RSS after the declared imports, before the work started (MiB).
        rss_source: ``"VmHWM"`` (Linux), or ``"ru_maxrss"`` where ``/proc`` is missing (that
            one also counts the harness's own peak: see ``benchmarks/_child.py``).
        load1: 1-minute load average when the run started (a busy machine skews timings).
        facts: What the suite's ``output_facts`` said about the output (``rows_out``...).
        error: Why the run failed (last lines of the child's stderr), else ``None``.
    """

    size: int
    contender: str
    repeat: int
    ok: bool
    time_s: float | None
    process_s: float
    cpu_s: float
    peak_rss_mb: float | None
    import_rss_mb: float | None
    rss_source: str | None
    load1: float
    facts: Mapping[str, JSONValue] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Summary:
    """Medians of one contender at one size, and their ratios against the baseline."""

    size: int
    contender: str
    ok: bool
    runs: int
    median_time_s: float | None
    min_time_s: float | None
    max_time_s: float | None
    median_peak_rss_mb: float | None
    median_cpu_s: float | None
    time_ratio: float | None
    rss_ratio: float | None
    facts: Mapping[str, JSONValue]


@dataclass(frozen=True, slots=True)
class TargetVerdict:
    """A target judged at one size."""

    label: str
    size: int
    contender: str
    reference: str
    metric: Metric
    ratio: float | None
    max_ratio: float
    passed: bool | None
    informational: bool


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of ``--verify`` at one size."""

    size: int
    ok: bool
    problems: tuple[str, ...]


@dataclass(slots=True)
class SuiteReport:
    """Everything one suite's run produced (serialised by :func:`write_report`)."""

    suite: Suite
    options: Options
    contenders: tuple[str, ...]
    sizes: tuple[int, ...]
    started_at: str
    finished_at: str = ""
    runs: list[RunResult] = field(default_factory=list)
    summaries: list[Summary] = field(default_factory=list)
    verdicts: list[TargetVerdict] = field(default_factory=list)
    verifications: list[Verification] = field(default_factory=list)
    prepare_s: dict[int, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Pure. No failed run, no failed verification, no preparation error."""
        return (
            not self.errors
            and all(r.ok for r in self.runs)
            and all(v.ok for v in self.verifications)
        )


def _kib_to_mib(kib: float) -> float:
    return kib / 1024


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    existing = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + existing if existing else "")
    return env


def _spawn(
    contender: Contender, work: Workload, run_dir: Path, timeout_s: float
) -> tuple[int, float, float, Path, Path, bool]:
    """Effect. Run one child: (exit code, wall s, cpu s, result file, log file, killed).

    CPU time comes from ``wait4``; peak RSS is reported by the child itself (see
    ``benchmarks/_child.py``: ``wait4``'s ``ru_maxrss`` includes this process's own peak).
    """
    result_path = run_dir / "result.json"
    log_path = run_dir / "child.log"
    payload = json.dumps(
        {
            "target": contender.target,
            "setup": contender.setup_target,
            "imports": list(contender.imports),
            "workload": work.to_json(),
            "result_path": str(result_path),
        }
    ).encode()
    killed = threading.Event()
    with log_path.open("wb") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._child"],
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
            env=_child_env(),
        )

        def kill() -> None:
            killed.set()
            proc.kill()

        timer = threading.Timer(timeout_s, kill)
        timer.start()
        try:
            assert proc.stdin is not None
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.write(payload)
                proc.stdin.close()
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code  # reaped by wait4; tell Popen so it never waits again
    cpu = usage.ru_utime + usage.ru_stime
    return code, wall, cpu, result_path, log_path, killed.is_set()


def _run_once(
    *,
    suite: Suite,
    contender: Contender,
    size: int,
    repeat: int,
    inputs: Mapping[str, JSONValue],
    scratch: Path,
    options: Options,
) -> tuple[RunResult, Path]:
    """Effect. One fresh process for one contender; returns the result and its out dir."""
    run_dir = scratch / f"{contender.name}-{repeat}"
    shutil.rmtree(run_dir, ignore_errors=True)
    out_dir = run_dir / "out"
    out_dir.mkdir(parents=True)
    work = Workload(suite.name, contender.name, size, inputs, out_dir)
    load1 = os.getloadavg()[0]
    code, wall, cpu, result_path, log_path, killed = _spawn(
        contender, work, run_dir, options.timeout_s
    )
    reported: dict[str, JSONValue] = {}
    if result_path.exists():
        loaded = json.loads(result_path.read_text())
        if isinstance(loaded, dict):
            reported = loaded
    time_s = reported.get("time_s")
    peak_rss = reported.get("peak_rss_kib")
    import_rss = reported.get("import_rss_kib")
    rss_source = reported.get("rss_source")
    ok = code == 0 and isinstance(time_s, float) and not killed
    error: str | None = None
    if not ok:
        why = f"killed after {options.timeout_s:g} s timeout" if killed else f"exit code {code}"
        error = _scrubbed(f"{why}\n{_tail(log_path)}".strip(), inputs)
    facts: Mapping[str, JSONValue] = {}
    if ok and suite.output_facts is not None:
        try:
            facts = suite.output_facts(out_dir)
        except Exception as exc:
            ok = False
            error = f"the run succeeded but its output is unreadable: {type(exc).__name__}: {exc}"
    result = RunResult(
        size=size,
        contender=contender.name,
        repeat=repeat,
        ok=ok,
        time_s=time_s if ok and isinstance(time_s, float) else None,
        process_s=wall,
        cpu_s=cpu,
        peak_rss_mb=_kib_to_mib(peak_rss) if isinstance(peak_rss, int | float) else None,
        import_rss_mb=_kib_to_mib(import_rss) if isinstance(import_rss, int | float) else None,
        rss_source=rss_source if isinstance(rss_source, str) else None,
        load1=load1,
        facts=facts,
        error=error,
    )
    return result, out_dir


def _scrubbed(text: str, inputs: Mapping[str, JSONValue]) -> str:
    """Pure. ``text`` without URI passwords or any secret found in the inputs' URIs."""
    from lakeflow.core.secrets import scrub, uri_secrets  # parent only: it imports polars

    secrets = [s for v in inputs.values() if isinstance(v, str) for s in uri_secrets(v)]
    return scrub(text, secrets)


def _warm_page_cache(inputs: Mapping[str, JSONValue]) -> None:
    """Effect. Read input files (and files directly in input folders): no cold page cache."""
    for value in inputs.values():
        if not isinstance(value, str) or "\n" in value or len(value) > 4096:
            continue
        path = Path(value)
        try:
            if path.is_file():
                files = [path]
            elif path.is_dir():
                files = sorted(p for p in path.iterdir() if p.is_file())
            else:
                continue
            for file in files:
                with file.open("rb") as handle:
                    while handle.read(1 << 23):
                        pass
        except OSError:
            continue


@contextlib.contextmanager
def _prepared(suite: Suite, ctx: PrepareContext) -> Iterator[Mapping[str, JSONValue]]:
    prepared = suite.prepare(ctx)
    if isinstance(prepared, AbstractContextManager):
        with prepared as inputs:
            yield inputs
    else:
        yield prepared


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def _summarise(report: SuiteReport) -> None:
    baseline = report.suite.baseline
    for size in report.sizes:
        good: dict[str, list[RunResult]] = {}
        medians: dict[str, tuple[float | None, float | None]] = {}
        for name in report.contenders:
            runs = [r for r in report.runs if r.size == size and r.contender == name]
            ok = bool(runs) and all(r.ok for r in runs)
            good[name] = runs if ok else []
            medians[name] = (
                _median([r.time_s for r in good[name] if r.time_s is not None]),
                _median([r.peak_rss_mb for r in good[name] if r.peak_rss_mb is not None]),
            )
        base_time, base_rss = medians.get(baseline, (None, None))
        for name in report.contenders:
            runs = good[name]
            times = [r.time_s for r in runs if r.time_s is not None]
            median_time, median_rss = medians[name]
            report.summaries.append(
                Summary(
                    size=size,
                    contender=name,
                    ok=bool(runs),
                    runs=sum(1 for r in report.runs if r.size == size and r.contender == name),
                    median_time_s=median_time,
                    min_time_s=min(times) if times else None,
                    max_time_s=max(times) if times else None,
                    median_peak_rss_mb=median_rss,
                    median_cpu_s=_median([r.cpu_s for r in runs]),
                    time_ratio=_ratio(median_time, base_time),
                    rss_ratio=_ratio(median_rss, base_rss),
                    facts=runs[0].facts if runs else {},
                )
            )
        for target in report.suite.targets:
            if target.contender not in report.contenders:
                continue
            reference = target.reference or baseline
            pick = 0 if target.metric == "time" else 1
            ratio = _ratio(
                medians.get(target.contender, (None, None))[pick],
                medians.get(reference, (None, None))[pick],
            )
            report.verdicts.append(
                TargetVerdict(
                    label=target.describe(baseline),
                    size=size,
                    contender=target.contender,
                    reference=reference,
                    metric=target.metric,
                    ratio=ratio,
                    max_ratio=target.max_ratio,
                    passed=None if ratio is None else ratio <= target.max_ratio,
                    informational=size < target.min_size,
                )
            )


def _ratio(value: float | None, reference: float | None) -> float | None:
    if value is None or reference is None or reference <= 0:
        return None
    return value / reference


def _selected(suite: Suite, options: Options) -> tuple[str, ...]:
    if not options.contenders:
        return suite.contender_names
    wanted = set(options.contenders) | {suite.baseline}
    return tuple(n for n in suite.contender_names if n in wanted)


def run_suite(
    suite: Suite, options: Options, progress: Callable[[str], None] | None = None
) -> SuiteReport:
    """Effect. Prepare each size, run every contender ``repeats`` times in fresh processes.

    Contenders run round-robin (repeat 1 of each, then repeat 2...), starting one place later
    on each repeat, so machine noise and ordering effects spread evenly over all of them.
    """
    _check_suite(suite)
    say = progress or (lambda _msg: None)
    sizes = options.sizes or suite.default_sizes
    names = _selected(suite, options)
    report = SuiteReport(
        suite=suite,
        options=options,
        contenders=names,
        sizes=sizes,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    scratch_root = options.data_dir / "_runs" / f"{suite.name}-{os.getpid()}"
    try:
        for size in sizes:
            say(f"[{suite.name}] preparing {format_size(size)} {suite.size_unit}")
            started = time.perf_counter()
            with contextlib.ExitStack() as stack:
                try:
                    inputs = stack.enter_context(
                        _prepared(suite, PrepareContext(size, options.seed, options.data_dir))
                    )
                except Exception as exc:
                    why = _scrubbed(f"{type(exc).__name__}: {exc}", {})
                    report.errors.append(f"{format_size(size)}: preparation failed: {why}")
                    say(f"[{suite.name}] {report.errors[-1]}")
                    continue
                report.prepare_s[size] = time.perf_counter() - started
                _warm_page_cache(inputs)
                _run_size(
                    suite=suite,
                    options=options,
                    report=report,
                    names=names,
                    size=size,
                    inputs=inputs,
                    scratch_root=scratch_root,
                    say=say,
                )
    finally:
        shutil.rmtree(scratch_root, ignore_errors=True)
        with contextlib.suppress(OSError):
            scratch_root.parent.rmdir()  # only when no other run is using it
    report.finished_at = datetime.now(UTC).isoformat(timespec="seconds")
    _summarise(report)
    return report


def _run_size(
    *,
    suite: Suite,
    options: Options,
    report: SuiteReport,
    names: tuple[str, ...],
    size: int,
    inputs: Mapping[str, JSONValue],
    scratch_root: Path,
    say: Callable[[str], None],
) -> None:
    scratch = scratch_root / str(size)
    kept: dict[str, Path] = {}
    for repeat in range(options.repeats):
        shift = repeat % len(names)
        for name in names[shift:] + names[:shift]:
            contender = suite.contender(name)
            result, out_dir = _run_once(
                suite=suite,
                contender=contender,
                size=size,
                repeat=repeat,
                inputs=inputs,
                scratch=scratch,
                options=options,
            )
            report.runs.append(result)
            shown = (
                f"{_seconds(result.time_s)} s, peak RSS {result.peak_rss_mb or 0:,.0f} MiB"
                if result.ok
                else "FAILED"
            )
            say(f"[{suite.name}] {format_size(size)} {name} #{repeat + 1}: {shown}")
            if result.error:
                say(result.error)
            if options.verify and repeat == 0 and result.ok:
                kept[name] = out_dir
            else:
                shutil.rmtree(out_dir.parent, ignore_errors=True)
        if options.verify and repeat == 0:
            report.verifications.append(_verify(suite, size, names, kept))
            verdict = "equal" if report.verifications[-1].ok else "NOT EQUAL"
            say(f"[{suite.name}] {format_size(size)} verify: {verdict}")
            for out_dir in kept.values():
                shutil.rmtree(out_dir.parent, ignore_errors=True)
            kept.clear()
    shutil.rmtree(scratch, ignore_errors=True)


def _verify(
    suite: Suite, size: int, names: tuple[str, ...], outputs: Mapping[str, Path]
) -> Verification:
    problems: list[str] = [f"{n}: no output (its run failed)" for n in names if n not in outputs]
    if suite.verify is None:
        problems.append(f"suite {suite.name!r} has no verifier")
    elif len(outputs) >= 2:
        try:
            problems.extend(suite.verify(outputs))
        except Exception as exc:
            problems.append(f"verifier crashed: {type(exc).__name__}: {exc}")
    return Verification(size=size, ok=not problems, problems=tuple(problems))


# --------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------


def _fmt(value: float | None, spec: str, missing: str = "-") -> str:
    return missing if value is None else format(value, spec)


def _seconds(value: float | None) -> str:
    """Pure. Milliseconds stay visible: ``12.345``, ``0.754``, ``0.0123``, ``0.000512``."""
    return _fmt(value, ".3f" if value is not None and value >= 1 else ".3g")


def format_report(report: SuiteReport) -> str:
    """Pure. The human table: medians, ranges, ratios against the baseline, target verdicts."""
    base = report.suite.baseline
    time_w, rss_w = max(14, len(base) + 7), max(13, len(base) + 6)  # "time/<baseline>" fits
    lines: list[str] = []
    for size in report.sizes:
        rows = [s for s in report.summaries if s.size == size]
        if not rows:
            continue
        lines.append("")
        lines.append(
            f"{report.suite.name} @ {size:,} {report.suite.size_unit} — median of "
            f"{report.options.repeats} fresh-process run(s); ratios vs {base} measured in this run"
        )
        header = (
            f"{'contender':<12}{'median s':>10}{'min-max s':>19}{'time/' + base:>{time_w}}"
            f"{'speed-up':>10}{'peak RSS MiB':>14}{'RSS/' + base:>{rss_w}}{'CPU s':>9}"
            f"{'rows out':>13}"
        )
        lines.append(header)
        lines.append("-" * len(header))
        for s in rows:
            if not s.ok:
                failed = [
                    r
                    for r in report.runs
                    if r.size == size and r.contender == s.contender and not r.ok
                ]
                why = (failed[0].error or "").strip().splitlines()[-1:] if failed else []
                lines.append(f"{s.contender:<12}{'FAILED':>10}  {why[0] if why else ''}")
                continue
            spread = f"{_seconds(s.min_time_s)}-{_seconds(s.max_time_s)}"
            speedup = None if not s.time_ratio else 1 / s.time_ratio
            rows_out = s.facts.get("rows_out")
            lines.append(
                f"{s.contender:<12}{_seconds(s.median_time_s):>10}{spread:>19}"
                f"{_fmt(s.time_ratio, '.2f'):>{time_w}}{_fmt(speedup, '.2f') + 'x':>10}"
                f"{_fmt(s.median_peak_rss_mb, ',.0f'):>14}{_fmt(s.rss_ratio, '.2f'):>{rss_w}}"
                f"{_fmt(s.median_cpu_s, '.2f'):>9}"
                f"{(f'{rows_out:,}' if isinstance(rows_out, int) else '-'):>13}"
            )
        extra = [
            (s.contender, {k: v for k, v in s.facts.items() if k != "rows_out"})
            for s in rows
            if s.ok
        ]
        if any(facts for _, facts in extra):  # what a suite counts besides rows (requests...)
            lines.append("facts (first run):")
            lines.extend(
                f"  {name:<12}" + ", ".join(f"{k}={v}" for k, v in facts.items())
                for name, facts in extra
                if facts
            )
        verdicts = [v for v in report.verdicts if v.size == size]
        if verdicts:
            lines.append("targets:")
            for v in verdicts:
                mark = "n/a " if v.passed is None else ("PASS" if v.passed else "MISS")
                note = " (informational: target set for larger inputs)" if v.informational else ""
                lines.append(
                    f"  {mark} {v.label}: {_fmt(v.ratio, '.3f')} (limit {v.max_ratio:.3f}){note}"
                )
        for verification in (v for v in report.verifications if v.size == size):
            if verification.ok:
                lines.append("verify: every contender produced the same rows")
            else:
                lines.append("verify: CONTENDERS DISAGREE (a bug, not a result):")
                lines.extend(f"  - {p}" for p in verification.problems)
    lines.extend(f"error: {error}" for error in report.errors)
    return "\n".join(lines)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_mib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _versions(packages: Sequence[str]) -> dict[str, JSONValue]:
    versions: dict[str, JSONValue] = {"python": platform.python_version()}
    for name in ("lakeflow", *packages):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    versions["git_commit"] = _git_commit()
    return versions


def machine_info() -> dict[str, JSONValue]:
    """Effect (reads /proc). CPU, cores, memory, OS and load: the context of every timing."""
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    thread_env = {
        k: v
        for k, v in os.environ.items()
        if k.startswith("POLARS_") or k in {"OMP_NUM_THREADS", "RAYON_NUM_THREADS"}
    }
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": affinity,
        "mem_total_mib": _mem_total_mib(),
        "load_avg": list(os.getloadavg()),
        "thread_env": dict(thread_env),
    }


def report_json(report: SuiteReport, machine: Mapping[str, JSONValue]) -> dict[str, JSONValue]:
    """Pure. The JSON document for ``report`` (schema ``lakeflow-bench/1``)."""
    suite = report.suite
    options = report.options
    return {
        "schema": RESULT_SCHEMA,
        "suite": suite.name,
        "description": suite.description,
        "started_at": report.started_at,
        "finished_at": report.finished_at,
        "ok": report.ok,
        "command": ["python", "-m", "benchmarks", *sys.argv[1:]],
        "machine": dict(machine),
        "versions": _versions(suite.packages),
        "options": {
            "sizes": list(report.sizes),
            "repeats": options.repeats,
            "contenders": list(report.contenders),
            "verify": options.verify,
            "seed": options.seed,
            "timeout_s": options.timeout_s,
        },
        "baseline": suite.baseline,
        "size_unit": suite.size_unit,
        "contenders": {
            c.name: {"description": c.description, "runs": c.target}
            for c in suite.contenders
            if c.name in report.contenders
        },
        "prepare_s": {str(size): seconds for size, seconds in report.prepare_s.items()},
        "summaries": [
            {
                "size": s.size,
                "contender": s.contender,
                "ok": s.ok,
                "runs": s.runs,
                "median_time_s": s.median_time_s,
                "min_time_s": s.min_time_s,
                "max_time_s": s.max_time_s,
                "median_peak_rss_mb": s.median_peak_rss_mb,
                "median_cpu_s": s.median_cpu_s,
                "time_ratio": s.time_ratio,
                "rss_ratio": s.rss_ratio,
                "facts": dict(s.facts),
            }
            for s in report.summaries
        ],
        "targets": [
            {
                "label": v.label,
                "size": v.size,
                "contender": v.contender,
                "reference": v.reference,
                "metric": v.metric,
                "ratio": v.ratio,
                "max_ratio": v.max_ratio,
                "passed": v.passed,
                "informational": v.informational,
            }
            for v in report.verdicts
        ],
        "verification": [
            {"size": v.size, "ok": v.ok, "problems": list(v.problems)} for v in report.verifications
        ],
        "runs": [
            {
                "size": r.size,
                "contender": r.contender,
                "repeat": r.repeat,
                "ok": r.ok,
                "time_s": r.time_s,
                "process_s": r.process_s,
                "cpu_s": r.cpu_s,
                "peak_rss_mb": r.peak_rss_mb,
                "import_rss_mb": r.import_rss_mb,
                "rss_source": r.rss_source,
                "load1": r.load1,
                "facts": dict(r.facts),
                "error": r.error,
            }
            for r in report.runs
        ],
        "errors": list(report.errors),
    }


def write_report(report: SuiteReport, machine: Mapping[str, JSONValue]) -> Path:
    """Effect. Write ``<results_dir>/<suite>-<UTC timestamp>.json``; return its path."""
    results_dir = report.options.results_dir
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = results_dir / f"{report.suite.name}-{stamp}.json"
    counter = 1
    while path.exists():
        counter += 1
        path = results_dir / f"{report.suite.name}-{stamp}-{counter}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report_json(report, machine), indent=2) + "\n")
    tmp.replace(path)
    return path
