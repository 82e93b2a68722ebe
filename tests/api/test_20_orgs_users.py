"""Orgs (platform admin) and users (owner, manager)."""

import pytest

from conftest import (ROLES, assert_id, assert_time, expect, password_for, unique)

ORGS = "/api/v1/orgs"
USERS = "/api/v1/users"


def org_body(name=None, login=None):
    login = unique("own") if login is None else login
    return {"name": unique("Org ") if name is None else name,
            "owner": {"login": login, "password": password_for(login), "name": "The Owner"}}


def user_body(role="annotator", login=None, **over):
    login = unique("usr") if login is None else login
    body = {"login": login, "password": password_for(login), "name": "Name " + login, "role": role}
    body.update(over)
    return body


def assert_user(u, login=None, role=None, org=None):
    assert_id(u["id"])
    if login is not None:
        assert u["login"] == login
    if role is not None:
        assert u["role"] == role
    if org is not None:
        assert u["org"]["id"] == org
    assert_time(u["created_at"])
    for key in u:
        assert "password" not in key and "hash" not in key, u


# -- orgs ------------------------------------------------------------------------


def test_create_org(server, admin):
    body = org_body()
    org = expect(admin.post(ORGS, body), 201)
    assert_id(org["id"])
    assert org["name"] == body["name"]
    assert_time(org["created_at"])
    assert_user(org["owner"], login=body["owner"]["login"], role="owner", org=org["id"])
    assert org["owner"]["name"] == "The Owner"

    # The new owner logs in, is an owner of the new org, and not a platform admin.
    login = server.login(body["owner"]["login"])
    assert login["user"]["org"] == {"id": org["id"], "name": org["name"]}
    me = expect(server.api(login["token"]).get("/api/v1/me"), 200)
    assert me["admin"] is False and me["role"] == "owner"

    got = expect(admin.get("%s/%d" % (ORGS, org["id"])), 200)
    assert got["id"] == org["id"] and got["name"] == org["name"]
    assert org["id"] in [o["id"] for o in admin.list_all(ORGS)]


def test_org_list_includes_init_org(server, admin):
    ids = [o["id"] for o in admin.list_all(ORGS)]
    assert server.init_doc["org"]["id"] in ids
    assert ids == sorted(ids) and len(ids) == len(set(ids))


def test_duplicate_org_name_is_conflict(admin):
    body = org_body()
    expect(admin.post(ORGS, body), 201)
    before = admin.list_all(ORGS)
    expect(admin.post(ORGS, org_body(name=body["name"])), 409, "conflict")
    assert admin.list_all(ORGS) == before


def test_org_with_taken_login_is_conflict(server, admin, world):
    before = admin.list_all(ORGS)
    taken = world.a.users["viewer"]["login"]
    expect(admin.post(ORGS, org_body(login=taken)), 409, "conflict")
    assert admin.list_all(ORGS) == before
    # The existing user's password was not replaced.
    server.login(taken)


def test_only_platform_admin_creates_orgs(world):
    for role in ROLES:
        expect(world.a[role].post(ORGS, org_body()), 403, "forbidden")
        expect(world.a[role].get(ORGS), 403, "forbidden")


def test_org_member_reads_own_org_not_others(world):
    for role in ROLES:
        got = expect(world.a[role].get("%s/%d" % (ORGS, world.a.id)), 200)
        assert got["id"] == world.a.id and got["name"] == world.a.org["name"]
        expect(world.a[role].get("%s/%d" % (ORGS, world.b.id)), 404, "not_found")


@pytest.mark.parametrize("mutate,path", [
    (lambda b: b.pop("name"), "name"),
    (lambda b: b.update(name=""), "name"),
    (lambda b: b.update(name=12), "name"),
    (lambda b: b.pop("owner"), "owner"),
    (lambda b: b.update(owner="x"), "owner"),
    (lambda b: b["owner"].update(password="short-pw1"), "owner.password"),
    (lambda b: b["owner"].update(login="bad login"), "owner.login"),
    (lambda b: b["owner"].pop("login"), "owner.login"),
    (lambda b: b["owner"].update(role="viewer"), "owner.role"),
    (lambda b: b.update(plan="gold"), "plan"),
])
def test_create_org_bad_fields(admin, mutate, path):
    before = admin.list_all(ORGS)
    body = org_body()
    mutate(body)
    expect(admin.post(ORGS, body), 400, "invalid_request", path)
    assert admin.list_all(ORGS) == before


# -- users -----------------------------------------------------------------------


@pytest.mark.parametrize("creator", ["owner", "manager"])
def test_create_user(server, world, creator):
    body = user_body("reviewer")
    u = expect(world.a[creator].post(USERS, body), 201)
    assert_user(u, login=body["login"], role="reviewer", org=world.a.id)
    assert u["name"] == body["name"]
    got = expect(world.a["owner"].get("%s/%d" % (USERS, u["id"])), 200)
    assert got["id"] == u["id"] and got["login"] == body["login"] and got["role"] == "reviewer"
    login = server.login(body["login"])
    assert login["user"]["id"] == u["id"]
    assert login["user"]["org"]["id"] == world.a.id


def test_every_role_can_be_created_by_owner(server, world):
    for role in ROLES:
        body = user_body(role)
        u = expect(world.a["owner"].post(USERS, body), 201)
        assert u["role"] == role
        assert server.login(body["login"])["user"]["role"] == role


def test_manager_may_not_create_owner(world):
    body = user_body("owner")
    expect(world.a["manager"].post(USERS, body), 403, "forbidden")
    assert body["login"] not in [u["login"] for u in world.a["owner"].list_all(USERS)]


def test_password_length_bounds(server, world):
    owner = world.a["owner"]
    login = unique("p")
    expect(owner.post(USERS, user_body(login=login, password="123456789")), 400,
           "invalid_request", "password")
    expect(owner.post(USERS, user_body(login=login, password="x" * 1025)), 400,
           "invalid_request", "password")
    expect(owner.post(USERS, user_body(login=login, password="1234567890")), 201)
    server.login(login, "1234567890")
    login2 = unique("p")
    expect(owner.post(USERS, user_body(login=login2, password="y" * 1024)), 201)
    server.login(login2, "y" * 1024)


def test_login_charset_and_length(world):
    owner = world.a["owner"]
    for bad in ("", "has space", "semi;colon", "sl/ash", "x" * 65, "ümlaut", "tab\tchar"):
        expect(owner.post(USERS, user_body(login=bad)), 400, "invalid_request", "login")
    ok64 = (unique("L.a_b@c-") + "x" * 64)[:64]
    u = expect(owner.post(USERS, user_body(login=ok64)), 201)
    assert u["login"] == ok64


@pytest.mark.parametrize("over,path", [
    ({"name": ""}, "name"),
    ({"name": "n" * 201}, "name"),
    ({"name": None}, "name"),
    ({"role": "god"}, "role"),
    ({"role": "Owner"}, "role"),
    ({"role": 1}, "role"),
    ({"admin": True}, "admin"),
])
def test_create_user_bad_fields(world, over, path):
    body = user_body(**over)
    expect(world.a["owner"].post(USERS, body), 400, "invalid_request", path)
    assert body["login"] not in [u["login"] for u in world.a["owner"].list_all(USERS)]


def test_only_the_platform_admin_creates_users_in_another_org(world):
    body = user_body(org=world.b.id)
    expect(world.a["owner"].post(USERS, body), 403, "forbidden", "org")
    assert body["login"] not in [u["login"] for u in world.b["owner"].list_all(USERS)]
    # naming one's own org is fine
    u = expect(world.a["owner"].post(USERS, user_body(org=world.a.id)), 201)
    assert u["org"]["id"] == world.a.id
    # the platform admin may create users in any org, and gets 404 for a missing one
    u = expect(world.admin.post(USERS, user_body(org=world.b.id)), 201)
    assert u["org"]["id"] == world.b.id
    expect(world.admin.post(USERS, user_body(org=999999)), 404, "not_found", "org")


@pytest.mark.parametrize("missing", ["login", "password", "name", "role"])
def test_create_user_missing_field(world, missing):
    body = user_body()
    del body[missing]
    expect(world.a["owner"].post(USERS, body), 400, "invalid_request", missing)


def test_user_name_200_chars_ok(world):
    u = expect(world.a["owner"].post(USERS, user_body(name="n" * 200)), 201)
    assert u["name"] == "n" * 200


def test_duplicate_login_is_conflict_platform_wide(server, world):
    taken_a = world.a.users["annotator"]["login"]
    expect(world.a["owner"].post(USERS, user_body(login=taken_a)), 409, "conflict")
    expect(world.b["owner"].post(USERS, user_body(login=taken_a)), 409, "conflict")
    # The original user is untouched (same org, same password).
    body = server.login(taken_a)
    assert body["user"]["org"]["id"] == world.a.id
    assert body["user"]["role"] == "annotator"


def test_user_list_is_the_callers_org(world):
    for org, other in ((world.a, world.b), (world.b, world.a)):
        users = org["manager"].list_all(USERS)
        orgs = {u["org"]["id"] if isinstance(u.get("org"), dict) else u.get("org") for u in users}
        assert orgs <= {org.id}, orgs
        ids = [u["id"] for u in users]
        assert ids == sorted(ids) and len(ids) == len(set(ids))
        for role in ROLES:
            assert org.users[role]["id"] in ids
        for role in ROLES:
            assert other.users[role]["id"] not in ids
        for u in users:
            for key in u:
                assert "password" not in key and "hash" not in key, u


def test_user_list_pagination(world):
    owner = world.b["owner"]
    for _ in range(3):
        expect(owner.post(USERS, user_body("viewer")), 201)
    everyone = owner.list_all(USERS)
    assert len(everyone) >= 9
    seen, after = [], None
    for _ in range(100):
        q = USERS + "?limit=2" + ("&after=%d" % after if after is not None else "")
        page = expect(owner.get(q), 200)
        assert set(page) == {"items", "next_after"}
        assert len(page["items"]) <= 2
        seen += page["items"]
        if page["next_after"] is None:
            break
        assert len(page["items"]) == 2
        assert page["next_after"] == page["items"][-1]["id"]
        after = page["next_after"]
    assert [u["id"] for u in seen] == [u["id"] for u in everyone]
    # After the last id: nothing more.
    last = expect(owner.get("%s?after=%d" % (USERS, everyone[-1]["id"])), 200)
    assert last == {"items": [], "next_after": None}


def test_user_list_default_limit_and_bounds(world):
    owner = world.a["owner"]
    page = expect(owner.get(USERS), 200)
    assert page["next_after"] is None  # fewer than the default 100 users
    expect(owner.get(USERS + "?limit=1000"), 200)
    expect(owner.get(USERS + "?limit=1"), 200)
    for bad in ("0", "1001", "-1", "abc", "1.5", "99999999999999999999999"):
        expect(owner.get(USERS + "?limit=" + bad), 400, "invalid_request")
    for bad in ("abc", "-1", "1.5"):
        expect(owner.get(USERS + "?after=" + bad), 400, "invalid_request")


def test_user_get_self_and_others(world):
    for role in ("reviewer", "annotator", "viewer"):
        me = world.a.users[role]
        got = expect(world.a[role].get("%s/%d" % (USERS, me["id"])), 200)
        assert got["id"] == me["id"] and got["login"] == me["login"]
        expect(world.a[role].get("%s/%d" % (USERS, world.a.extra_user["id"])), 403, "forbidden")
    for role in ("owner", "manager"):
        got = expect(world.a[role].get("%s/%d" % (USERS, world.a.extra_user["id"])), 200)
        assert got["login"] == world.a.extra_user["login"]
        expect(world.a[role].get("%s/%d" % (USERS, world.b.extra_user["id"])), 404, "not_found")
        expect(world.a[role].get("%s/%d" % (USERS, 2 ** 40)), 404, "not_found")
