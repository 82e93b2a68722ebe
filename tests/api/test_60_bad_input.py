"""
Bad input: each answers the precise error and changes nothing.

Most cases go to POST /api/v1/projects as org A's owner (a route with a rich
body); the limits cases use `small_server` (--max-body 1k, --max-import 4k,
--max-json-depth 8).
"""

import json

import pytest

from conftest import expect, password_for, unique

PROJECTS = "/api/v1/projects"


def project_json(name, **over):
    body = {"name": name, "kind": "text", "config": {"classes": {"choices": ["a", "b"]}}}
    body.update(over)
    return body


def project_names(client):
    return {p["name"] for p in client.list_all(PROJECTS)}


def nested(depth, leaf=None):
    """A JSON value nested `depth` levels deep: [[[...leaf...]]]."""
    v = leaf if leaf is not None else 1
    for _ in range(depth):
        v = [v]
    return v


# -- malformed JSON ---------------------------------------------------------------------------

MALFORMED = [
    b'{"name": ',
    b'{name: "x"}',
    b"{'name': 'x'}",
    b'{"name": "x",}',
    b'{"name": "x"} trailing',
    b'{"name": "x"}{"name": "y"}',
    b'{"overlap": 01}',
    b'{"overlap": NaN}',
    b'{"overlap": Infinity}',
    b'{"name": "unterminated}',
    b'{"name": "tab\tinside"}',
    b'\x00',
    b'[1, 2',
]


@pytest.mark.parametrize("raw", MALFORMED, ids=[repr(m)[:30] for m in MALFORMED])
def test_malformed_json(world, raw):
    client = world.a["owner"]
    before = project_names(client)
    expect(client.post_raw(PROJECTS, raw), 400, "invalid_json")
    assert project_names(client) == before


INVALID_UTF8 = [
    b'\xff\xfe',             # not UTF-8 at all
    b'\xc0\xaf',             # overlong "/"
    b'\xed\xa0\x80',         # UTF-8-encoded surrogate
    b'\xe2\x82',             # truncated sequence
    b'\xf4\x90\x80\x80',     # above U+10FFFF
    b'caf\xe9',              # Latin-1
]


@pytest.mark.parametrize("bad", INVALID_UTF8, ids=[b.hex() for b in INVALID_UTF8])
def test_invalid_utf8_in_string(world, bad):
    client = world.a["owner"]
    name = unique("utf")
    raw = b'{"name": "' + name.encode() + bad + b'", "kind": "text", ' \
          b'"config": {"classes": {"choices": ["a"]}}}'
    expect(client.post_raw(PROJECTS, raw), 400, "invalid_json")
    assert not any(n.startswith(name) for n in project_names(client))


def test_invalid_utf8_in_key(world):
    raw = b'{"na\xffme": "x", "kind": "text", "config": {}}'
    expect(world.a["owner"].post_raw(PROJECTS, raw), 400, "invalid_json")


def test_invalid_utf8_in_login(api):
    raw = b'{"login": "ad\xc3min", "password": "0123456789"}'
    expect(api.post_raw("/api/v1/auth/login", raw), 400, "invalid_json")


def test_lone_surrogate_escape(world):
    name = unique("sur")
    raw = ('{"name": "%s\\ud800", "kind": "text", "config": {"classes": {"choices": ["a"]}}}'
           % name).encode()
    expect(world.a["owner"].post_raw(PROJECTS, raw), 400, ("invalid_json", "invalid_request"))
    assert not any(n.startswith(name) for n in project_names(world.a["owner"]))


def test_duplicate_keys(world):
    client = world.a["owner"]
    name = unique("dup")
    raw = ('{"name": "%s", "name": "%s-2", "kind": "text", '
           '"config": {"classes": {"choices": ["a"]}}}' % (name, name)).encode()
    expect(client.post_raw(PROJECTS, raw), 400, "invalid_json")
    raw = ('{"name": "%s", "kind": "text", '
           '"config": {"classes": {"choices": ["a"], "choices": ["b"]}}}' % name).encode()
    expect(client.post_raw(PROJECTS, raw), 400, "invalid_json")
    names = project_names(client)
    assert name not in names and name + "-2" not in names


def test_nul_in_string(world):
    client = world.a["owner"]
    name = unique("nul")
    raw = ('{"name": "%s\\u0000evil", "kind": "text", '
           '"config": {"classes": {"choices": ["a"]}}}' % name).encode()
    expect(client.post_raw(PROJECTS, raw), 400, ("invalid_json", "invalid_request"))
    assert not any(n.startswith(name) for n in project_names(client))


@pytest.mark.parametrize("raw", [b"", b"   ", b"\n"])
def test_empty_body(world, raw):
    expect(world.a["owner"].post_raw(PROJECTS, raw), 400, ("invalid_json", "invalid_request"))


@pytest.mark.parametrize("raw", [b"[]", b'"project"', b"42", b"null", b"true"])
def test_body_not_an_object(world, raw):
    expect(world.a["owner"].post_raw(PROJECTS, raw), 400, "invalid_request")


# -- unknown fields and wrong types, with paths ------------------------------------------------


@pytest.mark.parametrize("mutate,path", [
    (lambda b: b.update(extra=1), "extra"),
    (lambda b: b.update(id=5), "id"),
    (lambda b: b.update(org="2"), "org"),
    (lambda b: b.update(counts={"total": 9}), "counts"),
    (lambda b: b.update(created_at="2026-01-01T00:00:00.000Z"), "created_at"),
    (lambda b: b["config"]["classes"].update(weight=2), "config.classes.weight"),
    (lambda b: b.update(overlap=[1]), "overlap"),
    (lambda b: b.update(overlap={"n": 1}), "overlap"),
    (lambda b: b.update(lease_seconds=False), "lease_seconds"),
])
def test_unknown_fields_and_wrong_types(world, mutate, path):
    client = world.a["owner"]
    body = project_json(unique("uf"))
    mutate(body)
    expect(client.post(PROJECTS, body), 400, "invalid_request", path)
    assert body["name"] not in project_names(client)


def test_unknown_nested_field_in_org_owner(admin):
    login = unique("nest")
    body = {"name": unique("o"), "owner": {"login": login, "password": password_for(login),
                                           "name": "N", "admin": True}}
    expect(admin.post("/api/v1/orgs", body), 400, "invalid_request", "owner.admin")


@pytest.mark.parametrize("literal", [
    b"1e400", b"-1e400", b"99999999999999999999999999", b"-99999999999999999999999999",
    b"18446744073709551616", b"9223372036854775808", b"-9223372036854775809",
])
def test_huge_numbers(world, literal):
    client = world.a["owner"]
    name = unique("big")
    raw = (b'{"name": "' + name.encode() + b'", "kind": "text", '
           b'"config": {"classes": {"choices": ["a"]}}, "overlap": ' + literal + b'}')
    r = client.post_raw(PROJECTS, raw)
    b = expect(r, 400, ("invalid_request", "invalid_json"))
    if b["error"]["code"] == "invalid_request":
        assert b["error"].get("path") == "overlap", b
    assert name not in project_names(client)


@pytest.mark.parametrize("value", [0, 101, -1, 2 ** 70, 2 ** 31, 2 ** 32 + 1, -(2 ** 31)])
def test_out_of_range_overlap(world, value):
    client = world.a["owner"]
    body = project_json(unique("rng"), overlap=value)
    expect(client.post(PROJECTS, body), 400, "invalid_request", "overlap")
    assert body["name"] not in project_names(client)


# -- content types ------------------------------------------------------------------------------


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded",
                                   "application/xml", None])
def test_wrong_content_type(world, ctype):
    client = world.a["owner"]
    body = project_json(unique("ct"))
    r = client.post_raw(PROJECTS, json.dumps(body).encode(), content_type=ctype)
    expect(r, 415, "unsupported_media_type")
    assert body["name"] not in project_names(client)


def test_json_content_type_with_charset_ok(world):
    body = project_json(unique("cs"))
    r = world.a["owner"].post_raw(PROJECTS, json.dumps(body).encode(),
                                  content_type="application/json; charset=utf-8")
    expect(r, 201)


# -- ids in paths ----------------------------------------------------------------------------------


@pytest.mark.parametrize("pid", ["0", "-1", "99999999999999999999", "abc", "1.0", "1e3", "0x10",
                                 "%20", "1%2F2"])
def test_bad_ids_in_path(world, pid):
    r = world.a["owner"].get(PROJECTS + "/" + pid)
    expect(r, (400, 404), ("invalid_request", "not_found"))


def test_foreign_ids_in_path_are_404_and_change_nothing(world):
    b = world.b
    before = b["owner"].list_all("/api/v1/projects/%d/tasks" % b.project["id"])
    r = world.a["owner"].post_raw("/api/v1/projects/%d/tasks" % b.project["id"],
                                  json.dumps({"data": {"text": "x"}}).encode(),
                                  content_type="application/x-ndjson")
    expect(r, 404, "not_found")
    assert b["owner"].list_all("/api/v1/projects/%d/tasks" % b.project["id"]) == before


# -- depth (server default 64) ----------------------------------------------------------------------


def test_nesting_too_deep_default_limit(server, world):
    client = world.a["owner"]
    name = unique("deep")
    body = project_json(name, config={"classes": {"choices": ["a"]}, "x": nested(100)})
    expect(client.post(PROJECTS, body), 413, "too_large")
    assert name not in project_names(client)


def test_pathological_nesting_does_not_crash(server, world):
    client = world.a["owner"]
    raw = b"[" * 200000 + b"]" * 200000
    expect(client.post_raw(PROJECTS, raw), 413, "too_large")
    raw = b'{"a":' * 100000 + b"1" + b"}" * 100000
    expect(client.post_raw(PROJECTS, raw), 413, "too_large")
    # Unbalanced: deep and never closed.
    expect(client.post_raw(PROJECTS, b"[" * 100000), (400, 413), ("invalid_json", "too_large"))
    assert server.alive()
    expect(client.get("/api/v1/me"), 200)


def test_nesting_within_limit_is_judged_on_content(world):
    body = project_json(unique("shallow"), config={"classes": {"choices": ["a"]}, "x": nested(20)})
    expect(world.a["owner"].post(PROJECTS, body), 400, "invalid_request", "config.x")


# -- limits on the small server ----------------------------------------------------------------


@pytest.fixture(scope="module")
def small_owner(small_server):
    """The small server's admin, on an API token (sessions there last 2 s)."""
    session = small_server.api(small_server.token(small_server.owner_login,
                                                  small_server.owner_password))
    tok = expect(session.post("/api/v1/tokens", {"name": "bad-input"}), 201)
    return small_server.api(tok["token"])


def test_body_over_max_body(small_server, small_owner):
    name = unique("huge")
    body = project_json(name, config={"classes": {"choices": ["c%04d" % i for i in range(300)]}})
    raw = json.dumps(body).encode()
    assert len(raw) > 1024
    expect(small_owner.post_raw(PROJECTS, raw), 413, "too_large")
    assert name not in project_names(small_owner)
    # Just under the limit is fine.
    body = project_json(unique("fits"))
    assert len(json.dumps(body)) < 1024
    expect(small_owner.post(PROJECTS, body), 201)


def test_body_over_max_body_chunked(small_owner):
    name = unique("chunk")
    raw = json.dumps(project_json(name, config={"classes": {"choices": ["c%04d" % i
                                                                        for i in range(300)]}}))

    def gen():
        for i in range(0, len(raw), 100):
            yield raw[i:i + 100].encode()

    r = small_owner.request("POST", PROJECTS, data=gen(), headers={"Content-Type": "application/json"})
    expect(r, 413, "too_large")
    assert name not in project_names(small_owner)


def test_login_body_over_max_body(small_server):
    r = small_server.api().post("/api/v1/auth/login", {"login": "x", "password": "y" * 5000})
    expect(r, 413, "too_large")


def test_depth_over_small_limit(small_owner):
    name = unique("d")
    body = project_json(name, config={"classes": {"choices": ["a"]}, "x": nested(12)})
    expect(small_owner.post(PROJECTS, body), 413, "too_large")
    body = project_json(name, config={"classes": {"choices": ["a"]}, "x": nested(3)})
    expect(small_owner.post(PROJECTS, body), 400, "invalid_request", "config.x")
    assert name not in project_names(small_owner)


def test_import_limit_is_max_import_not_max_body(small_owner):
    p = expect(small_owner.post(PROJECTS, project_json(unique("imp"))), 201)
    path = "/api/v1/projects/%d/tasks" % p["id"]
    # ~3 KiB: over --max-body (1k) but within --max-import (4k).
    lines = "".join(json.dumps({"key": "k%03d" % i, "data": {"text": "t" * 40}}) + "\n"
                    for i in range(45))
    assert 1024 < len(lines) < 4096
    res = expect(small_owner.post_raw(path, lines.encode(), content_type="application/x-ndjson"), 200)
    assert res["created"] == 45
    # ~8 KiB: over --max-import.
    more = "".join(json.dumps({"key": "m%03d" % i, "data": {"text": "t" * 40}}) + "\n"
                   for i in range(120))
    assert len(more) > 4096
    expect(small_owner.post_raw(path, more.encode(), content_type="application/x-ndjson"), 413,
           "too_large")
    expect(small_owner.post_raw(path, json.dumps([json.loads(x) for x in more.splitlines()]).encode(),
                                content_type="application/json"), 413, "too_large")
    keys = [t["key"] for t in small_owner.list_all(path)]
    assert not [k for k in keys if k.startswith("m")], keys
    assert len(keys) == 45


def test_import_record_too_deep(small_owner):
    p = expect(small_owner.post(PROJECTS, project_json(unique("impd"))), 201)
    path = "/api/v1/projects/%d/tasks" % p["id"]
    lines = (json.dumps({"key": "ok", "data": {"text": "x"}}) + "\n"
             + json.dumps({"key": "deep", "data": {"text": "x", "meta": nested(20)}}) + "\n")
    r = small_owner.post_raw(path, lines.encode(), content_type="application/x-ndjson")
    # Either the whole request is refused, or the deep record is reported.
    if r.status_code == 200:
        res = r.json()
        assert res["created"] == 1 and [e["at"] for e in res["errors"]] == ["line 2"], res
        keys = [t["key"] for t in small_owner.list_all(path)]
        assert keys == ["ok"]
    else:
        expect(r, 413, "too_large")
        assert small_owner.list_all(path) == []


def test_servers_survived(server, small_server):
    for srv in (server, small_server):
        assert srv.alive()
        expect(srv.api().get("/healthz"), 200)
