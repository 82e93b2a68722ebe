"""
Review: GET /projects/{id}/review/next, POST /annotations/{id}/review,
GET /annotations/{id}/reviews; rework of rejected annotations; review
counts in the project's counts.

Every test works on projects of its own (in org A of the world), so the
order of tests does not matter. Reviewers are org A's reviewer and manager
(and, where a third is needed, a reviewer made for the test).
"""

import threading

from conftest import assert_id, assert_time, expect, import_tasks, make_project, password_for, unique

RESULT = {"classes": ["pos"]}
FIXED = {"classes": ["neg"]}


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def new_project(owner, n=1, overlap=1):
    p = make_project(owner, overlap=overlap)
    records = [{"key": "r%d" % i, "data": {"text": "review text %d" % i}} for i in range(n)]
    expect(import_tasks(owner, p["id"], records), 200)
    tasks = sorted(owner.list_all("/api/v1/projects/%d/tasks" % p["id"]), key=lambda t: t["id"])
    return p, tasks


def claim(client, pid):
    r = client.post("/api/v1/projects/%d/next" % pid)
    body = expect(r, (200, 204))
    return None if r.status_code == 204 else body


def submit(client, aid, result=RESULT):
    return client.post("/api/v1/assignments/%d/submit" % aid, {"result": result})


def annotate(client, pid, result=RESULT):
    """Claim and submit one task; returns the annotation."""
    c = claim(client, pid)
    assert c is not None, "nothing to claim"
    return expect(submit(client, c["assignment"]["id"], result), 201)


def review_next(client, pid):
    """GET review/next; 200 -> the body, 204 -> None."""
    r = client.get("/api/v1/projects/%d/review/next" % pid)
    body = expect(r, (200, 204))
    if r.status_code == 204:
        assert r.content == b""
        return None
    assert set(body) == {"annotation", "task"}, body
    assert set(body["annotation"]) >= {"id", "task", "user", "version", "source", "result",
                                       "created_at"}, body
    assert body["annotation"]["task"] == body["task"]["id"]
    return body


def review(client, anid, verdict, comment=None, result=None):
    body = {"verdict": verdict}
    if comment is not None:
        body["comment"] = comment
    if result is not None:
        body["result"] = result
    return client.post("/api/v1/annotations/%d/review" % anid, body)


def review_ok(client, anid, verdict, comment=None, result=None):
    body = expect(review(client, anid, verdict, comment, result), 201)
    check_review_shape(body)
    assert body["annotation"] == anid and body["verdict"] == verdict
    return body


def check_review_shape(body):
    assert set(body) == {"id", "annotation", "task", "project", "reviewer", "verdict", "comment",
                         "result", "fixed_annotation", "created_at"}, body
    assert_id(body["id"])
    assert_id(body["reviewer"])
    assert isinstance(body["comment"], str)
    assert_time(body["created_at"])


def reviews_of(client, anid):
    return client.list_all("/api/v1/annotations/%d/reviews" % anid)


def counts(client, pid):
    return expect(client.get("/api/v1/projects/%d" % pid), 200)["counts"]


def review_counts(client, pid):
    c = counts(client, pid)
    return {k: c[k] for k in ("to_review", "reviewed", "accepted", "rejected")}


def new_reviewer(owner):
    login = unique("rv")
    expect(owner.post("/api/v1/users", {"login": login, "password": password_for(login),
                                        "name": "Reviewer", "role": "reviewer"}), 201)
    return login


# --------------------------------------------------------------------------
# the flows
# --------------------------------------------------------------------------


def test_accept(world):
    owner, ann, rev = world.a["owner"], world.a["annotator"], world.a["reviewer"]
    p, tasks = new_project(owner, n=1)
    assert review_counts(owner, p["id"]) == {"to_review": 0, "reviewed": 0, "accepted": 0,
                                             "rejected": 0}
    assert review_next(rev, p["id"]) is None
    an = annotate(ann, p["id"])
    assert review_counts(owner, p["id"])["to_review"] == 1

    got = review_next(rev, p["id"])
    assert got["annotation"]["id"] == an["id"]
    assert got["annotation"]["result"] == RESULT
    assert got["task"]["id"] == tasks[0]["id"] and got["task"]["data"] == tasks[0]["data"]
    # asking again returns the same lease
    assert review_next(rev, p["id"])["annotation"]["id"] == an["id"]

    rv = review_ok(rev, an["id"], "accept", "fine")
    assert rv["reviewer"] == world.a.users["reviewer"]["id"]
    assert rv["task"] == tasks[0]["id"] and rv["project"] == p["id"]
    assert rv["comment"] == "fine" and rv["result"] is None and rv["fixed_annotation"] is None
    assert reviews_of(rev, an["id"]) == [rv]
    # the author reads the reviews of their own annotation
    assert reviews_of(ann, an["id"]) == [rv]
    assert review_counts(owner, p["id"]) == {"to_review": 0, "reviewed": 1, "accepted": 1,
                                             "rejected": 0}
    c = counts(owner, p["id"])
    assert (c["total"], c["done"]) == (1, 1)
    # one verdict per annotation; nothing left
    expect(review(rev, an["id"], "reject"), 409, "conflict")
    expect(review(world.a["manager"], an["id"], "accept"), 409, "conflict")
    assert review_next(rev, p["id"]) is None


def test_reject_returns_a_rework_first(world):
    owner, ann, rev = world.a["owner"], world.a["annotator"], world.a["reviewer"]
    p, tasks = new_project(owner, n=3)
    an = annotate(ann, p["id"])
    assert an["version"] == 1
    aid = None
    for a in ann.list_all("/api/v1/tasks/%d/annotations" % an["task"]):
        assert a["id"] == an["id"]
    assert review_next(rev, p["id"])["annotation"]["id"] == an["id"]
    rv = review_ok(rev, an["id"], "reject", "the sentiment is negative")
    assert review_counts(owner, p["id"]) == {"to_review": 0, "reviewed": 1, "accepted": 0,
                                             "rejected": 1}
    # the slot stays taken: the task is still done (overlap 1)
    assert counts(owner, p["id"])["done"] == 1

    # the author's next claim returns the same assignment, as a rework, first
    c = claim(ann, p["id"])
    assert c is not None
    a = c["assignment"]
    assert a["kind"] == "rework", c
    assert c["task"]["id"] == an["task"]
    assert a["draft"] == RESULT
    assert a["review"]["comment"] == "the sentiment is negative"
    assert a["review"]["id"] == rv["id"] and a["review"]["verdict"] == "reject"
    aid = a["id"]
    got = expect(ann.get("/api/v1/assignments/%d" % aid), 200)
    assert (got["kind"], got["state"]) == ("rework", "leased")
    # asked again: the same rework
    assert claim(ann, p["id"])["assignment"]["id"] == aid
    # a rework cannot be skipped; released, it comes back first again
    expect(ann.post("/api/v1/assignments/%d/skip" % aid), 409, "conflict")
    expect(ann.post("/api/v1/assignments/%d/release" % aid), 200)
    assert claim(ann, p["id"])["assignment"]["id"] == aid
    assert counts(owner, p["id"])["done"] == 1

    # resubmitted: version 2, back in review
    an2 = expect(submit(ann, aid, FIXED), 201)
    assert an2["version"] == 2 and an2["task"] == an["task"] and an2["result"] == FIXED
    got = expect(ann.get("/api/v1/assignments/%d" % aid), 200)
    assert (got["kind"], got["state"]) == ("normal", "submitted")
    r = submit(ann, aid, FIXED)
    assert r.status_code == 409 and r.json()["annotation"]["id"] == an2["id"], r.text
    assert review_counts(owner, p["id"])["to_review"] == 1
    c = counts(owner, p["id"])
    assert (c["done"], c["in_progress"]) == (1, 0)
    versions = ann.list_all("/api/v1/tasks/%d/annotations" % an["task"])
    assert [v["version"] for v in versions] == [1, 2]

    got = review_next(rev, p["id"])
    assert got["annotation"]["id"] == an2["id"] and got["annotation"]["version"] == 2
    review_ok(rev, an2["id"], "accept")
    assert review_counts(owner, p["id"]) == {"to_review": 0, "reviewed": 2, "accepted": 1,
                                             "rejected": 1}
    # the next claim is a normal task, never the reviewed one again
    c = claim(ann, p["id"])
    assert c["assignment"]["kind"] == "normal" and c["task"]["id"] != an["task"]
    assert "review" not in c["assignment"]
    expect(ann.post("/api/v1/assignments/%d/release" % c["assignment"]["id"]), 200)


def test_reject_while_a_lease_is_held(world):
    """A rework comes before the author's live normal lease, which stays theirs."""
    owner, ann, rev = world.a["owner"], world.a["annotator"], world.a["reviewer"]
    p, tasks = new_project(owner, n=3)
    an = annotate(ann, p["id"])
    held = claim(ann, p["id"])["assignment"]
    review_ok(rev, an["id"], "reject", "again")
    c = claim(ann, p["id"])
    assert c["assignment"]["kind"] == "rework" and c["task"]["id"] == an["task"]
    expect(submit(ann, c["assignment"]["id"]), 201)
    c = claim(ann, p["id"])
    assert c["assignment"]["id"] == held["id"] and c["assignment"]["kind"] == "normal"
    expect(submit(ann, held["id"]), 201)


def test_fix(world):
    owner, ann, rev = world.a["owner"], world.a["annotator"], world.a["reviewer"]
    p, tasks = new_project(owner, n=1)
    an = annotate(ann, p["id"])
    rv = review_ok(rev, an["id"], "fix", "it is negative", FIXED)
    assert rv["result"] == FIXED
    assert_id(rv["fixed_annotation"])
    versions = owner.list_all("/api/v1/tasks/%d/annotations" % an["task"])
    assert [v["id"] for v in versions] == [an["id"], rv["fixed_annotation"]]
    fixed = versions[1]
    assert fixed["version"] == 2 and fixed["source"] == "review"
    assert fixed["user"] == world.a.users["reviewer"]["id"]
    assert fixed["result"] == FIXED
    assert review_counts(owner, p["id"]) == {"to_review": 0, "reviewed": 1, "accepted": 1,
                                             "rejected": 0}
    # a fix is not itself in review, and nothing comes back to the author
    expect(review(world.a["manager"], fixed["id"], "accept"), 409, "conflict")
    assert review_next(rev, p["id"]) is None
    assert claim(ann, p["id"]) is None
    # the export has both versions
    r = owner.get("/api/v1/projects/%d/export?format=jsonl" % p["id"])
    assert r.status_code == 200
    assert b'"source":"review"' in r.content


# --------------------------------------------------------------------------
# who may review what
# --------------------------------------------------------------------------


def test_roles(world):
    owner, ann = world.a["owner"], world.a["annotator"]
    p, _ = new_project(owner, n=1)
    an = annotate(ann, p["id"])
    for role in ("annotator", "viewer"):
        expect(world.a[role].get("/api/v1/projects/%d/review/next" % p["id"]), 403, "forbidden")
        expect(review(world.a[role], an["id"], "accept"), 403, "forbidden")
    # reviewers, managers and owners may
    assert review_next(world.a["manager"], p["id"])["annotation"]["id"] == an["id"]
    # the viewer reads reviews; annotators only of their own annotations
    expect(world.a["viewer"].get("/api/v1/annotations/%d/reviews" % an["id"]), 200)
    review_ok(world.a["manager"], an["id"], "accept")


def test_annotators_read_only_their_own_reviews(world, server, admin):
    owner = world.a["owner"]
    p, _ = new_project(owner, n=1)
    an = annotate(owner, p["id"])
    review_ok(world.a["reviewer"], an["id"], "accept")
    expect(world.a["annotator"].get("/api/v1/annotations/%d/reviews" % an["id"]), 404, "not_found")
    assert len(reviews_of(owner, an["id"])) == 1


def test_other_org_is_not_found(world):
    b_owner, b_ann = world.b["owner"], world.b["annotator"]
    p, _ = new_project(b_owner, n=1)
    an = annotate(b_ann, p["id"])
    for role in ("owner", "manager", "reviewer"):
        expect(world.a[role].get("/api/v1/projects/%d/review/next" % p["id"]), 404, "not_found")
        expect(review(world.a[role], an["id"], "accept"), 404, "not_found")
        expect(review(world.a[role], an["id"], "fix", result=FIXED), 404, "not_found")
        expect(world.a[role].get("/api/v1/annotations/%d/reviews" % an["id"]), 404, "not_found")
    expect(world.a["reviewer"].get("/api/v1/projects/999999999/review/next"), 404, "not_found")
    expect(review(world.a["reviewer"], 999999999, "accept"), 404, "not_found")
    # untouched: B's reviewer still gets it
    assert review_next(world.b["reviewer"], p["id"])["annotation"]["id"] == an["id"]
    assert review_counts(b_owner, p["id"])["reviewed"] == 0


def test_own_annotation_is_not_offered(world):
    owner, manager = world.a["owner"], world.a["manager"]
    p, _ = new_project(owner, n=2)
    mine = annotate(manager, p["id"])
    assert review_next(manager, p["id"]) is None
    expect(review(manager, mine["id"], "accept"), 403, "forbidden")
    theirs = annotate(world.a["annotator"], p["id"])
    assert review_next(manager, p["id"])["annotation"]["id"] == theirs["id"]
    review_ok(manager, theirs["id"], "accept")
    assert review_next(owner, p["id"])["annotation"]["id"] == mine["id"]


def test_a_leased_annotation_is_another_reviewers_only(world):
    owner, ann = world.a["owner"], world.a["annotator"]
    p, _ = new_project(owner, n=1)
    an = annotate(ann, p["id"])
    assert review_next(world.a["reviewer"], p["id"])["annotation"]["id"] == an["id"]
    assert review_next(world.a["manager"], p["id"]) is None
    expect(review(world.a["manager"], an["id"], "accept"), 409, "conflict")
    review_ok(world.a["reviewer"], an["id"], "reject", "redo")


def test_concurrent_review_next_hands_out_different_annotations(world, server):
    owner, ann = world.a["owner"], world.a["annotator"]
    p, _ = new_project(owner, n=12)
    ids = set(annotate(ann, p["id"])["id"] for _ in range(12))
    reviewers = [world.a["reviewer"], world.a["manager"]]
    reviewers += [server.api(server.token(new_reviewer(owner))) for _ in range(4)]
    seen = []
    for _ in range(2):  # two rounds: every reviewer asks at once
        got, errors = [None] * len(reviewers), []
        barrier = threading.Barrier(len(reviewers))

        def ask(i):
            try:
                barrier.wait(10)
                got[i] = review_next(reviewers[i], p["id"])
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(reviewers))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors, errors
        round_ids = [g["annotation"]["id"] for g in got]
        assert len(set(round_ids)) == len(reviewers), round_ids
        for i, g in enumerate(got):
            review_ok(reviewers[i], g["annotation"]["id"], "accept")
        seen += round_ids
    assert set(seen) == ids
    assert all(review_next(r, p["id"]) is None for r in reviewers)
    assert review_counts(owner, p["id"]) == {"to_review": 0, "reviewed": 12, "accepted": 12,
                                             "rejected": 0}


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------


def test_invalid_verdicts_and_results(world):
    owner, ann, rev = world.a["owner"], world.a["annotator"], world.a["reviewer"]
    p, _ = new_project(owner, n=1)
    an = annotate(ann, p["id"])
    path = "/api/v1/annotations/%d/review" % an["id"]
    cases = [
        ({}, "verdict"),
        ({"verdict": "maybe"}, "verdict"),
        ({"verdict": 1}, "verdict"),
        ({"verdict": "accept", "comment": 5}, "comment"),
        ({"verdict": "accept", "comment": "x" * 10001}, "comment"),
        ({"verdict": "fix"}, "result"),
        ({"verdict": "fix", "result": [1]}, "result"),
        ({"verdict": "accept", "result": FIXED}, "result"),
        ({"verdict": "accept", "extra": 1}, None),
    ]
    for body, where in cases:
        expect(rev.post(path, body), 400, "invalid_request", where)
    bad = [
        ({"classes": ["maybe"]}, "result.classes"),
        ({"unknown": 1}, "result.unknown"),
        ({"spans": [{"start": 0, "end": 2, "label": "ORG"}]}, "result.spans[0].label"),
    ]
    for result, where in bad:
        body = expect(review(rev, an["id"], "fix", result=result), 400, "invalid_result")
        got = body["error"].get("path", "")
        assert got == where or got.startswith(where + "[") or got.startswith(where + "."), body
    expect(rev.post_raw(path, b"{", "application/json"), 400, "invalid_json")
    expect(review(rev, 0, "accept"), 404, "not_found")
    # nothing was stored
    assert reviews_of(rev, an["id"]) == []
    assert review_counts(owner, p["id"])["reviewed"] == 0
    review_ok(rev, an["id"], "accept", "")
