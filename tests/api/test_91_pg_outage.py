"""
PostgreSQL going away under a running node, and coming back. Runs only with
ANNOTD_DB (scripts/check-pg), but on a cluster of its own (started here with
scripts/pg-test-cluster, so that it can be stopped without touching the
shared one).

  - while the cluster is down, API requests answer 503
    {"error":{"code":"unavailable",...}} promptly (each is bounded by a
    client timeout, so a hang fails the test), sequentially and in
    parallel; /healthz stays 200 (it says the node is alive, not that the
    database is);
  - under a running load of claims and submits, stopping the cluster gives
    503s (never a 500, never a hang), and the load goes on once it is back;
  - once the cluster is started again on the same port (pg_ctl start on the
    same data dir), the same node process serves again: no restart;
  - both a clean stop (pg_ctl -m fast: sessions are terminated, 57P01) and a
    crash (-m immediate) are survived; nothing acknowledged is lost;
  - a server that stops answering without closing its sockets (every
    process of the cluster SIGSTOPped: what a network partition looks like
    to the node) costs a request at most the statement deadline (the node
    runs with --db-timeout 2) and a connection attempt (2 s), answered 503,
    instead of a hang of many minutes; /healthz answers meanwhile; after
    SIGCONT the node serves again, no transaction is left open on the
    server, and nothing acknowledged is lost.
"""

import json
import os
import signal
import subprocess
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
import requests

from conftest import ANNOTD_BIN, ANNOTD_DB, REPO_ROOT, expect, import_tasks, make_project, password_for, unique
from test_90_two_nodes import Node, psql

pytestmark = pytest.mark.skipif(not ANNOTD_DB, reason="needs PostgreSQL (ANNOTD_DB, scripts/check-pg)")

PGBIN = os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin")
CLUSTER = REPO_ROOT / "scripts" / "pg-test-cluster"
FAIL_FAST_S = 8.0       # a request while the database is down must answer within this
REQUEST_TIMEOUT = 20.0  # the client's bound: beyond it the request hangs
RECOVER_S = 20.0        # the node serves again within this after the cluster is back
N_TASKS = 3000          # enough for the load test to run through the outage
DB_TIMEOUT_S = 2        # the node's --db-timeout
FROZEN_S = 15.0         # a request while the server is stopped (SIGSTOP) must answer within this


class Cluster:
    """A throwaway PostgreSQL cluster this module may stop and start."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="annotd-pg-outage.", dir="/tmp")
        cp = subprocess.run([str(CLUSTER), "start", self.dir], capture_output=True, text=True, timeout=120)
        if cp.returncode != 0:
            raise AssertionError("pg-test-cluster start failed: %s" % cp.stderr[-2000:])
        self.url = cp.stdout.strip().splitlines()[-1]
        self.port = urllib.parse.urlsplit(self.url).port

    def _as_owner(self, argv):
        if os.getuid() == 0:
            argv = ["runuser", "-u", "postgres", "--"] + argv
        cp = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        assert cp.returncode == 0, "%s: %s %s" % (argv, cp.stdout[-1000:], cp.stderr[-1000:])

    def stop(self, mode="fast"):
        self._as_owner([PGBIN + "/pg_ctl", "-D", self.dir + "/data", "-m", mode, "-w", "stop"])

    def start(self):
        # as scripts/pg-test-cluster starts it, on the same port
        self._as_owner([PGBIN + "/pg_ctl", "-D", self.dir + "/data", "-l", self.dir + "/server.log",
                        "-w", "-t", "60", "-o",
                        "-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories='%s'"
                        " -c fsync=on -c max_connections=200" % (self.port, self.dir), "start"])

    def pids(self):
        """The postmaster's pid and its children's (every backend and helper), this cluster's only."""
        postmaster = int(Path(self.dir, "data", "postmaster.pid").read_text().split()[0])
        children = Path("/proc/%d/task/%d/children" % (postmaster, postmaster)).read_text().split()
        return postmaster, [int(c) for c in children]

    def freeze(self):
        """SIGSTOP the postmaster (so it forks no more), then every child: sockets stay open, unanswered."""
        postmaster, _ = self.pids()
        os.kill(postmaster, signal.SIGSTOP)
        _, children = self.pids()
        for pid in children:
            os.kill(pid, signal.SIGSTOP)

    def thaw(self):
        postmaster, children = self.pids()
        for pid in children:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        os.kill(postmaster, signal.SIGCONT)

    def remove(self):
        subprocess.run([str(CLUSTER), "stop", self.dir], capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def cluster():
    c = Cluster()
    yield c
    c.remove()


@pytest.fixture(scope="module")
def node(cluster, tmp_path_factory):
    if not ANNOTD_BIN.exists():
        pytest.exit("annotd binary not found at %s" % ANNOTD_BIN, returncode=2)
    n = Node(tmp_path_factory.mktemp("outage"), "outage", cluster.url,
             serve_args=["--db-timeout", str(DB_TIMEOUT_S)])
    n.init()
    n.start()
    yield n
    if n.alive():
        rc = n.stop()
        assert rc == 0, "annotd exited with %r\n%s" % (rc, n.stderr_tail())


class Setup:
    def __init__(self, node):
        self.owner = node.api(node.token(node.owner_login, node.owner_password))
        self.project = make_project(self.owner, overlap=1, lease_seconds=3600)
        self.pid = self.project["id"]
        recs = [{"key": "o%04d" % i, "data": {"text": "outage task %d" % i}} for i in range(N_TASKS)]
        assert expect(import_tasks(self.owner, self.pid, recs), 200)["created"] == N_TASKS
        self.logins = []
        self.annotators = []
        for i in range(8):
            login = unique("outage%d_" % i)
            expect(self.owner.post("/api/v1/users", {"login": login, "password": password_for(login),
                                                     "name": "Outage %d" % i, "role": "annotator"}), 201)
            self.logins.append(login)
            self.annotators.append(node.api(node.token(login)))


@pytest.fixture(scope="module")
def setup(node):
    return Setup(node)


def timed(fn):
    t = time.monotonic()
    try:
        r = fn()
    except requests.Timeout:
        raise AssertionError("request hung (no answer within %.0f s)" % REQUEST_TIMEOUT)
    return r, time.monotonic() - t


def down_requests(node, s, held_aid):
    """(label, callable) of requests that all need the database."""
    ann = s.annotators[0]
    t = REQUEST_TIMEOUT
    return [
        ("GET /me", lambda: ann.get("/api/v1/me", timeout=t)),
        ("GET project", lambda: s.owner.get("/api/v1/projects/%d" % s.pid, timeout=t)),
        ("GET tasks", lambda: s.owner.get("/api/v1/projects/%d/tasks?limit=5" % s.pid, timeout=t)),
        ("POST next", lambda: s.annotators[1].post("/api/v1/projects/%d/next" % s.pid, timeout=t)),
        ("POST submit", lambda: ann.post("/api/v1/assignments/%d/submit" % held_aid,
                                         {"result": {"classes": ["pos"]}}, timeout=t)),
        ("POST login", lambda: node.api().post("/api/v1/auth/login",
                                               {"login": s.logins[2], "password": password_for(s.logins[2])},
                                               timeout=t)),
        ("GET export", lambda: s.owner.get("/api/v1/projects/%d/export?format=jsonl" % s.pid, timeout=t)),
    ]


def assert_unavailable(label, r, elapsed):
    assert elapsed < FAIL_FAST_S, "%s took %.1f s while the database was down" % (label, elapsed)
    detail = "%s -> %d %s" % (label, r.status_code, r.text[:300])
    assert r.status_code == 503, detail
    body = r.json()
    assert set(body) == {"error"} and body["error"]["code"] == "unavailable", detail
    assert isinstance(body["error"].get("message"), str) and body["error"]["message"], detail


def wait_until_served(node, s):
    t_end = time.monotonic() + RECOVER_S
    last = None
    while time.monotonic() < t_end:
        try:
            last = s.annotators[0].get("/api/v1/me", timeout=5)
            if last.status_code == 200:
                return time.monotonic() - (t_end - RECOVER_S)
        except requests.RequestException as e:
            last = e
        time.sleep(0.2)
    raise AssertionError("node not serving %.0f s after the cluster came back: %r %s"
                         % (RECOVER_S, last, getattr(last, "text", "")[:300]))


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_requests_answer_503_while_down_and_recover(node, cluster, setup, mode):
    s = setup
    pid_before = node.proc.pid
    ann = s.annotators[0]
    # warm every pooled connection, so that they all break at once
    for a in s.annotators:
        expect(a.get("/api/v1/me"), 200)
    body = expect(ann.post("/api/v1/projects/%d/next" % s.pid), 200)
    held = body["assignment"]["id"]

    cluster.stop(mode)
    try:
        assert node.alive()
        for _ in range(3):  # each pooled connection finds its break in turn
            for label, fn in down_requests(node, s, held):
                r, el = timed(fn)
                assert_unavailable(label, r, el)
        # in parallel, more requests than the pool has connections
        results = []

        def burst(a):
            for _ in range(3):
                results.append(timed(lambda: a.post("/api/v1/projects/%d/next" % s.pid, timeout=REQUEST_TIMEOUT))
                               + ("parallel next",))

        ths = [threading.Thread(target=burst, args=(a,)) for a in s.annotators for _ in range(2)]
        for t in ths:
            t.start()
        for t in ths:
            t.join(REQUEST_TIMEOUT * 4)
        assert not any(t.is_alive() for t in ths)
        assert len(results) == len(ths) * 3
        for r, el, label in results:
            assert_unavailable(label, r, el)
        # the node itself is alive (load balancers keep it)
        r, el = timed(lambda: node.api().get("/healthz", timeout=REQUEST_TIMEOUT))
        assert r.status_code == 200 and el < FAIL_FAST_S, (r.status_code, el)
    finally:
        cluster.start()

    took = wait_until_served(node, s)
    assert node.alive() and node.proc.pid == pid_before, "the node restarted"
    # everything works again, with the same tokens
    for label, fn in down_requests(node, s, held):
        r, _ = timed(fn)
        assert r.status_code in (200, 201, 204), "%s after recovery -> %d %s" % (label, r.status_code, r.text[:300])
    # the lease held across the outage was submitted just now (POST submit above)
    got = expect(ann.get("/api/v1/assignments/%d" % held), 200)
    assert got["state"] == "submitted", got
    print("\n%s stop: served again %.2f s after the cluster was started" % (mode, took))


def test_outage_under_load_loses_nothing_acknowledged(node, cluster, setup):
    """Claims and submits keep running while the cluster stops and starts."""
    s = setup
    stop = threading.Event()
    down = threading.Event()
    report = {"statuses": {}, "bad": [], "acked": {}, "hung": []}
    lock = threading.Lock()

    def note(status):
        with lock:
            report["statuses"][status] = report["statuses"].get(status, 0) + 1

    def worker(k, a):
        n = 0
        while not stop.is_set():
            try:
                r = a.post("/api/v1/projects/%d/next" % s.pid, timeout=REQUEST_TIMEOUT)
            except requests.Timeout:
                report["hung"].append(("next", k))
                return
            note(r.status_code)
            if r.status_code == 503:
                if r.json()["error"]["code"] != "unavailable":
                    report["bad"].append(("next", r.status_code, r.text[:200]))
                time.sleep(0.05)
                continue
            if r.status_code == 204:
                return
            if r.status_code != 200:
                report["bad"].append(("next", r.status_code, r.text[:200]))
                return
            aid = r.json()["assignment"]["id"]
            result = {"classes": ["pos"], "spans": [{"start": 0, "end": 1, "label": "PER",
                                                     "attrs": {"k": k, "n": n}}]}
            n += 1
            while True:  # retry the submit until it is answered by the database
                try:
                    r = a.post("/api/v1/assignments/%d/submit" % aid, {"result": result}, timeout=REQUEST_TIMEOUT)
                except requests.Timeout:
                    report["hung"].append(("submit", k))
                    return
                note(r.status_code)
                if r.status_code == 503:
                    if r.json()["error"]["code"] != "unavailable":
                        report["bad"].append(("submit", r.status_code, r.text[:200]))
                    if stop.is_set():
                        return
                    time.sleep(0.05)
                    continue
                if r.status_code == 201:
                    ann = r.json()
                elif r.status_code == 409 and "annotation" in r.json():
                    ann = r.json()["annotation"]  # committed, but the answer was a 503
                else:
                    report["bad"].append(("submit", r.status_code, r.text[:200]))
                    return
                if ann["result"] != result:
                    report["bad"].append(("submit result", ann))
                    return
                with lock:
                    report["acked"][ann["id"]] = (ann["task"], result)
                break

    ths = [threading.Thread(target=worker, args=(k, a), daemon=True) for k, a in enumerate(s.annotators)]
    for t in ths:
        t.start()
    time.sleep(1.0)
    before = dict(report["statuses"])
    cluster.stop("fast")
    down.set()
    time.sleep(2.0)
    during = dict(report["statuses"])
    cluster.start()
    wait_until_served(node, s)
    time.sleep(1.5)
    stop.set()
    for t in ths:
        t.join(REQUEST_TIMEOUT * 3)
    assert not any(t.is_alive() for t in ths), "a client hangs"
    assert not report["hung"], report["hung"]
    assert not report["bad"], report["bad"][:5]
    assert set(report["statuses"]) <= {200, 201, 204, 409, 503}, report["statuses"]
    assert during.get(503, 0) > before.get(503, 0), (before, during)
    after = report["statuses"]
    assert after.get(201, 0) > during.get(201, 0), "no submit went through after the cluster came back: %r" \
        % after

    lines = [json.loads(l) for l in expect(s.owner.get("/api/v1/projects/%d/export?format=jsonl" % s.pid,
                                                       timeout=60), 200).decode().splitlines() if l]
    stored = {a["id"]: (l["task"]["id"], a["result"]) for l in lines for a in l["annotations"]}
    for ann_id, v in report["acked"].items():
        assert stored.get(ann_id) == v, (ann_id, v, stored.get(ann_id))
    print("\nunder load: statuses %r, %d acknowledged" % (after, len(report["acked"])))


def annotd_open_transactions(url):
    """annotd's sessions on the server that are inside a transaction (none may be left behind)."""
    return psql(url, "SELECT pid, application_name, state, left(query, 60) FROM pg_stat_activity"
                     " WHERE application_name LIKE 'annotd%' AND state LIKE 'idle in transaction%'")


def test_stopped_server_answers_503_within_the_deadline(node, cluster, setup):
    """SIGSTOP every process of the cluster: requests answer 503 after --db-timeout, not never."""
    s = setup
    pid_before = node.proc.pid
    project = make_project(s.owner, overlap=1, lease_seconds=3600)
    pid = project["id"]
    recs = [{"key": "f%03d" % i, "data": {"text": "frozen task %d" % i}} for i in range(40)]
    assert expect(import_tasks(s.owner, pid, recs), 200)["created"] == 40
    acked = {}  # annotation id -> (task id, result)

    def claim_and_submit(a, tag):
        aid = expect(a.post("/api/v1/projects/%d/next" % pid), 200)["assignment"]["id"]
        result = {"classes": ["pos"], "spans": [{"start": 0, "end": 1, "label": "PER", "attrs": {"t": tag}}]}
        ann = expect(a.post("/api/v1/assignments/%d/submit" % aid, {"result": result}), 201)
        acked[ann["id"]] = (ann["task"], result)

    for k, a in enumerate(s.annotators):  # every pooled connection open and idle: they all freeze
        expect(a.get("/api/v1/me"), 200)
        claim_and_submit(a, "before%d" % k)
    ann = s.annotators[0]
    held = expect(ann.post("/api/v1/projects/%d/next" % pid), 200)["assignment"]["id"]
    t = REQUEST_TIMEOUT
    frozen_requests = [
        ("GET /me", lambda: ann.get("/api/v1/me", timeout=t)),
        ("GET project", lambda: s.owner.get("/api/v1/projects/%d" % pid, timeout=t)),
        ("GET tasks", lambda: s.owner.get("/api/v1/projects/%d/tasks?limit=5" % pid, timeout=t)),
        ("POST next", lambda: s.annotators[1].post("/api/v1/projects/%d/next" % pid, timeout=t)),
        ("POST submit", lambda: ann.post("/api/v1/assignments/%d/submit" % held,
                                         {"result": {"classes": ["neg"]}}, timeout=t)),
        ("POST login", lambda: node.api().post("/api/v1/auth/login",
                                               {"login": s.logins[2], "password": password_for(s.logins[2])},
                                               timeout=t)),
        ("GET export", lambda: s.owner.get("/api/v1/projects/%d/export?format=jsonl" % pid, timeout=t)),
    ]

    def frozen_503(label, r, elapsed):
        assert elapsed < FROZEN_S, "%s took %.1f s while the server was stopped" % (label, elapsed)
        detail = "%s -> %d %s" % (label, r.status_code, r.text[:300])
        assert r.status_code == 503, detail
        body = r.json()
        assert set(body) == {"error"} and body["error"]["code"] == "unavailable", detail
        assert isinstance(body["error"].get("message"), str) and body["error"]["message"], detail

    took_s = []  # (label, seconds) of each request answered while stopped
    cluster.freeze()
    try:
        assert node.alive()
        # first the pooled connections (their statements meet the deadline), then new
        # ones (their connection attempt meets connect_timeout), one request at a time
        for _ in range(2):
            for label, fn in frozen_requests:
                r, el = timed(fn)
                frozen_503(label, r, el)
                took_s.append((label, round(el, 1)))
                h, hel = timed(lambda: node.api().get("/healthz", timeout=REQUEST_TIMEOUT))
                assert h.status_code == 200 and hel < FAIL_FAST_S, ("healthz", h.status_code, hel)
        # in parallel: one request per pooled connection, and /healthz among them
        results = []

        def one(a):
            results.append(timed(lambda: a.post("/api/v1/projects/%d/next" % pid, timeout=REQUEST_TIMEOUT))
                           + ("parallel next",))

        ths = [threading.Thread(target=one, args=(a,)) for a in s.annotators]
        for th in ths:
            th.start()
        h, hel = timed(lambda: node.api().get("/healthz", timeout=REQUEST_TIMEOUT))
        for th in ths:
            th.join(REQUEST_TIMEOUT * 2)
        assert not any(th.is_alive() for th in ths)
        assert h.status_code == 200 and hel < FROZEN_S, ("healthz under load", h.status_code, hel)
        assert len(results) == len(ths)
        for r, el, label in results:
            frozen_503(label, r, el)
            took_s.append((label, round(el, 1)))
        assert node.alive()
    finally:
        cluster.thaw()

    took = wait_until_served(node, s)
    assert node.alive() and node.proc.pid == pid_before, "the node restarted"
    # the submit answered 503 was not committed: it goes through now
    result = {"classes": ["pos"], "spans": [{"start": 0, "end": 1, "label": "PER", "attrs": {"t": "held"}}]}
    got = expect(ann.post("/api/v1/assignments/%d/submit" % held, {"result": result}), 201)
    acked[got["id"]] = (got["task"], result)
    for k, a in enumerate(s.annotators):  # writes succeed on every connection again
        claim_and_submit(a, "after%d" % k)
    # nothing acknowledged was lost, and the 503s wrote nothing
    lines = [json.loads(l) for l in expect(s.owner.get("/api/v1/projects/%d/export?format=jsonl" % pid,
                                                       timeout=60), 200).decode().splitlines() if l]
    stored = {a["id"]: (l["task"]["id"], a["result"]) for l in lines for a in l["annotations"]}
    assert stored == acked, (stored, acked)
    # the connections cut at their deadline left no transaction open on the server
    t_end = time.monotonic() + 10
    open_tx = annotd_open_transactions(cluster.url)
    while open_tx and time.monotonic() < t_end:  # (the reaper's own, a moment long, may show up)
        time.sleep(0.2)
        open_tx = annotd_open_transactions(cluster.url)
    assert not open_tx, open_tx
    print("\nstopped server: served again %.2f s after SIGCONT; 503s took %r" % (took, took_s))
