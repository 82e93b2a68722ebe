"""Export as JSON Lines: one line per task, with its annotations."""

import json

from conftest import expect, import_tasks, make_project


def export_path(pid, q="?format=jsonl"):
    return "/api/v1/projects/%d/export%s" % (pid, q)


def parse_lines(r):
    text = r.content.decode("utf-8")
    if not text:
        return []
    assert text.endswith("\n"), repr(text[-50:])
    return [json.loads(line) for line in text[:-1].split("\n")]


def test_export_lines_match_tasks(world):
    owner = world.a["owner"]
    p = make_project(owner)
    recs = [{"key": "e%d" % i, "data": {"text": "export %d ✓" % i}} for i in range(4)]
    recs.append({"data": {"text": "keyless"}})
    expect(import_tasks(owner, p["id"], recs), 200)
    tasks = owner.list_all("/api/v1/projects/%d/tasks" % p["id"])

    r = world.a["manager"].get(export_path(p["id"]))
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/x-ndjson"), r.headers
    lines = parse_lines(r)
    assert len(lines) == len(tasks) == 5
    by_id = {line["task"]["id"]: line for line in lines}
    assert sorted(by_id) == sorted(t["id"] for t in tasks)
    for t in tasks:
        line = by_id[t["id"]]
        assert set(line) == {"task", "annotations"}, line
        assert line["task"]["key"] == t["key"]
        assert line["task"]["data"] == t["data"]
        assert line["annotations"] == []


def test_export_default_format_is_jsonl(world):
    owner = world.a["owner"]
    r1 = owner.get(export_path(world.a.project["id"], ""))
    r2 = owner.get(export_path(world.a.project["id"]))
    assert r1.status_code == 200 and r2.status_code == 200
    assert parse_lines(r1) == parse_lines(r2)
    assert len(parse_lines(r1)) == len(world.a.tasks)


def test_export_empty_project(world):
    p = make_project(world.a["owner"])
    r = world.a["owner"].get(export_path(p["id"]))
    assert r.status_code == 200, r.text
    assert parse_lines(r) == []


def test_export_unknown_format(world):
    for fmt in ("csv", "JSONL", "", "coco-ish"):
        expect(world.a["owner"].get(export_path(world.a.project["id"], "?format=" + fmt)), 400,
               "invalid_request")


def test_export_of_other_org_or_missing_project(world):
    expect(world.a["owner"].get(export_path(world.b.project["id"])), 404, "not_found")
    expect(world.a["owner"].get(export_path(2 ** 40)), 404, "not_found")


def test_export_roles(world):
    for role in ("reviewer", "annotator", "viewer"):
        expect(world.a[role].get(export_path(world.a.project["id"])), 403, "forbidden")


def test_export_complete_for_many_tasks(world):
    owner = world.a["owner"]
    p = make_project(owner)
    n = 2500
    recs = [{"key": "m%05d" % i, "data": {"text": "x" * (i % 50)}} for i in range(n)]
    res = expect(import_tasks(owner, p["id"], recs), 200)
    assert res["created"] == n
    r = owner.get(export_path(p["id"]))
    assert r.status_code == 200
    lines = parse_lines(r)
    assert len(lines) == n
    assert sorted(line["task"]["key"] for line in lines) == ["m%05d" % i for i in range(n)]
