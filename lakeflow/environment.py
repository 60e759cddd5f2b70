"""Every environment variable lakeflow itself reads, in one place.

Pure data. A deployment sets these (or the variables its config references as ``${NAME}``,
which :func:`config_variables` finds) and nothing else: the deployment manifests in ``deploy/``
are tested against this list, and a test checks that each variable an adapter reads is listed
here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Final

__all__ = [
    "LOG_FILE_ENV",
    "LOG_FORMAT_ENV",
    "LOG_LEVEL_ENV",
    "VARIABLES",
    "config_variables",
]

LOG_FORMAT_ENV: Final = "LAKEFLOW_LOG_FORMAT"
LOG_LEVEL_ENV: Final = "LAKEFLOW_LOG_LEVEL"
LOG_FILE_ENV: Final = "LAKEFLOW_LOG_FILE"

VARIABLES: Final[Mapping[str, str]] = {
    "LAKECTL_SERVER_ENDPOINT_URL": "lakeFS' URL for a `lakefs://` lake URL without a host",
    "LAKECTL_CREDENTIALS_ACCESS_KEY_ID": "lakeFS access key id (lakectl's variable)",
    "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY": "lakeFS secret access key (lakectl's variable)",
    LOG_FORMAT_ENV: "the CLI's --log-format: auto, console or json",
    LOG_LEVEL_ENV: "the CLI's --log-level: debug, info, warning or error",
    LOG_FILE_ENV: "the CLI's --log-file: also append JSON log lines to this file",
}
"""Variable name -> what lakeflow reads it for."""

_REFERENCE = re.compile(r"\$(?:\$|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\})")


def config_variables(text: str) -> Iterator[str]:
    """Pure. The ``${NAME}`` (and ``${NAME:-default}``) variables a config text references
    (``$$`` is a literal dollar, as in configs).

    >>> sorted(set(config_variables('uri: "${DB_URI:-sqlite://x}"\\nkey: ${KEY} $${NOT}')))
    ['DB_URI', 'KEY']
    """
    for match in _REFERENCE.finditer(text):
        if match["name"]:
            yield match["name"]
