"""The shell: ``run()``, the one place that sequences effects.

``run(pipeline, lake, target)`` is a write-audit-publish transaction over a :class:`Lake`:

1. resolve the target's head ``B`` (the base commit) and read the checkpoint at ``B``;
2. create a visible run branch ``lakeflow-run-<pipeline>-<run_id>`` at ``B``;
3. extract (transient errors retried with backoff), transform and validate — one lazy plan
   whose outputs (raw copy, valid rows, quarantine, counts, the new watermark) are executed
   together, reading the source once, with streaming ``sink_parquet`` into a scratch folder;
4. put the outputs, quarantine, quality report, run record and advanced checkpoint on the
   run branch and commit once with string metadata;
5. merge the run branch into the target (never fast-forward) and delete the run branch;
6. load database sinks from the published rows;
7. record the run in the run history (the ``lakeflow-history`` branch).

On any failure the failure record (and the quarantined rows, if any) is committed on the kept
run branch, the target is left untouched and ``Failure(FailureRecord)`` is returned. The
checkpoint is committed together with the data, and it names the run, so two runs from the
same base always conflict on merge: one publishes, the other fails (or, with
``retry_on_conflict``, re-plans from the new base). Bugs still raise.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal, TypeAlias, TypeVar

import polars as pl
import structlog
from returns.io import IOResult
from returns.result import Failure, Result, Success
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_result,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

from lakeflow.adapters.file_source import FileSource
from lakeflow.adapters.frame_source import FrameSource
from lakeflow.adapters.lake_helpers import unwrap_io
from lakeflow.core.errors import (
    ExtractError,
    LakeError,
    LakeflowError,
    LoadError,
    StageError,
    ValidationFailed,
)
from lakeflow.core.incremental import Watermark, advance, after_watermark, watermark_stats
from lakeflow.core.records import (
    FailureRecord,
    RecordError,
    RowCounts,
    RunRecord,
    RunStatus,
    Step,
    WatermarkRange,
    record_from_json,
)
from lakeflow.core.secrets import Secret, scrub
from lakeflow.core.stage import Stage, compose
from lakeflow.core.validate import (
    Checks,
    DatasetRef,
    ValidationOutcome,
    plan_validation,
    resolve_references,
)
from lakeflow.execute import collect_together
from lakeflow.lakes import LakeLike, port_of
from lakeflow.ports import BRANCH_ID, ExtractContext, Lake, Sink, Source

__all__ = [
    "HISTORY_BRANCH",
    "Pipeline",
    "RetryPolicy",
    "RunEvent",
    "load_run",
    "run",
    "runs",
    "show_run",
]

HISTORY_BRANCH = "lakeflow-history"
"""The branch that holds every run's record, published or failed (the run history)."""

# Through the standard library's "lakeflow" logger: silent unless the application (or the CLI)
# configures logging, as a library should be.
_log = structlog.wrap_logger(
    logging.getLogger("lakeflow"),
    processors=[structlog.processors.TimeStamper(fmt="iso"), structlog.processors.JSONRenderer()],
)
T = TypeVar("T")
E = TypeVar("E", bound=StageError)
SourceLike: TypeAlias = Source | pl.LazyFrame | pl.DataFrame | str | Path
Outcome: TypeAlias = Result[RunRecord, FailureRecord]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How the shell retries transient failures (``retryable`` errors) and merge conflicts.

    Attributes:
        max_retries: Retries per step after the first attempt (0 = no retry).
        timeout_seconds: Bound on the time spent retrying one step.
        retry_on_conflict: Times a run re-plans from the target's new head after its merge
            lost a race (each re-plan re-reads the checkpoint, so nothing is published twice).
        initial_backoff_s: First backoff; doubles each retry, with jitter up to the same amount.
        max_backoff_s: Largest single backoff.
    """

    max_retries: int = 3
    timeout_seconds: float = 300.0
    retry_on_conflict: int = 0
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 30.0


@dataclass(frozen=True)
class Pipeline:
    """What to run: a source, a transform stage, checks, the lake output and database sinks.

    Attributes:
        name: Used in branch ids and lake paths: letters, digits, ``_`` and ``-``.
        source: A :class:`Source`; a DataFrame/LazyFrame (wrapped in ``FrameSource``); or a
            local parquet, csv or ndjson file, folder or glob (wrapped in ``FileSource``).
        transform: The composed transform stage (identity by default).
        checks: Validation checks (none by default: every row is valid).
        sinks: Database sinks, loaded after the lake merge from the published rows.
        load_path: Lake folder for validated rows (default ``validated_data/<name>``).
        mode: ``append`` adds ``part-<run_id>.parquet``; ``overwrite`` replaces the folder.
        keep_raw: Also publish the extracted rows as read, under ``raw/<name>/``.
        retry: Retry policy for transient failures and merge conflicts.
        config_sha256: Hash of the config the pipeline came from, for the run record.
        secrets: Values scrubbed from every record, message and log line.
    """

    name: str
    source: SourceLike
    transform: Stage = field(default_factory=compose)
    checks: Checks | None = None
    sinks: Sequence[Sink] = ()
    load_path: str | None = None
    mode: Literal["append", "overwrite"] = "append"
    keep_raw: bool = True
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    config_sha256: str | None = None
    secrets: Sequence[Secret] = ()

    def __post_init__(self) -> None:
        if not BRANCH_ID.match(self.name) or len(self.name) > 64:
            raise LakeflowError(
                f"pipeline name {self.name!r} must be 1-64 letters, digits, '_' or '-' "
                "(it becomes part of branch ids)"
            )
        if self.mode not in ("append", "overwrite"):
            raise LakeflowError(f"mode must be 'append' or 'overwrite', got {self.mode!r}")

    @property
    def output_path(self) -> str:
        return (self.load_path or f"validated_data/{self.name}").strip("/")

    def resolved_source(self) -> Source:
        """The source as a :class:`Source` (frames and file paths wrapped)."""
        if isinstance(self.source, pl.DataFrame | pl.LazyFrame):
            return FrameSource(self.source)
        if isinstance(self.source, str | Path):
            return FileSource(self.source)
        return self.source


EventStatus: TypeAlias = Literal["start", "ok", "failed", "retry"]


@dataclass(frozen=True, slots=True)
class RunEvent:
    """A progress event: a step started, finished or failed (for CLIs and logs)."""

    run_id: str
    step: str
    status: EventStatus
    detail: str = ""
    seconds: float | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def _new_run_id(started: datetime) -> str:
    return f"{started:%Y%m%dT%H%M%S}{started.microsecond // 1000:03d}Z-{uuid.uuid4().hex[:8]}"


def _version() -> str:
    try:
        return importlib.metadata.version("lakeflow")
    except importlib.metadata.PackageNotFoundError:  # running from a source tree
        return "0+unknown"


# -- paths in the lake -------------------------------------------------------------------------


def run_branch_name(pipeline: str, run_id: str) -> str:
    """Pure. The visible run branch of one run."""
    return f"lakeflow-run-{pipeline}-{run_id}"


def _paths(pipeline: Pipeline, run_id: str) -> dict[str, str]:
    name = pipeline.name
    return {
        "valid": f"{pipeline.output_path}/part-{run_id}.parquet",
        "raw": f"raw/{name}/{run_id}.parquet",
        "quarantine": f"_lakeflow/quarantine/{name}/{run_id}.parquet",
        "quality": f"_lakeflow/quality/{name}/{run_id}.json",
        "record": f"_lakeflow/runs/{name}/{run_id}.json",
        "checkpoint": f"_lakeflow/checkpoints/{name}.json",
    }


def _checkpoint_path(pipeline: str) -> str:
    return f"_lakeflow/checkpoints/{pipeline}.json"


# -- the run's mutable bookkeeping (the shell is imperative on purpose) ------------------------


class _Attempt:
    """Bookkeeping of one attempt of a run: timings, attempts, counts, what was written."""

    def __init__(
        self,
        pipeline: Pipeline,
        lake: Lake,
        target: str,
        run_id: str,
        started: datetime,
        *,
        on_event: Callable[[RunEvent], None] | None,
        secrets: Sequence[Secret],
    ) -> None:
        self.pipeline = pipeline
        self.lake = lake
        self.target = target
        self.run_id = run_id
        self.started = started
        self.on_event = on_event
        self.secrets = secrets
        self.steps: dict[str, float] = {}
        self.attempts: dict[str, int] = {}
        self.base: str | None = None
        self.branch: str | None = None
        self.commit: str | None = None
        self.merge_commit: str | None = None
        self.rows = RowCounts()
        self.watermark: WatermarkRange | None = None
        self.validation: Mapping[str, object] | None = None
        self.quality: Mapping[str, object] | None = None
        self.outputs: dict[str, str] = {}
        self.quarantine_file: Path | None = None
        self.note = ""
        self.source_description: Mapping[str, object] = {}
        self.sink_results: list[Mapping[str, object]] = []

    def emit(
        self, step: str, status: EventStatus, detail: str = "", seconds: float | None = None
    ) -> None:
        detail = scrub(detail, self.secrets)
        event = RunEvent(self.run_id, step, status, detail, seconds)
        _log.info("lakeflow.step", run_id=self.run_id, step=step, status=status, detail=detail)
        if self.on_event is not None:
            self.on_event(event)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.emit(name, "start")
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.steps[name] = round(self.steps.get(name, 0.0) + time.perf_counter() - t0, 6)

    def count(self, step: str, attempts: int) -> None:
        self.attempts[step] = self.attempts.get(step, 0) + attempts


# -- retries -----------------------------------------------------------------------------------


def _is_retryable_failure(result: object) -> bool:
    if not isinstance(result, Failure):
        return False
    error = result.failure()
    return bool(getattr(error, "retryable", False))


def _retrying(
    attempt: _Attempt, step: str, operation: Callable[[], IOResult[T, E]]
) -> Result[T, E]:
    """Run ``operation``, retrying retryable failures with exponential backoff and jitter."""
    policy = attempt.pipeline.retry
    calls = 0

    def once() -> Result[T, E]:
        nonlocal calls
        calls += 1
        return unwrap_io(operation())

    def before_sleep(state: RetryCallState) -> None:
        outcome = state.outcome.result() if state.outcome is not None else None
        reason = outcome.failure().message if isinstance(outcome, Failure) else ""
        attempt.emit(step, "retry", f"attempt {state.attempt_number} failed: {reason}")

    def give_up(state: RetryCallState) -> Result[T, E]:
        last: Result[T, E] = state.outcome.result()  # type: ignore[union-attr]  # set once tried
        return last

    retryer = Retrying(
        stop=stop_after_attempt(policy.max_retries + 1) | stop_after_delay(policy.timeout_seconds),
        wait=wait_exponential_jitter(
            multiplier=policy.initial_backoff_s,
            max=policy.max_backoff_s,
            jitter=policy.initial_backoff_s,
        ),
        retry=retry_if_result(_is_retryable_failure),
        before_sleep=before_sleep,
        retry_error_callback=give_up,
    )
    try:
        result: Result[T, E] = retryer(once)
    finally:
        attempt.count(step, calls)
    return result


def _io(result: IOResult[T, E]) -> Result[T, E]:
    return unwrap_io(result)


# -- the failure path --------------------------------------------------------------------------


class _Stop(Exception):  # noqa: N818 - control flow inside run(), never escapes it
    """Internal: a step failed with a value; unwinds to run()'s failure path."""

    def __init__(self, step: Step, error: StageError) -> None:
        super().__init__(step)
        self.step = step
        self.error = error


def _need(step: Step, result: Result[T, E]) -> T:
    match result:
        case Success(value):
            return value  # type: ignore[no-any-return]
        case Failure(error):
            raise _Stop(step, error)
    raise AssertionError("unreachable")  # pragma: no cover


def _record_error(attempt: _Attempt, error: StageError) -> RecordError:
    code = error.code if isinstance(error, LakeError) else None
    return RecordError(
        error.kind, scrub(error.message, attempt.secrets), bool(error.retryable), code
    )


def _record_fields(attempt: _Attempt, status: RunStatus) -> dict[str, Any]:
    """The fields every record of this attempt shares, as they stand now."""
    return {
        "run_id": attempt.run_id,
        "pipeline": attempt.pipeline.name,
        "status": status,
        "started_at": attempt.started,
        "finished_at": _now(),
        "target": attempt.target,
        "base_commit": attempt.base,
        "commit": attempt.commit,
        "merge_commit": attempt.merge_commit,
        "run_branch": attempt.branch,
        "source": attempt.source_description,
        "watermark": attempt.watermark,
        "rows": attempt.rows,
        "steps": dict(attempt.steps),
        "attempts": dict(attempt.attempts),
        "validation": attempt.validation,
        "quality": attempt.quality,
        "outputs": dict(attempt.outputs),
        "config_sha256": attempt.pipeline.config_sha256,
        "lakeflow_version": _version(),
        "note": attempt.note,
        "sinks": tuple(attempt.sink_results),
    }


def _failure_record(
    attempt: _Attempt, step: Step, error: StageError, status: RunStatus = "failed"
) -> FailureRecord:
    return FailureRecord(
        **_record_fields(attempt, status), failed_step=step, error=_record_error(attempt, error)
    )


def _run_record(attempt: _Attempt, status: RunStatus) -> RunRecord:
    return RunRecord(**_record_fields(attempt, status))


JSON = "application/json"
PARQUET = "application/vnd.apache.parquet"


def _json_bytes(data: Mapping[str, object], secrets: Sequence[Secret]) -> bytes:
    """Pretty, key-sorted JSON with every known secret scrubbed: what lands in the lake."""
    text = scrub(json.dumps(data, indent=2, sort_keys=True, default=str), secrets)
    return (text + "\n").encode()


def _commit_metadata(attempt: _Attempt, status: str) -> dict[str, str]:
    rows = attempt.rows
    return {
        "lakeflow.run_id": attempt.run_id,
        "lakeflow.pipeline": attempt.pipeline.name,
        "lakeflow.status": status,
        "lakeflow.rows.extracted": str(rows.extracted),
        "lakeflow.rows.transformed": str(rows.transformed),
        "lakeflow.rows.valid": str(rows.valid),
        "lakeflow.rows.quarantined": str(rows.quarantined),
        "lakeflow.version": _version(),
    }


def _keep_failure_on_branch(attempt: _Attempt, record: FailureRecord) -> FailureRecord:
    """Commit the failure record (and quarantine) on the kept run branch; never raises.

    A run that failed after its own commit (at the merge) gets a second commit on top, so the
    branch head always explains why it was not published.
    """
    if attempt.branch is None:
        return record
    lake, branch, paths = attempt.lake, attempt.branch, _paths(attempt.pipeline, attempt.run_id)
    problems: list[str] = []
    already = set(attempt.outputs.values())
    quarantine = paths["quarantine"]
    if (
        attempt.quarantine_file is not None
        and attempt.rows.quarantined > 0
        and quarantine not in already
    ):
        put = _io(
            lake.put_file(
                paths["quarantine"], attempt.quarantine_file, branch=branch, content_type=PARQUET
            )
        )
        if isinstance(put, Failure):
            problems.append(put.failure().message)
        else:
            record = replace(record, outputs={**record.outputs, "quarantine": paths["quarantine"]})
    record = replace(record, outputs={**record.outputs, "record": paths["record"]})
    put_record = _io(
        lake.put_bytes(
            paths["record"],
            _json_bytes(record.to_json(), attempt.secrets),
            branch=branch,
            content_type=JSON,
        )
    )
    if isinstance(put_record, Failure):
        problems.append(put_record.failure().message)
    committed = _io(
        lake.commit(
            branch,
            f"lakeflow: {attempt.pipeline.name} run {attempt.run_id} failed at "
            f"{record.failed_step}",
            _commit_metadata(attempt, "failed"),
            allow_empty=True,
        )
    )
    match committed:
        case Success(info):
            record = replace(record, commit=info.id)
        case Failure(error):
            problems.append(error.message)
    if problems:
        note = "could not keep the failure on the run branch: " + "; ".join(problems)
        record = replace(record, note=scrub(f"{record.note} {note}".strip(), attempt.secrets))
    return record


# -- the run history ---------------------------------------------------------------------------


def _record_in_history(
    lake: Lake, record: RunRecord | FailureRecord, secrets: Sequence[Secret]
) -> str | None:
    """Commit ``record`` to the history branch; returns a problem text, or None when recorded.

    History commits of concurrent runs race on one branch head: lost races are retried. A
    commit that finds nothing staged means another run's commit took our staged record along
    (lakeFS staging is per branch), which is fine when the record is there.
    """
    created = _io(lake.create_branch(HISTORY_BRANCH, _default_branch(lake), exist_ok=True))
    if isinstance(created, Failure):
        return str(created.failure().message)
    path = f"_lakeflow/runs/{record.pipeline}/{record.run_id}.json"
    payload = _json_bytes(record.to_json(), secrets)
    message = f"lakeflow: record {record.pipeline} run {record.run_id} ({record.status})"
    metadata = {"lakeflow.run_id": record.run_id, "lakeflow.pipeline": record.pipeline}
    problem = "gave up after 20 lost races"
    for _ in range(20):
        put = _io(lake.put_bytes(path, payload, branch=HISTORY_BRANCH, content_type=JSON))
        if isinstance(put, Failure):
            error: LakeError = put.failure()
            if not error.retryable:
                return error.message
            problem = error.message
            continue
        committed = _io(lake.commit(HISTORY_BRANCH, message, metadata))
        if isinstance(committed, Success):
            return None
        error = committed.failure()
        if error.retryable:
            problem = error.message
            continue
        recorded = _io(lake.get_bytes(path, ref=HISTORY_BRANCH))
        if isinstance(recorded, Success) and recorded.unwrap() == payload:
            head = _io(lake.uncommitted(HISTORY_BRANCH))
            if isinstance(head, Success) and all(c.path != path for c in head.unwrap()):
                return None
        return error.message
    return problem


def _default_branch(lake: Lake) -> str:
    info = _io(lake.get_repository())
    return info.map(lambda r: r.default_branch).value_or("main")


def runs(lake: LakeLike, pipeline: str | None = None) -> list[RunRecord | FailureRecord]:
    """Effect: every recorded run (published or failed), newest first.

    Reads the run history branch only; never scans run branches. Raises
    :class:`LakeflowError` when the lake cannot be read (or there is no lake at all).
    """
    lake = port_of(lake)
    prefix = f"_lakeflow/runs/{pipeline}/" if pipeline else "_lakeflow/runs/"
    listed = _io(lake.list_objects(prefix, ref=HISTORY_BRANCH))
    if isinstance(listed, Failure):
        error = listed.failure()
        repository = _io(lake.get_repository())  # no history branch yet, or no lake at all?
        if error.code == "not_found" and isinstance(repository, Success):
            return []
        problem = repository.failure() if isinstance(repository, Failure) else error
        raise LakeflowError(f"cannot read the run history: {problem.message}")
    records: list[RunRecord | FailureRecord] = []
    for info in listed.unwrap():
        if not info.path.endswith(".json"):
            continue
        data = _io(lake.get_bytes(info.path, ref=HISTORY_BRANCH))
        if isinstance(data, Failure):
            raise LakeflowError(f"cannot read run record {info.path}: {data.failure().message}")
        records.append(record_from_json(json.loads(data.unwrap())))
    records.sort(key=lambda r: (r.started_at, r.run_id), reverse=True)
    return records


def show_run(lake: LakeLike, run_id: str, pipeline: str | None = None) -> RunRecord | FailureRecord:
    """Effect: the record of one run; raises :class:`LakeflowError` if there is none."""
    lake = port_of(lake)
    for record in runs(lake, pipeline):
        if record.run_id == run_id:
            return record
    raise LakeflowError(
        f"no run {run_id!r} in the run history"
        + (f" of pipeline {pipeline!r}" if pipeline else "")
        + "; `lakeflow runs CONFIG` lists them"
    )


# -- the steps ---------------------------------------------------------------------------------


def _read_checkpoint(attempt: _Attempt, base: str) -> Watermark | None:
    path = _checkpoint_path(attempt.pipeline.name)
    found = _retrying(attempt, "resolve", partial(attempt.lake.get_bytes, path, ref=base))
    if isinstance(found, Failure):
        error: LakeError = found.failure()
        if error.code == "not_found":
            return None
        raise _Stop("resolve", error)
    try:
        raw = json.loads(found.unwrap()).get("watermark")
        return Watermark.from_json(raw) if raw else None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        reason = f"{path} at {base} is corrupt ({exc}); fix or delete it on the target"
        raise _Stop("resolve", LakeError("read checkpoint", reason, "invalid")) from None


def _step_of(error: StageError) -> Step:
    """The step an execution failure belongs to (plans run extract to validate at once)."""
    if isinstance(error, ExtractError):
        return "extract"
    if isinstance(error, ValidationFailed):
        return "validate"
    if isinstance(error, LoadError):
        return "load"
    if isinstance(error, LakeError):
        return "write"
    return "transform"


def _resolve_datasets(attempt: _Attempt, checks: Checks, base: str) -> Checks:
    """Scan ``references: {dataset: ...}`` at the run's base commit (no data is read)."""
    datasets = {ref.dataset for ref in checks.references.values() if isinstance(ref, DatasetRef)}
    frames: dict[str, pl.LazyFrame] = {}
    for dataset in sorted(datasets):
        scanned = _retrying(
            attempt, "validate", partial(attempt.lake.scan_frame, dataset, ref=base)
        )
        frames[dataset] = _need("validate", scanned)
    return resolve_references(checks, frames.__getitem__) if frames else checks


@dataclass(frozen=True, slots=True)
class _Executed:
    """What one execution of the run's plan produced."""

    outcome: ValidationOutcome | None
    validation_error: ValidationFailed | None
    files: Mapping[str, Path]
    new_watermark: Watermark | None


def _execute(
    attempt: _Attempt, source: Source, watermark: Watermark | None, scratch: Path
) -> _Executed:
    """Extract, transform and validate: plan everything, then execute it once."""
    pipeline, base = attempt.pipeline, attempt.base
    assert base is not None  # noqa: S101 - set by the resolve step
    spec = source.incremental
    with attempt.step("extract"):
        context = ExtractContext(watermark=watermark, lake=attempt.lake, base_ref=base)
        frame = _need("extract", _retrying(attempt, "extract", partial(source.extract, context)))
        extracted = (after_watermark(frame, watermark) if spec is not None else frame).cache()
    attempt.emit("extract", "ok", _extract_detail(attempt, watermark), attempt.steps["extract"])

    with attempt.step("transform"):
        transformed = _need("transform", pipeline.transform(extracted))
    attempt.emit("transform", "ok", pipeline.transform.name, attempt.steps["transform"])

    with attempt.step("validate"):
        checks = _resolve_datasets(attempt, pipeline.checks or Checks(), base)
        plan = _need("validate", plan_validation(transformed, checks, now=attempt.started))
        files = {"valid": scratch / "valid.parquet", "quarantine": scratch / "quarantine.parquet"}
        sinks = [(plan.valid, files["valid"]), (plan.quarantine, files["quarantine"])]
        if pipeline.keep_raw:
            files["raw"] = scratch / "raw.parquet"
            sinks.append((extracted, files["raw"]))
        frames = [plan.stats, extracted.select(pl.len().alias("rows"))]
        if spec is not None:
            frames.append(watermark_stats(extracted, spec))
        collected = collect_together(frames, sinks, stage=pipeline.name)
        if isinstance(collected, Failure):
            error: StageError = collected.failure()
            raise _Stop(_step_of(error), error)
        stats, counted, *rest = collected.unwrap()
        new_watermark = watermark
        if spec is not None:
            columns = extracted.collect_schema().names()
            new_watermark = advance(watermark, rest[0].row(0, named=True), spec, columns)
        concluded = plan.conclude(stats)
    attempt.quarantine_file = files["quarantine"]
    outcome = concluded.value_or(None)
    validation_error = None if outcome is not None else concluded.failure()
    report = outcome.report if outcome is not None else validation_error.report  # type: ignore[union-attr]
    totals = report.totals()
    attempt.rows = RowCounts(
        extracted=int(counted["rows"][0]),
        transformed=totals.rows,
        valid=totals.valid,
        quarantined=totals.quarantined,
    )
    attempt.validation = report.to_json()
    if report.metrics is not None:
        attempt.quality = report.metrics.to_json()
    if spec is not None:
        attempt.watermark = WatermarkRange(
            spec.column,
            watermark.to_json()["value"] if watermark else None,
            new_watermark.to_json()["value"] if new_watermark else None,
        )
    rows = attempt.rows
    attempt.emit(
        "validate",
        "ok" if validation_error is None else "failed",
        f"{rows.valid} valid, {rows.quarantined} quarantined of {rows.transformed} rows "
        f"({rows.extracted} extracted); {report.status}",
        attempt.steps["validate"],
    )
    return _Executed(outcome, validation_error, files, new_watermark)


def _extract_detail(attempt: _Attempt, watermark: Watermark | None) -> str:
    """What was read, in words: ``sql users after updated_at 2024-01-01T00:00:00``."""
    source = attempt.source_description
    what = next((str(source[k]) for k in ("table", "path", "name") if source.get(k)), "")
    where = f"{source.get('kind', 'source')} {what}".strip()
    if watermark is None:
        return where
    value = watermark.value.isoformat() if isinstance(watermark.value, date) else watermark.value
    return f"{where} from {watermark.column} {value}"


def _put_file(attempt: _Attempt, branch: str, path: str, file: Path) -> None:
    lake = attempt.lake
    move = not attempt.pipeline.sinks or path.startswith(("raw/", "_lakeflow/"))
    put = partial(lake.put_file, path, file, branch=branch, content_type=PARQUET, move=move)
    _need("write", _retrying(attempt, "write", put))
    attempt.outputs[_output_kind(attempt, path)] = path


def _output_kind(attempt: _Attempt, path: str) -> str:
    for kind, candidate in _paths(attempt.pipeline, attempt.run_id).items():
        if candidate == path:
            return kind
    return path


def _put_json(attempt: _Attempt, branch: str, path: str, data: Mapping[str, object]) -> None:
    payload = _json_bytes(data, attempt.secrets)
    put = partial(attempt.lake.put_bytes, path, payload, branch=branch, content_type=JSON)
    _need("write", _retrying(attempt, "write", put))


def _write(attempt: _Attempt, executed: _Executed) -> None:
    """Put every output of the run on the run branch (not yet committed)."""
    pipeline, lake, branch = attempt.pipeline, attempt.lake, attempt.branch
    assert branch is not None  # noqa: S101 - set by the resolve step
    paths = _paths(pipeline, attempt.run_id)
    rows = attempt.rows
    with attempt.step("write"):
        if pipeline.mode == "overwrite":
            listing = partial(lake.list_objects, pipeline.output_path + "/", ref=branch)
            for info in _need("write", _retrying(attempt, "write", listing)):
                _need(
                    "write",
                    _retrying(
                        attempt, "write", partial(lake.delete_object, info.path, branch=branch)
                    ),
                )
        data_files = 0
        if rows.valid > 0:
            _put_file(attempt, branch, paths["valid"], executed.files["valid"])
            data_files += 1
        if pipeline.keep_raw and rows.extracted > 0:
            _put_file(attempt, branch, paths["raw"], executed.files["raw"])
            data_files += 1
        if rows.quarantined > 0:
            _put_file(attempt, branch, paths["quarantine"], executed.files["quarantine"])
            data_files += 1
        if rows.valid == 0:
            attempt.note = (
                "no new input since the last run: nothing new published"
                if rows.extracted == 0
                else "no valid rows: nothing new published"
            )
        checkpoint = {
            "pipeline": pipeline.name,
            "last_run_id": attempt.run_id,
            "watermark": executed.new_watermark.to_json() if executed.new_watermark else None,
        }
        attempt.outputs.update(
            quality=paths["quality"], checkpoint=paths["checkpoint"], record=paths["record"]
        )
        quality = {
            "run_id": attempt.run_id,
            "report": attempt.validation,
            "metrics": attempt.quality,
        }
        _put_json(attempt, branch, paths["quality"], quality)
        _put_json(attempt, branch, paths["checkpoint"], checkpoint)
        _put_json(attempt, branch, paths["record"], _run_record(attempt, "committed").to_json())
    attempt.emit("write", "ok", f"{data_files} data file(s) on {branch}", attempt.steps["write"])


def _load_sinks(attempt: _Attempt, rows: pl.LazyFrame, row_count: int) -> None:
    """Load every database sink from the published rows (after the merge)."""
    for sink in attempt.pipeline.sinks:
        description = dict(sink.describe())
        with attempt.step("load"):
            result = _retrying(attempt, "load", partial(sink.load, rows))
        if isinstance(result, Failure):
            attempt.sink_results.append({**description, "status": "failed"})
            raise _Stop("load", result.failure())
        changed = result.unwrap()
        attempt.sink_results.append({**description, "status": "loaded", "rows_changed": changed})
        target = description.get("table", "sink")
        attempt.emit("load", "ok", f"{changed} row(s) changed in {target}", attempt.steps["load"])
    attempt.rows = replace(attempt.rows, loaded=row_count)


def _attempt_run(attempt: _Attempt, *, merge: bool, scratch: Path) -> Outcome:
    """One attempt of a run, from the base commit to the merge and the loads."""
    pipeline, lake, target = attempt.pipeline, attempt.lake, attempt.target
    source = pipeline.resolved_source()
    attempt.source_description = _scrubbed(source.describe(), attempt.secrets)
    try:
        with attempt.step("resolve"):
            base = _need("resolve", _retrying(attempt, "resolve", partial(lake.resolve, target)))
            attempt.base = base
            watermark = _read_checkpoint(attempt, base)
            branch = run_branch_name(pipeline.name, attempt.run_id)
            _need(
                "resolve", _retrying(attempt, "branch", partial(lake.create_branch, branch, base))
            )
            attempt.branch = branch
        attempt.emit(
            "resolve",
            "ok",
            f"{target} at {base[:12]}; run branch {branch}",
            attempt.steps["resolve"],
        )

        executed = _execute(attempt, source, watermark, scratch)
        if executed.validation_error is not None:
            raise _Stop("validate", executed.validation_error)
        _write(attempt, executed)

        with attempt.step("commit"):
            commit = partial(
                lake.commit,
                branch,
                f"lakeflow: {pipeline.name} run {attempt.run_id}",
                _commit_metadata(attempt, "committed"),
                allow_empty=True,
            )
            attempt.commit = _need("commit", _retrying(attempt, "commit", commit)).id
        attempt.emit("commit", "ok", attempt.commit[:12], attempt.steps["commit"])
        if not merge:
            return Success(_run_record(attempt, "committed"))

        with attempt.step("merge"):
            merge_into = partial(
                lake.merge,
                branch,
                target,
                message=f"lakeflow: publish {pipeline.name} run {attempt.run_id}",
                metadata=_commit_metadata(attempt, "published"),
            )
            attempt.merge_commit = _need("merge", _retrying(attempt, "merge", merge_into))
        attempt.emit(
            "merge", "ok", f"{target} at {attempt.merge_commit[:12]}", attempt.steps["merge"]
        )
        with attempt.step("cleanup"):
            deleted = _io(lake.delete_branch(branch))
        if isinstance(deleted, Failure):
            attempt.note = f"{attempt.note} run branch kept: {deleted.failure().message}".strip()
        else:
            attempt.branch = None
        if pipeline.sinks:
            _load_sinks(attempt, pl.scan_parquet(executed.files["valid"]), attempt.rows.valid)
        return Success(_run_record(attempt, "published"))
    except _Stop as stop:
        status: RunStatus = "published_not_loaded" if attempt.merge_commit else "failed"
        attempt.emit(stop.step, "failed", stop.error.message)
        record = _failure_record(attempt, stop.step, stop.error, status)
        if status == "failed":
            record = _keep_failure_on_branch(attempt, record)
        return Failure(record)


def _scrubbed(data: Mapping[str, object], secrets: Sequence[Secret]) -> dict[str, object]:
    return json.loads(scrub(json.dumps(data, default=str), secrets))  # type: ignore[no-any-return]


def run(
    pipeline: Pipeline,
    lake: LakeLike,
    target: str = "main",
    *,
    merge: bool = True,
    on_event: Callable[[RunEvent], None] | None = None,
    scratch_dir: Path | None = None,
) -> Outcome:
    """Effect: run ``pipeline`` as one write-audit-publish transaction on ``lake``.

    Returns ``Success(RunRecord)`` when the outputs were committed (and merged into ``target``
    unless ``merge=False``), or ``Failure(FailureRecord)`` naming the failed step: the target
    is then untouched (or, for ``published_not_loaded``, published but not loaded into a
    database sink). Every run is recorded in the run history (:func:`runs`). Programming
    errors raise.

    Args:
        pipeline: What to run.
        lake: Where to publish (a :class:`~lakeflow.ports.Lake` or an ``open_lake`` handle).
        target: The branch to publish to.
        merge: ``False`` commits on the run branch and keeps it, without merging.
        on_event: Called with a :class:`RunEvent` as each step starts, ends or retries.
        scratch_dir: Where the run's temporary parquet files go (default: the lake's own
            scratch folder when it has one, so they move into the lake without a copy).
    """
    lake = port_of(lake)
    secrets = tuple(pipeline.secrets)
    scratch_root = scratch_dir or _scratch_of(lake)
    conflicts_left = pipeline.retry.retry_on_conflict
    earlier: dict[str, int] = {}
    while True:
        started = _now()
        attempt = _Attempt(
            pipeline,
            lake,
            target,
            _new_run_id(started),
            started,
            on_event=on_event,
            secrets=secrets,
        )
        for step, count in earlier.items():
            attempt.count(step, count)
        scratch = Path(tempfile.mkdtemp(prefix=f"lakeflow-{pipeline.name}-", dir=scratch_root))
        try:
            outcome = _attempt_run(attempt, merge=merge, scratch=scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        if conflicts_left > 0 and _lost_merge_race(outcome):
            conflicts_left -= 1
            earlier = dict(attempt.attempts)
            attempt.emit("merge", "retry", "conflict: re-planning from the target's new head")
            if attempt.branch is not None:
                _io(lake.delete_branch(attempt.branch))
            continue
        break
    record: RunRecord | FailureRecord = outcome.value_or(None) or outcome.failure()
    problem = _record_in_history(lake, record, secrets)
    if problem is not None:
        note = f"{record.note} not recorded in the run history: {problem}".strip()
        record = replace(record, note=scrub(note, secrets))
    if isinstance(record, RunRecord):
        return Success(record)
    return Failure(record)


def _lost_merge_race(outcome: Outcome) -> bool:
    if isinstance(outcome, Success):
        return False
    failed: FailureRecord = outcome.failure()
    return failed.failed_step == "merge" and failed.error.code == "conflict"


def _scratch_of(lake: Lake) -> Path | None:
    """The lake's own scratch folder, when it has one (same filesystem: moves, not copies)."""
    scratch = getattr(lake, "scratch_dir", None)
    return scratch if isinstance(scratch, Path) and scratch.is_dir() else None


def load_run(pipeline: Pipeline, lake: LakeLike, run_id: str) -> Outcome:
    """Effect: re-apply a published run's database loads from its published commit.

    For a run recorded as ``published_not_loaded`` (or to reload a published one). Loads are
    idempotent for ``upsert`` sinks. The new outcome is also added to the run history.
    """
    lake = port_of(lake)
    record = show_run(lake, run_id, pipeline.name)
    if record.merge_commit is None:
        raise LakeflowError(
            f"run {run_id} was never published (status {record.status}); nothing to load"
        )
    if not pipeline.sinks:
        raise LakeflowError(f"pipeline {pipeline.name!r} has no database sink to load")
    secrets = tuple(pipeline.secrets)
    attempt = _Attempt(
        pipeline, lake, record.target, run_id, record.started_at, on_event=None, secrets=secrets
    )
    attempt.rows, attempt.base = record.rows, record.base_commit
    attempt.commit, attempt.merge_commit = record.commit, record.merge_commit
    attempt.source_description, attempt.watermark = record.source, record.watermark
    attempt.outputs, attempt.validation, attempt.quality = (
        dict(record.outputs),
        record.validation,
        record.quality,
    )
    valid_path = record.outputs.get("valid")
    try:
        rows = (
            _need("load", _io(lake.scan_frame(valid_path, ref=record.merge_commit)))
            if valid_path is not None
            else pl.LazyFrame()
        )
        _load_sinks(attempt, rows, record.rows.valid)
        attempt.note = f"loaded again by `lakeflow load` at {_now().isoformat()}"
        outcome: Outcome = Success(_run_record(attempt, "published"))
    except _Stop as stop:
        outcome = Failure(_failure_record(attempt, stop.step, stop.error, "published_not_loaded"))
    final: RunRecord | FailureRecord = outcome.value_or(None) or outcome.failure()
    _record_in_history(lake, final, attempt.secrets)
    return outcome
