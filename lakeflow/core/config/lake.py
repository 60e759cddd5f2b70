"""``lake:`` where the lake lives: an embedded local lake or a lakeFS server.

Pure. ``local://PATH`` is the embedded default (relative paths resolve against the config
file's folder; ``local:///abs/path`` is absolute); ``lakefs://HOST[:PORT]`` needs both access
keys, from the environment.
"""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, Final, Literal, Self, TypeAlias

from pydantic import Strict, model_validator

from lakeflow.core.config.base import ConfigModel, Expect
from lakeflow.core.config.errors import problems
from lakeflow.core.config.values import SecretValue, matching, satisfies
from lakeflow.core.secrets import Secret

__all__ = ["LakeConfig"]

_LAKEFS_URL = re.compile(
    r"lakefs://(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])"
    r"(?::(?P<port>\d{1,5}))?/?"
)
_KEY_VARIABLES: Final = {
    "access_key_id": "LAKECTL_CREDENTIALS_ACCESS_KEY_ID",
    "secret_access_key": "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY",
}


def _lake_url_ok(url: str) -> bool:
    if url.startswith("local://"):
        return len(url) > len("local://") and "\x00" not in url
    match = _LAKEFS_URL.fullmatch(url)
    return match is not None and (match["port"] is None or 1 <= int(match["port"]) <= 65535)


_REPOSITORY_CHECK = matching(r"[a-z0-9][a-z0-9-]{2,62}")
_BRANCH_CHECK = matching(r"[A-Za-z0-9_][-A-Za-z0-9_]*")

LakeUrl: TypeAlias = Annotated[
    str, Strict(), satisfies(_lake_url_ok), Expect("local://PATH or lakefs://HOST[:PORT]")
]
Repository: TypeAlias = Annotated[
    str,
    Strict(),
    _REPOSITORY_CHECK[0],
    Expect(
        "a repository id of 3-63 lowercase letters, digits and dashes, starting with a letter "
        "or digit"
    ),
    _REPOSITORY_CHECK[1],
]
Branch: TypeAlias = Annotated[
    str,
    Strict(),
    _BRANCH_CHECK[0],
    Expect("a branch id of letters, digits, '_' and '-' (no '/' or '.')"),
    _BRANCH_CHECK[1],
]


class LakeConfig(ConfigModel):
    """Where the lake lives: ``local://PATH`` (embedded, no server) or ``lakefs://HOST[:PORT]``."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {
            "examples": [
                {"url": "local://./lake", "repository": "etl-pipeline"},
                {
                    "url": "lakefs://lakefs.internal:8000",
                    "repository": "etl-pipeline",
                    "access_key_id": "${LAKECTL_CREDENTIALS_ACCESS_KEY_ID}",
                    "secret_access_key": "${LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY}",
                },
            ]
        }
    }

    url: LakeUrl
    """``local://PATH`` (relative to the config file; ``local:///abs`` is absolute) or
    ``lakefs://HOST[:PORT]``."""
    repository: Repository
    """The repository id (lakeFS rules: 3-63 lowercase letters, digits and dashes)."""
    default_branch: Branch = "main"
    """The branch runs publish to unless ``--target`` says otherwise."""
    access_key_id: (
        Annotated[Secret, SecretValue("env", "LAKECTL_CREDENTIALS_ACCESS_KEY_ID")] | None
    ) = None
    """lakeFS access key id (required for ``lakefs://``; from the environment only)."""
    secret_access_key: (
        Annotated[Secret, SecretValue("env", "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY")] | None
    ) = None
    """lakeFS secret access key (required for ``lakefs://``; from the environment only)."""

    section: ClassVar[str] = "lake"

    @property
    def kind(self) -> Literal["local", "lakefs"]:
        """``local`` or ``lakefs``, from the URL's scheme."""
        return "lakefs" if self.url.startswith("lakefs://") else "local"

    @model_validator(mode="after")
    def _keys_match_the_kind(self) -> Self:
        found = []
        for key, variable in _KEY_VARIABLES.items():
            given = getattr(self, key) is not None
            if self.kind == "lakefs" and not given:
                found.append(
                    ((key,), f'required for lakefs:// lakes; write {key}: "${{{variable}}}"')
                )
            if self.kind == "local" and given:
                found.append(((key,), "only used with lakefs:// lakes"))
        if found:
            raise problems(*found)
        return self
