"""Task import (JSON Lines and arrays), idempotency, validation, listing."""

import json

import pytest

from conftest import IMAGE_CONFIG, assert_id, assert_time, expect, import_tasks, make_project


def tasks_path(pid, q=""):
    return "/api/v1/projects/%d/tasks%s" % (pid, q)


def all_tasks(client, pid, state=None):
    return client.list_all(tasks_path(pid, "?state=" + state if state else ""))


def import_array(client, pid, records, mode=None):
    q = "?mode=" + mode if mode else ""
    return client.post_raw(tasks_path(pid, q), json.dumps(records).encode(),
                           content_type="application/json")


def import_lines(client, pid, lines, mode=None):
    """Raw JSON Lines: `lines` are strings (so that some may be broken)."""
    q = "?mode=" + mode if mode else ""
    return client.post_raw(tasks_path(pid, q), ("\n".join(lines) + "\n").encode(),
                           content_type="application/x-ndjson")


def counts(client, pid):
    """The task counts (the review counts beside them: test_42_review.py)."""
    c = expect(client.get("/api/v1/projects/%d" % pid), 200)["counts"]
    return {k: c[k] for k in ("total", "open", "in_progress", "done")}


@pytest.fixture
def text_project(world):
    return make_project(world.a["owner"])


@pytest.fixture
def image_project(world):
    return make_project(world.a["owner"], kind="image", config=IMAGE_CONFIG)


def test_import_jsonl_and_list(world, text_project):
    owner, pid = world.a["manager"], text_project["id"]
    recs = [{"key": "a", "data": {"text": "alpha"}, "priority": 5},
            {"key": "b", "data": {"text": "beta"}},
            {"data": {"text": "gamma, no key"}}]
    res = expect(import_tasks(owner, pid, recs), 200)
    assert res["created"] == 3 and res["existing"] == 0 and res["errors"] == []
    tasks = all_tasks(world.a["viewer"], pid)
    assert len(tasks) == 3
    ids = [t["id"] for t in tasks]
    assert ids == sorted(ids) and len(set(ids)) == 3
    for t, rec in zip(tasks, recs):
        assert_id(t["id"])
        assert t["project"] == pid
        assert t["data"] == rec["data"]
        assert t["key"] == rec.get("key", t["key"])
        assert t["priority"] == rec.get("priority", 0)
        assert t["state"] == "open"
        assert_time(t["created_at"])
        assert {"id", "project", "key", "data", "priority", "state", "created_at"} <= set(t)
        got = expect(world.a["reviewer"].get("/api/v1/tasks/%d" % t["id"]), 200)
        assert got == t
    assert counts(owner, pid) == {"total": 3, "open": 3, "in_progress": 0, "done": 0}
    assert all_tasks(owner, pid, "open") == tasks
    assert all_tasks(owner, pid, "in_progress") == []
    assert all_tasks(owner, pid, "done") == []


def test_import_array(world, text_project):
    owner, pid = world.a["owner"], text_project["id"]
    recs = [{"key": "x%d" % i, "data": {"text": "t%d" % i}} for i in range(5)]
    res = expect(import_array(owner, pid, recs), 200)
    assert res == {"created": 5, "existing": 0, "errors": []}
    assert [t["key"] for t in all_tasks(owner, pid)] == ["x%d" % i for i in range(5)]


def test_reimport_is_idempotent_on_key(world, text_project):
    owner, pid = world.a["owner"], text_project["id"]
    recs = [{"key": "k1", "data": {"text": "one"}}, {"key": "k2", "data": {"text": "two"}}]
    expect(import_tasks(owner, pid, recs), 200)
    before = all_tasks(owner, pid)
    # Same keys, different data: counted existing and left as they are.
    changed = [{"key": "k1", "data": {"text": "CHANGED"}}, {"key": "k2", "data": {"text": "two"}},
               {"key": "k3", "data": {"text": "three"}}]
    res = expect(import_tasks(owner, pid, changed), 200)
    assert res["created"] == 1 and res["existing"] == 2 and res["errors"] == []
    after = all_tasks(owner, pid)
    assert after[:2] == before
    assert after[2]["key"] == "k3"
    # And again through the array form.
    res = expect(import_array(owner, pid, changed), 200)
    assert res["created"] == 0 and res["existing"] == 3
    assert len(all_tasks(owner, pid)) == 3


def test_duplicate_key_within_one_import(world, text_project):
    owner, pid = world.a["owner"], text_project["id"]
    recs = [{"key": "same", "data": {"text": "first"}}, {"key": "same", "data": {"text": "second"}}]
    res = expect(import_tasks(owner, pid, recs), 200)
    assert res["created"] == 1 and res["existing"] == 1 and res["errors"] == []
    tasks = all_tasks(owner, pid)
    assert len(tasks) == 1 and tasks[0]["data"] == {"text": "first"}


def test_keyless_records_are_created_each_time(world, text_project):
    owner, pid = world.a["owner"], text_project["id"]
    recs = [{"data": {"text": "no key"}}]
    expect(import_tasks(owner, pid, recs), 200)
    res = expect(import_tasks(owner, pid, recs), 200)
    assert res["created"] == 1 and res["existing"] == 0
    assert len(all_tasks(owner, pid)) == 2


def test_same_key_in_two_projects_is_two_tasks(world):
    owner = world.a["owner"]
    p1, p2 = make_project(owner), make_project(owner)
    rec = [{"key": "shared", "data": {"text": "t"}}]
    assert expect(import_tasks(owner, p1["id"], rec), 200)["created"] == 1
    assert expect(import_tasks(owner, p2["id"], rec), 200)["created"] == 1


def test_mixed_jsonl_stores_valid_reports_invalid(world, text_project):
    owner, pid = world.a["owner"], text_project["id"]
    lines = [
        json.dumps({"key": "ok1", "data": {"text": "fine"}}),        # 1 ok
        json.dumps({"key": "bad2", "data": {}}),                     # 2 text required
        '{"key": "bad3", "data": {"text": "x"',                      # 3 broken JSON
        json.dumps({"key": "bad4", "data": {"text": 7}}),            # 4 text not a string
        json.dumps({"key": "bad5", "data": {"text": "x"}, "prio": 1}),  # 5 unknown field
        json.dumps({"key": "bad6", "data": {"text": "x"}, "priority": "high"}),  # 6
        json.dumps({"key": "bad7", "data": "text"}),                 # 7 data not an object
        json.dumps(["not", "an", "object"]),                         # 8
        json.dumps({"key": "ok9", "data": {"text": "also fine"}, "priority": -3}),  # 9 ok
        json.dumps({"key": 10, "data": {"text": "x"}}),              # 10 key not a string
        json.dumps({"key": "bad11", "data": {"text": ["x"]}}),       # 11 text not a string
        json.dumps({"key": "k" * 513, "data": {"text": "x"}}),       # 12 key too long
        json.dumps({"key": "bad13", "data": {"text": "x"}, "priority": 1.5}),  # 13
        json.dumps({"key": "bad14"}),                                # 14 data missing
    ]
    res = expect(import_lines(owner, pid, lines), 200)
    assert res["created"] == 2 and res["existing"] == 0, res
    errs = res["errors"]
    assert [e["at"] for e in errs] == ["line %d" % n for n in (2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14)], errs
    by_at = {e["at"]: e for e in errs}
    assert by_at["line 3"]["code"] == "invalid_json"
    for at, e in by_at.items():
        if at != "line 3":
            assert e["code"] == "invalid_request", e
        assert isinstance(e["message"], str) and e["message"], e
    assert "text" in by_at["line 2"]["message"]
    tasks = all_tasks(owner, pid)
    assert sorted(t["key"] for t in tasks) == ["ok1", "ok9"]
    assert [t["priority"] for t in tasks] == [0, -3]


def test_mixed_array_reports_items(world, text_project):
    owner, pid = world.a["owner"], text_project["id"]
    recs = [{"key": "a", "data": {"text": "ok"}}, {"key": "b", "data": {"txt": "no"}},
            {"key": "c", "data": {"text": "ok"}}, 42]
    res = expect(import_array(owner, pid, recs), 200)
    assert res["created"] == 2 and res["existing"] == 0
    assert [e["at"] for e in res["errors"]] == ["item 2", "item 4"]
    assert all(e["code"] == "invalid_request" for e in res["errors"]), res
    assert sorted(t["key"] for t in all_tasks(owner, pid)) == ["a", "c"]


def test_key_of_512_bytes_is_fine(world, text_project):
    owner, pid = world.a["owner"], text_project["id"]
    key = "é" * 256  # 512 bytes of UTF-8
    res = expect(import_tasks(owner, pid, [{"key": key, "data": {"text": "t"}}]), 200)
    assert res["created"] == 1, res
    res = expect(import_tasks(owner, pid, [{"key": key + "x", "data": {"text": "t"}}]), 200)
    assert res["created"] == 0 and len(res["errors"]) == 1, res
    assert [t["key"] for t in all_tasks(owner, pid)] == [key]


def test_all_or_nothing(world, text_project):
    owner, pid = world.a["owner"], text_project["id"]
    bad = [{"key": "a", "data": {"text": "ok"}}, {"key": "b", "data": {}},
           {"key": "c", "data": {"text": "ok"}}]
    for send in (import_tasks, import_array):
        r = send(owner, pid, bad, mode="all-or-nothing")
        assert r.status_code == 400, r.text
        res = r.json()  # the import report, not an {"error":...} body
        assert set(res) >= {"created", "existing", "errors"}, res
        assert res["created"] == 0, res
        assert len(res["errors"]) == 1 and res["errors"][0]["code"] == "invalid_request", res
        assert res["errors"][0]["at"] in ("line 2", "item 2"), res
        assert all_tasks(owner, pid) == []
    good = [{"key": "a", "data": {"text": "ok"}}, {"key": "c", "data": {"text": "ok"}}]
    res = expect(import_tasks(owner, pid, good, mode="all-or-nothing"), 200)
    assert res == {"created": 2, "existing": 0, "errors": []}
    res = expect(import_tasks(owner, pid, good, mode="all-or-nothing"), 200)
    assert res == {"created": 0, "existing": 2, "errors": []}
    assert len(all_tasks(owner, pid)) == 2


def test_unknown_mode_is_rejected(world, text_project):
    owner, pid = world.a["owner"], text_project["id"]
    r = import_tasks(owner, pid, [{"data": {"text": "x"}}], mode="some")
    expect(r, 400, "invalid_request")
    assert all_tasks(owner, pid) == []


def test_import_wrong_content_type(world, text_project):
    owner, pid = world.a["owner"], text_project["id"]
    body = json.dumps({"data": {"text": "x"}}).encode()
    for ctype in ("text/plain", "application/xml", "multipart/form-data; boundary=x"):
        expect(owner.post_raw(tasks_path(pid), body, content_type=ctype), 415,
               "unsupported_media_type")
    assert all_tasks(owner, pid) == []


def test_import_array_body_must_be_an_array(world, text_project):
    owner, pid = world.a["owner"], text_project["id"]
    r = owner.post_raw(tasks_path(pid), b'{"data": {"text": "x"}}', content_type="application/json")
    expect(r, 400, "invalid_request")
    r = owner.post_raw(tasks_path(pid), b'[{"data": {"text": "x"}', content_type="application/json")
    expect(r, 400, "invalid_json")
    assert all_tasks(owner, pid) == []


def test_import_into_missing_project(world):
    owner = world.a["owner"]
    r = import_tasks(owner, 2 ** 40, [{"data": {"text": "x"}}])
    expect(r, 404, "not_found")
    r = import_tasks(owner, world.b.project["id"], [{"key": "intruder", "data": {"text": "x"}}])
    expect(r, 404, "not_found")
    keys = [t["key"] for t in all_tasks(world.b["owner"], world.b.project["id"])]
    assert "intruder" not in keys


IMAGE_HEX = "0123456789abcdef" * 4


@pytest.mark.parametrize("data", [
    {"image": IMAGE_HEX},
    {"image": "https://example.com/a.jpg"},
    {"image": "http://example.com/a.png", "width": 640, "height": 480},
    {"image": IMAGE_HEX, "width": 1},
])
def test_image_task_ok(world, image_project, data):
    owner, pid = world.a["owner"], image_project["id"]
    res = expect(import_tasks(owner, pid, [{"data": data}]), 200)
    assert res == {"created": 1, "existing": 0, "errors": []}
    assert all_tasks(owner, pid)[0]["data"] == data


@pytest.mark.parametrize("data", [
    {},
    {"image": ""},
    {"image": IMAGE_HEX[:-1]},
    {"image": IMAGE_HEX + "0"},
    {"image": "g" * 64},
    {"image": "ftp://example.com/a.jpg"},
    {"image": "javascript:alert(1)"},
    {"image": "file:///etc/passwd"},
    {"image": 12},
    {"image": IMAGE_HEX, "width": 0},
    {"image": IMAGE_HEX, "width": -640},
    {"image": IMAGE_HEX, "width": 1.5},
    {"image": IMAGE_HEX, "height": "480"},
    {"image": IMAGE_HEX, "height": 2 ** 70},
    {"text": "a text task in an image project"},
])
def test_image_task_bad(world, image_project, data):
    owner, pid = world.a["owner"], image_project["id"]
    res = expect(import_tasks(owner, pid, [{"data": data}]), 200)
    assert res["created"] == 0 and res["existing"] == 0, res
    assert len(res["errors"]) == 1, res
    assert res["errors"][0]["at"] == "line 1" and res["errors"][0]["code"] == "invalid_request", res
    assert all_tasks(owner, pid) == []


def test_text_task_with_image_data_is_rejected(world, text_project):
    owner, pid = world.a["owner"], text_project["id"]
    res = expect(import_tasks(owner, pid, [{"data": {"image": IMAGE_HEX}}]), 200)
    assert res["created"] == 0 and len(res["errors"]) == 1


def test_task_list_filters_and_pagination(world, text_project):
    owner, pid = world.a["owner"], text_project["id"]
    expect(import_tasks(owner, pid, [{"key": "t%02d" % i, "data": {"text": str(i)}}
                                     for i in range(7)]), 200)
    everyone = all_tasks(owner, pid)
    assert len(everyone) == 7
    page = expect(owner.get(tasks_path(pid, "?limit=3")), 200)
    assert set(page) == {"items", "next_after"}
    assert [t["id"] for t in page["items"]] == [t["id"] for t in everyone[:3]]
    assert page["next_after"] == everyone[2]["id"]
    page = expect(owner.get(tasks_path(pid, "?limit=3&after=%d" % everyone[5]["id"])), 200)
    assert [t["id"] for t in page["items"]] == [everyone[6]["id"]]
    assert page["next_after"] is None
    page = expect(owner.get(tasks_path(pid, "?state=open&limit=1000")), 200)
    assert len(page["items"]) == 7 and page["next_after"] is None
    for bad in ("?state=closed", "?state=", "?state=OPEN", "?limit=0", "?limit=1001",
                "?after=x", "?limit=-3"):
        expect(owner.get(tasks_path(pid, bad)), 400, "invalid_request")


def test_task_of_other_org_is_not_found(world):
    tid = world.b.tasks[0]["id"]
    for role in ("owner", "manager", "reviewer", "viewer"):
        expect(world.a[role].get("/api/v1/tasks/%d" % tid), 404, "not_found")
        got = expect(world.b[role].get("/api/v1/tasks/%d" % tid), 200)
        assert got["id"] == tid
    expect(world.a["owner"].get("/api/v1/tasks/%d" % (2 ** 40)), 404, "not_found")
    expect(world.a["owner"].get(tasks_path(world.b.project["id"])), 404, "not_found")


def test_annotator_may_not_list_tasks(world):
    expect(world.a["annotator"].get(tasks_path(world.a.project["id"])), 403, "forbidden")
    expect(world.a["annotator"].get("/api/v1/tasks/%d" % world.a.tasks[0]["id"]), 403, "forbidden")


def test_import_roles(world, text_project):
    pid = text_project["id"]
    for role in ("reviewer", "annotator", "viewer"):
        r = import_tasks(world.a[role], pid, [{"key": "by-" + role, "data": {"text": "x"}}])
        expect(r, 403, "forbidden")
    assert all_tasks(world.a["owner"], pid) == []


def test_crlf_and_no_trailing_newline(world, text_project):
    owner, pid = world.a["owner"], text_project["id"]
    body = (json.dumps({"key": "r1", "data": {"text": "a"}}) + "\r\n"
            + json.dumps({"key": "r2", "data": {"text": "b"}})).encode()
    res = expect(owner.post_raw(tasks_path(pid), body, content_type="application/x-ndjson"), 200)
    assert res == {"created": 2, "existing": 0, "errors": []}


def test_unicode_text_round_trips(world, text_project):
    owner, pid = world.a["owner"], text_project["id"]
    text = "naïve café — 東京 🚀 \"quoted\" \\ back\nslash"
    expect(import_tasks(owner, pid, [{"key": "u", "data": {"text": text}}]), 200)
    assert all_tasks(owner, pid)[0]["data"]["text"] == text


def test_many_errors_are_capped(world, text_project):
    owner, pid = world.a["owner"], text_project["id"]
    lines = [json.dumps({"data": {}})] * 1005 + [json.dumps({"key": "last", "data": {"text": "x"}})]
    res = expect(import_lines(owner, pid, lines), 200)
    assert res["created"] == 1
    assert len(res["errors"]) == 1000
    assert res.get("errors_truncated") is True
    assert res["errors"][0]["at"] == "line 1" and res["errors"][-1]["at"] == "line 1000"
    assert [t["key"] for t in all_tasks(owner, pid)] == ["last"]



def test_task_list_by_key(world, text_project):
    client = world.a["manager"]
    pid = text_project["id"]
    res = expect(import_array(client, pid, [{"key": "找我-1", "data": {"text": "甲"}},
                                            {"key": "other", "data": {"text": "乙"}}]), 200)
    assert res["errors"] == []
    got = expect(client.get(tasks_path(pid, "?key=%E6%89%BE%E6%88%91-1")), 200)
    assert [t["key"] for t in got["items"]] == ["找我-1"]
    assert got["items"][0]["data"] == {"text": "甲"}
    # no such key, or a state that does not match: an empty page
    assert expect(client.get(tasks_path(pid, "?key=nope")), 200) == {"items": [], "next_after": None}
    assert expect(client.get(tasks_path(pid, "?key=other&state=done")), 200)["items"] == []
    # a key of another project finds nothing here
    other = make_project(world.a["owner"])
    expect(import_array(client, other["id"], [{"key": "elsewhere", "data": {"text": "丙"}}]), 200)
    assert expect(client.get(tasks_path(pid, "?key=elsewhere")), 200)["items"] == []
    expect(client.get(tasks_path(pid, "?key=")), 400, "invalid_request", "key")
    expect(client.get(tasks_path(pid, "?key=" + "k" * 513)), 400, "invalid_request", "key")
