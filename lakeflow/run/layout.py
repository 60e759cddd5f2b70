"""The lake layout: every path and branch name lakeflow writes, in one place.

Pure. A run of pipeline ``P`` with id ``R`` writes these objects (on its run branch, then merged
into the target); the run history lives on its own branch; ``lakeflow init`` lays out the
repository. Nothing else in lakeflow spells a lake path or a branch name.

>>> paths = run_paths("users", "validated_data/users", "20260101T000000000Z-ab12cd34")
>>> paths.valid
'validated_data/users/part-20260101T000000000Z-ab12cd34.parquet'
>>> paths.kind_of(paths.checkpoint)
'checkpoint'
>>> target_problem("lakeflow-history")
"'lakeflow-history' is lakeflow's own branch (the run history), not a target"
>>> target_problem("") is None
False
>>> run_id_of_branch("users", "lakeflow-run-users-20260101T000000000Z-ab12cd34")
'20260101T000000000Z-ab12cd34'
>>> run_id_of_branch("users", "lakeflow-run-users-eu-20260101T000000000Z-ab12cd34") is None
True
>>> run_started_at("20260101T093000250Z-ab12cd34").isoformat()
'2026-01-01T09:30:00.250000+00:00'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Final

__all__ = [
    "HISTORY_BRANCH",
    "INIT_BRANCH_PREFIX",
    "LAYOUT_README",
    "LAYOUT_README_PATH",
    "RUN_BRANCH_PREFIX",
    "STANDARD_BRANCHES",
    "RunPaths",
    "checkpoint_path",
    "dataset_schema_path",
    "is_internal_branch",
    "records_prefix",
    "run_branch_name",
    "run_id_of_branch",
    "run_paths",
    "run_started_at",
    "target_problem",
]

HISTORY_BRANCH: Final = "lakeflow-history"
"""The branch that holds every run's record, published or failed (the run history)."""

RUN_BRANCH_PREFIX: Final = "lakeflow-run-"
"""Run branches are ``lakeflow-run-<pipeline>-<run_id>``."""

INIT_BRANCH_PREFIX: Final = "lakeflow-init-"
"""``lakeflow init`` lays out the repository on a branch of its own, then merges it."""

STANDARD_BRANCHES: Final = ("staging", "development", "production")
"""Branches ``lakeflow init`` creates from the default branch, as the tutorial sets them up."""

LAYOUT_README_PATH: Final = "_lakeflow/README.md"

LAYOUT_README: Final = """\
# lakeflow layout

| path | what |
|---|---|
| `<load path>/part-<run_id>.parquet` | validated rows (format parquet) |
| `<load path>/` with `_delta_log/` | a Delta table (format delta, mode merge): read it as a table |
| `raw/<pipeline>/<run_id>.parquet` | extracted rows as read |
| `_lakeflow/quarantine/<pipeline>/<run_id>.parquet` | rows that failed row-level checks |
| `_lakeflow/runs/<pipeline>/<run_id>.json` | run records |
| `_lakeflow/quality/<pipeline>/<run_id>.json` | validation report and quality metrics |
| `_lakeflow/checkpoints/<pipeline>.json` | incremental watermarks |
| `_lakeflow/datasets/<load path>/schema.parquet` | the published schema of a parquet dataset |

Every run works on its own branch `lakeflow-run-<pipeline>-<run_id>` and is merged only when
every step succeeded; failed runs keep their branch. The `lakeflow-history` branch records
every run.
"""

_BRANCH_ID: Final = re.compile(r"\w[-\w]*", re.ASCII)
_INTERNAL_PREFIX: Final = "lakeflow-"


def run_branch_name(pipeline: str, run_id: str) -> str:
    """Pure. The visible run branch of one run."""
    return f"{RUN_BRANCH_PREFIX}{pipeline}-{run_id}"


_RUN_ID: Final = re.compile(r"(?P<at>\d{8}T\d{9})Z-[0-9a-f]{8}", re.ASCII)
"""Run ids: the start time (UTC, to the millisecond) and 8 random hex digits."""


def run_id_of_branch(pipeline: str, name: str) -> str | None:
    """Pure. The run id of ``pipeline``'s run branch ``name``, or ``None`` for another branch.

    Only a whole run id counts, so pipeline ``users`` never claims ``users-eu``'s branches.
    """
    prefix = run_branch_name(pipeline, "")
    if not name.startswith(prefix):
        return None
    run_id = name[len(prefix) :]
    return run_id if _RUN_ID.fullmatch(run_id) else None


def run_started_at(run_id: str) -> datetime | None:
    """Pure. When a run started, read from its id (``None`` if it is not a run id)."""
    match = _RUN_ID.fullmatch(run_id)
    if match is None:
        return None
    try:
        return datetime.strptime(match["at"] + "000", "%Y%m%dT%H%M%S%f").replace(tzinfo=UTC)
    except ValueError:
        return None


def checkpoint_path(pipeline: str) -> str:
    """Pure. Where a pipeline's incremental checkpoint lives (on the target)."""
    return f"_lakeflow/checkpoints/{pipeline}.json"


def dataset_schema_path(output_path: str) -> str:
    """Pure. Where the published schema of a parquet dataset is kept (an empty parquet file:
    its footer is the schema, exactly), written with every run that publishes to it."""
    return f"_lakeflow/datasets/{output_path}/schema.parquet"


def records_prefix(pipeline: str | None = None) -> str:
    """Pure. The folder of run records (of one pipeline, or of all)."""
    return f"_lakeflow/runs/{pipeline}/" if pipeline else "_lakeflow/runs/"


@dataclass(frozen=True, slots=True)
class RunPaths:
    """Where one run's outputs go in the lake."""

    valid: str
    raw: str
    quarantine: str
    quality: str
    record: str
    checkpoint: str

    def kind_of(self, path: str) -> str:
        """Pure. The output kind (``valid``, ``raw``...) ``path`` is, or ``path`` itself."""
        for f in fields(self):
            if getattr(self, f.name) == path:
                return f.name
        return path


def run_paths(pipeline: str, output_path: str, run_id: str) -> RunPaths:
    """Pure. Every path one run of ``pipeline`` writes, publishing to ``output_path``."""
    return RunPaths(
        valid=f"{output_path}/part-{run_id}.parquet",
        raw=f"raw/{pipeline}/{run_id}.parquet",
        quarantine=f"_lakeflow/quarantine/{pipeline}/{run_id}.parquet",
        quality=f"_lakeflow/quality/{pipeline}/{run_id}.json",
        record=f"{records_prefix(pipeline)}{run_id}.json",
        checkpoint=checkpoint_path(pipeline),
    )


def is_internal_branch(name: str) -> bool:
    """Pure. Branches lakeflow owns (history, run and init branches): never a target."""
    return name.startswith(_INTERNAL_PREFIX)


def target_problem(name: object) -> str | None:
    """Pure. Why ``name`` cannot be a branch to publish to, or ``None`` when it can.

    A target is a lakeFS branch id (``^\\w[-\\w]*$``: no ``/``, ``.``, ``~`` or spaces), not
    empty (an unset shell variable must never mean the default branch) and not one of
    lakeflow's own branches.
    """
    if not isinstance(name, str) or not name:
        return "the target branch is empty (is a shell variable unset?)"
    if not _BRANCH_ID.fullmatch(name):
        return (
            f"{name!r} is not a branch name: use letters, digits, '_' and '-' "
            "(no '/', '.', '~' or spaces)"
        )
    if name == HISTORY_BRANCH:
        return f"{name!r} is lakeflow's own branch (the run history), not a target"
    if is_internal_branch(name):
        return f"{name!r} is one of lakeflow's own branches (run or init branches), not a target"
    return None
