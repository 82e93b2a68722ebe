"""
`annotd migrate`: a SQLite data dir, populated through the API, copied into
PostgreSQL; the report, re-runs (idempotent, completing a partial copy,
refusing a target with other content), and a server on the PostgreSQL copy
that answers every read as the SQLite server did, accepts the old logins and
API tokens, and writes new rows after the copied ids.

Needs PostgreSQL: ANNOTD_DB when the suite runs on a cluster already (a
fresh database on it), else a throwaway cluster (scripts/pg-test-cluster).
Skipped only when neither is there.
"""

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import (ANNOTD_DB, IMAGE_CONFIG, REPO_ROOT, ROLES, Server, expect, fresh_db_url,
                      import_tasks, make_project, one_json_document, password_for, run_cli,
                      stop_and_check, unique)

PGBIN = Path(os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin"))
TABLES = ["schema_version", "orgs", "users", "tokens", "projects", "tasks", "assignments",
          "annotations", "labels", "audit", "review_queue", "reviews"]
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def psql_bin():
    p = PGBIN / "psql"
    return str(p) if p.exists() else shutil.which("psql")


@pytest.fixture(scope="module")
def pg_url():
    """A fresh, empty PostgreSQL database for this module."""
    if ANNOTD_DB:
        yield fresh_db_url("migrate")
        return
    if not (PGBIN / "initdb").exists() or not psql_bin():
        pytest.skip("PostgreSQL binaries not installed (%s)" % PGBIN)
    d = tempfile.mkdtemp(prefix="annotd-pg.", dir="/tmp")
    script = REPO_ROOT / "scripts" / "pg-test-cluster"
    try:
        cp = subprocess.run([str(script), "start", d], capture_output=True, text=True, timeout=120)
        assert cp.returncode == 0, cp.stderr
        base = cp.stdout.strip()
        sql(base, "CREATE DATABASE annotd_migrate")
        yield base.rsplit("/", 1)[0] + "/annotd_migrate"
    finally:
        subprocess.run([str(script), "stop", d], capture_output=True, timeout=120)


def sql(url, statement):
    cp = subprocess.run([psql_bin(), url, "-v", "ON_ERROR_STOP=1", "-qAtc", statement],
                        capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, (statement, cp.stderr)
    return cp.stdout.strip()


def migrate(src, url, *extra, check=True):
    cp = run_cli("migrate", "--from", src, "--to", url, *extra, check=check, timeout=120)
    return cp


def report_of(cp):
    doc = one_json_document(cp.stdout)
    assert set(doc) == {"from", "to", "tables", "verified"}, doc
    names = [t["name"] for t in doc["tables"]]
    # every known table, in foreign-key order; tables later issues add may follow
    assert [n for n in names if n in TABLES] == TABLES, names
    for t in doc["tables"]:
        assert set(t) == {"name", "rows", "checksum", "copied", "skipped"}, t
        assert HEX64.match(t["checksum"]), t
        assert t["copied"] + t["skipped"] == t["rows"], t
    return doc, {t["name"]: t for t in doc["tables"]}


# --------------------------------------------------------------------------
# the data: every kind of row the API can make
# --------------------------------------------------------------------------


class Data:
    """What populate() made: clients by name, tokens, and ids to read back."""

    def __init__(self):
        self.clients = {}      # name -> Api (session token)
        self.logins = {}       # name -> login
        self.api_tokens = {}   # name -> API token (from POST /tokens)
        self.projects = []     # ids
        self.assignments = []  # (client name, assignment id)
        self.org_ids = []
        self.reviewed = []     # annotation ids with reviews


def claim(client, pid):
    r = client.post("/api/v1/projects/%d/next" % pid)
    body = expect(r, (200, 204))
    return None if r.status_code == 204 else body


def populate(srv):
    d = Data()
    admin = srv.api(srv.token(srv.owner_login, srv.owner_password))
    d.clients["admin"] = admin
    d.logins["admin"] = srv.owner_login
    me = expect(admin.get("/api/v1/me"), 200)
    d.org_ids.append(me["org"]["id"])
    # a second org with its owner
    owner_b = unique("mig_owner_b")
    org_b = expect(admin.post("/api/v1/orgs", {"name": unique("Mig Org B"),
                                               "owner": {"login": owner_b,
                                                         "password": password_for(owner_b),
                                                         "name": "Owner B"}}), 201)
    d.org_ids.append(org_b["id"])
    d.logins["b_owner"] = owner_b
    d.clients["b_owner"] = srv.api(srv.token(owner_b))
    # one user per role in each org
    for tag, owner in (("a", admin), ("b", d.clients["b_owner"])):
        for role in ROLES[1:]:
            login = unique("mig_%s_%s" % (tag, role))
            expect(owner.post("/api/v1/users", {"login": login, "password": password_for(login),
                                                "name": "Mig %s %s" % (tag, role),
                                                "role": role}), 201)
            name = "%s_%s" % (tag, role)
            d.logins[name] = login
            d.clients[name] = srv.api(srv.token(login))
    # API tokens, one that expires and one that does not
    for name, body in (("a_viewer", {"name": "ci"}),
                       ("b_annotator", {"name": "bot", "expires_in_days": 30})):
        tok = expect(d.clients[name].post("/api/v1/tokens", body), 201)
        d.api_tokens[name] = tok["token"]

    # projects of both kinds, tasks, and the queue in every state
    text = make_project(admin, name=unique("mig text"), overlap=2)
    image = make_project(admin, kind="image", config=IMAGE_CONFIG, name=unique("mig image"))
    other = make_project(d.clients["b_owner"], name=unique("mig b"))
    d.projects = [text["id"], image["id"], other["id"]]
    records = [{"key": "t%d" % i, "data": {"text": "migrate text %d é ✓" % i}, "priority": i % 3}
               for i in range(7)]
    expect(import_tasks(admin, text["id"], records), 200)
    expect(import_tasks(admin, image["id"],
                        [{"key": "img%d" % i,
                          "data": {"image": "https://example.com/%d.jpg" % i, "width": 100,
                                   "height": 80}} for i in range(2)]), 200)
    expect(import_tasks(d.clients["b_owner"], other["id"],
                        [{"data": {"text": "no key %d" % i}} for i in range(3)]), 200)

    ann, mgr, own = d.clients["a_annotator"], d.clients["a_manager"], admin
    # two users submit the same task (overlap 2): several annotations of one task
    for name, client in (("a_annotator", ann), ("a_manager", mgr)):
        body = claim(client, text["id"])
        aid = body["assignment"]["id"]
        expect(client.post("/api/v1/assignments/%d/submit" % aid,
                           {"result": {"classes": ["pos"],
                                       "spans": [{"id": "s1", "start": 0, "end": 4,
                                                  "label": "PER"}]}}), 201)
        d.assignments.append((name, aid))
    # a skip, a release, a draft left on a live lease
    body = claim(ann, text["id"])
    expect(ann.post("/api/v1/assignments/%d/skip" % body["assignment"]["id"]), (200, 204))
    d.assignments.append(("a_annotator", body["assignment"]["id"]))
    body = claim(own, text["id"])
    expect(own.post("/api/v1/assignments/%d/release" % body["assignment"]["id"]), (200, 204))
    d.assignments.append(("admin", body["assignment"]["id"]))
    body = claim(ann, text["id"])
    aid = body["assignment"]["id"]
    expect(ann.request("PUT", "/api/v1/assignments/%d/draft" % aid,
                       json_body={"result": {"classes": ["neg"]}}), (200, 204))
    d.assignments.append(("a_annotator", aid))
    # more submits: done tasks, and the image project
    for _ in range(2):
        body = claim(mgr, text["id"])
        expect(mgr.post("/api/v1/assignments/%d/submit" % body["assignment"]["id"],
                        {"result": {"classes": ["neg"]}}), 201)
        d.assignments.append(("a_manager", body["assignment"]["id"]))
    body = claim(ann, image["id"])
    expect(ann.post("/api/v1/assignments/%d/submit" % body["assignment"]["id"],
                    {"result": {"classes": ["day", "night"],
                                "objects": [{"id": "o1", "type": "box", "label": "car", "x": 10,
                                             "y": 20, "w": 30, "h": 40}]}}), 201)
    d.assignments.append(("a_annotator", body["assignment"]["id"]))
    body = claim(d.clients["b_annotator"], other["id"])
    expect(d.clients["b_annotator"].post("/api/v1/assignments/%d/submit" % body["assignment"]["id"],
                                         {"result": {"classes": ["pos"]}}), 201)
    d.assignments.append(("b_annotator", body["assignment"]["id"]))
    # reviews: an accept, and a reject that returns its assignment as a rework
    rev = d.clients["a_reviewer"]
    for verdict in ("accept", "reject"):
        r = rev.get("/api/v1/projects/%d/review/next" % text["id"])
        an = expect(r, 200)["annotation"]
        expect(rev.post("/api/v1/annotations/%d/review" % an["id"],
                        {"verdict": verdict, "comment": "migrate é"}), 201)
        d.reviewed.append(an["id"])
    return d


def snapshot(srv, d):
    """Every API read, as {request: answer}, with the clients bound to `srv`."""
    out = {}

    def get(name, path, token=None):
        client = srv.api(token or d.clients[name].token)
        r = client.get(path)
        assert r.status_code == 200, (name, path, r.status_code, r.text)
        if path.endswith("format=jsonl"):
            out[(name, path)] = r.content.decode()
        else:
            out[(name, path)] = r.json()

    def get_all(name, path):
        out[(name, path)] = srv.api(d.clients[name].token).list_all(path)

    for name in d.clients:
        get(name, "/api/v1/me")
    for name, tok in d.api_tokens.items():
        get(name, "/api/v1/me", token=tok)
        get(name, "/api/v1/tokens", token=tok)
    get_all("admin", "/api/v1/orgs")
    for oid in d.org_ids:
        get("admin", "/api/v1/orgs/%d" % oid)
    for owner in ("admin", "b_owner"):
        get_all(owner, "/api/v1/users")
        get_all(owner, "/api/v1/projects")
    for name in ("a_viewer", "a_annotator", "b_viewer"):
        get_all(name, "/api/v1/projects")
    get("a_viewer", "/api/v1/users/%d" % out[("a_viewer", "/api/v1/me")]["id"])
    for pid in d.projects:
        owner = "b_owner" if pid == d.projects[2] else "admin"
        get(owner, "/api/v1/projects/%d" % pid)
        tasks_path = "/api/v1/projects/%d/tasks" % pid
        get_all(owner, tasks_path)
        for state in ("open", "in_progress", "done"):
            get_all(owner, tasks_path + "?state=" + state)
        for t in out[(owner, tasks_path)]:
            get(owner, "/api/v1/tasks/%d" % t["id"])
            get_all(owner, "/api/v1/tasks/%d/annotations" % t["id"])
        get(owner, "/api/v1/projects/%d/export?format=jsonl" % pid)
    for name, aid in d.assignments:
        get(name, "/api/v1/assignments/%d" % aid)
    for anid in d.reviewed:
        get_all("admin", "/api/v1/annotations/%d/reviews" % anid)
    return out


# --------------------------------------------------------------------------
# the test
# --------------------------------------------------------------------------


def test_migrate_sqlite_to_postgresql(tmp_path, pg_url):
    src = Server(tmp_path / "sqlite", "mig-sqlite")
    (tmp_path / "sqlite").mkdir()
    src.db_url = None  # the source is SQLite whatever ANNOTD_DB says
    src.init()
    src.start()
    d = populate(src)
    before = snapshot(src, d)
    assert sum(len(v) for k, v in before.items() if k[1].endswith("/annotations")) >= 6

    # refused while the server serves the data dir; nothing opened
    cp = migrate(src.data, pg_url, check=False)
    assert cp.returncode == 1, (cp.stdout, cp.stderr)
    assert cp.stdout == ""
    assert "a server is serving data dir" in cp.stderr, cp.stderr
    stop_and_check(src)

    # the copy, two rows a page so that every table takes several pages
    cp = migrate(src.data, pg_url, "--page", "2")
    doc, t = report_of(cp)
    assert doc["verified"] is True
    assert doc["from"] == str(src.data)
    assert doc["to"] == pg_url
    assert "annotd: migrate:" in cp.stderr and "tasks: 12/12 rows" in cp.stderr, cp.stderr
    for name in TABLES:
        if name == "schema_version":  # the target's own migrations made these
            assert t[name]["copied"] == 0 and t[name]["skipped"] == t[name]["rows"] >= 1
        else:
            assert t[name]["rows"] > 0, t[name]
            assert t[name]["copied"] == t[name]["rows"], t[name]
    assert t["orgs"]["rows"] == 2
    assert t["users"]["rows"] == 2 + 2 * (len(ROLES) - 1)
    assert t["projects"]["rows"] == 3 and t["tasks"]["rows"] == 12
    assert t["annotations"]["rows"] == 6
    assert int(sql(pg_url, "SELECT COUNT(*) FROM annotations")) == 6
    first = {n: v["checksum"] for n, v in t.items()}

    # again: nothing to copy, the same checksums
    doc, t = report_of(migrate("sqlite:" + str(src.data / "annotd.db"), pg_url))
    assert doc["verified"] is True
    for name, v in t.items():
        assert v["copied"] == 0 and v["skipped"] == v["rows"], v
        assert v["checksum"] == first[name]

    # a copy that stopped half-way (rows of the last tables missing) is completed
    sql(pg_url, "DELETE FROM labels; DELETE FROM audit WHERE id > (SELECT MIN(id) FROM audit)")
    doc, t = report_of(migrate(src.data, pg_url, "--page", "3"))
    assert doc["verified"] is True
    assert t["labels"]["copied"] == t["labels"]["rows"] > 0
    assert t["audit"]["copied"] == t["audit"]["rows"] - 1
    assert t["tasks"]["copied"] == 0
    assert {n: v["checksum"] for n, v in t.items()} == first

    # a target with other content under the same id is refused, not merged
    tid = before[("admin", "/api/v1/projects/%d/tasks" % d.projects[0])][2]["id"]
    old = sql(pg_url, "SELECT data FROM tasks WHERE id = %d" % tid)
    sql(pg_url, "UPDATE tasks SET data = '{\"text\":\"tampered\"}' WHERE id = %d" % tid)
    cp = migrate(src.data, pg_url, check=False)
    assert cp.returncode == 1 and cp.stdout == "", (cp.stdout, cp.stderr)
    assert "refusing to migrate" in cp.stderr, cp.stderr
    assert "table 'tasks': the row with id %d differs" % tid in cp.stderr, cp.stderr
    sql(pg_url, "UPDATE tasks SET data = '%s' WHERE id = %d" % (old.replace("'", "''"), tid))
    # the same for a table without ids: the labels of one annotation are compared together
    aid = int(sql(pg_url, "SELECT MIN(annotation_id) FROM labels"))
    sql(pg_url, "INSERT INTO labels SELECT * FROM labels WHERE annotation_id = %d LIMIT 1" % aid)
    cp = migrate(src.data, pg_url, check=False)
    assert cp.returncode == 1 and cp.stdout == "", (cp.stdout, cp.stderr)
    assert "table 'labels': the row with annotation_id %d differs" % aid in cp.stderr, cp.stderr
    sql(pg_url, "DELETE FROM labels WHERE annotation_id = %d" % aid)
    doc, t = report_of(migrate(src.data, pg_url))
    assert doc["verified"] is True and t["labels"]["copied"] >= 1

    # a server on the PostgreSQL copy answers every read as before
    pg = Server(tmp_path / "pg", "mig-pg")
    (tmp_path / "pg").mkdir()
    pg.db_url = pg_url
    pg.start()
    try:
        after = snapshot(pg, d)
        assert after.keys() == before.keys()
        for k in before:
            assert after[k] == before[k], k

        # the old passwords log in
        for name, login in d.logins.items():
            pw = src.owner_password if name == "admin" else password_for(login)
            body = pg.login(login, pw)
            assert body["user"]["login"] == login

        # new writes: ids continue after the copied ones (sequences reset)
        admin = pg.api(d.clients["admin"].token)
        p = make_project(admin, name=unique("after migrate"))
        assert p["id"] > max(d.projects)
        res = expect(import_tasks(admin, p["id"], [{"key": "n%d" % i, "data": {"text": "new"}}
                                                   for i in range(2)]), 200)
        assert res["created"] == 2
        new_tasks = admin.list_all("/api/v1/projects/%d/tasks" % p["id"])
        old_max_task = max(t["id"] for k, v in before.items()
                           if k[1].endswith("/tasks") for t in v)
        assert min(t["id"] for t in new_tasks) > old_max_task
        ann = pg.api(d.clients["a_annotator"].token)
        body = claim(ann, p["id"])
        aid = body["assignment"]["id"]
        assert aid > max(a for _, a in d.assignments)
        a = expect(ann.post("/api/v1/assignments/%d/submit" % aid,
                            {"result": {"classes": ["pos"]}}), 201)
        old_max_ann = max(x["id"] for k, v in before.items()
                          if k[1].endswith("/annotations") for x in v)
        assert a["id"] > old_max_ann
        # the draft left on the SQLite side is still there, and submits
        _, draft_aid = [x for x in d.assignments if x[0] == "a_annotator"][-2]
        got = expect(ann.get("/api/v1/assignments/%d" % draft_aid), 200)
        assert got["draft"] == {"classes": ["neg"]}, got
        expect(ann.post("/api/v1/assignments/%d/submit" % draft_aid,
                        {"result": {"classes": ["neg"]}}), 201)
        # a new user and an org
        login = unique("mig_new")
        expect(admin.post("/api/v1/users", {"login": login, "password": password_for(login),
                                            "name": "New", "role": "annotator"}), 201)
        pg.login(login)
    finally:
        stop_and_check(pg)

    # the target is in use now: a re-run refuses to merge into it
    cp = migrate(src.data, pg_url, check=False)
    assert cp.returncode == 1 and cp.stdout == "", (cp.stdout, cp.stderr)
    assert "the target has rows the source does not" in cp.stderr, cp.stderr


def test_migrate_usage_errors(tmp_path):
    cp = run_cli("migrate", "--to", "postgresql://x@127.0.0.1:1/x", check=False)
    assert cp.returncode == 2 and "--from is required" in cp.stderr
    cp = run_cli("migrate", "--from", tmp_path / "nope", "--to", "postgresql://x@127.0.0.1:1/x",
                 check=False)
    assert cp.returncode == 1 and cp.stderr.startswith("annotd: --from:"), cp.stderr
    (tmp_path / "empty").mkdir()
    cp = run_cli("migrate", "--from", tmp_path / "empty", "--to", "postgresql://x@127.0.0.1:1/x",
                 check=False)
    assert cp.returncode == 1 and "not an annotd data dir" in cp.stderr, cp.stderr
    cp = run_cli("migrate", "--from", "a", "--to", "a", check=False)
    assert cp.returncode == 2
