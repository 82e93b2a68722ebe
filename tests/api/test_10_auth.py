"""Login, logout, /me, cookies + CSRF, lockout, session TTL, API tokens."""

import http.cookiejar
import time

import pytest
import requests

from conftest import (assert_id, assert_time, expect, password_for, unique)

LOGIN = "/api/v1/auth/login"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/me"


def new_user(owner, role="annotator"):
    login = unique("u")
    user = expect(owner.post("/api/v1/users", {"login": login, "password": password_for(login),
                                               "name": "User " + login, "role": role}), 201)
    return login, user


# -- login --------------------------------------------------------------------


def test_login_answers_token_csrf_and_user(server, world):
    login = world.a.users["annotator"]["login"]
    r = server.api().post(LOGIN, {"login": login, "password": password_for(login)})
    body = expect(r, 200)
    assert isinstance(body["token"], str) and len(body["token"]) >= 16
    assert isinstance(body["csrf_token"], str) and len(body["csrf_token"]) >= 16
    assert body["csrf_token"] != body["token"]
    assert_time(body["expires_at"])
    u = body["user"]
    assert_id(u["id"])
    assert u["login"] == login
    assert u["role"] == "annotator"
    assert isinstance(u["name"], str) and u["name"]
    assert u["org"] == {"id": world.a.id, "name": world.a.org["name"]}
    for key in u:
        assert "password" not in key and "hash" not in key, u


def test_each_login_gives_a_new_token(server, world):
    login = world.a.users["viewer"]["login"]
    assert server.token(login) != server.token(login)


def test_login_wrong_password_and_unknown_login_look_the_same(server, world):
    login = world.a.users["viewer"]["login"]
    r1 = server.api().post(LOGIN, {"login": login, "password": "wrong-password-123"})
    r2 = server.api().post(LOGIN, {"login": unique("nobody"), "password": "wrong-password-123"})
    b1 = expect(r1, 401, "unauthorized")
    b2 = expect(r2, 401, "unauthorized")
    assert b1 == b2


@pytest.mark.parametrize("body,path", [
    ({"password": "whatever-12345"}, "login"),
    ({"login": "someone"}, "password"),
    ({"login": 5, "password": "whatever-12345"}, "login"),
    ({"login": "someone", "password": ["x"]}, "password"),
    ({"login": "someone", "password": "whatever-12345", "otp": "1"}, "otp"),
])
def test_login_bad_fields(api, body, path):
    expect(api.post(LOGIN, body), 400, "invalid_request", path)


def test_login_not_json(api):
    expect(api.post_raw(LOGIN, b'{"login": "a", "password"'), 400, "invalid_json")


# -- /me ----------------------------------------------------------------------


def test_me_fields(world):
    for tag, org in (("a", world.a), ("b", world.b)):
        for role, client in org.clients.items():
            me = expect(client.get(ME), 200)
            assert me["id"] == org.users[role]["id"]
            assert me["login"] == org.users[role]["login"]
            assert me["role"] == role
            assert me["admin"] is False
            assert me["org"] == {"id": org.id, "name": org.org["name"]}
            assert_time(me["created_at"])
            assert set(me) >= {"id", "login", "name", "role", "admin", "org", "created_at"}
            for key in me:
                assert "password" not in key and "hash" not in key, me


def test_me_of_platform_admin(server, admin):
    me = expect(admin.get(ME), 200)
    assert me["admin"] is True
    assert me["role"] == "owner"
    assert me["login"] == server.owner_login
    assert me["org"]["id"] == server.init_doc["org"]["id"]
    assert me["org"]["name"] == server.init_doc["org"]["name"]


@pytest.mark.parametrize("auth", [
    None,
    "Bearer ",
    "Bearer not-a-token",
    "Bearer at_0000000000000000000000000000000000000000",
    "Basic YWRtaW46YWRtaW4=",
    "bearer",
])
def test_me_without_valid_credentials_is_401(server, auth):
    headers = {"Authorization": auth} if auth is not None else {}
    r = plain().get(server.base + ME, headers=headers, timeout=10)
    expect(r, 401, "unauthorized")


# -- logout -------------------------------------------------------------------


def test_logout_revokes_token(server, world):
    login = world.a.users["reviewer"]["login"]
    client = server.api(server.token(login))
    other = server.api(server.token(login))
    expect(client.get(ME), 200)
    expect(client.post(LOGOUT), 204)
    expect(client.get(ME), 401, "unauthorized")
    expect(client.post(LOGOUT), 401, "unauthorized")
    # Only that session ended.
    expect(other.get(ME), 200)


def test_logout_needs_credentials(api):
    expect(api.post(LOGOUT), 401, "unauthorized")


# -- cookies and CSRF -----------------------------------------------------------


def plain():
    """A requests session that keeps no cookies and ignores proxy settings."""
    s = requests.Session()
    s.trust_env = False
    s.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return s


def cookie_login(server, login):
    s = requests.Session()
    s.trust_env = False
    r = s.post(server.base + LOGIN, json={"login": login, "password": password_for(login)}, timeout=10)
    body = expect(r, 200)
    return s, r, body


def test_login_sets_session_cookie(server, world):
    s, r, body = cookie_login(server, world.a.users["viewer"]["login"])
    set_cookie = r.headers.get("Set-Cookie", "")
    assert set_cookie.startswith("annotd_session="), set_cookie
    attrs = [a.strip().lower() for a in set_cookie.split(";")]
    assert "httponly" in attrs, set_cookie
    assert "samesite=strict" in attrs, set_cookie
    assert "path=/" in attrs, set_cookie
    assert s.cookies.get("annotd_session"), s.cookies


def test_cookie_authenticates_reads(server, world):
    login = world.a.users["viewer"]["login"]
    s, _, _ = cookie_login(server, login)
    me = expect(s.get(server.base + ME, timeout=10), 200)
    assert me["login"] == login


def test_cookie_write_needs_csrf_header(server, world):
    s, _, body = cookie_login(server, world.a.users["manager"]["login"])
    url = server.base + "/api/v1/tokens"
    expect(s.post(url, json={"name": "no-csrf"}, timeout=10), 403, "forbidden")
    expect(s.post(url, json={"name": "bad-csrf"}, headers={"X-CSRF-Token": "nope"}, timeout=10),
           403, "forbidden")
    # The token of another session is not this session's CSRF token.
    _, _, other = cookie_login(server, world.a.users["manager"]["login"])
    expect(s.post(url, json={"name": "other-csrf"}, headers={"X-CSRF-Token": other["csrf_token"]},
                  timeout=10), 403, "forbidden")
    # None of the refused requests created anything.
    names = [t["name"] for t in expect(s.get(url, timeout=10), 200)["items"]]
    assert not {"no-csrf", "bad-csrf", "other-csrf"} & set(names), names
    r = s.post(url, json={"name": "with-csrf"}, headers={"X-CSRF-Token": body["csrf_token"]},
               timeout=10)
    expect(r, 201)


def test_cookie_project_create_needs_csrf(server, world):
    s, _, body = cookie_login(server, world.a.users["manager"]["login"])
    url = server.base + "/api/v1/projects"
    proj = {"name": unique("csrf"), "kind": "text",
            "config": {"classes": {"choices": ["a", "b"]}}}
    expect(s.post(url, json=proj, timeout=10), 403, "forbidden")
    names = [p["name"] for p in world.a["manager"].list_all("/api/v1/projects")]
    assert proj["name"] not in names
    expect(s.post(url, json=proj, headers={"X-CSRF-Token": body["csrf_token"]}, timeout=10), 201)


def test_bearer_write_needs_no_csrf(world):
    expect(world.a["viewer"].post("/api/v1/tokens", {"name": "bearer-no-csrf"}), 201)


def test_cookie_logout_needs_csrf_and_clears_cookie(server, world):
    s, _, body = cookie_login(server, world.a.users["viewer"]["login"])
    old = s.cookies.get("annotd_session")
    expect(s.post(server.base + LOGOUT, timeout=10), 403, "forbidden")
    expect(s.get(server.base + ME, timeout=10), 200)
    r = s.post(server.base + LOGOUT, headers={"X-CSRF-Token": body["csrf_token"]}, timeout=10)
    expect(r, 204)
    sc = r.headers.get("Set-Cookie", "")
    assert sc.startswith("annotd_session="), sc
    low = sc.lower()
    assert "max-age=0" in low or "expires=thu, 01 jan 1970" in low, sc
    # Replaying the old cookie value does not work either.
    r = plain().get(server.base + ME, headers={"Cookie": "annotd_session=" + old},
                     timeout=10)
    expect(r, 401, "unauthorized")


# -- lockout --------------------------------------------------------------------


def test_lockout_after_ten_failures(server, world):
    login, _ = new_user(world.a["owner"])
    api = server.api()
    for i in range(10):
        expect(api.post(LOGIN, {"login": login, "password": "wrong-password-%d" % i}),
               401, "unauthorized")
    r = api.post(LOGIN, {"login": login, "password": password_for(login)})
    expect(r, 429, "locked")
    retry = r.headers.get("Retry-After")
    assert retry is not None and retry.isdigit() and 0 < int(retry) <= 15 * 60, r.headers
    # Per account, never per address: others log in from the same address.
    other = world.a.users["viewer"]["login"]
    expect(api.post(LOGIN, {"login": other, "password": password_for(other)}), 200)


def test_success_resets_failure_count(server, world):
    login, _ = new_user(world.a["owner"])
    api = server.api()
    for _round in range(2):
        for i in range(9):
            expect(api.post(LOGIN, {"login": login, "password": "nope-nope-%d" % i}), 401)
        expect(api.post(LOGIN, {"login": login, "password": password_for(login)}), 200)


# -- session TTL (small server: --session-ttl 2s) ------------------------------------


def test_session_expires_after_ttl(small_server):
    client = small_server.api(small_server.token(small_server.owner_login,
                                                 small_server.owner_password))
    api_token = expect(client.post("/api/v1/tokens", {"name": "long"}), 201)["token"]
    expect(client.get(ME), 200)
    time.sleep(2.6)
    expect(client.get(ME), 401, "unauthorized")
    # API tokens are not sessions: they last until revoked or their expiry.
    expect(small_server.api(api_token).get(ME), 200)


# -- API tokens ---------------------------------------------------------------------


def test_api_token_lifecycle(server, world):
    owner = world.a["annotator"]
    r = owner.post("/api/v1/tokens", {"name": "ci", "expires_in_days": 30})
    tok = expect(r, 201)
    assert_id(tok["id"])
    assert tok["name"] == "ci"
    assert isinstance(tok["token"], str) and len(tok["token"]) >= 16
    assert_time(tok["created_at"])
    assert_time(tok["expires_at"])
    assert tok["expires_at"] > tok["created_at"]

    me = expect(server.api(tok["token"]).get(ME), 200)
    assert me["id"] == world.a.users["annotator"]["id"]

    listed = owner.list_all("/api/v1/tokens")
    mine = [t for t in listed if t["id"] == tok["id"]]
    assert len(mine) == 1, listed
    assert mine[0]["name"] == "ci"
    for t in listed:
        assert "token" not in t, t
        assert tok["token"] not in str(t)

    # Another user cannot see or delete it (404, not 403: no leak).
    other = world.a["owner"]
    assert tok["id"] not in [t["id"] for t in other.list_all("/api/v1/tokens")]
    expect(other.delete("/api/v1/tokens/%d" % tok["id"]), 404, "not_found")
    expect(world.b["owner"].delete("/api/v1/tokens/%d" % tok["id"]), 404, "not_found")
    expect(server.api(tok["token"]).get(ME), 200)

    expect(owner.delete("/api/v1/tokens/%d" % tok["id"]), 204)
    expect(server.api(tok["token"]).get(ME), 401, "unauthorized")
    expect(owner.delete("/api/v1/tokens/%d" % tok["id"]), 404, "not_found")
    assert tok["id"] not in [t["id"] for t in owner.list_all("/api/v1/tokens")]


def test_api_token_without_expiry(world):
    tok = expect(world.a["viewer"].post("/api/v1/tokens", {"name": "forever"}), 201)
    assert tok.get("expires_at") is None


@pytest.mark.parametrize("body,path", [
    ({"name": "t", "expires_in_days": 0}, "expires_in_days"),
    ({"name": "t", "expires_in_days": 3651}, "expires_in_days"),
    ({"name": "t", "expires_in_days": -1}, "expires_in_days"),
    ({"name": "t", "expires_in_days": 1.5}, "expires_in_days"),
    ({"name": "t", "expires_in_days": "30"}, "expires_in_days"),
    ({"name": "t", "expires_in_days": 2 ** 70}, "expires_in_days"),
    ({"name": 7}, "name"),
    ({"name": "t", "scope": "all"}, "scope"),
])
def test_api_token_bad_fields(world, body, path):
    expect(world.a["viewer"].post("/api/v1/tokens", body), 400, "invalid_request", path)


def test_api_token_expiry_bounds_ok(world):
    for days in (1, 3650):
        tok = expect(world.a["viewer"].post("/api/v1/tokens", {"name": "b", "expires_in_days": days}),
                     201)
        assert_time(tok["expires_at"])
