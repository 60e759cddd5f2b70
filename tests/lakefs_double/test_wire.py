"""Wire details of the double that the SDK hides, pinned with raw HTTP (urllib, http.client)."""

from __future__ import annotations

import base64
import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from lakeflow.testing.lakefs import LakeFSDouble


class _Raw:
    """A tiny HTTP client for the double's API with explicit credentials."""

    def __init__(self, server: LakeFSDouble, *, secret: str | None = None) -> None:
        self.base = server.endpoint + "/api/v1"
        token = f"{server.access_key_id}:{secret or server.secret_access_key}"
        self.auth = "Basic " + base64.b64encode(token.encode()).decode()

    def call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: object = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
    ) -> tuple[int, dict[str, str], bytes]:
        url = self.base + path + ("?" + urlencode(query) if query else "")
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - http only
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if auth:
            request.add_header("Authorization", self.auth)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as failed:
            return failed.code, dict(failed.headers), failed.read()

    def json(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        status, _, body = self.call(method, path, **kwargs)
        return status, json.loads(body) if body else None


@pytest.fixture
def raw(lakefs_server: LakeFSDouble) -> _Raw:
    """Raw HTTP access to the double, authenticated."""
    return _Raw(lakefs_server)


@pytest.fixture
def raw_repo(raw: _Raw, new_repo_name: Callable[[], str]) -> str:
    """A repository created over raw HTTP; its id."""
    name = new_repo_name()
    status, _ = raw.json(
        "POST", "/repositories", body={"name": name, "storage_namespace": f"mem://{name}"}
    )
    assert status == 201
    return name


def _upload(
    raw: _Raw,
    repo: str,
    path: str,
    data: bytes,
    headers: Mapping[str, str],
    *,
    branch: str = "main",
    chunked: bool = True,
) -> tuple[int, dict[str, str], bytes]:
    """Upload like the SDK (``Transfer-Encoding: chunked``, no ``Content-Length``) or, with
    ``chunked=False``, with a ``Content-Length``."""
    host = raw.base.split("//", 1)[1].split("/", 1)[0]
    connection = http.client.HTTPConnection(host, timeout=30)
    try:
        target = f"/api/v1/repositories/{repo}/branches/{branch}/objects?path={quote(path)}"
        pieces = [data[i : i + 1000] for i in range(0, len(data), 1000)]
        connection.request(
            "POST",
            target,
            body=iter(pieces) if chunked else data,
            headers={"Authorization": raw.auth, **headers},
            encode_chunked=chunked,
        )
        response = connection.getresponse()
        return response.status, dict(response.headers), response.read()
    finally:
        connection.close()


def test_healthcheck_needs_no_credentials(raw: _Raw) -> None:
    """``GET /healthcheck`` answers 204 without authentication."""
    status, _, body = raw.call("GET", "/healthcheck", auth=False)
    assert (status, body) == (204, b"")


@pytest.mark.parametrize("credentials", ["missing", "wrong"])
def test_unauthenticated_requests_get_lakefs_401(
    lakefs_server: LakeFSDouble, credentials: str
) -> None:
    """Without or with wrong credentials every API call is 401 with lakeFS' exact body."""
    client = _Raw(lakefs_server, secret=lakefs_server.secret_access_key[::-1])
    status, _, body = client.call("GET", "/repositories", auth=credentials == "wrong")
    assert status == 401
    assert json.loads(body) == {"message": "error authenticating request"}


def test_config_has_what_the_sdk_needs(raw: _Raw) -> None:
    """``GET /config`` carries a version and a storage config without presigned URLs."""
    status, config = raw.json("GET", "/config")
    assert status == 200 and config["version_config"]["version"]
    storage = config["storage_config"]
    assert storage["pre_sign_support"] is False
    for key in (
        "blockstore_type",
        "blockstore_namespace_example",
        "blockstore_namespace_ValidityRegex",
        "pre_sign_support_ui",
        "import_support",
        "import_validity_regex",
    ):
        assert key in storage


def test_branch_creation_answers_201_with_the_commit_id_as_text(raw: _Raw, raw_repo: str) -> None:
    """``POST /branches`` is 201 with the source's commit id as a plain-text body."""
    status, headers, body = raw.call(
        "POST", f"/repositories/{raw_repo}/branches", body={"name": "dev", "source": "main"}
    )
    assert status == 201 and headers["Content-Type"].startswith("text/plain")
    _, main = raw.json("GET", f"/repositories/{raw_repo}/branches/main")
    assert body.decode() == main["commit_id"]


def test_lists_carry_all_four_pagination_fields(raw: _Raw, raw_repo: str) -> None:
    """A list answers ``has_more``, ``next_offset``, ``results`` and ``max_per_page``, and the
    next page starts ``after=`` the offset."""
    for name in ("a", "b"):
        raw.call(
            "POST", f"/repositories/{raw_repo}/branches", body={"name": name, "source": "main"}
        )
    path = f"/repositories/{raw_repo}/branches"
    _, first = raw.json("GET", path, query={"amount": "2"})
    assert first["pagination"] == {
        "has_more": True,
        "next_offset": "b",
        "results": 2,
        "max_per_page": 1000,
    }
    assert [r["id"] for r in first["results"]] == ["a", "b"]
    _, last = raw.json("GET", path, query={"amount": "2", "after": "b"})
    assert last["pagination"] == {
        "has_more": False,
        "next_offset": "",
        "results": 1,
        "max_per_page": 1000,
    }
    assert [r["id"] for r in last["results"]] == ["main"]


def test_chunked_upload_metadata_and_query_booleans(raw: _Raw, raw_repo: str) -> None:
    """A chunked upload stores its ``x-lakefs-meta-*`` headers; ``user_metadata`` parses
    ``FALSE``/``True`` case-insensitively, and a value that is not a boolean is 400."""
    status, _, _ = _upload(
        raw, raw_repo, "dir/file.txt", b"z" * 2500, {"X-Lakefs-Meta-Owner": "data-team"}
    )
    assert status == 201
    stat = f"/repositories/{raw_repo}/refs/main/objects/stat"
    _, with_meta = raw.json("GET", stat, query={"path": "dir/file.txt", "user_metadata": "True"})
    assert (with_meta["size_bytes"], with_meta["metadata"]) == (2500, {"owner": "data-team"})
    _, without = raw.json("GET", stat, query={"path": "dir/file.txt", "user_metadata": "FALSE"})
    assert without["metadata"] == {}
    status, _ = raw.json("GET", stat, query={"path": "dir/file.txt", "user_metadata": "maybe"})
    assert status == 400


def test_if_none_match_refuses_an_existing_path(raw: _Raw, raw_repo: str) -> None:
    """An upload with ``If-None-Match: *`` over an existing path is 412 and changes nothing."""
    assert _upload(raw, raw_repo, "once", b"1", {})[0] == 201
    status, _, body = _upload(raw, raw_repo, "once", b"2", {"If-None-Match": "*"})
    assert (status, json.loads(body)) == (412, {"message": "path already exists"})
    _, _, content = raw.call(
        "GET", f"/repositories/{raw_repo}/refs/main/objects", query={"path": "once"}
    )
    assert content == b"1"


def test_range_reads(raw: _Raw, raw_repo: str) -> None:
    """A range read is 206 with ``Content-Range``; a range past the end is 416 naming the size."""
    _upload(raw, raw_repo, "r.bin", bytes(range(100)), {})
    path = f"/repositories/{raw_repo}/refs/main/objects"
    status, headers, body = raw.call(
        "GET", path, query={"path": "r.bin"}, headers={"Range": "bytes=10-19"}
    )
    assert (status, headers["Content-Range"], body) == (
        206,
        "bytes 10-19/100",
        bytes(range(10, 20)),
    )
    status, headers, _ = raw.call(
        "GET", path, query={"path": "r.bin"}, headers={"Range": "bytes=-5"}
    )
    assert (status, headers["Content-Range"]) == (206, "bytes 95-99/100")
    status, headers, _ = raw.call(
        "GET", path, query={"path": "r.bin"}, headers={"Range": "bytes=100-"}
    )
    assert (status, headers["Content-Range"]) == (416, "bytes */100")


def test_merge_conflict_body_is_exactly_an_empty_reference(raw: _Raw, raw_repo: str) -> None:
    """A merge conflict answers 409 with the body ``{"reference": ""}`` and nothing else."""
    repo = f"/repositories/{raw_repo}"
    raw.call("POST", f"{repo}/branches", body={"name": "dev", "source": "main"})
    for branch, data in (("main", b"m"), ("dev", b"d")):
        assert _upload(raw, raw_repo, "k", data, {}, branch=branch, chunked=False)[0] == 201
        raw.call("POST", f"{repo}/branches/{branch}/commits", body={"message": branch})
    status, _, body = raw.call("POST", f"{repo}/refs/dev/merge/main", body={})
    assert (status, json.loads(body)) == (409, {"reference": ""})


def test_unimplemented_endpoints_say_so(raw: _Raw, raw_repo: str) -> None:
    """Endpoints and options the double lacks answer 501 naming them, never a silent success."""
    status, body = raw.json("POST", f"/repositories/{raw_repo}/branches/main/cherry-pick", body={})
    assert status == 501 and "cherry-pick" in body["message"]
    status, body = raw.json(
        "GET", f"/repositories/{raw_repo}/refs/main/diff/main", query={"type": "two_dot"}
    )
    assert status == 501 and "three-dot" in body["message"]


def test_protection_rules_honour_if_match(raw: _Raw, raw_repo: str) -> None:
    """Protection rules come with an ``ETag``; a ``PUT`` with a stale ``If-Match`` is 412."""
    path = f"/repositories/{raw_repo}/settings/branch_protection"
    status, headers, body = raw.call("GET", path)
    assert (status, json.loads(body)) == (200, [])
    etag = headers["ETag"]
    status, _, _ = raw.call("PUT", path, body=[{"pattern": "main"}], headers={"If-Match": etag})
    assert status == 204
    status, _ = raw.json("PUT", path, body=[{"pattern": "dev"}], headers={"If-Match": etag})
    assert status == 412
    assert raw.json("GET", path) == (200, [{"pattern": "main"}])
