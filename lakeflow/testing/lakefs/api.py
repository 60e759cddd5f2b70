"""The lakeFS REST endpoints the double serves: request parsing and response shapes.

Effect (each handler calls the backend). Routes are matched on the path after ``/api/v1``,
segment by segment (segments are URL-decoded, so ``main~1`` and ``a%2Fb`` arrive intact).
Shapes follow lakeFS' OpenAPI spec: ``Repository``, ``Ref``, ``Commit``, ``ObjectStats``,
``Diff``, the four-field ``Pagination``; branch creation answers ``201`` with the commit id as
plain text. Options the double does not implement (bare repositories, presigned URLs, squash
merges, commit dates, log filters, two-dot diffs, multipart uploads) answer ``501`` with a
message naming them, rather than being ignored.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeVar

from lakeflow.ports import CommitInfo, ObjectInfo
from lakeflow.testing.lakefs.backend import Backend, DiffEntry, ResetKind
from lakeflow.testing.lakefs.wire import (
    MAX_PER_PAGE,
    ApiError,
    Request,
    Response,
    body_flag,
    body_metadata,
    body_object,
    body_text,
    group_by_delimiter,
    json_response,
    page_after,
    paginate,
    parse_amount,
    parse_range,
)

__all__ = ["Api", "Route"]

T = TypeVar("T")

_META_PREFIX: Final = "x-lakefs-meta-"
_RESET_KINDS: Final[Mapping[str, ResetKind]] = {
    "reset": "reset",
    "object": "object",
    "common_prefix": "common_prefix",
}
_LOG_FILTERS: Final = ("objects", "prefixes", "since", "stop_at")


Handler = Callable[[Request], Response]


@dataclass(frozen=True, slots=True)
class Route:
    """A matched endpoint: its operation name, handler and path parameters."""

    name: str
    handler: Handler
    params: Mapping[str, str]
    public: bool = False


# -- response shapes -------------------------------------------------------------------------------
def _listing(results: Sequence[object], pagination: Mapping[str, object]) -> Response:
    return json_response(200, {"pagination": dict(pagination), "results": list(results)})


def _page(
    items: Iterable[T], request: Request, key: Callable[[T], str]
) -> tuple[list[T], dict[str, object]]:
    return paginate(
        items, key=key, after=request.arg("after") or "", amount=parse_amount(request.arg("amount"))
    )


def _ref_json(ref_id: str, commit_id: str) -> dict[str, object]:
    return {"id": ref_id, "commit_id": commit_id}


class Api:
    """Effect. The endpoints of one double, served from ``backend``.

    Args:
        backend: Where operations run.
        committer: The user name commits are attributed to.
        namespace_pattern: The storage namespace regex advertised in ``GET /config``.
    """

    def __init__(self, backend: Backend, *, committer: str, namespace_pattern: str) -> None:
        self._backend = backend
        self._committer = committer
        self._namespace_pattern = namespace_pattern
        repo = "repositories/{repository}"
        branch = f"{repo}/branches/{{branch}}"
        ref = f"{repo}/refs/{{ref}}"
        table: list[tuple[str, str, Handler]] = [
            ("GET", "healthcheck", self.health_check),
            ("GET", "config", self.get_config),
            ("GET", "repositories", self.list_repositories),
            ("POST", "repositories", self.create_repository),
            ("GET", repo, self.get_repository),
            ("DELETE", repo, self.delete_repository),
            ("GET", f"{repo}/metadata", self.get_repository_metadata),
            ("GET", f"{repo}/settings/branch_protection", self.get_branch_protection_rules),
            ("PUT", f"{repo}/settings/branch_protection", self.set_branch_protection_rules),
            ("GET", f"{repo}/branches", self.list_branches),
            ("POST", f"{repo}/branches", self.create_branch),
            ("GET", branch, self.get_branch),
            ("DELETE", branch, self.delete_branch),
            ("PUT", branch, self.reset_branch),
            ("GET", f"{branch}/diff", self.diff_branch),
            ("POST", f"{branch}/commits", self.commit),
            ("POST", f"{branch}/revert", self.revert_branch),
            ("POST", f"{branch}/objects", self.upload_object),
            ("DELETE", f"{branch}/objects", self.delete_object),
            ("POST", f"{branch}/objects/delete", self.delete_objects),
            ("GET", f"{repo}/commits/{{commit}}", self.get_commit),
            ("GET", f"{ref}/commits", self.log_commits),
            ("GET", f"{ref}/diff/{{right}}", self.diff_refs),
            ("POST", f"{ref}/merge/{{destination}}", self.merge_into_branch),
            ("GET", f"{ref}/objects", self.get_object),
            ("HEAD", f"{ref}/objects", self.get_object),
            ("GET", f"{ref}/objects/stat", self.stat_object),
            ("GET", f"{ref}/objects/ls", self.list_objects),
            ("GET", f"{repo}/tags", self.list_tags),
            ("POST", f"{repo}/tags", self.create_tag),
            ("GET", f"{repo}/tags/{{tag}}", self.get_tag),
            ("DELETE", f"{repo}/tags/{{tag}}", self.delete_tag),
        ]
        self._routes = [(m, tuple(t.split("/")), h) for m, t, h in table]

    def match(self, method: str, segments: Sequence[str]) -> Route | None:
        """Pure. The endpoint serving ``method`` on these path segments, if any."""
        for route_method, template, handler in self._routes:
            if route_method != method or len(template) != len(segments):
                continue
            params: dict[str, str] = {}
            for part, segment in zip(template, segments, strict=True):
                if part.startswith("{"):
                    if not segment:
                        break
                    params[part[1:-1]] = segment
                elif part != segment:
                    break
            else:
                name = handler.__name__
                return Route(name, handler, params, public=name == "health_check")
        return None

    # -- shapes that need the backend ----------------------------------------------------------
    def _commit_json(self, commit: CommitInfo) -> dict[str, object]:
        return {
            "id": commit.id,
            "parents": list(commit.parents),
            "committer": self._committer,
            "message": commit.message,
            "creation_date": int(commit.created_at.timestamp()),
            "meta_range_id": "",
            "metadata": dict(commit.metadata),
            "version": 1,
        }

    def _stats_json(
        self, repository: str, info: ObjectInfo, *, metadata: bool = True, mtime: int = 0
    ) -> dict[str, object]:
        namespace = self._backend.repository(repository).storage_namespace.rstrip("/")
        return {
            "path": info.path,
            "path_type": "object",
            "physical_address": f"{namespace}/data/{info.checksum}",
            "checksum": info.checksum,
            "size_bytes": info.size,
            "mtime": mtime,
            "metadata": dict(info.metadata) if metadata else {},
            "content_type": info.content_type,
        }

    def _diff_listing(self, entries: list[DiffEntry], request: Request) -> Response:
        prefix = request.arg("prefix") or ""
        chosen = [(e.path, e) for e in entries if e.path.startswith(prefix)]
        grouped = group_by_delimiter(chosen, prefix, request.arg("delimiter") or "")
        page, pagination = _page(grouped, request, key=lambda item: item[0])
        results = [
            {"type": "prefix_changed", "path": path, "path_type": "common_prefix"}
            if entry is None
            else {"type": entry.type, "path": path, "path_type": "object", "size_bytes": entry.size}
            for path, entry in page
        ]
        return _listing(results, pagination)

    # -- server ---------------------------------------------------------------------------------
    def health_check(self, request: Request) -> Response:
        """``GET /healthcheck``: 204, no authentication."""
        return Response(204)

    def get_config(self, request: Request) -> Response:
        """``GET /config``: version and a storage config without presigned URLs."""
        storage = {
            "blockstore_type": "local",
            "blockstore_namespace_example": "local://example-bucket/",
            "blockstore_namespace_ValidityRegex": self._namespace_pattern,
            "pre_sign_support": False,
            "pre_sign_support_ui": False,
            "import_support": False,
            "import_validity_regex": self._namespace_pattern,
            "pre_sign_multipart_upload": False,
        }
        version = {"version": "1.70.0", "version_context": "lakeflow lakeFS double"}
        return json_response(200, {"version_config": version, "storage_config": storage})

    # -- repositories ---------------------------------------------------------------------------
    def list_repositories(self, request: Request) -> Response:
        prefix, search = request.arg("prefix") or "", request.arg("search") or ""
        chosen = [
            r
            for r in self._backend.repositories()
            if r.name.startswith(prefix) and search in r.name
        ]
        page, pagination = _page(chosen, request, key=lambda r: r.name)
        return _listing([r.to_json() for r in page], pagination)

    def create_repository(self, request: Request) -> Response:
        request.refuse("bare")
        body = body_object(request.body.json())
        if body_flag(body, "sample_data") or body_flag(body, "read_only"):
            raise ApiError(501, "the lakeFS double does not implement sample data or read-only")
        record = self._backend.create_repository(
            body_text(body, "name", required=True) or "",
            body_text(body, "storage_namespace", required=True) or "",
            body_text(body, "default_branch") or "main",
        )
        return json_response(201, record.to_json())

    def get_repository(self, request: Request) -> Response:
        return json_response(200, self._backend.repository(request.params["repository"]).to_json())

    def delete_repository(self, request: Request) -> Response:
        self._backend.delete_repository(request.params["repository"])
        return Response(204)

    def get_repository_metadata(self, request: Request) -> Response:
        self._backend.repository(request.params["repository"])
        return json_response(200, {})

    def get_branch_protection_rules(self, request: Request) -> Response:
        patterns, etag = self._backend.protection(request.params["repository"])
        return json_response(200, [{"pattern": p} for p in patterns], headers=(("ETag", etag),))

    def set_branch_protection_rules(self, request: Request) -> Response:
        rules = request.body.json()
        if not isinstance(rules, list):
            raise ApiError(400, "request body must be a JSON list of rules")
        patterns: list[str] = []
        for rule in rules:
            pattern = body_text(body_object(rule), "pattern", required=True)
            if not pattern:
                raise ApiError(400, "'pattern' must not be empty")
            patterns.append(pattern)
        self._backend.set_protection(
            request.params["repository"], tuple(patterns), request.headers.get("If-Match")
        )
        return Response(204)

    # -- branches -------------------------------------------------------------------------------
    def list_branches(self, request: Request) -> Response:
        prefix = request.arg("prefix") or ""
        listed = self._backend.branches(
            request.params["repository"], show_hidden=request.flag("show_hidden")
        )
        chosen = [b for b in listed if b.name.startswith(prefix)]
        page, pagination = _page(chosen, request, key=lambda b: b.name)
        return _listing([_ref_json(b.name, b.commit_id) for b in page], pagination)

    def create_branch(self, request: Request) -> Response:
        body = body_object(request.body.json())
        commit_id = self._backend.create_branch(
            request.params["repository"],
            body_text(body, "name", required=True) or "",
            body_text(body, "source", required=True) or "",
            hidden=body_flag(body, "hidden"),
        )
        return Response(201, commit_id.encode(), "text/plain; charset=utf-8")

    def get_branch(self, request: Request) -> Response:
        name = request.params["branch"]
        head = self._backend.branch_head(request.params["repository"], name)
        return json_response(200, _ref_json(name, head))

    def delete_branch(self, request: Request) -> Response:
        self._backend.delete_branch(request.params["repository"], request.params["branch"])
        return Response(204)

    def reset_branch(self, request: Request) -> Response:
        body = body_object(request.body.json())
        kind = _RESET_KINDS.get(body_text(body, "type", required=True) or "")
        if kind is None:
            raise ApiError(400, "unknown reset type")
        path = body_text(body, "path") or ""
        self._backend.reset(request.params["repository"], request.params["branch"], kind, path)
        return Response(204)

    def diff_branch(self, request: Request) -> Response:
        entries = self._backend.uncommitted(request.params["repository"], request.params["branch"])
        return self._diff_listing(entries, request)

    # -- commits, merges ------------------------------------------------------------------------
    def commit(self, request: Request) -> Response:
        request.refuse("source_metarange")
        body = body_object(request.body.json())
        if body.get("date") is not None:
            raise ApiError(501, "the lakeFS double does not implement commit dates")
        commit = self._backend.commit(
            request.params["repository"],
            request.params["branch"],
            body_text(body, "message", required=True) or "",
            body_metadata(body),
            allow_empty=body_flag(body, "allow_empty"),
        )
        return json_response(201, self._commit_json(commit))

    def revert_branch(self, request: Request) -> Response:
        body = body_object(request.body.json())
        parent_number = body.get("parent_number")
        if not isinstance(parent_number, int) or isinstance(parent_number, bool):
            raise ApiError(400, "'parent_number' must be an integer")
        overrides = body_object(body.get("commit_overrides") or {})
        self._backend.revert(
            request.params["repository"],
            request.params["branch"],
            body_text(body, "ref", required=True) or "",
            parent_number=parent_number,
            message=body_text(overrides, "message"),
            metadata=body_metadata(overrides),
            allow_empty=body_flag(body, "allow_empty"),
        )
        return Response(204)

    def get_commit(self, request: Request) -> Response:
        commit = self._backend.get_commit(request.params["repository"], request.params["commit"])
        return json_response(200, self._commit_json(commit))

    def log_commits(self, request: Request) -> Response:
        request.refuse(*_LOG_FILTERS, "first_parent")
        commits = self._backend.log(request.params["repository"], request.params["ref"])
        rest = page_after(commits, key=lambda c: c.id, after=request.arg("after") or "")
        amount = parse_amount(request.arg("amount"))
        page = list(rest[:amount])
        has_more = len(rest) > amount and not request.flag("limit")
        pagination = {
            "has_more": has_more,
            "next_offset": page[-1].id if has_more else "",
            "results": len(page),
            "max_per_page": MAX_PER_PAGE,
        }
        return _listing([self._commit_json(c) for c in page], pagination)

    def diff_refs(self, request: Request) -> Response:
        if (request.arg("type") or "three_dot") != "three_dot":
            raise ApiError(501, "the lakeFS double implements three-dot diffs only")
        entries = self._backend.diff(
            request.params["repository"], request.params["ref"], request.params["right"]
        )
        return self._diff_listing(entries, request)

    def merge_into_branch(self, request: Request) -> Response:
        body = body_object(request.body.json())
        for option in ("squash_merge", "allow_empty"):
            if body_flag(body, option):
                raise ApiError(501, f"the lakeFS double does not implement {option} merges")
        reference = self._backend.merge(
            request.params["repository"],
            request.params["ref"],
            request.params["destination"],
            message=body_text(body, "message") or "",
            metadata=body_metadata(body),
            strategy=body_text(body, "strategy"),
        )
        return json_response(200, {"reference": reference})

    # -- objects --------------------------------------------------------------------------------
    def upload_object(self, request: Request) -> Response:
        repository, branch = request.params["repository"], request.params["branch"]
        path = request.required("path")
        content_type = request.headers.get("Content-Type") or "application/octet-stream"
        if content_type.startswith("multipart/"):
            raise ApiError(501, "the lakeFS double does not implement multipart uploads")
        if_none_match = request.headers.get("If-None-Match")
        if if_none_match is not None and if_none_match != "*":
            raise ApiError(400, 'Unsupported value for If-None-Match - Only "*" is supported')
        metadata = {
            key.lower()[len(_META_PREFIX) :]: value
            for key, value in request.headers.items()
            if key.lower().startswith(_META_PREFIX)
        }
        if_absent = if_none_match is not None
        folder = self._backend.begin_upload(repository, branch, path, if_absent=if_absent)
        handle, name = tempfile.mkstemp(dir=folder, prefix="upload-")
        spooled = Path(name)
        try:
            with os.fdopen(handle, "wb") as out:
                while chunk := request.body.read():
                    out.write(chunk)
            info = self._backend.finish_upload(
                repository,
                branch,
                path,
                spooled,
                content_type=content_type,
                metadata=metadata,
                if_absent=if_absent,
            )
        finally:
            spooled.unlink(missing_ok=True)  # staged files were moved away; others never land
        stats = self._stats_json(repository, info, mtime=int(time.time()))
        return json_response(201, stats)

    def delete_object(self, request: Request) -> Response:
        self._backend.delete_object(
            request.params["repository"], request.params["branch"], request.required("path")
        )
        return Response(204)

    def delete_objects(self, request: Request) -> Response:
        body = body_object(request.body.json())
        paths = body.get("paths")
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise ApiError(400, "'paths' must be a list of strings")
        errors = self._backend.delete_objects(
            request.params["repository"], request.params["branch"], paths
        )
        listed = [{"path": p, "status_code": e.status, "message": e.message} for p, e in errors]
        return json_response(200, {"errors": listed})

    def get_object(self, request: Request) -> Response:
        """``GET``/``HEAD`` an object, whole or one byte range (``206``; ``416`` past its end)."""
        request.refuse("presign")
        repository = request.params["repository"]
        info, blob = self._backend.blob(repository, request.params["ref"], request.required("path"))
        headers = [("ETag", f'"{info.checksum}"'), ("Accept-Ranges", "bytes")]
        wanted = request.headers.get("Range")
        if wanted is None:
            return Response(200, b"", info.content_type, tuple(headers), blob, 0, info.size)
        try:
            start, end = parse_range(wanted, info.size)
        except ApiError as exc:
            raise ApiError(
                exc.status, exc.message, headers=(("Content-Range", f"bytes */{info.size}"),)
            ) from None
        headers.append(("Content-Range", f"bytes {start}-{end}/{info.size}"))
        return Response(206, b"", info.content_type, tuple(headers), blob, start, end - start + 1)

    def stat_object(self, request: Request) -> Response:
        request.refuse("presign")
        repository = request.params["repository"]
        info = self._backend.stat(repository, request.params["ref"], request.required("path"))
        metadata = request.flag("user_metadata", default=True)
        return json_response(200, self._stats_json(repository, info, metadata=metadata))

    def list_objects(self, request: Request) -> Response:
        request.refuse("presign")
        repository = request.params["repository"]
        prefix = request.arg("prefix") or ""
        metadata = request.flag("user_metadata", default=True)
        objects = self._backend.objects(repository, request.params["ref"], prefix)
        grouped = group_by_delimiter(
            ((o.path, o) for o in objects), prefix, request.arg("delimiter") or ""
        )
        page, pagination = _page(grouped, request, key=lambda item: item[0])
        results = [
            {
                "path": path,
                "path_type": "common_prefix",
                "physical_address": "",
                "checksum": "",
                "mtime": 0,
            }
            if info is None
            else self._stats_json(repository, info, metadata=metadata)
            for path, info in page
        ]
        return _listing(results, pagination)

    # -- tags -----------------------------------------------------------------------------------
    def list_tags(self, request: Request) -> Response:
        prefix = request.arg("prefix") or ""
        chosen = [
            t for t in self._backend.tags(request.params["repository"]) if t[0].startswith(prefix)
        ]
        page, pagination = _page(chosen, request, key=lambda t: t[0])
        return _listing([_ref_json(t, c) for t, c in page], pagination)

    def create_tag(self, request: Request) -> Response:
        body = body_object(request.body.json())
        tag = body_text(body, "id", required=True) or ""
        commit_id = self._backend.create_tag(
            request.params["repository"],
            tag,
            body_text(body, "ref", required=True) or "",
            force=body_flag(body, "force"),
        )
        return json_response(201, _ref_json(tag, commit_id))

    def get_tag(self, request: Request) -> Response:
        tag = request.params["tag"]
        return json_response(
            200, _ref_json(tag, self._backend.tag(request.params["repository"], tag))
        )

    def delete_tag(self, request: Request) -> Response:
        self._backend.delete_tag(request.params["repository"], request.params["tag"])
        return Response(204)
