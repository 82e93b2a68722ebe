"""
The queue under concurrency: many annotators claiming and submitting at
once, while a checker thread samples the SQLite database (read-only; WAL
readers do not block the writer) and asserts the queue's invariants hold
at every sampled snapshot:

  - live leases + submissions of a task never exceed its overlap,
  - no (task, user) pair twice, in assignments or annotations,
  - the task counters agree with the assignments, and the project's counts
    with the tasks' states.

Afterwards every task has exactly `overlap` annotations from distinct users
and the export holds exactly the annotations that were acknowledged.

ANNOTD_SANITIZED=1 (an ASan build) uses a smaller run.
"""

import json
import os
import random
import select
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import expect, import_tasks, make_project, password_for, unique

SANITIZED = os.environ.get("ANNOTD_SANITIZED") == "1"
N_TASKS = 300 if SANITIZED else 1000
N_CLIENTS = 20 if SANITIZED else 50
OVERLAP = 3
SAMPLE_EVERY = 0.05
RUN_DEADLINE = 300.0 if SANITIZED else 120.0


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def make_org(server, admin, tag):
    owner_login = unique(tag + "_owner")
    expect(admin.post("/api/v1/orgs", {"name": unique("Org " + tag),
                                       "owner": {"login": owner_login,
                                                 "password": password_for(owner_login),
                                                 "name": "Owner"}}), 201)
    return server.api(server.token(owner_login))


def make_annotators(server, owner, n, tag):
    """n annotators in the owner's org: list of (Api with its own session, user)."""
    out = []
    for i in range(n):
        login = unique("%s%d_" % (tag, i))
        user = expect(owner.post("/api/v1/users", {"login": login, "password": password_for(login),
                                                   "name": "Crowd %d" % i, "role": "annotator"}), 201)
        out.append((server.api(server.token(login)), user))
    return out


def new_project(owner, n, overlap, lease_seconds=3600):
    p = make_project(owner, overlap=overlap, lease_seconds=lease_seconds)
    records = [{"key": "c%05d" % i, "data": {"text": "crowd text number %d" % i}, "priority": i % 7}
               for i in range(n)]
    res = expect(import_tasks(owner, p["id"], records), 200)
    assert res["created"] == n, res
    return p


def export_lines(client, pid):
    r = client.get("/api/v1/projects/%d/export?format=jsonl" % pid, timeout=120)
    assert r.status_code == 200, r.text[:500]
    return [json.loads(line) for line in r.content.decode().splitlines() if line]


def counts(client, pid):
    """The task counts (the review counts beside them: test_42_review.py)."""
    c = expect(client.get("/api/v1/projects/%d" % pid), 200)["counts"]
    return {k: c[k] for k in ("total", "open", "in_progress", "done")}


def run_parallel(fns, deadline):
    """Run the callables on threads (all released at once); return their results (raise the first error)."""
    start = threading.Barrier(len(fns))

    def wrap(fn):
        start.wait(30)
        return fn()

    with ThreadPoolExecutor(max_workers=len(fns)) as ex:
        futs = [ex.submit(wrap, fn) for fn in fns]
        return [f.result(timeout=deadline) for f in futs]


# --------------------------------------------------------------------------
# the database checker
# --------------------------------------------------------------------------

INVARIANTS = {
    "live leases + submissions above overlap":
        "SELECT a.task_id, COUNT(*) FROM assignments a WHERE a.project_id = :p"
        " AND a.state IN ('leased', 'submitted') GROUP BY a.task_id HAVING COUNT(*) > :overlap",
    "a (task, user) pair twice in assignments":
        "SELECT task_id, user_id, COUNT(*) FROM assignments WHERE project_id = :p"
        " GROUP BY task_id, user_id HAVING COUNT(*) > 1",
    "more annotations than overlap":
        "SELECT task_id, COUNT(*) FROM annotations WHERE project_id = :p"
        " GROUP BY task_id HAVING COUNT(*) > :overlap",
    "a (task, user) pair twice in annotations":
        "SELECT task_id, user_id, COUNT(*) FROM annotations WHERE project_id = :p"
        " GROUP BY task_id, user_id HAVING COUNT(*) > 1",
    "submitted assignments without exactly one annotation":
        "SELECT a.id, COALESCE(n.c, 0) FROM assignments a LEFT JOIN (SELECT assignment_id, COUNT(*) AS c"
        " FROM annotations WHERE project_id = :p GROUP BY assignment_id) n ON n.assignment_id = a.id"
        " WHERE a.project_id = :p AND a.state = 'submitted' AND COALESCE(n.c, 0) <> 1",
    "annotations of an assignment that is not submitted":
        "SELECT n.id, a.state FROM annotations n JOIN assignments a ON a.id = n.assignment_id"
        " WHERE n.project_id = :p AND a.state <> 'submitted'",
    "task counters out of step with the assignments":
        "SELECT t.id, t.n_leased, t.n_submitted, t.open_slots, COALESCE(c.l, 0), COALESCE(c.s, 0)"
        " FROM tasks t LEFT JOIN (SELECT task_id, SUM(state = 'leased') AS l, SUM(state = 'submitted') AS s"
        "   FROM assignments WHERE project_id = :p GROUP BY task_id) c ON c.task_id = t.id"
        " WHERE t.project_id = :p AND (t.n_leased <> COALESCE(c.l, 0) OR t.n_submitted <> COALESCE(c.s, 0)"
        " OR t.open_slots <> MAX(:overlap - t.n_leased - t.n_submitted, 0))",
    "project counts out of step with the tasks":
        "SELECT p.n_tasks, p.n_in_progress, p.n_done FROM (SELECT project_id AS id,"
        " SUM(n_tasks) AS n_tasks, SUM(n_in_progress) AS n_in_progress, SUM(n_done) AS n_done"
        " FROM project_counts WHERE project_id = :p GROUP BY project_id) p WHERE ("
        " p.n_tasks <> (SELECT COUNT(*) FROM tasks t WHERE t.project_id = p.id)"
        " OR p.n_in_progress <> (SELECT COUNT(*) FROM tasks t WHERE t.project_id = p.id AND t.state = 1)"
        " OR p.n_done <> (SELECT COUNT(*) FROM tasks t WHERE t.project_id = p.id AND t.state = 2))",
}


def open_ro(db_path):
    return sqlite3.connect("file:%s?mode=ro" % db_path, uri=True, timeout=10,
                           isolation_level=None, check_same_thread=False)


def check_snapshot(con, pid, overlap):
    """All invariants in one read transaction; returns {name: rows} of the violated ones."""
    bad = {}
    con.execute("BEGIN")
    try:
        for name, sql in INVARIANTS.items():
            rows = con.execute(sql, {"p": pid, "overlap": overlap}).fetchall()
            if rows:
                bad[name] = rows[:10]
    finally:
        con.execute("COMMIT")
    return bad


def sample_loop(db_path, pid, overlap, should_stop):
    """Check a snapshot every SAMPLE_EVERY s until should_stop(wait) says so; returns (samples, violations)."""
    con = open_ro(db_path)
    samples, violations = 0, []
    try:
        while True:
            try:
                bad = check_snapshot(con, pid, overlap)
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) and "busy" not in str(e):
                    raise
                bad = None  # e.g. WAL recovery in progress: sample again
            if bad is not None:
                samples += 1
                if bad:
                    violations.append((samples, bad))
            if should_stop(SAMPLE_EVERY):
                return samples, violations
    finally:
        con.close()


class Checker:
    """
    The sampler in a process of its own (so that the clients' threads do not
    slow it down through the GIL): runs this file as a script until its
    stdin is closed, then reads its report.
    """

    def __init__(self, db_path, pid, overlap):
        self.samples = 0
        self.proc = None
        if db_path is None:
            return
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--check", str(db_path), str(pid), str(overlap)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def enough(self):
        return self.proc is None or self.samples >= 3

    def finish(self):
        if self.proc is None:
            return
        try:
            out, err = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise AssertionError("checker process did not stop")
        assert self.proc.returncode == 0, "checker failed (%d): %s" % (self.proc.returncode, err.decode()[-3000:])
        report = json.loads(out)
        self.samples = report["samples"]
        assert not report["violations"], "invariants violated during the run: %r" % report["violations"][:5]


def checker_main(db_path, pid, overlap):
    def should_stop(wait):
        r, _, _ = select.select([sys.stdin], [], [], wait)
        return bool(r) and sys.stdin.buffer.read1(1) == b""  # EOF: the test is done

    samples, violations = sample_loop(db_path, int(pid), int(overlap), should_stop)
    json.dump({"samples": samples, "violations": violations}, sys.stdout)


def db_path_of(server):
    """The SQLite file, or None when the server runs on ANNOTD_DB (the sampler is then left out)."""
    if server.db_url:
        return None
    path = server.data / "annotd.db"
    assert path.exists(), path
    return path


# --------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def crowd_org(server, admin):
    owner = make_org(server, admin, "crowd")
    return owner, make_annotators(server, owner, N_CLIENTS, "crowd")


def test_many_annotators_overlap_3(server, crowd_org):
    db_path = db_path_of(server)
    owner, crowd = crowd_org
    p = new_project(owner, N_TASKS, OVERLAP)
    pid = p["id"]
    assert counts(owner, pid) == {"total": N_TASKS, "open": N_TASKS, "in_progress": 0, "done": 0}

    checker = Checker(db_path, pid, OVERLAP)
    t0 = time.monotonic()

    def client_loop(api, user, k):
        done = []  # (task id, annotation id, result)
        deadline = time.monotonic() + RUN_DEADLINE
        while time.monotonic() < deadline:
            r = api.post("/api/v1/projects/%d/next" % pid)
            if r.status_code == 204:
                return done
            body = expect(r, 200)
            tid, aid = body["task"]["id"], body["assignment"]["id"]
            assert body["assignment"]["draft"] is None
            result = {"classes": ["pos" if (k + len(done)) % 2 else "neg"],
                      "spans": [{"start": k % 5, "end": k % 5 + 1 + len(done) % 3, "label": "PER",
                                 "attrs": {"client": k, "n": len(done)}}]}
            ann = expect(api.post("/api/v1/assignments/%d/submit" % aid, {"result": result}), 201)
            assert ann["task"] == tid and ann["user"] == user["id"] and ann["result"] == result, ann
            done.append((tid, ann["id"], result))
        raise AssertionError("client %d did not reach 204 within %.0f s" % (k, RUN_DEADLINE))

    try:
        per_client = run_parallel([lambda a=a, u=u, k=k: client_loop(a, u, k)
                                   for k, (a, u) in enumerate(crowd)], RUN_DEADLINE + 30)
    finally:
        elapsed = time.monotonic() - t0
        checker.finish()
    print("\n%d clients, %d tasks x %d: %.1f s, %d snapshots checked"
          % (N_CLIENTS, N_TASKS, OVERLAP, elapsed, checker.samples))
    assert checker.enough(), "the checker hardly ran (%d samples)" % checker.samples

    acked = {}  # annotation id -> (task, user, result)
    for (api, user), done in zip(crowd, per_client):
        tids = [d[0] for d in done]
        assert len(tids) == len(set(tids)), "user %d got a task twice" % user["id"]
        for tid, aid, result in done:
            acked[aid] = (tid, user["id"], result)
    assert len(acked) == N_TASKS * OVERLAP

    # the final state, in the database and over the API
    if db_path is not None:
        con = open_ro(db_path)
        try:
            assert check_snapshot(con, pid, OVERLAP) == {}
            (leased,) = con.execute("SELECT COUNT(*) FROM assignments WHERE project_id = ? AND state = 'leased'",
                                    (pid,)).fetchone()
            assert leased == 0
        finally:
            con.close()
    assert counts(owner, pid) == {"total": N_TASKS, "open": 0, "in_progress": 0, "done": N_TASKS}

    lines = export_lines(owner, pid)
    assert len(lines) == N_TASKS
    exported = {}
    for line in lines:
        anns = line["annotations"]
        assert len(anns) == OVERLAP, line
        assert len({a["user"] for a in anns}) == OVERLAP, line
        for a in anns:
            assert a["version"] == 1
            exported[a["id"]] = (line["task"]["id"], a["user"], a["result"])
    assert exported == acked

    # everyone is done: the queue stays empty
    for api, _ in crowd[:5]:
        r = api.post("/api/v1/projects/%d/next" % pid)
        assert r.status_code == 204, r.text


def test_parallel_claims_by_one_user_get_one_lease(server, crowd_org):
    owner, crowd = crowd_org
    p = new_project(owner, 5, 1)
    api, user = crowd[0]
    clients = [server.api(api.token) for _ in range(20)]  # one user, 20 connections
    bodies = run_parallel([lambda c=c: expect(c.post("/api/v1/projects/%d/next" % p["id"]), 200)
                           for c in clients], 60)
    ids = {b["assignment"]["id"] for b in bodies}
    tasks = {b["task"]["id"] for b in bodies}
    assert len(ids) == 1 and len(tasks) == 1, (ids, tasks)
    assert counts(owner, p["id"]) == {"total": 5, "open": 4, "in_progress": 1, "done": 0}
    expect(api.post("/api/v1/assignments/%d/submit" % ids.pop(), {"result": {"classes": ["pos"]}}), 201)


def test_parallel_claims_on_the_last_slot(server, crowd_org):
    owner, crowd = crowd_org
    p = new_project(owner, 1, 1)
    users = crowd[:20]
    rs = run_parallel([lambda a=a: a.post("/api/v1/projects/%d/next" % p["id"]) for a, _ in users], 60)
    statuses = sorted(r.status_code for r in rs)
    assert statuses == [200] + [204] * (len(users) - 1), statuses
    assert counts(owner, p["id"]) == {"total": 1, "open": 0, "in_progress": 1, "done": 0}


def test_parallel_double_submit(server, crowd_org):
    owner, crowd = crowd_org
    p = new_project(owner, 1, 1)
    api, user = crowd[1]
    aid = expect(api.post("/api/v1/projects/%d/next" % p["id"]), 200)["assignment"]["id"]
    clients = [server.api(api.token) for _ in range(20)]
    rs = run_parallel([lambda c=c, i=i: c.post("/api/v1/assignments/%d/submit" % aid,
                                               {"result": {"classes": ["pos" if i % 2 else "neg"]}})
                       for i, c in enumerate(clients)], 60)
    ok = [r for r in rs if r.status_code == 201]
    conflicts = [r for r in rs if r.status_code == 409]
    assert len(ok) == 1 and len(conflicts) == len(rs) - 1, [(r.status_code, r.text[:200]) for r in rs]
    first = ok[0].json()
    for r in conflicts:
        body = r.json()
        assert set(body) == {"error", "annotation"}, body
        assert body["error"]["code"] == "conflict"
        assert body["annotation"]["id"] == first["id"]
        assert body["annotation"]["result"] == first["result"]
    tid = first["task"]
    items = owner.list_all("/api/v1/tasks/%d/annotations" % tid)
    assert [i["id"] for i in items] == [first["id"]]
    assert counts(owner, p["id"]) == {"total": 1, "open": 0, "in_progress": 0, "done": 1}


if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "--check":
    checker_main(*sys.argv[2:])


CHAOS_TASKS = 100 if SANITIZED else 200
CHAOS_CLIENTS = 10 if SANITIZED else 20
CHAOS_RUN = 6.0


def test_chaos_with_expiring_leases(server, crowd_org):
    """
    lease_seconds 1, overlap 2: clients skip, release, save drafts and often
    submit late (after their lease ran out and the reaper returned it), while
    the checker samples the database. Late submits answer 201 or 409; a
    submit within the lease answers 201. Afterwards a drain fills every
    task, and the stored annotations are exactly the acknowledged ones.
    """
    db_path = db_path_of(server)
    owner, crowd = crowd_org
    crowd = crowd[:CHAOS_CLIENTS]
    overlap = 2
    p = new_project(owner, CHAOS_TASKS, overlap, lease_seconds=1)
    pid = p["id"]
    checker = Checker(db_path, pid, overlap)

    def work(api, user, k, until, rng, record):
        while time.time() < until:
            t_claim = time.time()
            r = api.post("/api/v1/projects/%d/next" % pid)
            if r.status_code == 204:
                return
            body = expect(r, 200)
            aid, tid = body["assignment"]["id"], body["task"]["id"]
            assert tid not in record["tasks"], "user %d got task %d twice" % (user["id"], tid)
            record["tasks"].add(tid)
            x = rng.random()
            if x < 0.1:
                assert expect(api.post("/api/v1/assignments/%d/skip" % aid), 200)["state"] == "skipped"
                continue
            if x < 0.2:
                assert expect(api.post("/api/v1/assignments/%d/release" % aid), 200)["state"] == "released"
                record["tasks"].discard(tid)  # it may come back
                continue
            if x < 0.3:
                draft = {"classes": ["neg"], "k": k}
                assert expect(api.request("PUT", "/api/v1/assignments/%d/draft" % aid,
                                          json_body={"result": draft}), 200)["draft"] == draft
            late = x > 0.7
            if late:
                time.sleep(1.0 + rng.random() * 0.6)  # let the lease run out (and maybe be reaped)
            result = {"classes": ["pos"], "spans": [{"start": 0, "end": 1, "label": "PER",
                                                     "attrs": {"k": k, "a": aid}}]}
            r = api.post("/api/v1/assignments/%d/submit" % aid, {"result": result})
            in_time = time.time() - t_claim < 0.9
            if r.status_code == 201:
                ann = r.json()
                assert ann["result"] == result and ann["task"] == tid
                record["acked"][ann["id"]] = (tid, user["id"], result)
            else:
                assert not in_time, "a submit within the lease was refused: %d %s" % (r.status_code, r.text)
                expect(r, 409, "conflict")
                record["refused"].append(aid)
                record["tasks"].discard(tid)  # not done by this user: may come back

    records = [{"tasks": set(), "acked": {}, "refused": []} for _ in crowd]
    until = time.time() + CHAOS_RUN
    try:
        run_parallel([lambda a=a, u=u, k=k: work(a, u, k, until, random.Random(k), records[k])
                      for k, (a, u) in enumerate(crowd)], CHAOS_RUN + 120)
        # drain: one client after the other, in time, until every slot is filled
        for k, (a, u) in enumerate(crowd):
            while True:
                r = a.post("/api/v1/projects/%d/next" % pid)
                if r.status_code == 204:
                    break
                body = expect(r, 200)
                result = {"classes": ["neg"], "spans": [{"start": 0, "end": 1, "label": "LOC",
                                                         "attrs": {"k": k, "a": body["assignment"]["id"]}}]}
                ann = expect(a.post("/api/v1/assignments/%d/submit" % body["assignment"]["id"],
                                    {"result": result}), 201)
                records[k]["acked"][ann["id"]] = (body["task"]["id"], u["id"], result)
    finally:
        checker.finish()
    assert checker.enough(), checker.samples

    acked = {}
    for rec in records:
        acked.update(rec["acked"])
    refused = sum(len(rec["refused"]) for rec in records)
    print("\nchaos: %d acknowledged, %d late submits refused, %d snapshots"
          % (len(acked), refused, checker.samples))

    assert counts(owner, pid) == {"total": CHAOS_TASKS, "open": 0, "in_progress": 0, "done": CHAOS_TASKS}
    lines = export_lines(owner, pid)
    exported = {}
    for line in lines:
        anns = line["annotations"]
        assert len(anns) == overlap and len({a["user"] for a in anns}) == overlap, line
        for a in anns:
            exported[a["id"]] = (line["task"]["id"], a["user"], a["result"])
    assert exported == acked
    if db_path is not None:
        con = open_ro(db_path)
        try:
            assert check_snapshot(con, pid, overlap) == {}
        finally:
            con.close()
