"""The embedded lake: :class:`LocalLake`, lakeFS semantics on local disk, in rooms of its own.

Effectful. ``trees`` (pure tree/range/three-way-merge logic), ``metadata``, ``history`` and
``staging`` (the SQLite metadata), ``blobs`` (the content-addressed, verified blob store),
``maintenance`` (``gc``/``fsck``) and ``lake`` (:class:`LocalLake`, which only sequences them).
"""

from lakeflow.adapters.local.lake import LocalLake
from lakeflow.adapters.local.maintenance import FsckReport, GcReport
from lakeflow.adapters.local.metadata import FORMAT_VERSION

__all__ = ["FORMAT_VERSION", "FsckReport", "GcReport", "LocalLake"]
