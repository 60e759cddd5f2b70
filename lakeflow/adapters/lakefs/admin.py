"""Set-up and health of a lakeFS lake: branch protection and the three-part health check.

Effect. Beyond the Lake port: ``lakeflow init`` protects the target branch when asked
(``lake.protect_target: true``) and ``lakeflow health`` says which of the endpoint, the
credentials and the repository failed.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

from lakefs_sdk.models.branch_protection_rule import BranchProtectionRule
from returns.io import IOFailure, IOResult

from lakeflow.adapters.lakefs.errors import BOUNDARY_ERRORS, answer_of
from lakeflow.adapters.lakefs.session import Session, failure_of, repository_info
from lakeflow.core.errors import LakeError

__all__ = ["HealthPart", "health", "protect_branch"]

HealthPart: TypeAlias = Literal["endpoint", "credentials", "repository"]


def protect_branch(session: Session, name: str) -> IOResult[None, LakeError]:
    """Effect. Add a protection rule for ``name`` unless one names it already.

    The rules are replaced with ``If-Match`` on the ETag read first: a concurrent change of the
    rules makes this a retryable ``conflict`` (read them again), never a lost rule.
    """
    op = "protect_branch"
    api = session.sdk.repositories_api
    repository = session.repository

    def protect() -> None:
        read = api.get_branch_protection_rules_with_http_info(repository)
        rules = list(read.data or [])
        if any(rule.pattern == name for rule in rules):
            return
        etag = (read.headers or {}).get("ETag")
        rules.append(BranchProtectionRule.from_dict({"pattern": name}))
        api.set_branch_protection_rules(repository, rules, if_match=etag)

    try:
        protect()
    except BOUNDARY_ERRORS as exc:
        answer = answer_of(exc)
        if answer is not None and answer.status == 412:
            reason = "the branch protection rules changed while adding one; read them again"
            return IOFailure(LakeError(op, reason, "conflict", retryable=True))
        return IOFailure(session.error(op, exc))
    return IOResult.from_value(None)


def _part(
    part: HealthPart, result: IOResult[str, LakeError], hint: str
) -> IOResult[str, LakeError]:
    return result.alt(
        lambda e: LakeError(f"check {part}", f"{e.reason}{hint}", e.code, retryable=e.retryable)
    )


def health(session: Session) -> tuple[tuple[HealthPart, IOResult[str, LakeError]], ...]:
    """Effect. The endpoint (public ``/healthcheck``), then the credentials (``/config``, which
    needs them), then the repository; each checked only when the one before it passed."""
    sdk = session.sdk
    repository = session.repository

    def version() -> str:
        config = sdk.config_api.get_config()
        found = config.version_config.version if config.version_config else None
        return f"accepted (lakeFS {found or 'of unknown version'})"

    def repo() -> str:
        info = repository_info(sdk.repositories_api.get_repository(repository))
        return f"{info.id} (default branch {info.default_branch})"

    endpoint = _part(
        "endpoint",
        session.call("health", sdk.health_check_api.health_check).map(
            lambda _: f"lakeFS answers at {session.url}"
        ),
        "",
    )
    checks: list[tuple[HealthPart, IOResult[str, LakeError]]] = [("endpoint", endpoint)]
    if isinstance(endpoint, IOFailure):
        return (*checks, *_skipped(("credentials", "repository"), "endpoint"))
    credentials = _part("credentials", session.call("health", version), "")
    checks.append(("credentials", credentials))
    if isinstance(credentials, IOFailure):
        return (*checks, *_skipped(("repository",), "credentials"))
    hint = f"; create it with `lakeflow init` (repository {repository!r})"
    found = session.call("health", repo)
    problem = failure_of(found)
    missing = problem is not None and problem.code == "not_found"
    checks.append(("repository", _part("repository", found, hint if missing else "")))
    return tuple(checks)


def _skipped(
    parts: tuple[HealthPart, ...], failed: HealthPart
) -> tuple[tuple[HealthPart, IOResult[str, LakeError]], ...]:
    return tuple(
        (
            part,
            IOFailure(
                LakeError(f"check {part}", f"not checked: the {failed} check failed", "unavailable")
            ),
        )
        for part in parts
    )
