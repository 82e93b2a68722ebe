"""
Project administration: PATCH /projects/{id} (settings, overlap recount),
PATCH /users/{id} (roles), active annotators, review lease release.
"""

import copy
import os
import sqlite3
import subprocess

import pytest

from conftest import TEXT_CONFIG, expect, import_tasks, make_project, password_for, unique
from test_55_events import stream_ok

PROJECTS = "/api/v1/projects"
RESULT = {"classes": ["pos"]}


def patch(client, path, body):
    return client.request("PATCH", path, json_body=body)


def project_with_tasks(owner, n, **fields):
    p = make_project(owner, **fields)
    records = [{"key": "t%d" % i, "data": {"text": "admin text %d" % i}} for i in range(n)]
    assert expect(import_tasks(owner, p["id"], records), 200)["created"] == n
    return p


def new_user(world, role, org=None):
    """A fresh user of org A (or `org`) with `role`, logged in: (user, client)."""
    org = org or world.a
    login = unique("pa_" + role)
    u = expect(org["owner"].post("/api/v1/users", {"login": login, "password": password_for(login),
                                                   "name": "PA " + role, "role": role}), 201)
    return u, world.server.api(world.server.token(login))


def get_project(client, pid):
    return expect(client.get("%s/%d" % (PROJECTS, pid)), 200)


def tasks_by_key(client, pid):
    return {t["key"]: t for t in client.list_all("%s/%d/tasks" % (PROJECTS, pid))}


def audit_rows(server, action, object_id):
    """The audit rows of `action` on `object_id`, read from the store itself."""
    q = ("SELECT user_id, detail FROM audit WHERE action = '%s' AND object_id = %d ORDER BY id"
         % (action, object_id))
    if server.db_url:
        cp = subprocess.run(["psql", server.db_url, "-qAtF", "|", "-c", q], capture_output=True,
                            text=True, timeout=30, check=True)
        return [tuple(line.split("|", 1)) for line in cp.stdout.splitlines() if line]
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(server.data, "annotd.db"), uri=True,
                         timeout=10)
    try:
        return [(str(u), d) for u, d in db.execute(q).fetchall()]
    finally:
        db.close()


# --------------------------------------------------------------------------
# PATCH /projects/{id}
# --------------------------------------------------------------------------


def test_patch_project_fields(world):
    a = world.a
    p = project_with_tasks(a["owner"], 2)
    config = copy.deepcopy(TEXT_CONFIG)
    config["classes"]["choices"] = ["pos", "neg", "mixed"]
    body = {"name": unique("renamed"), "config": config, "overlap": 2, "lease_seconds": 120}
    got = expect(patch(a["manager"], "%s/%d" % (PROJECTS, p["id"]), body), 200)
    assert got["name"] == body["name"] and got["config"] == config
    assert got["overlap"] == 2 and got["lease_seconds"] == 120
    assert got["kind"] == p["kind"] and got["id"] == p["id"] and got["created_at"] == p["created_at"]
    assert got == get_project(a["viewer"], p["id"])
    # the new config is the one submits are checked against
    c = expect(a["annotator"].post("%s/%d/next" % (PROJECTS, p["id"])), 200)
    expect(a["annotator"].post("/api/v1/assignments/%d/submit" % c["assignment"]["id"],
                               {"result": {"classes": ["mixed"]}}), 201)
    rows = audit_rows(world.server, "project.update", p["id"])
    assert rows and rows[-1][0] == str(a.users["manager"]["id"]), rows
    assert "overlap 1->2" in rows[-1][1] and "config" in rows[-1][1], rows


def test_patch_project_one_field_keeps_others(world):
    a = world.a
    p = make_project(a["owner"], overlap=3, lease_seconds=900)
    got = expect(patch(a["owner"], "%s/%d" % (PROJECTS, p["id"]), {"name": "only the name"}), 200)
    assert got["name"] == "only the name"
    assert (got["config"], got["overlap"], got["lease_seconds"]) == (p["config"], 3, 900)
    # the same kind may be sent back with the rest of the object
    expect(patch(a["owner"], "%s/%d" % (PROJECTS, p["id"]), {"kind": "text", "overlap": 3}), 200)


@pytest.mark.parametrize("body,path", [
    ({"kind": "image"}, "kind"),
    ({"kind": "image", "name": "x"}, "kind"),
    ({"kind": 5}, "kind"),
    ({"colour": "red"}, "colour"),
    ({"id": 1, "name": "x"}, "id"),
    ({"counts": {}}, "counts"),
    ({"org": 1}, "org"),
    ({"name": ""}, "name"),
    ({"name": None}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"overlap": 0}, "overlap"),
    ({"overlap": 101}, "overlap"),
    ({"overlap": "2"}, "overlap"),
    ({"overlap": True}, "overlap"),
    ({"lease_seconds": 0}, "lease_seconds"),
    ({"lease_seconds": 86401}, "lease_seconds"),
    ({"config": []}, "config"),
    ({"config": None}, "config"),
    ({"config": {"classes": {"choices": []}}}, "config.classes.choices"),
    ({}, ""),
])
def test_patch_project_bad_body(world, body, path):
    a = world.a
    p = make_project(a["owner"])
    r = patch(a["owner"], "%s/%d" % (PROJECTS, p["id"]), body)
    err = expect(r, 400, "invalid_request")
    assert err["error"].get("path", "") .startswith(path), err
    assert get_project(a["owner"], p["id"]) == p  # nothing changed


def test_patch_project_config_checked_per_kind(world):
    a = world.a
    p = make_project(a["owner"], kind="image")
    bad = {"tools": ["lasso"], "labels": [{"name": "car"}]}
    err = expect(patch(a["owner"], "%s/%d" % (PROJECTS, p["id"]), {"config": bad}), 400,
                 "invalid_request")
    assert err["error"]["path"].startswith("config"), err
    good = {"tools": ["box", "polyline"], "labels": [{"name": "car"}, {"name": "bus"}]}
    got = expect(patch(a["owner"], "%s/%d" % (PROJECTS, p["id"]), {"config": good}), 200)
    assert got["config"] == good


def test_patch_project_not_json(world):
    a = world.a
    p = make_project(a["owner"])
    r = a["owner"].request("PATCH", "%s/%d" % (PROJECTS, p["id"]), data=b"{nope",
                           headers={"Content-Type": "application/json"})
    expect(r, 400, "invalid_json")


def test_patch_project_unknown_and_foreign(world):
    expect(patch(world.a["owner"], "%s/999999999" % PROJECTS, {"name": "x"}), 404, "not_found")
    expect(patch(world.a["owner"], "%s/%d" % (PROJECTS, world.b.project["id"]), {"name": "x"}),
           404, "not_found")
    expect(patch(world.a["annotator"], "%s/%d" % (PROJECTS, world.a.project["id"]),
                 {"name": "x"}), 403, "forbidden")


def test_raise_overlap_reopens_done_tasks(world):
    a = world.a
    p = project_with_tasks(a["owner"], 2)
    _, w1 = new_user(world, "annotator")
    _, w2 = new_user(world, "annotator")
    c = expect(w1.post("%s/%d/next" % (PROJECTS, p["id"])), 200)
    expect(w1.post("/api/v1/assignments/%d/submit" % c["assignment"]["id"], {"result": RESULT}), 201)
    assert get_project(a["owner"], p["id"])["counts"]["done"] == 1
    # w2 is served only the other task while overlap is 1 ...
    c2 = expect(w2.post("%s/%d/next" % (PROJECTS, p["id"])), 200)
    assert c2["task"]["id"] != c["task"]["id"]
    expect(w2.post("/api/v1/assignments/%d/submit" % c2["assignment"]["id"], {"result": RESULT}),
           201)
    expect(w2.post("%s/%d/next" % (PROJECTS, p["id"])), 204)
    # ... and, once it is 2, the first one too; both tasks are in progress again
    got = expect(patch(a["owner"], "%s/%d" % (PROJECTS, p["id"]), {"overlap": 2}), 200)
    assert got["counts"]["done"] == 0 and got["counts"]["in_progress"] == 2
    assert got["counts"]["open"] == 0 and got["counts"]["total"] == 2
    assert {t["state"] for t in tasks_by_key(a["owner"], p["id"]).values()} == {"in_progress"}
    c3 = expect(w2.post("%s/%d/next" % (PROJECTS, p["id"])), 200)
    assert c3["task"]["id"] == c["task"]["id"]
    expect(w2.post("/api/v1/assignments/%d/submit" % c3["assignment"]["id"], {"result": RESULT}),
           201)
    counts = get_project(a["owner"], p["id"])["counts"]
    assert counts["done"] == 1 and counts["in_progress"] == 1


def test_lower_overlap_finishes_tasks_or_is_refused(world):
    a = world.a
    p = project_with_tasks(a["owner"], 3, overlap=2)
    _, w1 = new_user(world, "annotator")
    _, w2 = new_user(world, "annotator")
    c = expect(w1.post("%s/%d/next" % (PROJECTS, p["id"])), 200)
    expect(w1.post("/api/v1/assignments/%d/submit" % c["assignment"]["id"], {"result": RESULT}), 201)
    c2 = expect(w2.post("%s/%d/next" % (PROJECTS, p["id"])), 200)
    assert c2["task"]["id"] == c["task"]["id"]  # the same task: 1 submitted + 1 leased
    # overlap 1 would leave that task with 2 of 1 slots: refused, nothing changes
    err = expect(patch(a["owner"], "%s/%d" % (PROJECTS, p["id"]), {"overlap": 1, "name": "n"}),
                 409, "conflict", "overlap")
    assert "1 task" in err["error"]["message"]
    same = get_project(a["owner"], p["id"])
    assert same["overlap"] == 2 and same["name"] == p["name"]
    # once the lease is handed back, it goes: the submitted task is done
    expect(w2.post("/api/v1/assignments/%d/release" % c2["assignment"]["id"]), 200)
    got = expect(patch(a["owner"], "%s/%d" % (PROJECTS, p["id"]), {"overlap": 1}), 200)
    assert got["counts"] == dict(got["counts"], total=3, done=1, in_progress=0, open=2)
    states = {t["id"]: t["state"] for t in tasks_by_key(a["owner"], p["id"]).values()}
    assert states[c["task"]["id"]] == "done"
    # the done task is not served again; the other two are, one each
    seen = set()
    for w in (w1, w2):
        n = expect(w.post("%s/%d/next" % (PROJECTS, p["id"])), 200)
        assert n["task"]["id"] != c["task"]["id"]
        seen.add(n["task"]["id"])
        expect(w.post("/api/v1/assignments/%d/submit" % n["assignment"]["id"], {"result": RESULT}),
               201)
    assert len(seen) == 2
    expect(w1.post("%s/%d/next" % (PROJECTS, p["id"])), 204)
    counts = get_project(a["owner"], p["id"])["counts"]
    assert counts["done"] == 3 and counts["open"] == 0 and counts["in_progress"] == 0


def test_patch_project_event(world):
    a = world.a
    p = make_project(a["owner"])
    s = stream_ok(world.server.base, a["viewer"].token, "projects,project.%d" % p["id"])
    try:
        expect(patch(a["manager"], "%s/%d" % (PROJECTS, p["id"]), {"overlap": 2}), 200)
        ev, data = s.next_matching(lambda e, d: e.get("event") == "project" and
                                   d.get("project") == p["id"])
        assert data["action"] == "updated"
        ev2, data2 = s.next_matching(lambda e, d: e.get("event") == "project" and
                                     d.get("project") == p["id"])
        assert data2["action"] == "updated"
        assert {"counts", "reslotted"} <= set(data) | set(data2)
    finally:
        s.close()


# --------------------------------------------------------------------------
# active annotators
# --------------------------------------------------------------------------


def test_active_annotators(world):
    a = world.a
    p = project_with_tasks(a["owner"], 4, overlap=2)
    assert get_project(a["owner"], p["id"])["active_annotators"] == 0
    _, w1 = new_user(world, "annotator")
    _, w2 = new_user(world, "annotator")
    c1 = expect(w1.post("%s/%d/next" % (PROJECTS, p["id"])), 200)
    assert get_project(a["viewer"], p["id"])["active_annotators"] == 1
    expect(w1.post("%s/%d/next" % (PROJECTS, p["id"])), 200)  # the same lease back: still one user
    c2 = expect(w2.post("%s/%d/next" % (PROJECTS, p["id"])), 200)
    assert get_project(a["viewer"], p["id"])["active_annotators"] == 2
    listed = {x["id"]: x for x in a["annotator"].list_all(PROJECTS)}
    assert listed[p["id"]]["active_annotators"] == 2
    # a submit ends the lease; a release too
    expect(w1.post("/api/v1/assignments/%d/submit" % c1["assignment"]["id"], {"result": RESULT}),
           201)
    assert get_project(a["viewer"], p["id"])["active_annotators"] == 1
    expect(w2.post("/api/v1/assignments/%d/release" % c2["assignment"]["id"]), 200)
    assert get_project(a["viewer"], p["id"])["active_annotators"] == 0
    assert {x["id"]: x for x in a["viewer"].list_all(PROJECTS)}[p["id"]]["active_annotators"] == 0


def test_active_annotators_ignore_run_out_leases(world):
    a = world.a
    p = project_with_tasks(a["owner"], 1, lease_seconds=1)
    _, w = new_user(world, "annotator")
    expect(w.post("%s/%d/next" % (PROJECTS, p["id"])), 200)
    assert get_project(a["owner"], p["id"])["active_annotators"] == 1
    import time
    time.sleep(1.3)
    assert get_project(a["owner"], p["id"])["active_annotators"] == 0


# --------------------------------------------------------------------------
# PATCH /users/{id}
# --------------------------------------------------------------------------


def test_manager_changes_roles(world):
    a = world.a
    u, client = new_user(world, "annotator")
    got = expect(patch(a["manager"], "/api/v1/users/%d" % u["id"], {"role": "reviewer"}), 200)
    assert got["role"] == "reviewer" and got["id"] == u["id"] and got["login"] == u["login"]
    assert expect(a["manager"].get("/api/v1/users/%d" % u["id"]), 200)["role"] == "reviewer"
    # the user's next request already has the new role
    expect(client.get("%s/%d/review/next" % (PROJECTS, a.project["id"])), (200, 204))
    expect(client.post("%s/%d/next" % (PROJECTS, a.project["id"])), 403, "forbidden")
    got = expect(patch(a["manager"], "/api/v1/users/%d" % u["id"],
                       {"role": "manager", "name": "Now Manager"}), 200)
    assert got["role"] == "manager" and got["name"] == "Now Manager"
    expect(client.get("/api/v1/users"), 200)
    rows = audit_rows(world.server, "user.update", u["id"])
    assert [r[1] for r in rows] == ["role annotator->reviewer", "role reviewer->manager, name"], rows
    assert rows[0][0] == str(a.users["manager"]["id"])


def test_only_owners_make_or_change_owners(world):
    a = world.a
    u, _ = new_user(world, "viewer")
    expect(patch(a["manager"], "/api/v1/users/%d" % u["id"], {"role": "owner"}), 403, "forbidden",
           "role")
    got = expect(patch(a["owner"], "/api/v1/users/%d" % u["id"], {"role": "owner"}), 200)
    assert got["role"] == "owner"
    # a manager may not touch an owner, not even the name
    expect(patch(a["manager"], "/api/v1/users/%d" % u["id"], {"role": "viewer"}), 403, "forbidden")
    expect(patch(a["manager"], "/api/v1/users/%d" % u["id"], {"name": "x"}), 403, "forbidden")
    got = expect(patch(a["owner"], "/api/v1/users/%d" % u["id"], {"role": "viewer"}), 200)
    assert got["role"] == "viewer"


def test_no_one_raises_their_own_role(world):
    a = world.a
    m, mc = new_user(world, "manager")
    expect(patch(mc, "/api/v1/users/%d" % m["id"], {"role": "owner"}), 403, "forbidden", "role")
    # lowering oneself is allowed, and takes effect at once
    got = expect(patch(mc, "/api/v1/users/%d" % m["id"], {"role": "reviewer"}), 200)
    assert got["role"] == "reviewer"
    expect(patch(mc, "/api/v1/users/%d" % m["id"], {"role": "manager"}), 403, "forbidden")
    expect(mc.get("/api/v1/users"), 403, "forbidden")


def test_org_keeps_an_owner(world):
    admin = world.admin
    login = unique("solo")
    org = expect(admin.post("/api/v1/orgs", {"name": unique("Solo org"), "owner": {
        "login": login, "password": password_for(login), "name": "Solo"}}), 201)
    owner = world.server.api(world.server.token(login))
    oid = org["owner"]["id"]
    err = expect(patch(owner, "/api/v1/users/%d" % oid, {"role": "manager"}), 409, "conflict",
                 "role")
    assert "owner" in err["error"]["message"]
    assert expect(owner.get("/api/v1/me"), 200)["role"] == "owner"
    # the name of the last owner may change, and with a second owner the first may step down
    expect(patch(owner, "/api/v1/users/%d" % oid, {"name": "Solo Owner"}), 200)
    login2 = unique("second")
    second = expect(owner.post("/api/v1/users", {"login": login2, "password": password_for(login2),
                                                 "name": "Second", "role": "owner"}), 201)
    got = expect(patch(owner, "/api/v1/users/%d" % oid, {"role": "manager"}), 200)
    assert got["role"] == "manager"
    second_client = world.server.api(world.server.token(login2))
    expect(patch(second_client, "/api/v1/users/%d" % second["id"], {"role": "viewer"}), 409,
           "conflict")


@pytest.mark.parametrize("body,path", [
    ({"role": "king"}, "role"),
    ({"role": 3}, "role"),
    ({"name": ""}, "name"),
    ({"name": 7}, "name"),
    ({"login": "new"}, "login"),
    ({"password": "0123456789xx"}, "password"),
    ({"org": 1}, "org"),
    ({}, ""),
])
def test_patch_user_bad_body(world, body, path):
    u = world.a.extra_user
    err = expect(patch(world.a["owner"], "/api/v1/users/%d" % u["id"], body), 400,
                 "invalid_request")
    assert err["error"].get("path", "") == path, err


def test_patch_user_foreign_and_unknown(world):
    expect(patch(world.a["owner"], "/api/v1/users/%d" % world.b.extra_user["id"],
                 {"role": "annotator"}), 404, "not_found")
    expect(patch(world.a["owner"], "/api/v1/users/999999999", {"role": "annotator"}), 404,
           "not_found")
    expect(patch(world.a["reviewer"], "/api/v1/users/%d" % world.a.users["reviewer"]["id"],
                 {"name": "me"}), 403, "forbidden")


# --------------------------------------------------------------------------
# POST /annotations/{id}/review/release
# --------------------------------------------------------------------------


def submitted(world, p, n):
    """n annotations by fresh annotators on project p (overlap 1): their ids, oldest first."""
    ids = []
    _, w = new_user(world, "annotator")
    for _ in range(n):
        c = expect(w.post("%s/%d/next" % (PROJECTS, p["id"])), 200)
        ids.append(expect(w.post("/api/v1/assignments/%d/submit" % c["assignment"]["id"],
                                 {"result": RESULT}), 201)["id"])
    return ids


def test_review_release_skips_to_the_next(world):
    a = world.a
    p = project_with_tasks(a["owner"], 2)
    first, second = submitted(world, p, 2)
    _, r1 = new_user(world, "reviewer")
    _, r2 = new_user(world, "reviewer")
    path = "%s/%d/review/next" % (PROJECTS, p["id"])
    assert expect(r1.get(path), 200)["annotation"]["id"] == first
    # r2 gets the other one while r1 holds the first
    assert expect(r2.get(path), 200)["annotation"]["id"] == second
    expect(r2.post("/api/v1/annotations/%d/review/release" % second), 204)
    # r1 skips: the next offer is the one r2 handed back, not the one r1 skipped
    expect(r1.post("/api/v1/annotations/%d/review/release" % first), 204)
    expect(r1.post("/api/v1/annotations/%d/review/release" % first), 409, "conflict")
    assert expect(r1.get(path), 200)["annotation"]["id"] == second
    # r2 is offered the first one at once (r1 released it)
    assert expect(r2.get(path), 200)["annotation"]["id"] == first
    rv = expect(r2.post("/api/v1/annotations/%d/review" % first, {"verdict": "accept"}), 201)
    assert rv["reviewer"] and rv["verdict"] == "accept"
    # a released annotation with nothing else left comes back to the reviewer who skipped it
    expect(r1.post("/api/v1/annotations/%d/review/release" % second), 204)
    assert expect(r1.get(path), 200)["annotation"]["id"] == second
    expect(r1.post("/api/v1/annotations/%d/review" % second, {"verdict": "accept"}), 201)
    expect(r1.post("/api/v1/annotations/%d/review/release" % second), 409, "conflict")
    expect(r1.get(path), 204)
    counts = get_project(a["owner"], p["id"])["counts"]
    assert counts["to_review"] == 0 and counts["accepted"] == 2


def test_review_release_not_held(world):
    a = world.a
    p = project_with_tasks(a["owner"], 1)
    (an,) = submitted(world, p, 1)
    _, r1 = new_user(world, "reviewer")
    _, r2 = new_user(world, "reviewer")
    expect(r1.post("/api/v1/annotations/%d/review/release" % an), 409, "conflict")  # not leased
    expect(r1.get("%s/%d/review/next" % (PROJECTS, p["id"])), 200)
    expect(r2.post("/api/v1/annotations/%d/review/release" % an), 409, "conflict")  # r1's lease
    expect(r2.post("/api/v1/annotations/999999999/review/release"), 404, "not_found")
    expect(a["annotator"].post("/api/v1/annotations/%d/review/release" % an), 403, "forbidden")
    # still r1's: a verdict by r2 is refused
    expect(r2.post("/api/v1/annotations/%d/review" % an, {"verdict": "accept"}), 409, "conflict")


def test_overlap_changes_under_concurrent_claims(world):
    """Overlap raised and lowered while annotators claim and submit: every task's state and the
    project's counts still follow its annotations (PostgreSQL: claims wait for the recount)."""
    import json
    import threading
    a = world.a
    p = project_with_tasks(a["owner"], 40, overlap=2)
    workers = [new_user(world, "annotator")[1] for _ in range(4)]
    stop = threading.Event()
    failures = []

    def work(client):
        try:
            while not stop.is_set():
                r = client.post("%s/%d/next" % (PROJECTS, p["id"]))
                if r.status_code == 204:
                    if stop.wait(0.02):
                        return
                    continue
                c = expect(r, 200)
                r = client.post("/api/v1/assignments/%d/submit" % c["assignment"]["id"],
                                {"result": RESULT})
                expect(r, 201)  # a lowered overlap never takes a held slot (409 instead)
        except AssertionError as e:
            failures.append(str(e))

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    outcomes = []
    try:
        for ov in (3, 1, 4, 2, 3, 1, 4):
            r = patch(a["owner"], "%s/%d" % (PROJECTS, p["id"]), {"overlap": ov})
            outcomes.append(r.status_code)
            assert r.status_code in (200, 409), r.text
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert not failures, failures
    assert 200 in outcomes
    final = get_project(a["owner"], p["id"])
    overlap = final["overlap"]
    raw = expect(a["owner"].get("%s/%d/export?format=jsonl" % (PROJECTS, p["id"])), 200)
    n_ann = {}
    for line in raw.decode().splitlines():
        rec = json.loads(line)
        n_ann[rec["task"]["id"]] = len(rec["annotations"])
    tasks = a["owner"].list_all("%s/%d/tasks" % (PROJECTS, p["id"]))
    for t in tasks:
        n = n_ann[t["id"]]
        assert n <= 4, (t, n)
        want = "done" if n >= overlap else ("in_progress" if n > 0 else "open")
        assert t["state"] == want, (t, n, overlap, outcomes)
    states = [t["state"] for t in tasks]
    counts = final["counts"]
    assert counts["done"] == states.count("done"), (counts, outcomes)
    assert counts["in_progress"] == states.count("in_progress"), (counts, outcomes)
    assert counts["open"] == states.count("open"), counts
    assert final["active_annotators"] == 0
