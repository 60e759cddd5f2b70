"""``lake:`` where the lake lives: an embedded local lake or a lakeFS server.

Pure. ``local://PATH`` is the embedded default (relative paths resolve against the config
file's folder; ``local:///abs/path`` is absolute). ``lakefs://`` is a lakeFS server, found and
logged into the way lakectl does it: the endpoint from the URL (``lakefs://HOST:PORT``,
``lakefs+https://HOST``), from ``endpoint`` or from ``LAKECTL_SERVER_ENDPOINT_URL``; the keys
from ``access_key_id``/``secret_access_key`` (``${VAR}`` references only: secrets are never
written in the file) or from ``LAKECTL_CREDENTIALS_ACCESS_KEY_ID`` and
``LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY``. A key left out takes its lakectl variable from the
environment the config is parsed with; when that is not set either, the problem names both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, ClassVar, Final, Literal, Self, TypeAlias

from pydantic import Strict, ValidationInfo, model_validator

from lakeflow.core.config.base import ConfigModel, Expect
from lakeflow.core.config.errors import problems
from lakeflow.core.config.interpolation import EnvText, KeyPath
from lakeflow.core.config.values import ENV_CONTEXT, Bool, SecretValue, matching, satisfies
from lakeflow.core.secrets import Secret

__all__ = ["ENDPOINT_VARIABLE", "KEY_VARIABLES", "LakeConfig"]

_HOST = r"(?:[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])"
_LAKEFS_URL = re.compile(
    rf"lakefs(?:\+https?)?://(?:(?P<host>{_HOST})(?::(?P<port>\d{{1,5}}))?)?/?"
)
_ENDPOINT = re.compile(rf"(?:https?://)?{_HOST}(?::(?P<port>\d{{1,5}}))?(?:/[^\s?#@]*)?")
_NAMESPACE = re.compile(r"(?:s3|gs|https?|mem|local|transient)://\S+")

ENDPOINT_VARIABLE: Final = "LAKECTL_SERVER_ENDPOINT_URL"
"""lakectl's variable naming the lakeFS server: the default of ``lake.endpoint``."""
KEY_VARIABLES: Final = {
    "access_key_id": "LAKECTL_CREDENTIALS_ACCESS_KEY_ID",
    "secret_access_key": "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY",
}
"""lakectl's variables holding the keys: the defaults of ``lake.access_key_id`` and
``lake.secret_access_key``."""
_LAKEFS_ONLY: Final = (
    "storage_namespace",
    "protect_target",
    "endpoint",
    "access_key_id",
    "secret_access_key",
)


def _port_ok(match: re.Match[str] | None) -> bool:
    return match is not None and (match["port"] is None or 1 <= int(match["port"]) <= 65535)


def _lake_url_ok(url: str) -> bool:
    if url.startswith("local://"):
        return len(url) > len("local://") and "\x00" not in url
    return _port_ok(_LAKEFS_URL.fullmatch(url))


def _names_a_server(url: str) -> bool:
    match = _LAKEFS_URL.fullmatch(url)
    return match is not None and match["host"] is not None


_REPOSITORY_CHECK = matching(r"[a-z0-9][a-z0-9-]{2,62}")
_BRANCH_CHECK = matching(r"[A-Za-z0-9_][-A-Za-z0-9_]*")

LakeUrl: TypeAlias = Annotated[
    str,
    Strict(),
    satisfies(_lake_url_ok),
    Expect("local://PATH, lakefs://[HOST[:PORT]] or lakefs+https://HOST[:PORT]"),
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
Endpoint: TypeAlias = Annotated[
    str,
    Strict(),
    satisfies(lambda text: _port_ok(_ENDPOINT.fullmatch(text))),
    Expect("a lakeFS server URL, http(s)://HOST[:PORT] (no credentials, query or fragment)"),
]
StorageNamespace: TypeAlias = Annotated[
    str,
    Strict(),
    satisfies(lambda text: _NAMESPACE.fullmatch(text) is not None),
    Expect(
        "a lakeFS storage namespace: s3://, gs://, http(s)://, mem://, local:// or transient://"
    ),
]


def _from_env(variable: str, env: Mapping[str, str]) -> EnvText | None:
    """Pure. ``variable``'s value as if the file had written ``"${variable}"``, when it is set."""
    found = env.get(variable, "")
    return EnvText(found, "", (variable,), from_env=True) if found else None


class LakeConfig(ConfigModel):
    """Where the lake lives: ``local://PATH`` (embedded, no server) or ``lakefs://`` (lakeFS)."""

    model_config = ConfigModel.model_config | {
        "json_schema_extra": {
            "examples": [
                {"url": "local://./lake", "repository": "etl-pipeline"},
                {
                    "url": "lakefs://",
                    "repository": "etl-pipeline",
                    "storage_namespace": "s3://data-lake/etl-pipeline",
                    "protect_target": True,
                },
                {
                    "url": "lakefs://lakefs.internal:8000",
                    "repository": "etl-pipeline",
                    "access_key_id": "${LAKEFS_ACCESS_KEY_ID}",
                    "secret_access_key": "${LAKEFS_SECRET_ACCESS_KEY}",
                },
            ]
        }
    }

    url: LakeUrl
    """``local://PATH`` (relative to the config file; ``local:///abs`` is absolute), or a
    lakeFS server: ``lakefs://`` (the server from ``endpoint``), ``lakefs://HOST[:PORT]``
    (HTTP) or ``lakefs+https://HOST[:PORT]``."""
    repository: Repository
    """The repository id (lakeFS rules: 3-63 lowercase letters, digits and dashes)."""
    default_branch: Branch = "main"
    """The branch runs publish to unless ``--target`` says otherwise."""
    verify_reads: Bool = True
    """Check data read from the lake against its checksums (both lakes). Turn it off only for
    a lakeFS block store whose checksums are not content hashes (S3 with SSE-KMS)."""
    storage_namespace: StorageNamespace | None = None
    """lakeFS only: where ``lakeflow init`` creates the repository's data (``s3://bucket/path``;
    ``local://name`` on a quickstart lakeFS). Not needed for a repository that exists."""
    protect_target: Bool = False
    """lakeFS only: ``lakeflow init`` protects the default branch, so only merges (runs that
    passed every check) reach it."""
    endpoint: Endpoint | None = None
    """lakeFS only: the server's URL, for ``url: lakefs://``. Default: the environment's
    ``LAKECTL_SERVER_ENDPOINT_URL``."""
    access_key_id: (
        Annotated[Secret, SecretValue("env", "LAKECTL_CREDENTIALS_ACCESS_KEY_ID")] | None
    ) = None
    """lakeFS only: the access key id, as ``"${VAR}"``. Default: the environment's
    ``LAKECTL_CREDENTIALS_ACCESS_KEY_ID``."""
    secret_access_key: (
        Annotated[Secret, SecretValue("env", "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY")] | None
    ) = None
    """lakeFS only: the secret access key, as ``"${VAR}"``. Default: the environment's
    ``LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY``."""

    section: ClassVar[str] = "lake"

    @property
    def kind(self) -> Literal["local", "lakefs"]:
        """``local`` or ``lakefs``, from the URL's scheme."""
        return "lakefs" if self.url.startswith("lakefs") else "local"

    @model_validator(mode="before")
    @classmethod
    def _lakectl_defaults(cls, data: object, info: ValidationInfo) -> object:
        """Fill keys left out of a ``lakefs://`` lake from the lakectl environment variables."""
        env = info.context.get(ENV_CONTEXT) if info.context else None
        url = data.get("url") if isinstance(data, Mapping) else None
        if env is None or not isinstance(data, Mapping) or not isinstance(url, str):
            return data
        if not url.startswith("lakefs"):
            return data
        defaults = dict(KEY_VARIABLES)
        if not _names_a_server(url):
            defaults["endpoint"] = ENDPOINT_VARIABLE
        filled = dict(data)
        for key, variable in defaults.items():
            if filled.get(key) is None and (value := _from_env(variable, env)) is not None:
                filled[key] = value
        return filled

    @model_validator(mode="after")
    def _keys_match_the_kind(self, info: ValidationInfo) -> Self:
        found: list[tuple[KeyPath, str]] = []
        if self.kind == "local":
            given = [
                key
                for key in _LAKEFS_ONLY
                if getattr(self, key) != type(self).model_fields[key].default
            ]
            found.extend(((key,), "only used with lakefs:// lakes") for key in given)
        elif info.context and ENV_CONTEXT in info.context:  # a config file: say what is missing
            for key, variable in KEY_VARIABLES.items():
                if getattr(self, key) is None:
                    found.append(
                        (
                            (key,),
                            f"required for lakefs:// lakes: set {variable} in the environment, "
                            f'or write {key}: "${{VAR}}"',
                        )
                    )
            if self.endpoint is None and not _names_a_server(self.url):
                found.append(
                    (
                        ("endpoint",),
                        f"{self.url!r} names no server: set {ENDPOINT_VARIABLE} in the "
                        "environment, write url: lakefs://HOST:PORT, or endpoint: "
                        '"https://HOST"',
                    )
                )
        if self.endpoint is not None and _names_a_server(self.url):
            found.append(
                (
                    ("endpoint",),
                    f"the server is named twice, in url ({self.url!r}) and here: keep one "
                    "(url: lakefs:// takes the server from endpoint)",
                )
            )
        if found:
            raise problems(*found)
        return self
