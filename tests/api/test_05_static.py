"""The workbench's static files (src/http/static.c, `annotd serve --web DIR`)."""

import http.client
import os

import pytest

from conftest import expect, start_server, stop_and_check

HTML_CSP = ("default-src 'self'; img-src 'self' blob: data:; style-src 'self'; "
            "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
            "base-uri 'none'; form-action 'self'")
INDEX = b"<!doctype html><title>annotd</title><div id=app></div>"
SECRET = b"TOP-SECRET-OUTSIDE-THE-WEB-DIR"


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    root = tmp_path_factory.mktemp("webroot")
    (root / "secret.txt").write_bytes(SECRET)
    dist = root / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_bytes(INDEX)
    (dist / "assets" / "index-AbC123.js").write_bytes(b"console.log(1)")
    (dist / "assets" / "index-AbC123.css").write_bytes(b"body{}")
    (dist / "assets" / "logo-9f.svg").write_bytes(b"<svg/>")
    (dist / "favicon.ico").write_bytes(b"\0\0\1\0")
    (dist / ".hidden").write_bytes(SECRET)
    os.symlink(root / "secret.txt", dist / "leak.txt")
    os.symlink(root / "secret.txt", dist / "assets" / "leak.js")
    os.symlink(root, dist / "assets" / "up")
    srv = start_server(tmp_path_factory, "web", ["--web", str(dist)])
    yield srv
    stop_and_check(srv)


def raw(srv, path, method="GET", headers=None):
    """Send the path exactly as given (no client-side normalisation of dot segments)."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def test_root_is_index_with_csp_and_no_cache(web):
    status, h, body = raw(web, "/")
    assert status == 200 and body == INDEX
    assert h["content-type"].startswith("text/html")
    assert h["content-security-policy"] == HTML_CSP
    assert h["cache-control"] == "no-cache"
    assert h["x-content-type-options"] == "nosniff"
    assert h["x-frame-options"] == "DENY"


@pytest.mark.parametrize("path", ["/login", "/projects", "/projects/12/annotate",
                                  "/projects/12/annotate?x=1", "/nope", "/a/b/c/",
                                  "/%E4%B8%AD%E6%96%87", "/assets"])
def test_client_routes_get_index(web, path):
    status, h, body = raw(web, path)
    assert status == 200 and body == INDEX, (path, status, body[:200])
    assert h["cache-control"] == "no-cache"
    assert h["content-security-policy"] == HTML_CSP


@pytest.mark.parametrize("name,ctype", [("index-AbC123.js", "text/javascript"),
                                        ("index-AbC123.css", "text/css"),
                                        ("logo-9f.svg", "image/svg+xml")])
def test_assets_are_immutable_with_their_type(web, name, ctype):
    status, h, body = raw(web, "/assets/" + name)
    assert status == 200 and body
    assert h["content-type"].startswith(ctype)
    assert h["cache-control"] == "public, max-age=31536000, immutable"
    assert h["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in h


def test_other_files_revalidate(web):
    status, h, body = raw(web, "/favicon.ico")
    assert status == 200 and body == b"\0\0\1\0"
    assert h["content-type"] == "image/x-icon"
    assert h["cache-control"] == "no-cache"


def test_index_html_by_name(web):
    status, h, body = raw(web, "/index.html")
    assert status == 200 and body == INDEX
    assert h["content-security-policy"] == HTML_CSP


def test_missing_files_are_404_json(web):
    for path in ("/assets/nope-123.js", "/nope.png", "/assets/", "/assets/sub/x.js"):
        status, h, body = raw(web, path)
        assert status == 404, (path, status)
        assert h["content-type"].startswith("application/json"), path
        assert b'"not_found"' in body


def test_head_has_no_body(web):
    status, h, body = raw(web, "/assets/index-AbC123.js", method="HEAD")
    assert status == 200 and body == b""
    assert h["content-length"] == str(len(b"console.log(1)"))


def test_etag_revalidation(web):
    status, h, _ = raw(web, "/")
    etag = h["etag"]
    status, h2, body = raw(web, "/", headers={"If-None-Match": etag})
    assert status == 304 and body == b""
    assert h2["etag"] == etag
    status, _, body = raw(web, "/", headers={"If-None-Match": '"other"'})
    assert status == 200 and body == INDEX


@pytest.mark.parametrize("path", [
    "/../secret.txt",
    "/assets/../../secret.txt",
    "/assets/../index.html/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/assets/%2e%2e/%2e%2e/secret.txt",
    "/%2e%2e%2fsecret.txt",
    "/assets%2f..%2f..%2fsecret.txt",
    "/assets/..%2f..%2fsecret.txt",
    "/assets/..%5c..%5csecret.txt",
    "/./secret.txt",
    "/assets/./index-AbC123.js",
    "//secret.txt",
    "/assets//index-AbC123.js",
    "/assets/x%00.js",
    "/%00",
    "/leak.txt",            # a symlink out of the dir
    "/assets/leak.js",      # a symlink out of the dir
    "/assets/up/secret.txt",  # a symlinked dir out of the dir
    "/.hidden",
    "/assets/%ff.js",
])
def test_no_traversal(web, path):
    status, h, body = raw(web, path)
    assert status in (400, 404), (path, status, body[:200])
    assert SECRET not in body
    assert h["content-type"].startswith("application/json"), (path, h)


def test_api_paths_keep_json_404(web):
    for path in ("/api/v1/no-such-thing", "/api/nope", "/api", "/api/", "/%61pi/v1/nope",
                 "/healthz/x"):
        status, h, body = raw(web, path)
        assert status == 404, (path, status, body[:200])
        assert h["content-type"].startswith("application/json"), path
        assert b'"not_found"' in body, path
    status, h, body = raw(web, "/healthz")
    assert status == 200 and h["content-type"].startswith("application/json")


def test_only_get_and_head(web):
    for method in ("POST", "PUT", "DELETE"):
        status, h, body = raw(web, "/projects", method=method)
        assert status == 404, (method, status)
        assert h["content-type"].startswith("application/json")


def test_api_still_works_with_a_web_dir(web):
    token = web.token(web.owner_login, web.owner_password)
    me = expect(web.api(token).get("/api/v1/me"), 200)
    assert me["login"] == web.owner_login


def test_without_a_web_dir_unknown_paths_are_json_404(api):
    # the session server's data dir has no ../web/dist: no workbench
    expect(api.get("/nope"), 404, "not_found")
    expect(api.get("/"), 404, "not_found")


def test_absent_web_dir_disables_the_ui(tmp_path_factory):
    missing = tmp_path_factory.mktemp("noweb") / "dist"
    srv = start_server(tmp_path_factory, "noweb", ["--web", str(missing)])
    try:
        expect(srv.api().get("/"), 404, "not_found")
        assert "no web dir" in srv.stderr_path.read_text()
    finally:
        stop_and_check(srv)
