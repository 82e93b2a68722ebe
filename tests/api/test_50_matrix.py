"""
Route x role x own/foreign-org matrix.

Every route in ROUTES is called as each role of org A, once on org A's own
objects and once on org B's. Expected:
  own org:     the route's success status if the role may call it, else 403
  foreign org: 404 if the role may call the route (the object is invisible),
               else 403 (the role check comes before any lookup)
and, without credentials, 401 everywhere.
"""

import collections

import pytest

from conftest import ROLES, expect, import_tasks, make_project, password_for, unique

ALL = set(ROLES)
MANAGE = {"owner", "manager"}
READ_TASKS = {"owner", "manager", "reviewer", "viewer"}
WORK = {"owner", "manager", "annotator"}
REVIEW = {"owner", "manager", "reviewer"}

Route = collections.namedtuple("Route", "name method path body roles ok foreign")
# path(target_org, role) -> str   target_org is world.a (own) or world.b (foreign)
# body() -> dict | list | None
# foreign: False when the route names no object (the foreign column is skipped)


def _new_token(target, role):
    tok = expect(target[role].post("/api/v1/tokens", {"name": unique("m")}), 201)
    return "/api/v1/tokens/%d" % tok["id"]


def _user_body():
    login = unique("mx")
    return {"login": login, "password": password_for(login), "name": "Matrix", "role": "annotator"}


def _annotation(target, role):
    """A new annotation by target's annotator, on a project of its own: never reviewed."""
    owner, annotator = target["owner"], target["annotator"]
    p = make_project(owner, config={"classes": {"choices": ["a", "b"]}})
    expect(import_tasks(owner, p["id"], [{"key": "k0", "data": {"text": "matrix"}}]), 200)
    c = expect(annotator.post("/api/v1/projects/%d/next" % p["id"]), 200)
    an = expect(annotator.post("/api/v1/assignments/%d/submit" % c["assignment"]["id"],
                               {"result": {"classes": ["a"]}}), 201)
    return an["id"]


_reviewed = {}


def _reviews_path(target, role):
    """The reviews of an annotation by target's annotator (made once per org)."""
    if target.tag not in _reviewed:
        _reviewed[target.tag] = _annotation(target, role)
    return "/api/v1/annotations/%d/reviews" % _reviewed[target.tag]


def _held_review(target, role):
    """A new annotation of target's annotator whose review lease `role` holds (when it may)."""
    owner, annotator = target["owner"], target["annotator"]
    p = make_project(owner, config={"classes": {"choices": ["a", "b"]}})
    expect(import_tasks(owner, p["id"], [{"key": "k0", "data": {"text": "matrix"}}]), 200)
    c = expect(annotator.post("/api/v1/projects/%d/next" % p["id"]), 200)
    an = expect(annotator.post("/api/v1/assignments/%d/submit" % c["assignment"]["id"],
                               {"result": {"classes": ["a"]}}), 201)
    if role in REVIEW:
        got = expect(target[role].get("/api/v1/projects/%d/review/next" % p["id"]), 200)
        assert got["annotation"]["id"] == an["id"], got
    return "/api/v1/annotations/%d/review/release" % an["id"]


def _org_body():
    owner = _user_body()
    del owner["role"]
    return {"name": unique("mo"), "owner": owner}


# ---- storyboard objects, made once per org ----

_STORY_V1 = "《矩阵》\n\n第一章 雨夜\n张三推开酒馆的门，雨水顺着斗笠流下。\n张三道：“店家，来一壶酒。”\n店家笑道：“客官稍等。”\n".encode()
_STORY_V2 = "《矩阵》\n\n第一章 雨夜\n张三推开酒馆的门，雨水顺着斗笠流下。\n李四忽然拔刀，把桌子劈成两半，满堂皆惊。\n店家笑道：“客官稍等。”\n".encode()
_story = {}


def _story_of(target):
    """A storyboard project with a novel, a character, a task and a sync flag."""
    if target.tag in _story:
        return _story[target.tag]
    owner, annotator = target["owner"], target["annotator"]
    p = make_project(owner, kind="storyboard", config={})
    expect(owner.post_raw("/api/v1/projects/%d/novel" % p["id"], _STORY_V1, content_type="text/plain"), 200)
    while True:
        r = annotator.post("/api/v1/projects/%d/next" % p["id"])
        if expect(r, (200, 204)) is None or r.status_code == 204:
            break
        c = r.json()
        expect(annotator.post("/api/v1/assignments/%d/submit" % c["assignment"]["id"],
                              {"result": c["assignment"]["draft"]}), 201)
        task_id = c["task"]["id"]
        shot_id = c["assignment"]["draft"]["shots"][0]["id"]
    expect(owner.post_raw("/api/v1/projects/%d/novel" % p["id"], _STORY_V2, content_type="text/plain"), 200)
    flags = expect(owner.get("/api/v1/projects/%d/story/flags" % p["id"]), 200)["flags"]
    assert flags, "the matrix novel's sync raised no flag"
    ch = expect(owner.post("/api/v1/projects/%d/characters" % p["id"], {"name": "矩阵"}), 201)
    into = expect(owner.post("/api/v1/projects/%d/characters" % p["id"], {"name": "矩阵二"}), 201)
    _story[target.tag] = {"project": p["id"], "char": ch["id"], "into": into["id"], "task": task_id,
                          "shot": shot_id, "flag": flags[0]["id"]}
    return _story[target.tag]


def _new_job(target, role=None):
    """A background job of target's org: an LLM import against a dead endpoint."""
    owner = target["owner"]
    p = make_project(owner, kind="storyboard",
                     config={"drafter": {"kind": "llm", "base_url": "http://127.0.0.1:9/v1", "model": "m"}})
    s = expect(owner.post_raw("/api/v1/projects/%d/novel" % p["id"], _STORY_V1, content_type="text/plain"), 200)
    return p["id"], s["job"]["id"]


_jobs = {}


def _job_of(target):
    if target.tag not in _jobs:
        _jobs[target.tag] = _new_job(target)
    return _jobs[target.tag]


def _story_path(fmt):
    return lambda t, r: fmt.format(**_story_of(t))


def _new_character(target, role):
    s = _story_of(target)
    c = expect(target["owner"].post("/api/v1/projects/%d/characters" % s["project"], {"name": unique("角色")}), 201)
    return "/api/v1/projects/%d/characters/%s" % (s["project"], c["id"])


EDIT = {"owner", "manager", "reviewer", "annotator"}

# ---- media per shot (test_76): the same PNG bytes in both orgs, so one media id ----

_FRAME = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
          b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef"
          b"\x00\x00\x00\x00IEND\xaeB`\x82")
_shots = {}


def _shot_of(target):
    """A shot of the org's storyboard task, and the frame uploaded by the org."""
    if target.tag in _shots:
        return _shots[target.tag]
    s = _story_of(target)
    owner = target["owner"]
    doc = expect(owner.get("/api/v1/projects/%d/export?format=storyboard-json" % s["project"]), 200)
    shot = next(sh["id"] for ch in doc["chapters"] for sc in ch["scenes"] if sc["task"] == s["task"]
                for sh in sc["shots"])
    media = expect(owner.post_raw("/api/v1/media", _FRAME, content_type="image/png"), (200, 201))["id"]
    _shots[target.tag] = {"task": s["task"], "shot": shot, "media": media}
    return _shots[target.tag]


def _shot_path(fmt):
    return lambda t, r: fmt.format(**_shot_of(t))


def _new_shot_media(target, role):
    s = _shot_of(target)
    item = expect(target["owner"].post("/api/v1/tasks/%d/shots/%s/media" % (s["task"], s["shot"]),
                                       {"media": s["media"], "kind": "first_frame"}), 201)
    return "/api/v1/shot-media/%d/review" % item["id"]


ROUTES = [
    Route("me", "GET", lambda t, r: "/api/v1/me", None, ALL, 200, False),
    Route("tokens.list", "GET", lambda t, r: "/api/v1/tokens", None, ALL, 200, False),
    Route("tokens.create", "POST", lambda t, r: "/api/v1/tokens", lambda: {"name": "m"}, ALL, 201,
          False),
    Route("tokens.delete", "DELETE", _new_token, None, ALL, 204, True),
    Route("orgs.list", "GET", lambda t, r: "/api/v1/orgs", None, set(), 200, False),
    Route("orgs.create", "POST", lambda t, r: "/api/v1/orgs",
_org_body, set(), 201, False),
    Route("orgs.get", "GET", lambda t, r: "/api/v1/orgs/%d" % t.id, None, ALL, 200, True),
    Route("users.list", "GET", lambda t, r: "/api/v1/users", None, MANAGE, 200, False),
    Route("users.create", "POST", lambda t, r: "/api/v1/users", _user_body, MANAGE, 201, False),
    Route("users.get", "GET", lambda t, r: "/api/v1/users/%d" % t.extra_user["id"], None, MANAGE,
          200, True),
    Route("users.update", "PATCH", lambda t, r: "/api/v1/users/%d" % t.extra_user["id"],
          lambda: {"name": "Extra"}, MANAGE, 200, True),
    Route("projects.list", "GET", lambda t, r: "/api/v1/projects", None, ALL, 200, False),
    Route("projects.create", "POST", lambda t, r: "/api/v1/projects",
          lambda: {"name": unique("mp"), "kind": "text",
                   "config": {"classes": {"choices": ["a", "b"]}}},
          MANAGE, 201, False),
    Route("projects.get", "GET", lambda t, r: "/api/v1/projects/%d" % t.project["id"], None, ALL,
          200, True),
    Route("projects.update", "PATCH", lambda t, r: "/api/v1/projects/%d" % t.project["id"],
          lambda: {"lease_seconds": 3600}, MANAGE, 200, True),
    Route("tasks.import", "POST", lambda t, r: "/api/v1/projects/%d/tasks" % t.project["id"],
          lambda: [{"key": "k0", "data": {"text": "idempotent: key exists"}}], MANAGE, 200, True),
    Route("tasks.list", "GET", lambda t, r: "/api/v1/projects/%d/tasks" % t.project["id"], None,
          READ_TASKS, 200, True),
    Route("tasks.get", "GET", lambda t, r: "/api/v1/tasks/%d" % t.tasks[0]["id"], None, READ_TASKS,
          200, True),
    Route("export", "GET", lambda t, r: "/api/v1/projects/%d/export?format=jsonl" % t.project["id"],
          None, MANAGE, 200, True),
    Route("tasks.annotations", "GET", lambda t, r: "/api/v1/tasks/%d/annotations" % t.tasks[0]["id"],
          None, ALL, 200, True),
    Route("queue.next", "POST", lambda t, r: "/api/v1/projects/%d/next" % t.project["id"], None,
          WORK, 200, True),
    Route("review.next", "GET", lambda t, r: "/api/v1/projects/%d/review/next" % t.project["id"],
          None, REVIEW, 200, True),
    Route("review.add", "POST", lambda t, r: "/api/v1/annotations/%d/review" % _annotation(t, r),
          lambda: {"verdict": "accept"}, REVIEW, 201, True),
    Route("annotations.reviews", "GET", _reviews_path, None, ALL, 200, True),
    Route("review.release", "POST", _held_review, None, REVIEW, 204, True),
    Route("novel.import", "POST", _story_path("/api/v1/projects/{project}/novel"), lambda: _STORY_V2,
          MANAGE, 200, True),
    Route("novel.get", "GET", _story_path("/api/v1/projects/{project}/novel"), None, ALL, 200, True),
    Route("story.export", "GET", _story_path("/api/v1/projects/{project}/export?format=storyboard-csv"),
          None, MANAGE, 200, True),
    Route("characters.list", "GET", _story_path("/api/v1/projects/{project}/characters"), None, ALL, 200,
          True),
    Route("characters.create", "POST", _story_path("/api/v1/projects/{project}/characters"),
          lambda: {"name": unique("角色")}, EDIT, 201, True),
    Route("characters.update", "PATCH", _story_path("/api/v1/projects/{project}/characters/{char}"),
          lambda: {"sheet": {"voice": "低沉"}}, EDIT, 200, True),
    Route("characters.merge", "POST", _story_path("/api/v1/projects/{project}/characters/{char}/merge"),
          None, EDIT, 200, True),
    Route("characters.delete", "DELETE", _new_character, None, MANAGE, 204, True),
    Route("story.flags", "GET", _story_path("/api/v1/projects/{project}/story/flags"), None, ALL, 200, True),
    Route("shot.history", "GET", _story_path("/api/v1/tasks/{task}/shots/{shot}/history"), None, ALL, 200,
          True),
    Route("tasks.flags", "GET", _story_path("/api/v1/tasks/{task}/flags"), None, ALL, 200, True),
    Route("jobs.list", "GET", lambda t, r: "/api/v1/projects/%d/jobs" % _job_of(t)[0], None, ALL, 200, True),
    Route("jobs.get", "GET", lambda t, r: "/api/v1/jobs/%d" % _job_of(t)[1], None, ALL, 200, True),
    Route("jobs.cancel", "POST", lambda t, r: "/api/v1/jobs/%d/cancel" % _new_job(t)[1], None, MANAGE, 200,
          True),
    Route("flags.resolve", "POST", _story_path("/api/v1/story/flags/{flag}/resolve"), None, REVIEW, 204,
          True),
    Route("shots.media.list", "GET", _shot_path("/api/v1/tasks/{task}/shots/media"), None, ALL, 200, True),
    Route("shots.media.attach", "POST", _shot_path("/api/v1/tasks/{task}/shots/{shot}/media"),
          lambda: {"media": next(iter(_shots.values()))["media"], "kind": "first_frame"}, EDIT, 201, True),
    Route("shots.generate", "POST", _shot_path("/api/v1/tasks/{task}/shots/{shot}/generate"),
          lambda: {"kind": "first_frame"}, WORK, 409, True),  # 409: the matrix project has no image endpoint
    Route("shot_media.review", "POST", _new_shot_media, lambda: {"verdict": "accept"}, REVIEW, 200, True),
]

# Cells where either answer is acceptable: GET /users/{id} of another org's
# user by a role that may only read itself may be refused (403) before or
# after the lookup (404); both leak nothing.
EITHER = {("users.get", "foreign", role): (403, 404) for role in ("reviewer", "annotator", "viewer")}
# A job against a dead endpoint may have failed before the cancel arrives.
EITHER.update({("jobs.cancel", "own", role): (200, 409) for role in MANAGE})
# A claim answers 200 with a lease, or 204 once the project's few tasks are all leased.
EITHER.update({("queue.next", "own", role): (200, 204) for role in WORK})
# review/next answers 200 with an annotation to review, or 204 when none is left.
EITHER.update({("review.next", "own", role): (200, 204) for role in REVIEW})

CASES = []
for route in ROUTES:
    for role in ROLES:
        CASES.append(pytest.param(route, role, "own", id="%s-%s-own" % (route.name, role)))
        if route.foreign:
            CASES.append(pytest.param(route, role, "foreign", id="%s-%s-foreign" % (route.name, role)))


def call(client, route, path):
    body = route.body() if route.body else None
    if route.name == "characters.merge":
        # merge into the org's second character (the path names the first)
        body = {"into": next(v["into"] for v in _story.values() if path.startswith(
            "/api/v1/projects/%d/" % v["project"]))}
    if isinstance(body, bytes):
        return client.request(route.method, path, data=body, headers={"Content-Type": "text/plain"})
    return client.request(route.method, path, json_body=body)


def expected_status(route, role, scope):
    if (route.name, scope, role) in EITHER:
        return EITHER[(route.name, scope, role)]
    if route.name == "users.get" and scope == "own":
        return 200 if role in MANAGE else 403
    if role not in route.roles:
        return 403
    return route.ok if scope == "own" else 404


@pytest.mark.parametrize("route,role,scope", CASES)
def test_matrix(world, route, role, scope):
    target = world.a if scope == "own" else world.b
    path = route.path(target, role)
    r = call(world.a[role], route, path)
    want = expected_status(route, role, scope)
    code = {403: "forbidden", 404: "not_found"}
    if isinstance(want, tuple) and all(w in code for w in want):
        expect(r, want, tuple(code[w] for w in want))
    elif isinstance(want, tuple):
        expect(r, want)
    elif want in code:
        expect(r, want, code[want])
    else:
        expect(r, want)


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_matrix_without_credentials(world, api, route):
    path = route.path(world.a, "owner")
    expect(call(api, route, path), 401, "unauthorized")


@pytest.mark.parametrize("route", [r for r in ROUTES if r.foreign and r.name != "tokens.delete"],
                         ids=[r.name for r in ROUTES if r.foreign and r.name != "tokens.delete"])
def test_matrix_platform_admin_on_foreign_org(world, admin, route):
    """The platform admin may create and read orgs and import into any org's project (the CLI
    on a served data dir acts as the platform admin), but other orgs' objects stay hidden."""
    path = route.path(world.b, "owner")
    want = 200 if route.name in ("orgs.get", "tasks.import") else 404
    if want == 200:
        expect(call(admin, route, path), 200)
    else:
        expect(call(admin, route, path), 404, "not_found")


def test_platform_admin_org_routes(admin):
    expect(admin.get("/api/v1/orgs"), 200)
    body = {"name": unique("adm"), "owner": {"login": unique("adm"),
                                             "password": "0123456789abc", "name": "O"}}
    expect(admin.post("/api/v1/orgs", body), 201)


def test_foreign_objects_are_unchanged(world):
    """Nothing the matrix tried on org B's objects changed them."""
    b = world.b
    tasks = b["owner"].list_all("/api/v1/projects/%d/tasks" % b.project["id"])
    assert [t["id"] for t in tasks] == [t["id"] for t in b.tasks]
    assert [t["data"] for t in tasks] == [t["data"] for t in b.tasks]
