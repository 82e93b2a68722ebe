"""Health, routing fallbacks and reply conventions."""

from conftest import expect


def test_healthz_ok(api):
    r = api.get("/healthz")
    body = expect(r, 200)
    assert body == {"status": "ok", "version": "0.1.0"}
    assert r.headers["Content-Type"].startswith("application/json")


def test_healthz_needs_no_credentials_even_if_bad_ones_given(api):
    r = api.get("/healthz", token="garbage")
    assert r.status_code == 200, r.text


def test_unknown_route_is_404(api, admin):
    # Routing comes before authentication (docs: http.h), so no credentials
    # still answer 404 for a path no route matches.
    expect(api.get("/api/v1/no-such-thing"), 404, "not_found")
    expect(admin.get("/api/v1/no-such-thing"), 404, "not_found")
    expect(admin.get("/nope"), 404, "not_found")


def test_wrong_method_is_405_with_allow(admin):
    r = admin.request("DELETE", "/healthz")
    expect(r, 405, "method_not_allowed")
    assert "GET" in r.headers.get("Allow", ""), r.headers
    r = admin.request("PUT", "/api/v1/projects")
    expect(r, 405, "method_not_allowed")
    allow = {m.strip() for m in r.headers.get("Allow", "").split(",")}
    assert {"GET", "POST"} <= allow, r.headers


def test_api_replies_are_json_no_store(admin):
    for path in ("/api/v1/me", "/api/v1/projects"):
        r = admin.get(path)
        expect(r, 200)
        assert r.headers["Content-Type"].startswith("application/json"), r.headers
        assert "no-store" in r.headers.get("Cache-Control", ""), r.headers


def test_error_replies_are_json_no_store(api):
    r = api.get("/api/v1/me")
    expect(r, 401, "unauthorized")
    assert r.headers["Content-Type"].startswith("application/json"), r.headers
    assert "no-store" in r.headers.get("Cache-Control", ""), r.headers
