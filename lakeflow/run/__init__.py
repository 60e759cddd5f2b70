"""The shell: runs, the run history, loads and repository set-up, sequenced over ports.

Effect. ``run()`` is the one place a pipeline's effects are sequenced
(:mod:`lakeflow.run.transaction`); the rest of the package holds the run's domain types
(:mod:`~lakeflow.run.pipeline`), the lake layout (:mod:`~lakeflow.run.layout`), the pure
planning of writes and records (:mod:`~lakeflow.run.plan`), the execution of the lazy plan
(:mod:`~lakeflow.run.execute`), the one retry mechanism (:mod:`~lakeflow.run.retry`), the
history (:mod:`~lakeflow.run.history`), database loads (:mod:`~lakeflow.run.load`),
repository set-up (:mod:`~lakeflow.run.init`), publishing, discarding and pruning runs kept
for an audit (:mod:`~lakeflow.run.audit`). Published datasets as tables: the table step of a
run (:mod:`~lakeflow.run.table`, :mod:`~lakeflow.run.published`), backfills, watermark resets,
quarantine views and table maintenance (:mod:`~lakeflow.run.backfill`,
:mod:`~lakeflow.run.reset`, :mod:`~lakeflow.run.quarantine`, :mod:`~lakeflow.run.optimize`).
"""

from lakeflow.run.audit import PrunedBranch, PruneReport, discard_run, prune_runs, publish_run
from lakeflow.run.backfill import backfill
from lakeflow.run.history import History, UnreadableRecord, read_history, runs, show_run
from lakeflow.run.init import InitReport, init_lake
from lakeflow.run.layout import HISTORY_BRANCH
from lakeflow.run.load import load_run
from lakeflow.run.optimize import optimize_table
from lakeflow.run.pipeline import Pipeline, RetryPolicy, RunEvent
from lakeflow.run.quarantine import quarantined
from lakeflow.run.reset import reset_watermark
from lakeflow.run.transaction import Outcome, run

__all__ = [
    "HISTORY_BRANCH",
    "History",
    "InitReport",
    "Outcome",
    "Pipeline",
    "PruneReport",
    "PrunedBranch",
    "RetryPolicy",
    "RunEvent",
    "UnreadableRecord",
    "backfill",
    "discard_run",
    "init_lake",
    "load_run",
    "optimize_table",
    "prune_runs",
    "publish_run",
    "quarantined",
    "read_history",
    "reset_watermark",
    "run",
    "runs",
    "show_run",
]
