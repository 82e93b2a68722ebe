"""
Crash safety of the queue: a 2xx on submit means durable.

A dedicated server on a fresh data dir; 20 annotators claim and submit in a
loop, each result unique (a span whose attrs name the client and its
sequence number). The server is killed with SIGKILL mid-run, restarted on
the same data dir, and then:

  - every submission that got a 201 is stored intact (same task, user and
    result), over GET /tasks/{id}/annotations and in the export;
  - every stored annotation is one that was sent, byte-for-byte the same
    result (unacknowledged ones may be there or not, never half);
  - no task has more annotations than its overlap, none from a user twice;
  - the counters agree with the assignments and the project counts with the
    tasks (checked on the SQLite file, read-only, and over the API);
  - acknowledged drafts, skips and releases are kept too;
  - the queue keeps working: a lease held before the crash comes back (with
    its draft), and new submissions go through.

ANNOTD_SANITIZED=1 (an ASan build) uses a smaller run.
"""

import json
import os
import signal
import threading
import time

import pytest
import requests

from conftest import ANNOTD_BIN, Server, expect, import_tasks, make_project, password_for, unique
from test_45_queue_concurrency import check_snapshot, open_ro

SANITIZED = os.environ.get("ANNOTD_SANITIZED") == "1"
N_CLIENTS = 10 if SANITIZED else 20
N_TASKS = 1500 if SANITIZED else 4000
OVERLAP = 2
KILL_AFTER_ACKED = 100 if SANITIZED else 300  # ... and at least MIN_RUN seconds
MIN_RUN = 1.0
KILL_DEADLINE = 60.0


@pytest.fixture
def crash_server(tmp_path):
    if not ANNOTD_BIN.exists():
        pytest.exit("annotd binary not found at %s" % ANNOTD_BIN, returncode=2)
    srv = Server(tmp_path, "crash")
    srv.init()
    srv.start()
    yield srv
    if srv.alive():
        srv.stop()


def text_of(i):
    return "crash task %05d: the quick brown fox jumps over the lazy dog" % i


def result_for(k, n):
    """A result unique to client k's n-th submission."""
    return {"classes": ["pos" if (k + n) % 2 else "neg"],
            "spans": [{"id": "c%dn%d" % (k, n), "start": k % 10, "end": k % 10 + 1 + n % 20,
                       "label": "PER" if n % 3 else "LOC", "attrs": {"client": k, "n": n, "pad": "x" * (n % 50)}}]}


class Client:
    """
    One annotator's loop: next, then mostly submit; every 5th claim first
    saves a draft, every 7th is skipped and every 11th released instead.
    """

    def __init__(self, k, api, user, pid):
        self.k, self.api, self.user, self.pid = k, api, user, pid
        self.attempts = {}  # n -> (assignment id, task id, result): sent, maybe stored
        self.acked = {}     # assignment id -> (annotation id, task id, result): got a 201
        self.last = None    # the last assignment claimed ...
        self.last_action = None  # ... what was last sent for it: draft, submit, skip, release
        self.last_draft = None   # ... its last draft sent, and whether it was acknowledged
        self.draft_acked = False
        self.skipped = []   # assignments whose skip got a 200
        self.errors = []    # unexpected answers while the server was up
        self.ended_by = None

    def _post(self, path, body=None, method="POST"):
        try:
            return self.api.request(method, path, json_body=body, timeout=30)
        except requests.RequestException as e:
            self.ended_by = repr(e)
            return None

    def run(self, stop):
        n = 0  # submissions sent
        claims = 0
        while not stop.is_set():
            r = self._post("/api/v1/projects/%d/next" % self.pid)
            if r is None:
                return
            if r.status_code == 204:
                self.ended_by = "204"
                return
            if r.status_code != 200:
                self.errors.append(("next", r.status_code, r.text[:300]))
                return
            claims += 1
            body = r.json()
            aid, tid = body["assignment"]["id"], body["task"]["id"]
            self.last, self.last_action, self.last_draft, self.draft_acked = aid, None, None, False
            if claims % 5 == 0:
                self.last_action = "draft"
                self.last_draft = {"classes": ["pos"], "note": "draft of client %d claim %d" % (self.k, claims)}
                r = self._post("/api/v1/assignments/%d/draft" % aid, {"result": self.last_draft}, "PUT")
                if r is None:
                    return
                if r.status_code != 200 or r.json()["draft"] != self.last_draft:
                    self.errors.append(("draft", r.status_code, r.text[:300]))
                    return
                self.draft_acked = True
            if claims % 7 == 0 or claims % 11 == 0:
                action = "skip" if claims % 7 == 0 else "release"
                self.last_action = action
                r = self._post("/api/v1/assignments/%d/%s" % (aid, action))
                if r is None:
                    return
                want = "skipped" if action == "skip" else "released"
                if r.status_code != 200 or r.json()["state"] != want:
                    self.errors.append((action, r.status_code, r.text[:300]))
                    return
                if action == "skip":
                    self.skipped.append(aid)
                continue
            result = result_for(self.k, n)
            self.attempts[n] = (aid, tid, result)
            self.last_action = "submit"
            r = self._post("/api/v1/assignments/%d/submit" % aid, {"result": result})
            if r is None:
                return
            if r.status_code != 201:
                self.errors.append(("submit", r.status_code, r.text[:300]))
                return
            ann = r.json()
            if ann["task"] != tid or ann["user"] != self.user["id"] or ann["result"] != result:
                self.errors.append(("submit body", ann))
                return
            self.acked[aid] = (ann["id"], tid, result)
            n += 1


def export_lines(client, pid):
    r = client.get("/api/v1/projects/%d/export?format=jsonl" % pid, timeout=120)
    assert r.status_code == 200, r.text[:500]
    return [json.loads(line) for line in r.content.decode().splitlines() if line]


def counts(client, pid):
    return expect(client.get("/api/v1/projects/%d" % pid), 200)["counts"]


def test_kill_9_loses_no_acknowledged_submission(crash_server):
    srv = crash_server
    owner = srv.api(srv.token(srv.owner_login, srv.owner_password))
    p = make_project(owner, overlap=OVERLAP, lease_seconds=3600)
    pid = p["id"]
    records = [{"key": "k%05d" % i, "data": {"text": text_of(i)}} for i in range(N_TASKS)]
    assert expect(import_tasks(owner, pid, records), 200)["created"] == N_TASKS
    tasks = {t["id"]: t for t in owner.list_all("/api/v1/projects/%d/tasks" % pid)}
    assert len(tasks) == N_TASKS

    logins = []
    clients = []
    for k in range(N_CLIENTS):
        login = unique("crash%d_" % k)
        user = expect(owner.post("/api/v1/users", {"login": login, "password": password_for(login),
                                                   "name": "Crash %d" % k, "role": "annotator"}), 201)
        logins.append(login)
        clients.append(Client(k, srv.api(srv.token(login)), user, pid))

    # ---- run, and kill -9 mid-run ------------------------------------------
    stop = threading.Event()
    threads = [threading.Thread(target=c.run, args=(stop,), daemon=True) for c in clients]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    deadline = t0 + KILL_DEADLINE
    try:
        while True:
            acked = sum(len(c.acked) for c in clients)
            if acked >= KILL_AFTER_ACKED and time.monotonic() - t0 >= MIN_RUN:
                break
            assert time.monotonic() < deadline, "only %d submissions in %.0f s" % (acked, KILL_DEADLINE)
            assert all(not c.errors for c in clients), [c.errors for c in clients if c.errors]
            assert srv.alive(), "server died on its own\n" + srv.stderr_tail()
            assert all(t.is_alive() for t in threads), \
                "a client stopped before the kill: %r" % [c.ended_by for c in clients]
            time.sleep(0.02)
        os.kill(srv.proc.pid, signal.SIGKILL)
        srv.proc.wait(10)
        killed_at = time.monotonic() - t0
    finally:
        stop.set()  # (also when an assertion above failed)
    for t in threads:
        t.join(60)
        assert not t.is_alive(), "a client hangs after the kill"
    rc = srv.stop()  # just the bookkeeping: the process is gone
    assert rc == -signal.SIGKILL, rc
    for c in clients:
        assert not c.errors, c.errors
        assert c.ended_by != "204", "client %d ran out of work before the kill" % c.k

    acked = {}      # assignment id -> (annotation id, task, user, result)
    attempts = {}   # (client, n) -> (assignment id, task, user, result)
    for c in clients:
        for aid, (ann_id, tid, result) in c.acked.items():
            acked[aid] = (ann_id, tid, c.user["id"], result)
        for n, (aid, tid, result) in c.attempts.items():
            attempts[(c.k, n)] = (aid, tid, c.user["id"], result)
    n_acked = len(acked)
    assert n_acked >= KILL_AFTER_ACKED

    # ---- restart on the same data dir ----------------------------------------
    srv.start()
    owner = srv.api(srv.token(srv.owner_login, srv.owner_password))
    apis = [srv.api(srv.token(login)) for login in logins]

    # every acknowledged submission is there, intact, over the annotations route
    by_task = {}
    for aid, (ann_id, tid, uid, result) in acked.items():
        by_task.setdefault(tid, {})[ann_id] = (uid, result)
    for tid, want in by_task.items():
        items = owner.list_all("/api/v1/tasks/%d/annotations" % tid)
        got = {i["id"]: (i["user"], i["result"]) for i in items}
        for ann_id, v in want.items():
            assert got.get(ann_id) == v, "acknowledged annotation %d of task %d: want %r, got %r" \
                % (ann_id, tid, v, got.get(ann_id))
    # ... and each annotator sees its own
    for c, api in zip(clients, apis):
        for aid, (ann_id, tid, result) in list(c.acked.items())[:5]:
            items = api.list_all("/api/v1/tasks/%d/annotations" % tid)
            assert [(i["id"], i["user"], i["result"]) for i in items] == [(ann_id, c.user["id"], result)]

    # the export: acknowledged ones all there; everything there was sent, whole
    lines = export_lines(owner, pid)
    assert sorted(l["task"]["id"] for l in lines) == sorted(tasks)
    stored = {}  # annotation id -> (task, user, result)
    per_task = {}
    for line in lines:
        tid = line["task"]["id"]
        assert line["task"]["data"] == tasks[tid]["data"]
        anns = line["annotations"]
        assert len(anns) <= OVERLAP, line
        assert len({a["user"] for a in anns}) == len(anns), line
        per_task[tid] = len(anns)
        for a in anns:
            stored[a["id"]] = (tid, a["user"], a["result"])
            spans = a["result"].get("spans") if isinstance(a["result"], dict) else None
            assert spans and "attrs" in spans[0], "an annotation nobody sent: %r" % a
            key = (spans[0]["attrs"]["client"], spans[0]["attrs"]["n"])
            assert key in attempts, "an annotation nobody sent: %r" % a
            _aid, want_tid, want_uid, want_result = attempts[key]
            assert (tid, a["user"], a["result"]) == (want_tid, want_uid, want_result), \
                "stored annotation differs from what was sent: %r vs %r" % (a, attempts[key])
    for aid, (ann_id, tid, uid, result) in acked.items():
        assert stored.get(ann_id) == (tid, uid, result), (aid, ann_id)
    unacked_stored = len(stored) - n_acked
    assert 0 <= unacked_stored <= N_CLIENTS  # at most the one in flight per client

    # counts agree with what is stored
    c = counts(owner, pid)
    n_done = sum(1 for v in per_task.values() if v == OVERLAP)
    assert c["total"] == N_TASKS
    assert c["done"] == n_done
    assert c["open"] + c["in_progress"] + c["done"] == N_TASKS
    states = {st: {t["id"] for t in owner.list_all("/api/v1/projects/%d/tasks?state=%s" % (pid, st))}
              for st in ("open", "in_progress", "done")}
    assert {st: len(v) for st, v in states.items()} == {k: c[k] for k in ("open", "in_progress", "done")}
    assert states["done"] == {tid for tid, v in per_task.items() if v == OVERLAP}
    assert all(per_task[tid] == 0 for tid in states["open"])

    # the store's own bookkeeping (counters vs assignments vs annotations)
    if not srv.db_url:
        con = open_ro(srv.data / "annotd.db")
        try:
            assert check_snapshot(con, pid, OVERLAP) == {}
        finally:
            con.close()

    # ---- the queue keeps working -----------------------------------------------
    # acknowledged skips are final
    n_skipped = 0
    for cl, api in zip(clients, apis):
        for aid in cl.skipped:
            got = expect(api.get("/api/v1/assignments/%d" % aid), 200)
            assert got["state"] == "skipped", got
            n_skipped += 1
    assert n_skipped > 0

    after_states = {None: ("leased",), "draft": ("leased",), "submit": ("leased", "submitted"),
                    "skip": ("leased", "skipped"), "release": ("leased", "released")}
    for cl, api in zip(clients, apis):
        last = None
        if cl.last is not None:
            last = expect(api.get("/api/v1/assignments/%d" % cl.last), 200)
            assert last["state"] in after_states[cl.last_action], (cl.last_action, last)
            if last["state"] == "leased" and cl.draft_acked:
                assert last["draft"] == cl.last_draft, "an acknowledged draft is lost: %r" % last
            elif last["state"] == "leased" and last["draft"] is not None:
                assert last["draft"] == cl.last_draft, last  # in flight: there whole, or not
        body = expect(api.post("/api/v1/projects/%d/next" % pid), 200)
        if last is not None and last["state"] == "leased":
            # the lease held at the crash comes back, with its draft
            assert body["assignment"]["id"] == cl.last, (cl.k, body, last)
            assert body["assignment"]["draft"] == last["draft"]
        elif last is not None and last["state"] in ("submitted", "skipped"):
            assert body["assignment"]["id"] != cl.last
        result = result_for(cl.k, 10000)
        ann = expect(api.post("/api/v1/assignments/%d/submit" % body["assignment"]["id"],
                              {"result": result}), 201)
        assert ann["result"] == result
    assert counts(owner, pid)["total"] == N_TASKS
    if not srv.db_url:
        con = open_ro(srv.data / "annotd.db")
        try:
            assert check_snapshot(con, pid, OVERLAP) == {}
        finally:
            con.close()

    print("\nkilled after %.1f s: %d acknowledged, %d unacknowledged stored"
          % (killed_at, n_acked, unacked_stored))
    rc = srv.stop()
    assert rc == 0, "restarted server exited with %r\n%s" % (rc, srv.stderr_tail())
