"""
Live updates: GET /api/v1/events (Server-Sent Events).

A stream is read by a background thread (requests, stream=True) that parses
events into a queue, so every wait has a deadline. Streams are opened in
org A of the world unless a test needs its own server or user; each test
makes its own project, so events of other tests never match its topics.

With ANNOTD_DB set, a second node on the same database checks that an
event committed on one node reaches a stream on the other.
"""

import queue
import socket
import threading
import time

import pytest
import requests

from conftest import (ANNOTD_DB, Server, expect, import_tasks, make_project, password_for,
                      stop_and_check, unique)

WAIT = 10.0  # seconds for an event to arrive (generous for sanitized builds)
RESULT = {"classes": ["pos"]}


class Stream:
    """One open event stream; events land in self.events as dicts."""

    def __init__(self, base, token, topics, last_event_id=None):
        headers = {"Authorization": "Bearer " + token, "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.session = requests.Session()
        self.session.trust_env = False
        self.r = self.session.get(base + "/api/v1/events", params={"topics": topics},
                                  headers=headers, stream=True, timeout=(5, 60))
        self.events = queue.Queue()
        self.ended = threading.Event()
        self.comments = []
        if self.r.status_code == 200:
            self.thread = threading.Thread(target=self._read, daemon=True)
            self.thread.start()

    def _read(self):
        buf = b""
        try:
            for chunk in self.r.iter_content(chunk_size=None):
                buf += chunk
                while b"\n\n" in buf:
                    block, buf = buf.split(b"\n\n", 1)
                    self._block(block.decode())
        except (requests.RequestException, OSError, ValueError, AttributeError):
            pass
        finally:
            self.ended.set()

    def _block(self, block):
        ev = {"data": []}
        for line in block.split("\n"):
            if line.startswith(":"):
                self.comments.append(line)
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "data":
                ev["data"].append(value)
            elif field in ("event", "id", "retry"):
                ev[field] = value
        if "event" in ev or ev["data"]:
            ev["data"] = "\n".join(ev["data"])
            self.events.put(ev)

    def next(self, timeout=WAIT):
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no event within %.0f s" % timeout)

    def next_matching(self, pred, timeout=WAIT):
        """The next event for which pred(event, json) holds, skipping others."""
        import json
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no matching event within %.0f s" % timeout)
            ev = self.next(left)
            if pred(ev, json.loads(ev["data"])):
                return ev, json.loads(ev["data"])

    def quiet(self, seconds):
        """The events that arrive within `seconds` (expected: none)."""
        got = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                got.append(self.events.get(timeout=max(0.01, deadline - time.monotonic())))
            except queue.Empty:
                pass
        return got

    def close(self):
        # shut the socket first: the reader thread is blocked in recv() on it
        for get in (lambda: self.r.raw._connection.sock, lambda: self.r.raw._fp.fp.raw._sock):
            try:
                get().shutdown(socket.SHUT_RDWR)
                break
            except (AttributeError, OSError):
                pass
        self.ended.wait(5)
        self.r.close()
        self.session.close()


def stream_ok(base, token, topics, **kw):
    s = Stream(base, token, topics, **kw)
    assert s.r.status_code == 200, (s.r.status_code, s.r.text[:300])
    assert s.r.headers["Content-Type"].startswith("text/event-stream")
    assert "no-store" in s.r.headers.get("Cache-Control", "")
    assert s.r.headers.get("X-Accel-Buffering") == "no"
    return s


def new_project(owner, n=1, **fields):
    p = make_project(owner, **fields)
    records = [{"key": "e%d" % i, "data": {"text": "event text %d" % i}} for i in range(n)]
    res = expect(import_tasks(owner, p["id"], records), 200)
    assert res["created"] == n
    return p


def claim(client, pid):
    return expect(client.post("/api/v1/projects/%d/next" % pid), 200)


def submit(client, aid):
    return expect(client.post("/api/v1/assignments/%d/submit" % aid, {"result": RESULT}), 201)


def token_of(client):
    return client.token


# --------------------------------------------------------------------------


def test_claim_and_submit_arrive_in_order(world):
    a = world.a
    p = new_project(a["owner"])
    s = stream_ok(world.server.base, token_of(a["annotator"]), "project.%d" % p["id"])
    try:
        body = claim(a["manager"], p["id"])
        aid, tid = body["assignment"]["id"], body["task"]["id"]
        ann = submit(a["manager"], aid)

        evs = [s.next() for _ in range(3)]
        import json
        kinds = [(e["event"], json.loads(e["data"])) for e in evs]
        assert kinds[0][0] == "task"
        assert kinds[0][1]["task"] == tid and kinds[0][1]["state"] == "in_progress"
        assert kinds[0][1]["cause"] == "claim"
        assert kinds[0][1]["counts"] == {"tasks": 1, "in_progress": 1, "done": 0}
        assert kinds[1][0] == "annotation"
        assert kinds[1][1] == {"type": "annotation", "task": tid, "annotation": ann["id"],
                               "user": a.users["manager"]["id"], "version": 1}
        assert kinds[2][0] == "task"
        assert kinds[2][1]["state"] == "done" and kinds[2][1]["cause"] == "submit"
        assert kinds[2][1]["counts"] == {"tasks": 1, "in_progress": 0, "done": 1}
        ids = [int(e["id"]) for e in evs]
        assert ids == sorted(ids) and len(set(ids)) == 3
    finally:
        s.close()


def test_skip_release_and_import(world):
    a = world.a
    p = new_project(a["owner"], n=2)
    s = stream_ok(world.server.base, token_of(a["viewer"]), "project.%d" % p["id"])
    try:
        body = claim(a["annotator"], p["id"])
        expect(a["annotator"].post("/api/v1/assignments/%d/release" % body["assignment"]["id"]), 200)
        body = claim(a["annotator"], p["id"])
        expect(a["annotator"].post("/api/v1/assignments/%d/skip" % body["assignment"]["id"]), 200)
        res = expect(import_tasks(a["owner"], p["id"], [{"key": "more", "data": {"text": "x"}}]), 200)
        assert res["created"] == 1
        causes = []
        for _ in range(4):
            ev, d = s.next_matching(lambda e, d: e["event"] == "task")
            causes.append((d["cause"], d["state"]))
        assert causes == [("claim", "in_progress"), ("release", "open"),
                          ("claim", "in_progress"), ("skip", "open")]
        ev, d = s.next_matching(lambda e, d: e["event"] == "tasks")
        assert d["created"] == 1 and d["counts"]["tasks"] == 3
    finally:
        s.close()


def test_topics_checked(world):
    a, b = world.a, world.b
    base = world.server.base
    tok = token_of(a["annotator"])
    # another org's project: as if it did not exist
    r = Stream(base, tok, "project.%d" % b.project["id"])
    expect(r.r, 404, "not_found")
    r = Stream(base, tok, "project.%d,project.%d" % (a.project["id"], b.project["id"]))
    expect(r.r, 404, "not_found")
    expect(Stream(base, tok, "project.999999999").r, 404, "not_found")
    for bad in ("", "project.", "project.x", "project.0", "tasks", "project.1,,project.2"):
        expect(Stream(base, tok, bad).r, 400, "invalid_request", path="topics")
    r = requests.get(base + "/api/v1/events", params={"topics": "projects"}, timeout=10)
    expect(r, 401)


def test_no_events_of_other_orgs(world):
    a, b = world.a, world.b
    pa = new_project(a["owner"])
    s = stream_ok(world.server.base, token_of(a["viewer"]), "projects,project.%d" % pa["id"])
    try:
        # org B works: a new project, a claim and a submit
        pb = new_project(b["owner"])
        body = claim(b["annotator"], pb["id"])
        submit(b["annotator"], body["assignment"]["id"])
        # then org A: its event is the first the stream sees
        pa2 = make_project(a["owner"])
        ev, d = s.next_matching(lambda e, d: True)
        assert ev["event"] == "project" and d == {"type": "project", "project": pa2["id"],
                                                  "action": "created"}
        body = claim(a["annotator"], pa["id"])
        ev, d = s.next_matching(lambda e, d: True)
        assert ev["event"] == "task" and d["task"] == body["task"]["id"]
        assert s.quiet(0.3) == []
    finally:
        s.close()


def test_replay_after_reconnect(world):
    a = world.a
    p = new_project(a["owner"], n=2)
    topic = "project.%d" % p["id"]
    s = stream_ok(world.server.base, token_of(a["reviewer"]), topic)
    try:
        claim(a["annotator"], p["id"])
        first = s.next()
    finally:
        s.close()
    # missed while away: a submit (two events)
    body = claim(a["annotator"], p["id"])
    submit(a["annotator"], body["assignment"]["id"])
    s = stream_ok(world.server.base, token_of(a["reviewer"]), topic, last_event_id=first["id"])
    try:
        evs = [s.next(), s.next()]
        assert [e["event"] for e in evs] == ["annotation", "task"]
        assert int(evs[0]["id"]) > int(first["id"])
    finally:
        s.close()
    # an id the server no longer knows (another run, another node): one resync
    s = stream_ok(world.server.base, token_of(a["reviewer"]), topic, last_event_id=1)
    try:
        ev = s.next()
        assert ev["event"] == "resync"
    finally:
        s.close()


def test_streams_per_user_capped(world):
    a = world.a
    login = unique("a_sse")
    expect(a["owner"].post("/api/v1/users", {"login": login, "password": password_for(login),
                                             "name": "SSE", "role": "viewer"}), 201)
    tok = world.server.token(login)
    streams = []
    try:
        for _ in range(8):
            streams.append(stream_ok(world.server.base, tok, "projects"))
        r = Stream(world.server.base, tok, "projects")
        expect(r.r, 429, "too_many_streams")
        # other users are not affected
        other = stream_ok(world.server.base, token_of(a["viewer"]), "projects")
        other.close()
    finally:
        for s in streams:
            s.close()


def test_stream_ends_when_server_stops(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("events_stop"), "events_stop")
    srv.init()
    srv.start()
    try:
        tok = srv.token(srv.owner_login, srv.owner_password)
        s1 = stream_ok(srv.base, tok, "projects")
        s2 = stream_ok(srv.base, tok, "projects")
        make_project(srv.api(tok))
        assert s1.next()["event"] == "project"
        t0 = time.monotonic()
    finally:
        stop_and_check(srv)
    # ended at once, not after the stop's 10 s grace
    assert time.monotonic() - t0 < 5.0
    assert s1.ended.wait(5) and s2.ended.wait(5)


@pytest.mark.skipif(not ANNOTD_DB, reason="two nodes need a shared PostgreSQL (ANNOTD_DB)")
def test_two_nodes_share_events(world, tmp_path_factory):
    a = world.a
    node1 = world.server
    node2 = Server(tmp_path_factory.mktemp("node2"), "node2")
    node2.db_url = node1.db_url  # the same database, its own data dir
    node2.start()
    try:
        p = new_project(a["owner"])
        s = stream_ok(node2.base, token_of(a["annotator"]), "project.%d" % p["id"])
        try:
            body = claim(a["manager"], p["id"])  # on node 1
            submit(a["manager"], body["assignment"]["id"])
            ev, d = s.next_matching(lambda e, d: e["event"] == "annotation")
            assert d["task"] == body["task"]["id"]
            ev, d = s.next_matching(lambda e, d: e["event"] == "task")
            assert d["state"] == "done"
            # and back: a claim on node 2 reaches a stream on node 1
            p2 = new_project(a["owner"])
            s1 = stream_ok(node1.base, token_of(a["viewer"]), "project.%d" % p2["id"])
            try:
                node2.api(token_of(a["annotator"])).post("/api/v1/projects/%d/next" % p2["id"])
                ev, d = s1.next_matching(lambda e, d: e["event"] == "task")
                assert d["cause"] == "claim"
            finally:
                s1.close()
        finally:
            s.close()
    finally:
        stop_and_check(node2)
