"""
Two annotd nodes on one PostgreSQL database (DESIGN.md §8: stateless nodes
behind a load balancer). Runs only with ANNOTD_DB (scripts/check-pg sets it).

`annotd init --db URL` runs once; then two `annotd serve --db URL` run, each
on its own empty data dir and port. Tested:

  - a token issued by one node works on the other (sessions and API tokens,
    logout on one node ends the session on both);
  - N_CLIENTS annotators, alternately bound to node A and node B, claim and
    submit on N_TASKS tasks with overlap 2 and lease_seconds 2, while a
    checker thread samples the database with psql (one statement, one
    snapshot) for the queue's invariants: live leases + submissions never
    above the overlap, no (task, user) pair twice, counters in step;
  - node B is killed with SIGKILL mid-load: node A keeps serving its
    clients; half of B's clients switch to A with the same tokens (retrying
    a submit whose answer was lost), the other half vanish with their
    leases, which expire and are returned to the pool by node A's reaper;
  - afterwards every task is done (overlap annotations from distinct users),
    every acknowledged submission is in the export, unchanged, and the only
    stored ones that were not acknowledged are submits cut off by the kill;
  - node B, started again on its data dir, sees the same state.

ANNOTD_SANITIZED=1 (an ASan build) uses a smaller run.
"""

import json
import os
import random
import signal
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
import requests

from conftest import (ANNOTD_BIN, ANNOTD_DB, Server, expect, fresh_db_url, import_tasks,
                      make_project, password_for, unique)

pytestmark = pytest.mark.skipif(not ANNOTD_DB, reason="two nodes need ANNOTD_DB (scripts/check-pg)")

SANITIZED = os.environ.get("ANNOTD_SANITIZED") == "1"
N_TASKS = 300 if SANITIZED else 2000
N_CLIENTS = 20 if SANITIZED else 100
OVERLAP = 2
LEASE_S = 2
KILL_AFTER_ACKED = N_TASKS * OVERLAP // 4  # ... and at least MIN_RUN seconds
MIN_RUN = 1.0
RUN_DEADLINE = 400.0 if SANITIZED else 240.0
SAMPLE_EVERY = 0.05
REQUEST_TIMEOUT = 30
PSQL = "/usr/bin/psql"


# --------------------------------------------------------------------------
# a node: conftest's Server on a database given, not a fresh one
# --------------------------------------------------------------------------


class Node(Server):
    """`annotd serve --db db_url` on its own (empty) data dir."""

    def __init__(self, tmp, name, db_url, serve_args=(), owner="admin"):
        self.name = name
        self.root = Path(tmp)
        self.root.mkdir(parents=True, exist_ok=True)
        self.data = self.root / "data"
        self.owner_login = owner
        self.owner_password = password_for(owner)
        self.db_url = db_url
        self.serve_args = list(serve_args)
        self.port = None
        self.base = None
        self.proc = None
        self.stderr_path = self.root / "serve.stderr"
        self.stdout_path = self.root / "serve.stdout"
        self.init_doc = None

    killed = False  # set before the SIGKILL: a client's connection error is then expected

    def kill9(self):
        self.killed = True
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        rc = self.stop()  # bookkeeping only: the process is gone
        assert rc == -signal.SIGKILL, rc


def psql(url, sql, timeout=30):
    cp = subprocess.run([PSQL, url, "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-c", sql],
                        capture_output=True, text=True, timeout=timeout)
    if cp.returncode != 0:
        raise AssertionError("psql failed (%d): %s" % (cp.returncode, cp.stderr[-1000:]))
    return [line for line in cp.stdout.splitlines() if line]


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    if not ANNOTD_BIN.exists():
        pytest.exit("annotd binary not found at %s" % ANNOTD_BIN, returncode=2)
    db_url = fresh_db_url("two_nodes")
    tmp = tmp_path_factory.mktemp("two_nodes")
    a = Node(tmp / "a", "node_a", db_url)
    b = Node(tmp / "b", "node_b", db_url)
    a.init()                  # once per database ...
    assert not b.data.exists()  # ... node B's data dir is new and empty
    a.start()
    b.start()
    yield a, b
    for n in (a, b):
        if n.alive():
            rc = n.stop()
            assert rc == 0, "%s exited with %r\n%s" % (n.name, rc, n.stderr_tail())


# --------------------------------------------------------------------------
# tokens across nodes
# --------------------------------------------------------------------------


def test_both_nodes_healthy_and_on_one_database(nodes):
    a, b = nodes
    for n in nodes:
        assert expect(n.api().get("/healthz"), 200)["status"] == "ok"
    # the owner made by `init` on A logs in on B
    tok = b.token(a.owner_login, a.owner_password)
    me = expect(b.api(tok).get("/api/v1/me"), 200)
    assert me["login"] == a.owner_login and me["admin"] is True
    # and an object made on A is seen on B at once
    owner_a = a.api(a.token(a.owner_login, a.owner_password))
    p = make_project(owner_a)
    got = expect(b.api(tok).get("/api/v1/projects/%d" % p["id"]), 200)
    assert got["name"] == p["name"]


def test_a_token_from_one_node_works_on_the_other(nodes):
    a, b = nodes
    admin = a.api(a.token(a.owner_login, a.owner_password))
    login = unique("twonode_")
    user = expect(admin.post("/api/v1/users", {"login": login, "password": password_for(login),
                                               "name": "Two nodes", "role": "annotator"}), 201)
    for issuer, other in ((a, b), (b, a)):
        body = issuer.login(login)
        tok = body["token"]
        for n in (issuer, other):
            me = expect(n.api(tok).get("/api/v1/me"), 200)
            assert me["id"] == user["id"]
        # an API token made on one node works on the other
        api_tok = expect(other.api(tok).post("/api/v1/tokens", {"name": unique("t")}), 201)["token"]
        assert expect(issuer.api(api_tok).get("/api/v1/me"), 200)["id"] == user["id"]
        # logout on the other node ends the session everywhere
        expect(other.api(tok).post("/api/v1/auth/logout"), 204)
        for n in (issuer, other):
            expect(n.api(tok).get("/api/v1/me"), 401, "unauthorized")
        # the API token lives on
        assert expect(other.api(api_tok).get("/api/v1/me"), 200)["id"] == user["id"]
    # a cookie session from A, with its CSRF token, on B
    s = requests.Session()
    s.trust_env = False
    r = s.post(a.base + "/api/v1/auth/login", json={"login": login, "password": password_for(login)},
               timeout=REQUEST_TIMEOUT)
    body = expect(r, 200)
    cookie = r.cookies.get("annotd_session")
    assert cookie
    h = {"Cookie": "annotd_session=" + cookie}
    plain = requests.Session()
    plain.trust_env = False
    assert expect(plain.get(b.base + "/api/v1/me", headers=h, timeout=REQUEST_TIMEOUT), 200)["id"] == user["id"]
    expect(plain.post(b.base + "/api/v1/tokens", json={"name": "x"}, headers=h,
                      timeout=REQUEST_TIMEOUT), 403, "forbidden")
    h["X-CSRF-Token"] = body["csrf_token"]
    expect(plain.post(b.base + "/api/v1/tokens", json={"name": unique("c")}, headers=h,
                      timeout=REQUEST_TIMEOUT), 201)


# --------------------------------------------------------------------------
# the database checker (PostgreSQL dialect of test_45's INVARIANTS)
# --------------------------------------------------------------------------

PG_INVARIANTS = {
    "live leases + submissions above overlap":
        "SELECT task_id, COUNT(*) FROM assignments WHERE project_id = {p}"
        " AND state IN ('leased', 'submitted') GROUP BY task_id HAVING COUNT(*) > {o}",
    "a (task, user) pair twice in assignments":
        "SELECT task_id, user_id, COUNT(*) FROM assignments WHERE project_id = {p}"
        " GROUP BY task_id, user_id HAVING COUNT(*) > 1",
    "more annotations than overlap":
        "SELECT task_id, COUNT(*) FROM annotations WHERE project_id = {p}"
        " GROUP BY task_id HAVING COUNT(*) > {o}",
    "a (task, user) pair twice in annotations":
        "SELECT task_id, user_id, COUNT(*) FROM annotations WHERE project_id = {p}"
        " GROUP BY task_id, user_id HAVING COUNT(*) > 1",
    "submitted assignments without exactly one annotation":
        "SELECT a.id, COALESCE(n.c, 0) FROM assignments a LEFT JOIN (SELECT assignment_id, COUNT(*) AS c"
        " FROM annotations WHERE project_id = {p} GROUP BY assignment_id) n ON n.assignment_id = a.id"
        " WHERE a.project_id = {p} AND a.state = 'submitted' AND COALESCE(n.c, 0) <> 1",
    "annotations of an assignment that is not submitted":
        "SELECT n.id, a.state FROM annotations n JOIN assignments a ON a.id = n.assignment_id"
        " WHERE n.project_id = {p} AND a.state <> 'submitted'",
    "task counters out of step with the assignments":
        "SELECT t.id, t.n_leased, t.n_submitted, t.open_slots, COALESCE(c.l, 0), COALESCE(c.s, 0)"
        " FROM tasks t LEFT JOIN (SELECT task_id, COUNT(*) FILTER (WHERE state = 'leased') AS l,"
        "   COUNT(*) FILTER (WHERE state = 'submitted') AS s"
        "   FROM assignments WHERE project_id = {p} GROUP BY task_id) c ON c.task_id = t.id"
        " WHERE t.project_id = {p} AND (t.n_leased <> COALESCE(c.l, 0) OR t.n_submitted <> COALESCE(c.s, 0)"
        " OR t.open_slots <> GREATEST({o} - t.n_leased - t.n_submitted, 0))",
    "project counts out of step with the tasks":
        "SELECT p.n_tasks, p.n_in_progress, p.n_done FROM (SELECT project_id AS id,"
        " SUM(n_tasks) AS n_tasks, SUM(n_in_progress) AS n_in_progress, SUM(n_done) AS n_done"
        " FROM project_counts WHERE project_id = {p} GROUP BY project_id) p WHERE ("
        " p.n_tasks <> (SELECT COUNT(*) FROM tasks t WHERE t.project_id = p.id)"
        " OR p.n_in_progress <> (SELECT COUNT(*) FROM tasks t WHERE t.project_id = p.id AND t.state = 1)"
        " OR p.n_done <> (SELECT COUNT(*) FROM tasks t WHERE t.project_id = p.id AND t.state = 2))",
}


def invariants_sql(pid, overlap):
    """All invariants as one statement (one snapshot): rows 'name|{json of a bad row}'."""
    parts = []
    for name, sql in PG_INVARIANTS.items():
        parts.append("(SELECT '%s', row_to_json(x)::text FROM (%s LIMIT 5) x)"
                     % (name, sql.format(p=int(pid), o=int(overlap))))
    return " UNION ALL ".join(parts)


def check_snapshot(db_url, pid, overlap):
    bad = {}
    for line in psql(db_url, invariants_sql(pid, overlap)):
        name, _, row = line.partition("|")
        bad.setdefault(name, []).append(row)
    return bad


class Checker(threading.Thread):
    """psql in a loop from a thread: one snapshot every SAMPLE_EVERY s."""

    def __init__(self, db_url, pid, overlap):
        super().__init__(daemon=True)
        self.sql = invariants_sql(pid, overlap)
        self.db_url = db_url
        self.stop_ev = threading.Event()
        self.samples = 0
        self.violations = []
        self.error = None

    def run(self):
        try:
            while not self.stop_ev.is_set():
                rows = psql(self.db_url, self.sql)
                self.samples += 1
                if rows:
                    self.violations.append((self.samples, time.monotonic(), rows[:10]))
                self.stop_ev.wait(SAMPLE_EVERY)
        except Exception as e:  # reported by finish()
            self.error = repr(e)

    def finish(self):
        self.stop_ev.set()
        self.join(60)
        assert not self.is_alive(), "the checker hangs"
        assert self.error is None, "checker failed: " + self.error
        assert not self.violations, "invariants violated during the run: %r" % self.violations[:5]


# --------------------------------------------------------------------------
# the annotators
# --------------------------------------------------------------------------


def result_for(k, n):
    """A result unique to client k's n-th submission."""
    return {"classes": ["pos" if (k + n) % 2 else "neg"],
            "spans": [{"start": k % 7, "end": k % 7 + 1 + n % 5, "label": "PER" if n % 2 else "LOC",
                       "attrs": {"client": k, "n": n}}]}


class Client:
    """
    One annotator: next, then submit, until 204. Bound to one node; on a
    connection error (the node is gone) it either switches to `fallback`
    with the same token (`switches`) or stops where it is (an abandoner).
    """

    def __init__(self, k, user, token, node, fallback, switches, pid):
        self.k, self.user, self.token, self.pid = k, user, token, pid
        self.node, self.fallback, self.switches = node, fallback, switches
        self.s = requests.Session()
        self.s.trust_env = False
        self.acked = {}          # annotation id -> (task, result)
        self.submitted_tasks = set()
        self.sent = {}           # n -> (assignment, task, result): sent, maybe stored
        self.cut_off = []        # (assignment, task, result): submits whose answer the kill swallowed
        self.refused_late = 0    # submits answered 409 after the lease ran out
        self.abandoned = None    # (assignment, submit sent?) held when this client vanished
        self.switched_at = None
        self.errors = []
        self.n = 0
        self.claims = 0

    def _req(self, path, body=None):
        h = {"Authorization": "Bearer " + self.token}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        return self.s.post(self.node.base + path, data=data, headers=h, timeout=REQUEST_TIMEOUT)

    def _post(self, path, body=None):
        """(response, None) or (None, 'gone') when the node went away and this client stops."""
        try:
            return self._req(path, body), None
        except requests.ConnectionError:
            if not self.node.killed:
                raise
            if not self.switches or self.node is self.fallback:
                return None, "gone"
            self.node = self.fallback
            self.switched_at = time.monotonic()
            return None, "switched"

    def run(self, deadline, stop=None):
        while time.monotonic() < deadline:
            if stop is not None and stop.is_set():
                return "stopped"
            r, why = self._post("/api/v1/projects/%d/next" % self.pid)
            if why == "gone":
                return "gone"
            if why == "switched":
                continue  # claim again on the live node: a held lease comes back
            if r.status_code == 204:
                return "204"
            if r.status_code != 200:
                self.errors.append(("next", r.status_code, r.text[:300]))
                return "error"
            body = r.json()
            aid, tid = body["assignment"]["id"], body["task"]["id"]
            t_claim = time.monotonic()
            self.claims += 1
            if tid in self.submitted_tasks:
                self.errors.append(("task served again after a submit", tid, aid))
                return "error"
            result = result_for(self.k, self.n)
            self.sent[self.n] = (aid, tid, result)
            self.n += 1
            r, why = self._post("/api/v1/assignments/%d/submit" % aid, {"result": result})
            if why == "gone":
                self.abandoned = (aid, True)
                self.cut_off.append((aid, tid, result))
                return "gone"
            if why == "switched":
                # the answer is lost: the same submit again, on the live node
                r, why = self._post("/api/v1/assignments/%d/submit" % aid, {"result": result})
                if why is not None:
                    self.errors.append(("retried submit", why))
                    return "error"
                if r.status_code == 409 and "annotation" in r.json():
                    ann = r.json()["annotation"]  # it was stored before the kill
                    if ann["result"] != result:
                        self.errors.append(("stored result differs", ann, result))
                        return "error"
                    self.acked[ann["id"]] = (tid, result)
                    self.submitted_tasks.add(tid)
                    continue
            if r.status_code == 201:
                ann = r.json()
                if ann["task"] != tid or ann["user"] != self.user["id"] or ann["result"] != result:
                    self.errors.append(("submit body", ann))
                    return "error"
                self.acked[ann["id"]] = (tid, result)
                self.submitted_tasks.add(tid)
            elif r.status_code == 409 and "annotation" not in r.json() \
                    and time.monotonic() - t_claim >= LEASE_S - 0.05:
                self.refused_late += 1  # the lease ran out and its slot went to someone else
            else:
                self.errors.append(("submit", r.status_code, r.text[:300],
                                    round(time.monotonic() - t_claim, 3)))
                return "error"
        self.errors.append(("no 204 before the deadline",))
        return "deadline"

    def claimed_and_left(self):
        """Called when the client stopped while holding a lease it never submitted."""
        return self.abandoned


def counts(client, pid):
    """The task counts (the review counts beside them: test_42_review.py)."""
    c = expect(client.get("/api/v1/projects/%d" % pid), 200)["counts"]
    return {k: c[k] for k in ("total", "open", "in_progress", "done")}


def export_lines(client, pid):
    r = client.get("/api/v1/projects/%d/export?format=jsonl" % pid, timeout=120)
    assert r.status_code == 200, r.text[:500]
    return [json.loads(line) for line in r.content.decode().splitlines() if line]


# --------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------


def test_two_nodes_under_load_and_kill_9_of_one(nodes):
    a, b = nodes
    db_url = a.db_url
    owner = a.api(a.token(a.owner_login, a.owner_password))
    p = make_project(owner, overlap=OVERLAP, lease_seconds=LEASE_S)
    pid = p["id"]
    records = [{"key": "t%05d" % i, "data": {"text": "two nodes, task %d" % i}, "priority": i % 5}
               for i in range(N_TASKS)]
    assert expect(import_tasks(owner, pid, records), 200)["created"] == N_TASKS

    # annotators: even ones on A, odd ones on B, each logged in on its own node;
    # of B's clients, every other one switches to A when B dies, the rest vanish
    clients = []
    for k in range(N_CLIENTS):
        login = unique("duo%d_" % k)
        user = expect(owner.post("/api/v1/users", {"login": login, "password": password_for(login),
                                                   "name": "Duo %d" % k, "role": "annotator"}), 201)
        node = a if k % 2 == 0 else b
        tok = node.token(login)
        clients.append(Client(k, user, tok, node, a, switches=(k % 4 != 3), pid=pid))
    a_clients = [c for c in clients if c.node is a]
    b_switch = [c for c in clients if c.node is b and c.switches]
    b_vanish = [c for c in clients if c.node is b and not c.switches]

    checker = Checker(db_url, pid, OVERLAP)
    checker.start()
    t0 = time.monotonic()
    deadline = t0 + RUN_DEADLINE
    outcome = [None] * N_CLIENTS
    vanish_stop = threading.Event()  # so that vanished clients stay vanished

    def run(c):
        outcome[c.k] = c.run(deadline, stop=None if c.switches or c.node is a else vanish_stop)

    threads = [threading.Thread(target=run, args=(c,), daemon=True) for c in clients]
    try:
        for t in threads:
            t.start()
        # ---- kill -9 node B mid-load ------------------------------------
        while True:
            acked = sum(len(c.acked) for c in clients)
            if acked >= KILL_AFTER_ACKED and time.monotonic() - t0 >= MIN_RUN:
                break
            assert time.monotonic() < t0 + 120, "only %d submissions before the kill" % acked
            assert all(not c.errors for c in clients), [c.errors for c in clients if c.errors][:5]
            assert a.alive() and b.alive(), "a node died on its own\n%s\n%s" % (a.stderr_tail(), b.stderr_tail())
            time.sleep(0.02)
        acked_at_kill = {c.k: len(c.acked) for c in clients}
        b.kill9()
        killed_at = time.monotonic() - t0
        vanish_stop.set()
        for t in threads:
            t.join(max(1.0, deadline - time.monotonic()))
            assert not t.is_alive(), "a client hangs"
    finally:
        vanish_stop.set()
    run_s = time.monotonic() - t0
    errors = [(c.k, c.errors) for c in clients if c.errors]
    assert not errors, errors[:5]
    assert all(outcome[c.k] == "204" for c in a_clients + b_switch), \
        [(c.k, outcome[c.k]) for c in a_clients + b_switch if outcome[c.k] != "204"]
    assert all(outcome[c.k] in ("gone", "stopped") for c in b_vanish), [outcome[c.k] for c in b_vanish]
    # A's clients went on working after the kill, B's switchers worked on A
    assert sum(len(c.acked) - acked_at_kill[c.k] for c in a_clients) > 0
    assert all(c.switched_at is not None for c in b_switch)
    assert sum(len(c.acked) - acked_at_kill[c.k] for c in b_switch) > 0

    # ---- leases the vanished clients held expire, and A's reaper returns them
    held = [c.abandoned for c in b_vanish if c.abandoned]
    vanished_ids = {c.user["id"] for c in b_vanish}
    t_wait = time.monotonic() + LEASE_S + 15
    while True:
        rows = psql(db_url, "SELECT COUNT(*) FROM assignments WHERE project_id = %d AND state = 'leased'"
                    " AND user_id IN (%s)" % (pid, ",".join(str(i) for i in vanished_ids)))
        if rows == ["0"]:
            break
        assert time.monotonic() < t_wait, "leases of vanished clients not returned: %s" % rows
        time.sleep(0.2)

    # drain: the slots those leases held are served again (to A's clients)
    drainers = a_clients + b_switch
    rounds = 0
    while counts(owner, pid)["done"] < N_TASKS:
        rounds += 1
        assert rounds <= 5, counts(owner, pid)
        d = time.monotonic() + 120
        ths = [threading.Thread(target=lambda c=c: c.run(d), daemon=True) for c in drainers]
        for t in ths:
            t.start()
        for t in ths:
            t.join(130)
        assert not any(t.is_alive() for t in ths), "a drain client hangs"
        assert not [c.errors for c in drainers if c.errors]
    checker.finish()
    assert checker.samples >= 3, checker.samples

    # ---- the final state ---------------------------------------------------
    assert check_snapshot(db_url, pid, OVERLAP) == {}
    assert psql(db_url, "SELECT COUNT(*) FROM assignments WHERE project_id = %d AND state = 'leased'" % pid) == ["0"]
    expired = psql(db_url, "SELECT COUNT(*) FROM assignments WHERE project_id = %d AND state = 'expired'"
                   " AND user_id IN (%s)" % (pid, ",".join(str(i) for i in vanished_ids)))
    assert counts(owner, pid) == {"total": N_TASKS, "open": 0, "in_progress": 0, "done": N_TASKS}

    acked = {}  # annotation id -> (task, user, result)
    for c in clients:
        tids = [t for t, _ in c.acked.values()]
        assert len(tids) == len(set(tids)), "user %d submitted a task twice" % c.user["id"]
        for ann_id, (tid, result) in c.acked.items():
            acked[ann_id] = (tid, c.user["id"], result)
    sent = {}  # (client, n) -> (task, user, result)
    for c in clients:
        for n, (_aid, tid, result) in c.sent.items():
            sent[(c.k, n)] = (tid, c.user["id"], result)

    lines = export_lines(owner, pid)
    assert len(lines) == N_TASKS
    exported = {}
    for line in lines:
        anns = line["annotations"]
        assert len(anns) == OVERLAP and len({x["user"] for x in anns}) == OVERLAP, line
        for x in anns:
            exported[x["id"]] = (line["task"]["id"], x["user"], x["result"])
            key = (x["result"]["spans"][0]["attrs"]["client"], x["result"]["spans"][0]["attrs"]["n"])
            assert sent.get(key) == exported[x["id"]], "an annotation nobody sent as such: %r" % x
    for ann_id, v in acked.items():
        assert exported.get(ann_id) == v, "acknowledged annotation %d lost or changed: %r vs %r" \
            % (ann_id, v, exported.get(ann_id))
    unacked = {k: v for k, v in exported.items() if k not in acked}
    cut_off = {(tid, c.user["id"], json.dumps(res, sort_keys=True))
               for c in b_vanish for (_aid, tid, res) in c.cut_off}
    for ann_id, (tid, uid, res) in unacked.items():
        assert (tid, uid, json.dumps(res, sort_keys=True)) in cut_off, \
            "annotation %d stored but never acknowledged, and not cut off by the kill" % ann_id

    # a vanished client's lease, once expired, is its own again: state 'expired' (or 'submitted'
    # when its submit had gone through before the kill)
    for c in b_vanish:
        if not c.abandoned:
            continue
        aid, submit_sent = c.abandoned
        got = expect(a.api(c.token).get("/api/v1/assignments/%d" % aid), 200)
        assert got["state"] in (("expired", "submitted") if submit_sent else ("expired",)), got

    # ---- node B comes back on its data dir and sees the same state -----------
    b.killed = False
    b.start()
    owner_b = b.api(b.token(b.owner_login, b.owner_password))
    assert counts(owner_b, pid) == counts(owner, pid)
    some = clients[1]
    assert expect(b.api(some.token).get("/api/v1/me"), 200)["id"] == some.user["id"]
    assert b.api(some.token).post("/api/v1/projects/%d/next" % pid).status_code == 204

    print("\n%d clients on 2 nodes, %d tasks x %d: B killed at %.1f s, run %.1f s; %d acknowledged,"
          " %d stored unacknowledged (cut off), %d late submits refused, %d leases left by vanished"
          " clients (%s expired), %d drain rounds, %d snapshots"
          % (N_CLIENTS, N_TASKS, OVERLAP, killed_at, run_s, len(acked), len(unacked),
             sum(c.refused_late for c in clients), len(held), expired[0], rounds, checker.samples))
