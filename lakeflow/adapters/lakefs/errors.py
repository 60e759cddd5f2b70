"""lakeFS failures as :class:`LakeError` values: the one place statuses become codes.

Pure (functions of exception values and statuses). Everything the ``lakefs`` SDK, the generated
``lakefs_sdk`` client or urllib3 raise is translated here, by HTTP status, never by exception
class: the SDK turns *any* error on ``GET /config`` into ``NotAuthorizedException`` (a 503 there
is not an authentication problem), and its object helpers re-raise 403s as
``PermissionException`` and 404s as ``ObjectNotFoundException`` with the status kept.

=========================================  ================  =========
lakeFS answer                              code              retryable
=========================================  ================  =========
400 (bad input, no changes, dirty branch)  ``invalid``       no
401                                        ``auth``          no
403 (diagnosed by the caller: protected    ``auth``          no
branch, default branch, read-only repo)
404, 410                                   ``not_found``     no
409                                        ``conflict``      no
412 (hook failed, precondition)            ``precondition``  no
416, 501                                   ``invalid``       no
423, 429 or 500 "too many attempts" /      ``conflict``      yes
"locked" (a lost race on a branch head)
429, 5xx                                   ``unavailable``   yes
timeouts, refused/reset connections,       ``unavailable``   yes
dropped bodies, DNS failures
TLS failures                               ``unavailable``   no
=========================================  ================  =========

lakeFS answers a lost compare-and-swap on a branch head with 423 (``ErrTooManyTries``; 429 in
newer servers) and a busy branch lock with 500 ("branch is currently locked"): both mean "try
again" and are a retryable ``conflict``, the code the Lake port gives lost races. Every message
is scrubbed of the lake's secrets before it becomes a value.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

import urllib3.exceptions
from lakefs.exceptions import LakeFSException, ServerException
from lakefs_sdk.exceptions import ApiException

from lakeflow.core.errors import LakeError, LakeErrorCode
from lakeflow.core.secrets import Secret, scrub

__all__ = [
    "BOUNDARY_ERRORS",
    "HttpAnswer",
    "answer_of",
    "lake_error",
    "status_error",
    "transport_error",
]

BOUNDARY_ERRORS: Final = (LakeFSException, ApiException, urllib3.exceptions.HTTPError)
"""What the adapter catches around every call into the SDK or the transport: lakeFS' answers
(both SDK layers) and urllib3's transport failures. Anything else is a bug and raises."""

_RACE_WORDS: Final = ("too many attempts", "too many tries", "currently locked", "locked")
_SHOWN: Final = 300  # characters of a server message kept in a reason


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """What lakeFS answered: its status and the ``message`` of its JSON error body."""

    status: int
    message: str


def _message_of(body: object) -> str:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes | bytearray) else body
    parsed: object = text
    if isinstance(text, str):
        try:
            parsed = json.loads(text)
        except ValueError:
            return text.strip()
    if isinstance(parsed, Mapping):
        message = parsed.get("message")
        if isinstance(message, str):
            return message
        return json.dumps(dict(parsed), default=str) if parsed else ""
    return str(parsed) if isinstance(parsed, str) else ""


def answer_of(exc: BaseException) -> HttpAnswer | None:
    """Pure. The status and message of an SDK exception, or ``None`` for a transport failure.

    ``lakefs`` exceptions carry ``status_code``/``reason``/``body`` (a dict), the generated
    client's carry ``status``/``reason``/``body`` (text). A status of 0 or ``None`` (the
    generated client's TLS failures) is not an answer.
    """
    if isinstance(exc, ServerException):
        status, reason, body = exc.status_code, exc.reason, exc.body
    elif isinstance(exc, ApiException):
        status, reason, body = exc.status, exc.reason, exc.body
    else:
        return None
    if not isinstance(status, int) or status <= 0:
        return None
    message = _message_of(body) or (reason if isinstance(reason, str) else "") or ""
    return HttpAnswer(status, message)


def _lost_race(answer: HttpAnswer) -> bool:
    text = answer.message.lower()
    return answer.status == 423 or (
        answer.status in {429, 500} and any(word in text for word in _RACE_WORDS)
    )


def status_error(op: str, answer: HttpAnswer, secrets: Iterable[Secret] = ()) -> LakeError:
    """Pure. The :class:`LakeError` for lakeFS answering ``op`` with an error status.

    A 403 is ``auth`` here; callers that can tell a protected or default branch apart (one
    more request) refine it first.
    """
    shown = scrub(answer.message[:_SHOWN], secrets)
    detail = f"lakeFS answered {answer.status}" + (f": {shown}" if shown else "")
    code: LakeErrorCode
    retryable = False
    status = answer.status
    if _lost_race(answer):
        code, retryable = "conflict", True
        detail += " (lost a race on the branch head; try again)"
    elif status in {400, 416, 501}:
        code = "invalid"
    elif status == 401:
        code = "auth"
        detail += (
            " (the access key or secret was refused: check LAKECTL_CREDENTIALS_ACCESS_KEY_ID and "
            "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY)"
        )
    elif status == 403:
        code = "auth"
        detail += " (the credentials may not do this)"
    elif status in {404, 410}:
        code = "not_found"
    elif status == 409:
        code = "conflict"
    elif status == 412:
        code = "precondition"
    elif status == 429 or status >= 500:
        code, retryable = "unavailable", True
    else:
        code = "invalid"
    return LakeError(op, detail, code, retryable=retryable)


def transport_error(
    op: str, exc: urllib3.exceptions.HTTPError, where: str, secrets: Iterable[Secret] = ()
) -> LakeError:
    """Pure. The :class:`LakeError` for a request to ``where`` that got no (whole) answer.

    Timeouts, refused or reset connections, bodies cut short and name-resolution failures are
    ``unavailable`` and retryable; a TLS failure (a certificate that does not verify) will not
    go away by retrying. A POST that timed out may still have been applied by the server: the
    adapter checks before it reports one as failed (see ``LakeFSLake.commit``).
    """
    reason: BaseException = exc
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        reason = exc.reason
    tls = isinstance(reason, urllib3.exceptions.SSLError)
    kind = type(reason).__name__
    text = (str(reason).splitlines() or [""])[0]
    if isinstance(reason, urllib3.exceptions.NewConnectionError | ConnectionRefusedError):
        what = "cannot connect"  # (a NewConnectionError is also a TimeoutError, for history)
    elif isinstance(reason, urllib3.exceptions.TimeoutError):
        what = "no answer in time"
    elif tls:
        what = "TLS failed"
    else:
        what = "the connection failed"
    detail = scrub(f"{what} talking to lakeFS at {where} ({kind}: {text[:_SHOWN]})", secrets)
    return LakeError(op, detail, "unavailable", retryable=not tls)


def lake_error(
    op: str, exc: BaseException, where: str, secrets: Iterable[Secret] = ()
) -> LakeError:
    """Pure. Any exception in :data:`BOUNDARY_ERRORS` as a :class:`LakeError` for ``op``."""
    answer = answer_of(exc)
    if answer is not None:
        return status_error(op, answer, secrets)
    if isinstance(exc, urllib3.exceptions.HTTPError):
        return transport_error(op, exc, where, secrets)
    detail = scrub(f"{type(exc).__name__}: {exc}".splitlines()[0][:_SHOWN], secrets)
    if isinstance(exc, ApiException):
        # status 0: the generated client's own wrapping of a TLS failure
        return LakeError(op, f"TLS failed talking to lakeFS at {where} ({detail})", "unavailable")
    # A lakeFS exception with no status: the SDK's own refusals (e.g. NoAuthenticationFound).
    return LakeError(op, detail, "invalid")
