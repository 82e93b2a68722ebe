"""
The queue: claiming (next), submitting, skipping, releasing, drafts,
heartbeats, leases and their reaper, annotations and what they do to the
project's counts and export.

Every test works on projects of its own (in org A of the world), so the
order of tests does not matter. Tests that need leases to run out use
projects with lease_seconds 1 and poll the assignment (with a deadline)
until the server's reaper has returned it.
"""

import json
import time
from datetime import datetime, timezone

import pytest

from conftest import (assert_id, assert_time, expect, import_tasks, make_project, password_for,
                      unique)

REAP_DEADLINE = 20.0  # the reaper runs about every second; generous for sanitized builds

RESULT = {"classes": ["pos"]}


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def parse_time(s):
    assert_time(s)
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def new_project(owner, records=None, n=1, overlap=1, lease_seconds=3600, **fields):
    """A text project with tasks; returns (project, tasks sorted by id)."""
    p = make_project(owner, overlap=overlap, lease_seconds=lease_seconds, **fields)
    if records is None:
        records = [{"key": "t%d" % i, "data": {"text": "queue text %d" % i}} for i in range(n)]
    res = expect(import_tasks(owner, p["id"], records), 200)
    assert res["created"] == len(records), res
    tasks = owner.list_all("/api/v1/projects/%d/tasks" % p["id"])
    assert len(tasks) == len(records)
    return p, sorted(tasks, key=lambda t: t["id"])


def next_path(pid):
    return "/api/v1/projects/%d/next" % pid


def a_path(aid, action=""):
    return "/api/v1/assignments/%d%s" % (aid, "/" + action if action else "")


def claim(client, pid):
    """POST next; 200 -> the body, 204 -> None."""
    r = client.post(next_path(pid))
    body = expect(r, (200, 204))
    if r.status_code == 204:
        assert r.content == b"", r.content
        return None
    return body


def claim_ok(client, pid):
    body = claim(client, pid)
    assert body is not None, "expected a task, got 204"
    check_claim_shape(body)
    return body


def submit(client, aid, result=RESULT):
    return client.post(a_path(aid, "submit"), {"result": result})


def submit_ok(client, aid, result=RESULT):
    body = expect(submit(client, aid, result), 201)
    check_annotation_shape(body)
    assert body["result"] == result
    return body


def put_draft(client, aid, draft):
    return client.request("PUT", a_path(aid, "draft"), json_body={"result": draft})


def get_assignment(client, aid):
    return expect(client.get(a_path(aid)), 200)


def counts(client, pid):
    """The task counts (the review counts beside them: test_42_review.py)."""
    c = expect(client.get("/api/v1/projects/%d" % pid), 200)["counts"]
    return {k: c[k] for k in ("total", "open", "in_progress", "done")}


def task_state(client, tid):
    return expect(client.get("/api/v1/tasks/%d" % tid), 200)["state"]


def annotations(client, tid):
    return client.list_all("/api/v1/tasks/%d/annotations" % tid)


def export_lines(client, pid):
    r = client.get("/api/v1/projects/%d/export?format=jsonl" % pid)
    assert r.status_code == 200, r.text
    text = r.content.decode()
    return [json.loads(line) for line in text.splitlines() if line]


def check_claim_shape(body):
    assert set(body) >= {"assignment", "task"}, body
    a, t = body["assignment"], body["task"]
    assert set(a) >= {"id", "kind", "lease_until", "draft"}, a
    assert_id(a["id"])
    assert a["kind"] == "normal", a
    assert_time(a["lease_until"])
    assert set(t) >= {"id", "key", "data", "priority"}, t
    assert_id(t["id"])


def check_annotation_shape(body):
    assert set(body) >= {"id", "task", "user", "version", "result", "created_at"}, body
    assert_id(body["id"])
    assert_id(body["task"])
    assert_id(body["user"])
    assert isinstance(body["version"], int) and body["version"] >= 1, body
    assert_time(body["created_at"])


def wait_state(client, aid, state, deadline=REAP_DEADLINE):
    """Poll the assignment until its state is `state` (e.g. the reaper ran)."""
    end = time.monotonic() + deadline
    last = None
    while time.monotonic() < end:
        last = get_assignment(client, aid)
        if last["state"] == state:
            return last
        time.sleep(0.05)
    raise AssertionError("assignment %d not %r within %.0f s: %r" % (aid, state, deadline, last))


def make_annotator(server, owner, role="annotator"):
    login = unique("q_" + role)
    user = expect(owner.post("/api/v1/users", {"login": login, "password": password_for(login),
                                               "name": "Queue " + role, "role": role}), 201)
    body = server.login(login)
    assert body["user"]["id"] == user["id"]
    return server.api(body["token"]), user


@pytest.fixture
def owner(world):
    return world.a["owner"]


@pytest.fixture
def team(world):
    """Three fresh annotators of org A: a list of (Api, user)."""
    return [make_annotator(world.server, world.a["owner"]) for _ in range(3)]


# --------------------------------------------------------------------------
# claiming
# --------------------------------------------------------------------------


def test_claim_shape_and_get_assignment(world, owner):
    p, tasks = new_project(owner, n=1, lease_seconds=600)
    ann = world.a["annotator"]
    before = datetime.now(timezone.utc)
    body = claim_ok(ann, p["id"])
    after = datetime.now(timezone.utc)
    a, t = body["assignment"], body["task"]
    assert a["draft"] is None
    assert t["id"] == tasks[0]["id"]
    assert t["key"] == "t0"
    assert t["data"] == {"text": "queue text 0"}
    assert t["priority"] == 0
    # the lease runs lease_seconds from the claim (same host clock; 5 s slack)
    until = parse_time(a["lease_until"])
    assert before.timestamp() + 600 - 5 <= until.timestamp() <= after.timestamp() + 600 + 5, a

    got = get_assignment(ann, a["id"])
    assert got["id"] == a["id"]
    assert got["task"] == t["id"]
    assert got["user"] == world.a.users["annotator"]["id"]
    assert got["state"] == "leased"
    assert got["kind"] == "normal"
    assert got["lease_until"] == a["lease_until"]
    assert got["draft"] is None


def test_claim_order_priority_then_id(world, owner):
    prios = [0, 5, 0, 10, 5, -1, 10, 0, 2 ** 31 - 1, -2 ** 31, 2 ** 31 - 1]
    records = [{"key": "p%d" % i, "data": {"text": "prio %d" % i}, "priority": pr}
               for i, pr in enumerate(prios)]
    p, tasks = new_project(owner, records=records)
    by_key = {t["key"]: t for t in tasks}
    expected = sorted(tasks, key=lambda t: (-t["priority"], t["id"]))
    assert [by_key["p%d" % i]["priority"] for i in range(len(prios))] == prios

    ann = world.a["annotator"]
    got = []
    for _ in range(len(prios)):
        body = claim_ok(ann, p["id"])
        got.append(body["task"]["id"])
        assert body["task"]["priority"] == by_key[body["task"]["key"]]["priority"]
        submit_ok(ann, body["assignment"]["id"])
    assert got == [t["id"] for t in expected]
    assert claim(ann, p["id"]) is None


def test_manager_and_owner_may_claim(world):
    owner = world.a["owner"]
    p, tasks = new_project(owner, n=2, overlap=2)
    for role in ("manager", "owner"):
        c = world.a[role]
        body = claim_ok(c, p["id"])
        assert body["task"]["id"] == tasks[0]["id"]
        ann = submit_ok(c, body["assignment"]["id"])
        assert ann["user"] == world.a.users[role]["id"]


@pytest.mark.parametrize("role", ["viewer", "reviewer"])
def test_viewer_and_reviewer_cannot_claim(world, role):
    p, _ = new_project(world.a["owner"], n=1)
    expect(world.a[role].post(next_path(p["id"])), 403, "forbidden")
    assert counts(world.a["owner"], p["id"]) == {"total": 1, "open": 1, "in_progress": 0, "done": 0}


@pytest.mark.parametrize("role", ["viewer", "reviewer"])
def test_viewer_and_reviewer_cannot_work_assignments(world, role):
    p, _ = new_project(world.a["owner"], n=1)
    ann = world.a["annotator"]
    aid = claim_ok(ann, p["id"])["assignment"]["id"]
    c = world.a[role]
    expect(c.get(a_path(aid)), 403, "forbidden")
    for action in ("skip", "release", "heartbeat"):
        expect(c.post(a_path(aid, action)), 403, "forbidden")
    expect(submit(c, aid), 403, "forbidden")
    expect(put_draft(c, aid, RESULT), 403, "forbidden")
    assert get_assignment(ann, aid)["state"] == "leased"


def test_claim_unknown_project(world):
    expect(world.a["annotator"].post(next_path(2 ** 40)), 404, "not_found")


def test_204_when_exhausted(world, owner, team):
    p, tasks = new_project(owner, n=2, overlap=2)
    (a, _), (b, _), (c, _) = team
    for client in (a, b):
        seen = []
        for _ in range(2):
            body = claim_ok(client, p["id"])
            seen.append(body["task"]["id"])
            submit_ok(client, body["assignment"]["id"])
        assert seen == [tasks[0]["id"], tasks[1]["id"]]
        assert claim(client, p["id"]) is None
        assert claim(client, p["id"]) is None  # stays exhausted
    # every slot is taken: a third user gets nothing either
    assert claim(c, p["id"]) is None
    assert counts(owner, p["id"]) == {"total": 2, "open": 0, "in_progress": 0, "done": 2}


def test_204_counts_concurrent_claims(world, owner, team):
    """Slots held by live leases of others count: 204 without any submission."""
    p, tasks = new_project(owner, n=2, overlap=1)
    (a, _), (b, _), (c, _) = team
    ta = claim_ok(a, p["id"])["task"]["id"]
    tb = claim_ok(b, p["id"])["task"]["id"]
    assert sorted([ta, tb]) == [t["id"] for t in tasks]
    assert claim(c, p["id"]) is None
    assert counts(owner, p["id"]) == {"total": 2, "open": 0, "in_progress": 2, "done": 0}


def test_never_the_same_task_twice(world, owner):
    p, tasks = new_project(owner, n=5, overlap=3)
    ann = world.a["annotator"]
    seen = []
    while True:
        body = claim(ann, p["id"])
        if body is None:
            break
        assert len(seen) < 5, "more claims than tasks: %r" % seen
        seen.append(body["task"]["id"])
        submit_ok(ann, body["assignment"]["id"])
    assert sorted(seen) == [t["id"] for t in tasks]
    assert len(set(seen)) == 5


def test_reclaim_returns_the_same_lease_with_draft(world, owner):
    p, tasks = new_project(owner, n=3, overlap=1, lease_seconds=600)
    ann = world.a["annotator"]
    first = claim_ok(ann, p["id"])
    aid = first["assignment"]["id"]
    draft = {"classes": ["neg"], "note": "half done ✓", "spans": [{"start": 0, "end": 3}]}
    d = expect(put_draft(ann, aid, draft), 200)
    assert d["id"] == aid
    assert d["draft"] == draft
    time.sleep(0.02)  # let the clock move so that the extension shows
    again = claim_ok(ann, p["id"])
    assert again["assignment"]["id"] == aid
    assert again["task"]["id"] == first["task"]["id"]
    assert again["task"] == first["task"]
    assert again["assignment"]["draft"] == draft
    assert parse_time(again["assignment"]["lease_until"]) > parse_time(first["assignment"]["lease_until"])
    got = get_assignment(ann, aid)
    assert got["draft"] == draft
    assert got["state"] == "leased"
    assert got["lease_until"] == again["assignment"]["lease_until"]
    # still one task in progress, not two
    assert counts(owner, p["id"])["in_progress"] == 1
    # submitting ends it; the next claim is a different task, without a draft
    submit_ok(ann, aid)
    nxt = claim_ok(ann, p["id"])
    assert nxt["assignment"]["id"] != aid
    assert nxt["task"]["id"] != first["task"]["id"]
    assert nxt["assignment"]["draft"] is None


def test_draft_is_replaced_and_not_validated_strictly(world, owner):
    p, _ = new_project(owner, n=1)
    ann = world.a["annotator"]
    aid = claim_ok(ann, p["id"])["assignment"]["id"]
    bad = {"classes": ["not-a-class"], "spans": "garbage", "whatever": [1, 2, {"x": None}]}
    assert expect(put_draft(ann, aid, bad), 200)["draft"] == bad
    second = {"classes": []}
    assert expect(put_draft(ann, aid, second), 200)["draft"] == second
    assert claim_ok(ann, p["id"])["assignment"]["draft"] == second
    # the body must still be {"result": {...}}
    expect(ann.request("PUT", a_path(aid, "draft"), json_body={"draft": second}), 400, "invalid_request")
    expect(ann.request("PUT", a_path(aid, "draft"), json_body={"result": [1]}), 400, "invalid_request")
    expect(ann.request("PUT", a_path(aid, "draft"), json_body={}), 400, "invalid_request")
    assert get_assignment(ann, aid)["draft"] == second


def test_draft_restored_after_lease_expired_and_reaped(world, owner):
    p, tasks = new_project(owner, n=1, overlap=1, lease_seconds=1)
    ann = world.a["annotator"]
    first = claim_ok(ann, p["id"])
    aid = first["assignment"]["id"]
    draft = {"classes": ["pos"], "spans": [{"start": 1, "end": 4, "label": "LOC"}]}
    expect(put_draft(ann, aid, draft), 200)
    wait_state(ann, aid, "expired")
    # the reaper gave the slot back
    assert counts(owner, p["id"]) == {"total": 1, "open": 1, "in_progress": 0, "done": 0}
    again = claim_ok(ann, p["id"])
    assert again["task"]["id"] == first["task"]["id"]  # the only task
    assert again["assignment"]["draft"] == draft
    assert counts(owner, p["id"])["in_progress"] == 1
    submit_ok(ann, again["assignment"]["id"], draft)
    assert counts(owner, p["id"]) == {"total": 1, "open": 0, "in_progress": 0, "done": 1}


def test_expired_lease_goes_to_another_user(world, owner, team):
    p, tasks = new_project(owner, n=1, overlap=1, lease_seconds=1)
    (a, _), (b, buser), _ = team
    aid = claim_ok(a, p["id"])["assignment"]["id"]
    assert claim(b, p["id"]) is None  # held by a
    wait_state(a, aid, "expired")
    body = claim_ok(b, p["id"])
    assert body["task"]["id"] == tasks[0]["id"]
    assert body["assignment"]["id"] != aid
    ann = submit_ok(b, body["assignment"]["id"])
    assert ann["user"] == buser["id"]


# --------------------------------------------------------------------------
# skip, release
# --------------------------------------------------------------------------


def test_skip_never_again_and_slot_freed(world, owner, team):
    records = [{"key": "hi", "data": {"text": "high"}, "priority": 1},
               {"key": "lo", "data": {"text": "low"}, "priority": 0}]
    p, tasks = new_project(owner, records=records, overlap=1)
    hi = [t for t in tasks if t["key"] == "hi"][0]
    lo = [t for t in tasks if t["key"] == "lo"][0]
    (a, auser), (b, _), _ = team

    first = claim_ok(a, p["id"])
    assert first["task"]["id"] == hi["id"]
    aid = first["assignment"]["id"]
    expect(put_draft(a, aid, {"classes": ["pos"]}), 200)
    s = expect(a.post(a_path(aid, "skip")), 200)
    assert s["id"] == aid
    assert s["state"] == "skipped"
    assert s["task"] == hi["id"]
    assert s["user"] == auser["id"]
    assert get_assignment(a, aid)["state"] == "skipped"
    assert task_state(owner, hi["id"]) == "open"
    assert counts(owner, p["id"]) == {"total": 2, "open": 2, "in_progress": 0, "done": 0}

    # a never gets the skipped task again, even though it ranks first
    second = claim_ok(a, p["id"])
    assert second["task"]["id"] == lo["id"]
    submit_ok(a, second["assignment"]["id"])
    assert claim(a, p["id"]) is None
    assert claim(a, p["id"]) is None

    # the slot went back to the pool: b gets it
    other = claim_ok(b, p["id"])
    assert other["task"]["id"] == hi["id"]
    assert other["assignment"]["draft"] is None  # a's draft is not b's
    submit_ok(b, other["assignment"]["id"])
    assert counts(owner, p["id"]) == {"total": 2, "open": 0, "in_progress": 0, "done": 2}
    assert claim(a, p["id"]) is None


def test_release_frees_slot_and_task_may_come_back(world, owner, team):
    p, tasks = new_project(owner, n=1, overlap=1)
    (a, auser), (b, _), _ = team
    first = claim_ok(a, p["id"])
    aid = first["assignment"]["id"]
    assert claim(b, p["id"]) is None
    r = expect(a.post(a_path(aid, "release")), 200)
    assert r["id"] == aid
    assert r["state"] == "released"
    assert r["user"] == auser["id"]
    assert counts(owner, p["id"]) == {"total": 1, "open": 1, "in_progress": 0, "done": 0}

    # the slot is free: b takes it, then releases it too
    bt = claim_ok(b, p["id"])
    assert bt["task"]["id"] == tasks[0]["id"]
    expect(b.post(a_path(bt["assignment"]["id"], "release")), 200)

    # a may get the same task again, and finish it
    again = claim_ok(a, p["id"])
    assert again["task"]["id"] == tasks[0]["id"]
    assert get_assignment(a, again["assignment"]["id"])["state"] == "leased"
    submit_ok(a, again["assignment"]["id"])
    assert counts(owner, p["id"]) == {"total": 1, "open": 0, "in_progress": 0, "done": 1}
    assert claim(b, p["id"]) is None
    # a release of a released assignment is refused
    expect(b.post(a_path(bt["assignment"]["id"], "release")), 409, "conflict")


# --------------------------------------------------------------------------
# submit
# --------------------------------------------------------------------------


def test_submit_shape_and_annotations(world, owner):
    p, tasks = new_project(owner, n=1, overlap=1)
    ann = world.a["annotator"]
    uid = world.a.users["annotator"]["id"]
    body = claim_ok(ann, p["id"])
    aid = body["assignment"]["id"]
    result = {"classes": ["neg"], "spans": [{"id": "s1", "start": 0, "end": 5, "label": "PER"}]}
    a = submit_ok(ann, aid, result)
    assert a["task"] == tasks[0]["id"]
    assert a["user"] == uid
    assert a["version"] == 1
    assert a["result"] == result
    got = get_assignment(ann, aid)
    assert got["state"] == "submitted"
    assert task_state(owner, tasks[0]["id"]) == "done"

    items = annotations(owner, tasks[0]["id"])
    assert len(items) == 1
    assert items[0]["id"] == a["id"]
    assert items[0]["user"] == uid
    assert items[0]["result"] == result
    assert items[0]["version"] == 1
    assert items[0]["created_at"] == a["created_at"]


def test_double_submit_answers_conflict_with_the_annotation(world, owner):
    p, tasks = new_project(owner, n=1)
    ann = world.a["annotator"]
    aid = claim_ok(ann, p["id"])["assignment"]["id"]
    first = submit_ok(ann, aid, {"classes": ["pos"]})
    for again in ({"classes": ["pos"]}, {"classes": ["neg"]}):
        r = submit(ann, aid, again)
        assert r.status_code == 409, r.text
        body = r.json()
        assert set(body) == {"error", "annotation"}, body
        assert body["error"]["code"] == "conflict"
        assert isinstance(body["error"]["message"], str) and body["error"]["message"]
        check_annotation_shape(body["annotation"])
        for k in ("id", "task", "user", "version", "result", "created_at"):
            assert body["annotation"][k] == first[k], (k, body, first)
    # append-only: still exactly the first annotation
    items = annotations(owner, tasks[0]["id"])
    assert [(i["id"], i["result"]) for i in items] == [(first["id"], {"classes": ["pos"]})]
    assert counts(owner, p["id"]) == {"total": 1, "open": 0, "in_progress": 0, "done": 1}


def test_late_submit_accepted_while_a_slot_is_free(world, owner):
    p, tasks = new_project(owner, n=1, overlap=1, lease_seconds=1)
    ann = world.a["annotator"]
    aid = claim_ok(ann, p["id"])["assignment"]["id"]
    wait_state(ann, aid, "expired")
    assert counts(owner, p["id"]) == {"total": 1, "open": 1, "in_progress": 0, "done": 0}
    a = submit_ok(ann, aid, {"classes": ["neg"]})
    assert a["task"] == tasks[0]["id"]
    assert get_assignment(ann, aid)["state"] == "submitted"
    assert counts(owner, p["id"]) == {"total": 1, "open": 0, "in_progress": 0, "done": 1}
    assert [i["id"] for i in annotations(owner, tasks[0]["id"])] == [a["id"]]


def test_late_submit_conflict_when_filled_by_another(world, owner, team):
    """overlap 1: a's lease expires, b claims and submits, then a submits -> 409."""
    p, tasks = new_project(owner, n=1, overlap=1, lease_seconds=1)
    (a, _), (b, buser), _ = team
    aid = claim_ok(a, p["id"])["assignment"]["id"]
    wait_state(a, aid, "expired")
    bbody = claim_ok(b, p["id"])
    assert bbody["task"]["id"] == tasks[0]["id"]
    bann = submit_ok(b, bbody["assignment"]["id"])
    r = submit(a, aid, {"classes": ["neg"]})
    expect(r, 409, "conflict")
    assert get_assignment(a, aid)["state"] == "expired"
    items = annotations(owner, tasks[0]["id"])
    assert [(i["id"], i["user"]) for i in items] == [(bann["id"], buser["id"])]
    assert counts(owner, p["id"]) == {"total": 1, "open": 0, "in_progress": 0, "done": 1}


def test_late_submit_conflict_while_another_holds_the_slot(world, owner, team):
    """overlap 1: a's lease expires and b leases the task: a's late submit -> 409, b's -> 201."""
    p, tasks = new_project(owner, n=1, overlap=1, lease_seconds=1)
    (a, _), (b, _), _ = team
    aid = claim_ok(a, p["id"])["assignment"]["id"]
    wait_state(a, aid, "expired")
    bbody = claim_ok(b, p["id"])
    expect(b.post(a_path(bbody["assignment"]["id"], "heartbeat")), 200)
    expect(submit(a, aid), 409, "conflict")
    assert annotations(owner, tasks[0]["id"]) == []
    submit_ok(b, bbody["assignment"]["id"])
    assert len(annotations(owner, tasks[0]["id"])) == 1


def test_invalid_results(world, owner):
    p, tasks = new_project(owner, n=1)
    ann = world.a["annotator"]
    aid = claim_ok(ann, p["id"])["assignment"]["id"]
    text_len = len(tasks[0]["data"]["text"])
    bad = [
        ({"classes": ["maybe"]}, "result.classes"),
        ({"classes": "pos"}, "result.classes"),
        ({"spans": [{"start": 0, "end": text_len + 1, "label": "PER"}]}, "result.spans[0].end"),
        ({"spans": [{"start": 3, "end": 2, "label": "PER"}]}, "result.spans[0].end"),
        ({"spans": [{"start": 0, "end": 2, "label": "ORG"}]}, "result.spans[0].label"),
        ({"spans": [{"start": 0, "end": 2, "label": "PER"}, {"start": 0, "end": 2, "label": "PER"}]},
         "result.spans[1]"),
        ({"unknown": 1}, "result.unknown"),
    ]
    for result, path in bad:
        r = submit(ann, aid, result)
        body = expect(r, 400, "invalid_result")
        got = body["error"].get("path", "")
        assert got == path or got.startswith(path + "[") or got.startswith(path + "."), (result, body)
    # a body without a result object is a request error, not a result error
    expect(ann.post(a_path(aid, "submit"), {}), 400, "invalid_request")
    expect(ann.post(a_path(aid, "submit"), {"result": [1]}), 400, "invalid_request")
    expect(ann.post(a_path(aid, "submit"), {"result": RESULT, "extra": 1}), 400, "invalid_request")
    expect(ann.post_raw(a_path(aid, "submit"), b"{", "application/json"), 400, "invalid_json")
    # nothing was stored; the lease is still live and a valid result goes through
    assert annotations(owner, tasks[0]["id"]) == []
    assert get_assignment(ann, aid)["state"] == "leased"
    submit_ok(ann, aid, {"classes": ["pos"], "spans": [{"start": 0, "end": 5, "label": "LOC"}]})


# --------------------------------------------------------------------------
# heartbeat, actions on finished assignments
# --------------------------------------------------------------------------


def test_heartbeat_extends_lease(world, owner):
    p, _ = new_project(owner, n=1, lease_seconds=600)
    ann = world.a["annotator"]
    body = claim_ok(ann, p["id"])
    aid = body["assignment"]["id"]
    prev = parse_time(body["assignment"]["lease_until"])
    for _ in range(3):
        time.sleep(0.02)  # let the clock move so that the extension shows
        h = expect(ann.post(a_path(aid, "heartbeat")), 200)
        assert h["id"] == aid
        assert h["state"] == "leased"
        until = parse_time(h["lease_until"])
        assert until > prev, (h, prev)
        assert abs(until.timestamp() - (time.time() + 600)) < 5, h
        prev = until
        assert get_assignment(ann, aid)["lease_until"] == h["lease_until"]


def test_heartbeat_keeps_a_short_lease_alive(world, owner, team):
    """lease_seconds 2, heartbeat every 0.3 s for 4 s: never reaped, nobody else gets the task."""
    p, _ = new_project(owner, n=1, overlap=1, lease_seconds=2)
    (a, _), (b, _), _ = team
    aid = claim_ok(a, p["id"])["assignment"]["id"]
    end = time.monotonic() + 4.0
    while time.monotonic() < end:
        h = expect(a.post(a_path(aid, "heartbeat")), 200)
        assert h["state"] == "leased", h
        assert claim(b, p["id"]) is None
        time.sleep(0.3)
    assert get_assignment(a, aid)["state"] == "leased"
    submit_ok(a, aid)


def test_actions_on_a_submitted_assignment_conflict(world, owner):
    p, _ = new_project(owner, n=1)
    ann = world.a["annotator"]
    aid = claim_ok(ann, p["id"])["assignment"]["id"]
    submit_ok(ann, aid)
    for action in ("heartbeat", "skip", "release"):
        expect(ann.post(a_path(aid, action)), 409, "conflict")
    got = get_assignment(ann, aid)
    assert got["state"] == "submitted"
    assert counts(owner, p["id"]) == {"total": 1, "open": 0, "in_progress": 0, "done": 1}


def test_actions_on_a_skipped_assignment_conflict(world, owner):
    p, tasks = new_project(owner, n=1)
    tid = tasks[0]["id"]
    ann = world.a["annotator"]
    aid = claim_ok(ann, p["id"])["assignment"]["id"]
    expect(ann.post(a_path(aid, "skip")), 200)
    for action in ("heartbeat", "skip", "release"):
        expect(ann.post(a_path(aid, action)), 409, "conflict")
    expect(submit(ann, aid), 409, "conflict")
    assert annotations(owner, tid) == []
    assert counts(owner, p["id"]) == {"total": 1, "open": 1, "in_progress": 0, "done": 0}


# --------------------------------------------------------------------------
# isolation
# --------------------------------------------------------------------------


def test_other_users_assignment_is_not_found(world, owner, team):
    p, tasks = new_project(owner, n=1, overlap=2)
    (a, _), (b, _), _ = team
    aid = claim_ok(a, p["id"])["assignment"]["id"]
    expect(put_draft(a, aid, {"classes": ["pos"]}), 200)
    for client in (b, world.a["manager"], world.a["owner"]):
        expect(client.get(a_path(aid)), 404, "not_found")
        for action in ("heartbeat", "skip", "release"):
            expect(client.post(a_path(aid, action)), 404, "not_found")
        expect(submit(client, aid), 404, "not_found")
        expect(put_draft(client, aid, {"classes": ["neg"]}), 404, "not_found")
    got = get_assignment(a, aid)
    assert got["state"] == "leased"
    assert got["draft"] == {"classes": ["pos"]}
    assert annotations(owner, tasks[0]["id"]) == []
    expect(a.get(a_path(2 ** 40)), 404, "not_found")


def test_other_org_is_not_found(world, owner):
    p, tasks = new_project(owner, n=1, overlap=2)
    a = world.a["annotator"]
    aid = claim_ok(a, p["id"])["assignment"]["id"]
    submit_ok(a, aid)
    b_ann, b_owner = world.b["annotator"], world.b["owner"]
    expect(b_ann.post(next_path(p["id"])), 404, "not_found")
    expect(b_owner.post(next_path(p["id"])), 404, "not_found")
    for client in (b_ann, b_owner):
        expect(client.get(a_path(aid)), 404, "not_found")
        for action in ("heartbeat", "skip", "release"):
            expect(client.post(a_path(aid, action)), 404, "not_found")
        expect(submit(client, aid), 404, "not_found")
        expect(put_draft(client, aid, RESULT), 404, "not_found")
        expect(client.get("/api/v1/tasks/%d/annotations" % tasks[0]["id"]), 404, "not_found")
    assert len(annotations(owner, tasks[0]["id"])) == 1
    assert counts(owner, p["id"]) == {"total": 1, "open": 0, "in_progress": 1, "done": 0}


def test_annotators_see_only_their_own_annotations(world, owner, team):
    p, tasks = new_project(owner, n=1, overlap=3)
    tid = tasks[0]["id"]
    mine = {}
    for i, (client, user) in enumerate(team):
        body = claim_ok(client, p["id"])
        assert body["task"]["id"] == tid
        mine[user["id"]] = submit_ok(client, body["assignment"]["id"],
                                     {"classes": ["pos" if i % 2 else "neg"]})
    for client, user in team:
        items = annotations(client, tid)
        assert [i["id"] for i in items] == [mine[user["id"]]["id"]]
        assert items[0]["user"] == user["id"]
    # an annotator who did not work on it sees nothing
    assert annotations(world.a["annotator"], tid) == []
    expected = sorted(a["id"] for a in mine.values())
    for role in ("owner", "manager", "reviewer", "viewer"):
        items = annotations(world.a[role], tid)
        assert [i["id"] for i in items] == expected, role
        assert {i["user"] for i in items} == set(mine)
        assert all(i["version"] == 1 for i in items)
    assert counts(owner, p["id"]) == {"total": 1, "open": 0, "in_progress": 0, "done": 1}


# --------------------------------------------------------------------------
# counts and export
# --------------------------------------------------------------------------


def states(owner, pid):
    out = {}
    for st in ("open", "in_progress", "done"):
        out[st] = sorted(t["id"] for t in owner.list_all("/api/v1/projects/%d/tasks?state=%s" % (pid, st)))
    return out


def test_counts_follow_the_actions(world, owner, team):
    p, tasks = new_project(owner, n=3, overlap=2)
    t1, t2, t3 = [t["id"] for t in tasks]
    (a, _), (b, _), (c, _) = team
    pid = p["id"]

    def check(open_, in_progress, done):
        assert counts(owner, pid) == {"total": 3, "open": len(open_), "in_progress": len(in_progress),
                                      "done": len(done)}
        assert states(owner, pid) == {"open": sorted(open_), "in_progress": sorted(in_progress),
                                      "done": sorted(done)}

    check([t1, t2, t3], [], [])
    a1 = claim_ok(a, pid)
    assert a1["task"]["id"] == t1
    check([t2, t3], [t1], [])
    submit_ok(a, a1["assignment"]["id"])
    check([t2, t3], [t1], [])  # 1 of 2
    b1 = claim_ok(b, pid)
    assert b1["task"]["id"] == t1
    check([t2, t3], [t1], [])
    submit_ok(b, b1["assignment"]["id"])
    check([t2, t3], [], [t1])
    a2 = claim_ok(a, pid)
    assert a2["task"]["id"] == t2
    check([t3], [t2], [t1])
    expect(a.post(a_path(a2["assignment"]["id"], "release")), 200)
    check([t2, t3], [], [t1])
    a2 = claim_ok(a, pid)
    assert a2["task"]["id"] == t2
    expect(a.post(a_path(a2["assignment"]["id"], "skip")), 200)
    check([t2, t3], [], [t1])
    a3 = claim_ok(a, pid)
    assert a3["task"]["id"] == t3
    c2 = claim_ok(c, pid)
    assert c2["task"]["id"] == t2
    check([], [t2, t3], [t1])
    submit_ok(c, c2["assignment"]["id"])
    submit_ok(a, a3["assignment"]["id"])
    check([], [t2, t3], [t1])
    b2 = claim_ok(b, pid)
    assert b2["task"]["id"] == t2
    submit_ok(b, b2["assignment"]["id"])
    check([], [t3], [t1, t2])
    b3 = claim_ok(b, pid)
    assert b3["task"]["id"] == t3
    submit_ok(b, b3["assignment"]["id"])
    check([], [], [t1, t2, t3])
    for client, _ in team:
        assert claim(client, pid) is None
    # a's skip of t2 holds: a never got it, and it's done without a
    assert {i["user"] for i in annotations(owner, t2)} == {team[1][1]["id"], team[2][1]["id"]}


def test_export_contains_the_annotations(world, owner, team):
    p, tasks = new_project(owner, n=3, overlap=2)
    submitted = {}  # annotation id -> (task, user, result)
    for j in range(3):  # round robin until every slot is filled
        for i, (client, user) in enumerate(team):
            body = claim(client, p["id"])
            if body is None:
                continue
            result = {"classes": ["pos" if (i + j) % 2 else "neg"],
                      "spans": [{"start": i, "end": i + j + 1, "label": "PER", "attrs": {"who": i, "n": j}}]}
            a = submit_ok(client, body["assignment"]["id"], result)
            submitted[a["id"]] = (body["task"]["id"], user["id"], result)
    assert len(submitted) == 6  # 3 tasks x overlap 2
    lines = export_lines(owner, p["id"])
    assert [l["task"]["id"] for l in lines] == [t["id"] for t in tasks]
    seen = {}
    for line in lines:
        t = [t for t in tasks if t["id"] == line["task"]["id"]][0]
        assert line["task"]["key"] == t["key"]
        assert line["task"]["data"] == t["data"]
        assert len(line["annotations"]) == 2
        assert len({a["user"] for a in line["annotations"]}) == 2
        for a in line["annotations"]:
            assert set(a) >= {"id", "user", "version", "result", "created_at"}, a
            seen[a["id"]] = (line["task"]["id"], a["user"], a["result"])
            assert a["version"] == 1
    assert seen == submitted


# --------------------------------------------------------------------------
# more
# --------------------------------------------------------------------------


def test_image_project_through_the_queue(world, owner):
    p = make_project(owner, kind="image")
    records = [{"key": "img", "data": {"image": "https://example.com/a.jpg", "width": 100, "height": 80}}]
    expect(import_tasks(owner, p["id"], records), 200)
    ann = world.a["annotator"]
    aid = claim_ok(ann, p["id"])["assignment"]["id"]
    out_of_bounds = {"objects": [{"type": "box", "label": "car", "x": 90, "y": 10, "w": 20, "h": 10}]}
    body = expect(submit(ann, aid, out_of_bounds), 400, "invalid_result")
    assert body["error"]["path"].startswith("result.objects[0]"), body
    expect(submit(ann, aid, {"objects": [{"type": "box", "label": "bus", "x": 1, "y": 1, "w": 2, "h": 2}]}),
           400, "invalid_result")
    good = {"classes": ["day"],
            "objects": [{"id": "o1", "type": "box", "label": "car", "x": 10, "y": 20, "w": 50, "h": 40},
                        {"type": "keypoints", "label": "person", "points": [[1, 2, 2], [3, 4, 1]]}]}
    a = submit_ok(ann, aid, good)
    assert [i["result"] for i in annotations(owner, a["task"])] == [good]


def test_leases_in_two_projects_are_independent(world, owner):
    p1, t1 = new_project(owner, n=2)
    p2, t2 = new_project(owner, n=2)
    ann = world.a["annotator"]
    a1 = claim_ok(ann, p1["id"])
    a2 = claim_ok(ann, p2["id"])
    assert a1["assignment"]["id"] != a2["assignment"]["id"]
    assert a1["task"]["id"] == t1[0]["id"] and a2["task"]["id"] == t2[0]["id"]
    assert claim_ok(ann, p1["id"])["assignment"]["id"] == a1["assignment"]["id"]
    assert claim_ok(ann, p2["id"])["assignment"]["id"] == a2["assignment"]["id"]
    submit_ok(ann, a2["assignment"]["id"])
    assert claim_ok(ann, p1["id"])["assignment"]["id"] == a1["assignment"]["id"]
    assert claim_ok(ann, p2["id"])["task"]["id"] == t2[1]["id"]


def test_queue_replies_are_json_no_store(world, owner):
    p, _ = new_project(owner, n=1)
    ann = world.a["annotator"]
    r = ann.post(next_path(p["id"]))
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json"), r.headers
    assert "no-store" in r.headers.get("Cache-Control", ""), r.headers
    aid = r.json()["assignment"]["id"]
    for resp in (ann.post(a_path(aid, "heartbeat")), put_draft(ann, aid, RESULT), ann.get(a_path(aid)),
                 submit(ann, aid)):
        assert resp.status_code in (200, 201), resp.text
        assert resp.headers["Content-Type"].startswith("application/json"), resp.headers
        assert "no-store" in resp.headers.get("Cache-Control", ""), resp.headers


def test_queue_methods(world, owner):
    p, _ = new_project(owner, n=1)
    ann = world.a["annotator"]
    r = ann.get(next_path(p["id"]))
    expect(r, 405, "method_not_allowed")
    assert "POST" in r.headers.get("Allow", ""), r.headers
    aid = claim_ok(ann, p["id"])["assignment"]["id"]
    r = ann.post(a_path(aid, "draft"), RESULT)
    expect(r, 405, "method_not_allowed")
    assert "PUT" in r.headers.get("Allow", ""), r.headers
    expect(ann.get(a_path(aid, "submit")), 405, "method_not_allowed")
    assert get_assignment(ann, aid)["state"] == "leased"
