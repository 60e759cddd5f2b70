"""Run records: what every run (published or failed) leaves behind, as versioned JSON.

Pure. A :class:`RunRecord` describes a run that committed its outputs (and usually merged
them); a :class:`FailureRecord` is a run that stopped at a failed step and left the target
untouched. Both serialise to JSON with ``schema_version`` and parse back with
:func:`record_from_json`, so ``lakeflow runs``/``show`` can read records written by any
earlier lakeflow with the same major schema.

``schema_version`` is the major version: fields added within it are optional, so records
written before them still parse, and an older lakeflow reading a newer record ignores them.
Added within version 1: ``sla`` (the :class:`SlaBreach` list; ``null`` when no SLA was checked,
as in every record written before SLAs existed) and ``deliveries`` (one :class:`Delivery` per
alert channel and metrics target; empty in older records).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Final, Literal, TypeAlias

from lakeflow.core.html import fields_table, table, titled

__all__ = [
    "READABLE_SCHEMA_VERSIONS",
    "RECORD_SCHEMA_VERSION",
    "Delivery",
    "FailureRecord",
    "RecordError",
    "RowCounts",
    "RunRecord",
    "RunStatus",
    "SlaBreach",
    "Step",
    "WatermarkRange",
    "encode_json",
    "record_from_json",
]

RECORD_SCHEMA_VERSION: Final = 2
"""The version records are written with. 2 added the ``discarded`` status (and records of
runs published later by ``lakeflow publish``); version 1 records read unchanged."""
READABLE_SCHEMA_VERSIONS: Final = frozenset({1, 2})
"""Versions :func:`record_from_json` reads: every version written so far."""
_ROW_STAGES: Final = ("extracted", "transformed", "valid", "quarantined", "loaded")

RunStatus: TypeAlias = Literal[
    "published", "committed", "published_not_loaded", "failed", "discarded"
]
"""``published``: merged into the target (and loaded into every sink). ``committed``: committed
on the kept run branch, not merged (``--no-merge``): audit it, then ``lakeflow publish`` or
``lakeflow discard`` it. ``published_not_loaded``: merged, but a database load failed —
``lakeflow load RUN_ID`` re-applies it. ``failed``: target untouched. ``discarded``: never
published, and its run branch was deleted by ``lakeflow discard``."""

Step: TypeAlias = Literal[
    "resolve", "extract", "transform", "validate", "write", "commit", "merge", "load", "cleanup"
]


@dataclass(frozen=True, slots=True)
class RowCounts:
    """Row counts through the run: read, after transform, valid, quarantined, loaded."""

    extracted: int = 0
    transformed: int = 0
    valid: int = 0
    quarantined: int = 0
    loaded: int = 0


@dataclass(frozen=True, slots=True)
class WatermarkRange:
    """The incremental window of a run: the checkpoint before (``from``) and after (``to``)."""

    column: str
    start: object = None
    end: object = None

    def to_json(self) -> dict[str, object]:
        return {"column": self.column, "from": self.start, "to": self.end}


@dataclass(frozen=True, slots=True)
class RecordError:
    """The failure a failed run stopped on."""

    kind: str
    message: str
    retryable: bool
    code: str | None = None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "kind": self.kind,
            "message": self.message,
            "retryable": self.retryable,
        }
        if self.code is not None:
            out["code"] = self.code
        return out


@dataclass(frozen=True, slots=True)
class SlaBreach:
    """One service level a run broke: the ``monitoring.sla`` key, its limit and the actual value.

    ``actual`` and ``limit`` are in the key's unit (seconds, rows, a fraction or a count);
    ``message`` says it in words.
    """

    check: str
    limit: float
    actual: float
    message: str

    def to_json(self) -> dict[str, object]:
        return {
            "check": self.check,
            "limit": self.limit,
            "actual": self.actual,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of one alert or metrics delivery of a run (``error`` is scrubbed)."""

    channel: str
    ok: bool
    attempts: int
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "channel": self.channel,
            "ok": self.ok,
            "attempts": self.attempts,
            "error": self.error,
        }


class _Record:
    """What both record kinds share: duration and JSON serialisation."""

    __slots__ = ()
    started_at: datetime
    finished_at: datetime

    @property
    def duration_s(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    def to_json(self) -> dict[str, object]:
        """Pure. The record as a JSON-able dict (stable keys, ISO-8601 UTC timestamps)."""
        out = {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]
        out["duration_s"] = round(self.duration_s, 6)
        return out

    def dumps(self) -> str:
        """Pure. The record as pretty, key-sorted JSON text."""
        return encode_json(self.to_json())

    def _repr_html_(self) -> str:
        """Pure. The record as tables in a notebook: the facts, rows, steps and SLA breaches."""
        rows: RowCounts = getattr(self, "rows", RowCounts())
        error = getattr(self, "error", None)
        facts: dict[str, object] = {
            "run_id": getattr(self, "run_id", ""),
            "pipeline": getattr(self, "pipeline", ""),
            "status": getattr(self, "status", ""),
            "failed step": getattr(self, "failed_step", None),
            "error": f"{error.kind}: {error.message}" if error is not None else None,
            "target": getattr(self, "target", ""),
            "started": self.started_at.isoformat(),
            "seconds": round(self.duration_s, 3),
            "commit": getattr(self, "merge_commit", None) or getattr(self, "commit", None),
            "run branch": getattr(self, "run_branch", None),
            "note": getattr(self, "note", "") or None,
        }
        parts = [
            titled(type(self).__name__, fields_table({k: v for k, v in facts.items() if v})),
            titled("rows", table(list(_ROW_STAGES), [[getattr(rows, s) for s in _ROW_STAGES]])),
        ]
        steps: Mapping[str, float] = getattr(self, "steps", {})
        attempts: Mapping[str, int] = getattr(self, "attempts", {})
        if steps:
            parts.append(
                titled(
                    "steps",
                    table(
                        ["step", "seconds", "attempts"],
                        [[k, v, attempts.get(k)] for k, v in steps.items()],
                    ),
                )
            )
        breaches: tuple[SlaBreach, ...] = getattr(self, "sla", None) or ()
        if breaches:
            parts.append(
                titled(
                    "SLA breaches",
                    table(
                        ["check", "limit", "actual", "message"],
                        [[b.check, b.limit, b.actual, b.message] for b in breaches],
                    ),
                )
            )
        deliveries: tuple[Delivery, ...] = getattr(self, "deliveries", ())
        if deliveries:
            parts.append(
                titled(
                    "alerts and metrics",
                    table(
                        ["channel", "ok", "attempts", "error"],
                        [[d.channel, d.ok, d.attempts, d.error] for d in deliveries],
                    ),
                )
            )
        return "".join(parts)

    def __repr__(self) -> str:
        rows = getattr(self, "rows", None)
        step = getattr(self, "failed_step", None)
        parts = [
            f"run_id={getattr(self, 'run_id', '')!r}",
            f"pipeline={getattr(self, 'pipeline', '')!r}",
            f"status={getattr(self, 'status', '')!r}",
            *([f"failed_step={step!r}"] if step else []),
            f"rows={rows!r}",
        ]
        return f"{type(self).__name__}({', '.join(parts)}, ...)"


@dataclass(frozen=True, slots=True, repr=False)
class RunRecord(_Record):
    """A run that committed its outputs; see :data:`RunStatus` for what ``status`` means.

    ``commit`` is the run branch's commit; ``merge_commit`` the merge into ``target`` (``None``
    with ``--no-merge``). ``steps`` maps a step to the seconds it took, ``attempts`` a step to
    how many attempts it needed (retries of transient errors and of merge conflicts).
    ``source`` never holds secrets. ``note`` says in words what happened when it is not
    obvious from the counts (for example "no new input since the last run"). ``sla`` lists
    the service levels the run broke (``None``: none configured); ``deliveries`` what became of
    its alerts and metrics. ``table`` is the published dataset after the run: its ``format``,
    ``schema`` (column -> type), the schema ``change`` the run made, and for Delta tables the
    ``version`` and merge metrics.
    """

    run_id: str
    pipeline: str
    status: RunStatus
    started_at: datetime
    finished_at: datetime
    target: str
    base_commit: str | None
    commit: str | None
    merge_commit: str | None
    run_branch: str | None
    source: Mapping[str, object]
    watermark: WatermarkRange | None
    rows: RowCounts
    steps: Mapping[str, float]
    attempts: Mapping[str, int]
    validation: Mapping[str, object] | None
    quality: Mapping[str, object] | None
    outputs: Mapping[str, str]
    config_sha256: str | None
    lakeflow_version: str
    note: str = ""
    sinks: tuple[Mapping[str, object], ...] = ()
    sla: tuple[SlaBreach, ...] | None = None
    deliveries: tuple[Delivery, ...] = ()
    table: Mapping[str, object] | None = None
    schema_version: int = RECORD_SCHEMA_VERSION

    @property
    def ok(self) -> bool:
        return self.status not in ("failed", "discarded")


@dataclass(frozen=True, slots=True, repr=False)
class FailureRecord(_Record):
    """A run that stopped at ``failed_step``.

    With ``status="failed"`` the target was left untouched; the record and any quarantined
    rows are committed on the kept ``run_branch`` (when the run got that far) and in the run
    history. With ``status="published_not_loaded"`` the lake merge succeeded
    (``merge_commit``) but a database load failed: ``lakeflow load RUN_ID`` re-applies it.
    """

    run_id: str
    pipeline: str
    started_at: datetime
    finished_at: datetime
    target: str
    base_commit: str | None
    commit: str | None
    run_branch: str | None
    source: Mapping[str, object]
    watermark: WatermarkRange | None
    rows: RowCounts
    steps: Mapping[str, float]
    attempts: Mapping[str, int]
    failed_step: Step
    error: RecordError
    validation: Mapping[str, object] | None = None
    quality: Mapping[str, object] | None = None
    outputs: Mapping[str, str] = field(default_factory=dict)
    config_sha256: str | None = None
    lakeflow_version: str = ""
    merge_commit: str | None = None
    status: RunStatus = "failed"
    note: str = ""
    sinks: tuple[Mapping[str, object], ...] = ()
    sla: tuple[SlaBreach, ...] | None = None
    deliveries: tuple[Delivery, ...] = ()
    table: Mapping[str, object] | None = None
    schema_version: int = RECORD_SCHEMA_VERSION

    @property
    def ok(self) -> bool:
        return False


def encode_json(data: object) -> str:
    """Pure. ``data`` as strict, pretty, key-sorted JSON text that parses back whatever it holds.

    The one JSON encoder for everything lakeflow writes (records, reports, checkpoints):
    nothing is rewritten after serialising. Values that strict JSON cannot hold become strings
    (``NaN``, ``Infinity``, datetimes in ISO 8601, anything else by ``str``).

    >>> data = {"email": 'https://x.io/?token=abc"},', "ratio": float("nan")}
    >>> json.loads(encode_json(data)) == {"email": data["email"], "ratio": "NaN"}
    True
    """
    return json.dumps(_jsonable(data), indent=2, sort_keys=True, allow_nan=False)


def _jsonable(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, RowCounts):
        return {f.name: getattr(value, f.name) for f in fields(value)}
    if isinstance(value, WatermarkRange | RecordError | SlaBreach | Delivery):
        return {k: _jsonable(v) for k, v in value.to_json().items()}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _datetime(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO-8601 timestamp, got {value!r}")
    return datetime.fromisoformat(value)


def _breaches(raw: object) -> tuple[SlaBreach, ...] | None:
    """``sla`` of a record: ``None`` when it was not checked (or written before SLAs existed)."""
    if raw is None:
        return None
    if not isinstance(raw, list | tuple):
        raise ValueError(f"expected a list of SLA breaches, got {raw!r}")
    return tuple(
        SlaBreach(str(b["check"]), float(b["limit"]), float(b["actual"]), str(b["message"]))
        for b in raw
    )


def record_from_json(data: Mapping[str, Any]) -> RunRecord | FailureRecord:
    """Pure. Parse a record written by :meth:`RunRecord.to_json`/:meth:`FailureRecord.to_json`.

    Raises ``ValueError`` for a record of an unknown ``schema_version`` or a malformed one.
    """
    version = data.get("schema_version")
    if version not in READABLE_SCHEMA_VERSIONS or isinstance(version, bool):
        raise ValueError(f"unsupported run record schema_version {version!r}")
    rows = RowCounts(**{k: int(v) for k, v in dict(data.get("rows") or {}).items()})
    wm_raw = data.get("watermark")
    watermark = (
        WatermarkRange(str(wm_raw["column"]), wm_raw.get("from"), wm_raw.get("to"))
        if isinstance(wm_raw, Mapping)
        else None
    )
    common: dict[str, Any] = {
        "run_id": str(data["run_id"]),
        "pipeline": str(data["pipeline"]),
        "started_at": _datetime(data["started_at"]),
        "finished_at": _datetime(data["finished_at"]),
        "target": str(data["target"]),
        "base_commit": data.get("base_commit"),
        "commit": data.get("commit"),
        "merge_commit": data.get("merge_commit"),
        "run_branch": data.get("run_branch"),
        "source": dict(data.get("source") or {}),
        "watermark": watermark,
        "rows": rows,
        "steps": {str(k): float(v) for k, v in dict(data.get("steps") or {}).items()},
        "attempts": {str(k): int(v) for k, v in dict(data.get("attempts") or {}).items()},
        "validation": data.get("validation"),
        "quality": data.get("quality"),
        "outputs": {str(k): str(v) for k, v in dict(data.get("outputs") or {}).items()},
        "config_sha256": data.get("config_sha256"),
        "lakeflow_version": str(data.get("lakeflow_version", "")),
        "note": str(data.get("note", "")),
        "sinks": tuple(dict(s) for s in data.get("sinks") or ()),
        "sla": _breaches(data.get("sla")),
        "deliveries": tuple(
            Delivery(str(d["channel"]), bool(d["ok"]), int(d["attempts"]), d.get("error"))
            for d in data.get("deliveries") or ()
        ),
        "table": dict(data["table"]) if isinstance(data.get("table"), Mapping) else None,
        "status": data["status"],
    }
    if data.get("failed_step") is not None:
        err = data["error"]
        return FailureRecord(
            **common,
            failed_step=data["failed_step"],
            error=RecordError(
                str(err["kind"]), str(err["message"]), bool(err["retryable"]), err.get("code")
            ),
        )
    return RunRecord(**common)
