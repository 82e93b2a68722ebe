"""
The prefetch: POST /projects/{id}/next?after=<assignment id> answers a lease
other than `after` (the user's other live lease if it has one, else a new
claim), so a user holds at most two live leases: the task on screen and the
next one. `after` must be a live lease of the caller in that project: 400
when it is no id, 404 when it is nobody's or another user's (or another
org's), 409 when it is the caller's but in another project or not leased
any more. Without `after` the claim is what test_40_queue.py tests.

Races on both backends: parallel ?after claims by one user never give a
third lease, users racing with ?after for the last slot never overfill it,
and a crowd streaming with prefetch keeps every queue invariant (sampled
from the SQLite file while it runs, as test_45_queue_concurrency.py does).
"""

import os
import sqlite3
import threading
import time

import pytest

from conftest import expect, import_tasks, make_project, password_for, unique
from test_45_queue_concurrency import Checker, db_path_of, run_parallel

SANITIZED = os.environ.get("ANNOTD_SANITIZED") == "1"
REAP_DEADLINE = 20.0
RESULT = {"classes": ["pos"]}


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def new_project(owner, n=3, overlap=1, lease_seconds=3600):
    p = make_project(owner, overlap=overlap, lease_seconds=lease_seconds)
    records = [{"key": "f%d" % i, "data": {"text": "prefetch text %d" % i}} for i in range(n)]
    res = expect(import_tasks(owner, p["id"], records), 200)
    assert res["created"] == n, res
    tasks = sorted(owner.list_all("/api/v1/projects/%d/tasks" % p["id"]), key=lambda t: t["id"])
    return p, tasks


def next_path(pid, after=None):
    return "/api/v1/projects/%d/next%s" % (pid, "" if after is None else "?after=%s" % after)


def claim(client, pid, after=None):
    """POST next (?after=); 200 -> the body, 204 -> None."""
    r = client.post(next_path(pid, after))
    body = expect(r, (200, 204))
    return None if r.status_code == 204 else body


def claim_ok(client, pid, after=None):
    body = claim(client, pid, after)
    assert body is not None, "expected a task, got 204"
    assert set(body) >= {"assignment", "task"}, body
    return body


def a_path(aid, action=""):
    return "/api/v1/assignments/%d%s" % (aid, "/" + action if action else "")


def assignment(client, aid):
    return expect(client.get(a_path(aid)), 200)


def counts(client, pid):
    c = expect(client.get("/api/v1/projects/%d" % pid), 200)["counts"]
    return {k: c[k] for k in ("total", "open", "in_progress", "done")}


def make_annotator(server, owner):
    login = unique("pf_ann")
    user = expect(owner.post("/api/v1/users", {"login": login, "password": password_for(login),
                                               "name": "Prefetch", "role": "annotator"}), 201)
    return server.api(server.token(login)), user


def wait_state(client, aid, state, deadline=REAP_DEADLINE):
    end = time.monotonic() + deadline
    last = None
    while time.monotonic() < end:
        last = assignment(client, aid)
        if last["state"] == state:
            return last
        time.sleep(0.05)
    raise AssertionError("assignment %d not %r within %.0f s: %r" % (aid, state, deadline, last))


@pytest.fixture
def owner(world):
    return world.a["owner"]


@pytest.fixture
def ann(world, owner):
    """A fresh annotator of org A (no leases held anywhere)."""
    return make_annotator(world.server, owner)[0]


# --------------------------------------------------------------------------
# the rules
# --------------------------------------------------------------------------


def test_after_gives_a_second_lease_and_no_third(owner, ann):
    p, tasks = new_project(owner, n=4)
    a = claim_ok(ann, p["id"])
    assert a["task"]["id"] == tasks[0]["id"]
    b = claim_ok(ann, p["id"], a["assignment"]["id"])
    assert b["assignment"]["id"] != a["assignment"]["id"]
    assert b["task"]["id"] == tasks[1]["id"]  # the next by priority, then id
    assert b["assignment"]["kind"] == "normal" and b["assignment"]["draft"] is None
    assert counts(owner, p["id"]) == {"total": 4, "open": 2, "in_progress": 2, "done": 0}

    # asked again: the same prefetched lease, extended; never a third
    b2 = claim_ok(ann, p["id"], a["assignment"]["id"])
    assert b2["assignment"]["id"] == b["assignment"]["id"]
    assert b2["assignment"]["lease_until"] >= b["assignment"]["lease_until"]
    # past the prefetched one: the current one
    assert claim_ok(ann, p["id"], b["assignment"]["id"])["assignment"]["id"] == a["assignment"]["id"]
    # without `after`: as before, the first live lease
    assert claim_ok(ann, p["id"])["assignment"]["id"] == a["assignment"]["id"]
    assert counts(owner, p["id"]) == {"total": 4, "open": 2, "in_progress": 2, "done": 0}
    for aid in (a["assignment"]["id"], b["assignment"]["id"]):
        assert assignment(ann, aid)["state"] == "leased"


def test_the_stream_submit_then_prefetch_again(owner, ann):
    """What the workbench does: show A, prefetch B; submit A, show B, prefetch C; ..."""
    p, tasks = new_project(owner, n=5)
    cur = claim_ok(ann, p["id"])
    seen = []
    while cur is not None:
        nxt = claim(ann, p["id"], cur["assignment"]["id"])
        seen.append(cur["task"]["id"])
        expect(ann.post(a_path(cur["assignment"]["id"], "submit"), {"result": RESULT}), 201)
        c = counts(owner, p["id"])
        assert c["in_progress"] <= 1  # the prefetched one only (overlap 1: submitted ones are done)
        cur = nxt
    assert seen == [t["id"] for t in tasks]
    assert counts(owner, p["id"]) == {"total": 5, "open": 0, "in_progress": 0, "done": 5}
    assert claim(ann, p["id"]) is None


def test_after_never_retakes_its_own_task(owner, ann):
    """overlap 2, one task: the task of `after` has a free slot but is the caller's already."""
    p, tasks = new_project(owner, n=1, overlap=2)
    a = claim_ok(ann, p["id"])
    assert claim(ann, p["id"], a["assignment"]["id"]) is None
    got = expect(owner.get("/api/v1/tasks/%d" % tasks[0]["id"]), 200)
    assert got["state"] == "in_progress"
    assert counts(owner, p["id"]) == {"total": 1, "open": 0, "in_progress": 1, "done": 0}
    # the other slot is still there for someone else
    assert assignment(ann, a["assignment"]["id"])["state"] == "leased"


def test_204_leaves_the_current_lease_alone(owner, ann):
    p, _ = new_project(owner, n=1)
    a = claim_ok(ann, p["id"])
    assert claim(ann, p["id"], a["assignment"]["id"]) is None
    assert assignment(ann, a["assignment"]["id"])["state"] == "leased"
    expect(ann.post(a_path(a["assignment"]["id"], "submit"), {"result": RESULT}), 201)
    assert counts(owner, p["id"]) == {"total": 1, "open": 0, "in_progress": 0, "done": 1}


def test_skip_and_release_move_to_the_prefetched_lease(owner, ann):
    p, tasks = new_project(owner, n=4)
    a = claim_ok(ann, p["id"])
    b = claim_ok(ann, p["id"], a["assignment"]["id"])
    expect(ann.post(a_path(a["assignment"]["id"], "skip")), 200)
    # the stream shows b and prefetches past it
    c = claim_ok(ann, p["id"], b["assignment"]["id"])
    assert c["task"]["id"] == tasks[2]["id"]
    expect(ann.post(a_path(b["assignment"]["id"], "release"), {}), 200)
    d = claim_ok(ann, p["id"], c["assignment"]["id"])
    # released tasks may come back: b's task is free again and first in order
    assert d["task"]["id"] == tasks[1]["id"]
    assert d["assignment"]["id"] == b["assignment"]["id"]  # the same assignment, taken up again
    # skipped task 0 is back in the pool (for others), as is task 3
    assert counts(owner, p["id"]) == {"total": 4, "open": 2, "in_progress": 2, "done": 0}


@pytest.mark.parametrize("bad", ["x", "0", "-3", "1.5", "", "99999999999999999999"])
def test_after_must_be_an_id(owner, ann, bad):
    p, _ = new_project(owner, n=2)
    expect(ann.post(next_path(p["id"], bad)), 400, "invalid_request", "after")
    assert counts(owner, p["id"])["in_progress"] == 0


def test_after_of_nobody_or_of_another_user_is_not_found(world, owner, ann):
    p, _ = new_project(owner, n=3)
    other, _ = make_annotator(world.server, owner)
    theirs = claim_ok(other, p["id"])["assignment"]["id"]
    expect(ann.post(next_path(p["id"], theirs)), 404, "not_found")
    expect(ann.post(next_path(p["id"], 2 ** 62)), 404, "not_found")
    # nothing was claimed by the refused calls
    assert counts(owner, p["id"])["in_progress"] == 1
    # another org's assignment
    b_ann = world.b["annotator"]
    pb, _ = new_project(world.b["owner"], n=1)
    b_aid = claim_ok(b_ann, pb["id"])["assignment"]["id"]
    expect(ann.post(next_path(p["id"], b_aid)), 404, "not_found")
    # and another org's project with one's own assignment
    mine = claim_ok(ann, p["id"])["assignment"]["id"]
    expect(ann.post(next_path(pb["id"], mine)), 404, "not_found")
    expect(b_ann.post(a_path(b_aid, "submit"), {"result": RESULT}), 201)


def test_after_not_live_or_in_another_project_conflicts(owner, ann):
    p, _ = new_project(owner, n=6)
    q, _ = new_project(owner, n=1)
    a = claim_ok(ann, p["id"])["assignment"]["id"]
    expect(ann.post(a_path(a, "submit"), {"result": RESULT}), 201)
    expect(ann.post(next_path(p["id"], a)), 409, "conflict", "after")  # submitted
    s = claim_ok(ann, p["id"])["assignment"]["id"]
    expect(ann.post(a_path(s, "skip")), 200)
    expect(ann.post(next_path(p["id"], s)), 409, "conflict", "after")  # skipped
    r = claim_ok(ann, p["id"])["assignment"]["id"]
    expect(ann.post(a_path(r, "release")), 200)
    expect(ann.post(next_path(p["id"], r)), 409, "conflict", "after")  # released
    # a live lease, but of another project of the caller's
    elsewhere = claim_ok(ann, q["id"])["assignment"]["id"]
    expect(ann.post(next_path(p["id"], elsewhere)), 409, "conflict", "after")
    # none of the refused calls claimed anything
    assert counts(owner, p["id"]) == {"total": 6, "open": 5, "in_progress": 0, "done": 1}
    assert claim_ok(ann, p["id"])["assignment"]["id"] == r  # the released one, taken up again


def test_roles_as_next(world, owner):
    p, _ = new_project(owner, n=2)
    mine = claim_ok(world.a["manager"], p["id"])["assignment"]["id"]
    assert claim_ok(world.a["manager"], p["id"], mine)["assignment"]["id"] != mine
    for role in ("viewer", "reviewer"):
        expect(world.a[role].post(next_path(p["id"], mine)), 403)
    expect(world.server.api().post(next_path(p["id"], mine)), 401)


def test_heartbeats_keep_the_prefetched_lease_and_an_abandoned_one_expires(owner, ann):
    p, tasks = new_project(owner, n=3, lease_seconds=1)
    a = claim_ok(ann, p["id"])["assignment"]["id"]
    b = claim_ok(ann, p["id"], a)["assignment"]["id"]
    expect(ann.request("PUT", a_path(b, "draft"), json_body={"result": {"classes": ["neg"]}}), 200)
    end = time.monotonic() + 2.5
    while time.monotonic() < end:  # both kept alive, well past the 1 s lease
        for aid in (a, b):
            expect(ann.post(a_path(aid, "heartbeat")), 200)
        time.sleep(0.25)
    assert assignment(ann, a)["state"] == "leased" and assignment(ann, b)["state"] == "leased"
    assert counts(owner, p["id"])["in_progress"] == 2

    # the prefetched lease is abandoned (no more heartbeats): it simply expires
    end = time.monotonic() + REAP_DEADLINE
    while assignment(ann, b)["state"] != "expired":
        assert time.monotonic() < end, "the abandoned prefetched lease was not reaped"
        expect(ann.post(a_path(a, "heartbeat")), 200)
        time.sleep(0.2)
    assert assignment(ann, a)["state"] == "leased"
    assert counts(owner, p["id"])["in_progress"] == 1
    # the next prefetch takes its task up again, draft kept
    again = claim_ok(ann, p["id"], a)
    assert again["assignment"]["id"] == b and again["assignment"]["draft"] == {"classes": ["neg"]}


def test_after_an_expired_current_lease_conflicts(owner, ann):
    p, _ = new_project(owner, n=3, lease_seconds=1)
    a = claim_ok(ann, p["id"])["assignment"]["id"]
    wait_state(ann, a, "expired")
    expect(ann.post(next_path(p["id"], a)), 409, "conflict", "after")
    # the client's way out: a plain next (here: the same task again, draft kept)
    assert claim_ok(ann, p["id"])["assignment"]["id"] == a


def test_rework_comes_first_and_its_task_is_never_claimed_twice(world, owner):
    """overlap 2, one task: a rejected annotation's task has a free slot, but is the author's."""
    ann, rev = world.a["annotator"], world.a["reviewer"]
    p, tasks = new_project(owner, n=2, overlap=2)
    first = claim_ok(ann, p["id"])
    an = expect(ann.post(a_path(first["assignment"]["id"], "submit"), {"result": RESULT}), 201)
    cur = claim_ok(ann, p["id"])  # the second task
    assert cur["task"]["id"] == tasks[1]["id"]
    nxt = expect(rev.get("/api/v1/projects/%d/review/next" % p["id"]), 200)
    assert nxt["annotation"]["id"] == an["id"]
    expect(rev.post("/api/v1/annotations/%d/review" % an["id"], {"verdict": "reject", "comment": "no"}), 201)

    # the prefetch past the current lease: the rework, first
    rw = claim_ok(ann, p["id"], cur["assignment"]["id"])
    assert rw["assignment"]["kind"] == "rework" and rw["assignment"]["id"] == first["assignment"]["id"]
    # past the rework: the current lease (the other live one)
    assert claim_ok(ann, p["id"], rw["assignment"]["id"])["assignment"]["id"] == cur["assignment"]["id"]
    expect(ann.post(a_path(cur["assignment"]["id"], "submit"), {"result": RESULT}), 201)
    # past the rework, nothing: task 0 has a free slot (overlap 2) but is this user's rework,
    # task 1 is submitted by this user
    assert claim(ann, p["id"], rw["assignment"]["id"]) is None
    expect(ann.post(a_path(rw["assignment"]["id"], "submit"), {"result": RESULT}), 201)
    assert claim(ann, p["id"]) is None
    # each task: one annotation (two versions for the reworked one) of the two it needs
    assert counts(owner, p["id"]) == {"total": 2, "open": 0, "in_progress": 2, "done": 0}
    for t in tasks:
        users = [x["user"] for x in owner.list_all("/api/v1/tasks/%d/annotations" % t["id"])]
        assert len(set(users)) == 1, users


# --------------------------------------------------------------------------
# races
# --------------------------------------------------------------------------


def test_parallel_after_claims_by_one_user_never_give_three_leases(world, owner):
    server = world.server
    p, _ = new_project(owner, n=10)
    api, _ = make_annotator(server, owner)
    a = claim_ok(api, p["id"])["assignment"]["id"]
    clients = [server.api(api.token) for _ in range(20)]  # one user, 20 connections
    # half ask past the current lease, half without `after`
    rs = run_parallel([lambda c=c, i=i: c.post(next_path(p["id"], a if i % 2 else None))
                       for i, c in enumerate(clients)], 60)
    bodies = [expect(r, 200) for r in rs]
    got = {b["assignment"]["id"] for b in bodies}
    assert len(got) == 2 and a in got, got
    assert counts(owner, p["id"]) == {"total": 10, "open": 8, "in_progress": 2, "done": 0}

    # all past the current one at once: the same prefetched lease each time
    rs = run_parallel([lambda c=c: c.post(next_path(p["id"], a)) for c in clients], 60)
    assert {expect(r, 200)["assignment"]["id"] for r in rs} == got - {a}
    assert counts(owner, p["id"])["in_progress"] == 2


def test_parallel_after_claims_around_a_submit(world, owner):
    """Prefetches racing the submit of `after`: 200 (a lease other than it) or 409, never a third lease."""
    server = world.server
    p, _ = new_project(owner, n=30)
    api, _ = make_annotator(server, owner)
    for _ in range(3):
        a = claim_ok(api, p["id"])["assignment"]["id"]
        clients = [server.api(api.token) for _ in range(10)]
        fns = [lambda c=c: c.post(next_path(p["id"], a)) for c in clients]
        fns.append(lambda: api.post(a_path(a, "submit"), {"result": RESULT}))
        rs = run_parallel(fns, 60)
        assert rs[-1].status_code == 201, rs[-1].text
        others = set()
        for r in rs[:-1]:
            assert r.status_code in (200, 409), (r.status_code, r.text)
            if r.status_code == 200:
                others.add(r.json()["assignment"]["id"])
        assert a not in others and len(others) <= 1, others
        assert counts(owner, p["id"])["in_progress"] <= 1
        live = [claim_ok(api, p["id"])["assignment"]["id"]]
        if others:
            assert live == list(others)
        expect(api.post(a_path(live[0], "submit"), {"result": RESULT}), 201)
        assert counts(owner, p["id"])["in_progress"] == 0


def test_users_racing_with_after_for_the_last_slot(world, owner):
    server = world.server
    n_users = 10
    p, _ = new_project(owner, n=n_users + 1)
    users = [make_annotator(server, owner)[0] for _ in range(n_users)]
    current = [claim_ok(u, p["id"])["assignment"]["id"] for u in users]
    assert counts(owner, p["id"]) == {"total": n_users + 1, "open": 1, "in_progress": n_users, "done": 0}
    # each user asks past their current lease twice at once
    fns = []
    for u, a in zip(users, current):
        for _ in range(2):
            fns.append(lambda u=u, a=a: u.post(next_path(p["id"], a)))
    rs = run_parallel(fns, 60)
    won = {}
    for i, r in enumerate(rs):
        assert r.status_code in (200, 204), (r.status_code, r.text)
        if r.status_code == 200:
            won.setdefault(i // 2, set()).add(r.json()["assignment"]["id"])
    assert len(won) == 1 and all(len(v) == 1 for v in won.values()), won
    assert counts(owner, p["id"]) == {"total": n_users + 1, "open": 0, "in_progress": n_users + 1, "done": 0}


def _user_lease_sampler(db_path, pid, stop, found):
    """SQLite only: no user ever holds more than two live normal leases in the project."""
    con = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True, timeout=10, isolation_level=None,
                          check_same_thread=False)
    try:
        while not stop.is_set():
            try:
                rows = con.execute("SELECT user_id, COUNT(*) FROM assignments WHERE project_id = ?"
                                   " AND state = 'leased' AND kind = 'normal' GROUP BY user_id"
                                   " HAVING COUNT(*) > 2", (pid,)).fetchall()
            except sqlite3.OperationalError:
                rows = []
            found.extend(rows)
            found_samples[0] += 1
            stop.wait(0.02)
    finally:
        con.close()


found_samples = [0]


def test_a_crowd_streaming_with_prefetch(server, admin):
    """Annotators running the workbench's loop (show, prefetch, submit, show the prefetched)."""
    from test_45_queue_concurrency import make_annotators, make_org
    n_tasks, n_clients, overlap = (90, 8, 3) if SANITIZED else (240, 16, 3)
    owner = make_org(server, admin, "pf")
    crowd = make_annotators(server, owner, n_clients, "pf")
    p, _ = new_project(owner, n=n_tasks, overlap=overlap)
    pid = p["id"]
    db_path = db_path_of(server)
    checker = Checker(db_path, pid, overlap)
    stop, too_many = threading.Event(), []
    sampler = None
    if db_path is not None:
        found_samples[0] = 0
        sampler = threading.Thread(target=_user_lease_sampler, args=(db_path, pid, stop, too_many))
        sampler.start()
    acked, errors = {}, []
    lock = threading.Lock()

    def annotator(api, user):
        try:
            cur = claim(api, pid)
            while cur is not None:
                nxt = claim(api, pid, cur["assignment"]["id"])
                if nxt is not None:
                    assert nxt["assignment"]["id"] != cur["assignment"]["id"]
                    assert nxt["task"]["id"] != cur["task"]["id"]
                res = {"classes": ["pos" if user["id"] % 2 else "neg"]}
                an = expect(api.post(a_path(cur["assignment"]["id"], "submit"), {"result": res}), 201)
                with lock:
                    acked[an["id"]] = (an["task"], user["id"])
                cur = nxt if nxt is not None else claim(api, pid)
        except Exception as e:  # reported below
            errors.append(repr(e))

    try:
        threads = [threading.Thread(target=annotator, args=c) for c in crowd]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
    finally:
        stop.set()
        if sampler:
            sampler.join()
        checker.finish()
    assert not errors, errors[:3]
    assert checker.enough(), "the checker hardly ran (%d samples)" % checker.samples
    assert not too_many, too_many[:5]
    assert counts(owner, pid) == {"total": n_tasks, "open": 0, "in_progress": 0, "done": n_tasks}
    per_task = {}
    for task, user in acked.values():
        per_task.setdefault(task, []).append(user)
    assert len(per_task) == n_tasks
    for task, us in per_task.items():
        assert len(us) == overlap and len(set(us)) == overlap, (task, us)
