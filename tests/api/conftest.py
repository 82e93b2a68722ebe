"""
Black-box API tests for annotd: the built binary, started on an ephemeral
port with a fresh data dir, driven over real HTTP (STYLE.md rule 15).

Run with Debian's interpreter:  /usr/bin/python3 -m pytest tests/api

Environment:
  ANNOTD_BIN  the binary (default: build/annotd relative to the repo root)
  ANNOTD_DB   optional postgresql:// URL. When set, every server this suite
              starts gets its own fresh database (see fresh_db_url()), passed
              as `--db URL` to both `init` and `serve`.

Fixtures most tests use:
  server        the session-wide server (default limits)
  small_server  a second server with small limits (--max-body 1k ...)
  world         orgs A and B, each with one user per role, logged in once,
                plus a project with tasks in each org (see World below)
  api           an Api client bound to `server` (no credentials)
"""

import http.cookiejar
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
ANNOTD_BIN = Path(os.environ.get("ANNOTD_BIN") or REPO_ROOT / "build" / "annotd")
if not ANNOTD_BIN.is_absolute():
    ANNOTD_BIN = (REPO_ROOT / ANNOTD_BIN).resolve()
ANNOTD_DB = os.environ.get("ANNOTD_DB") or None
# Servers may call an LLM endpoint on the discard port (nothing listens: a
# job that uses it fails at once), so that tests can queue real jobs.
DEAD_LLM = "http://127.0.0.1:9/v1"
os.environ.setdefault("ANNOTD_LLM_ALLOW", DEAD_LLM)

ROLES = ("owner", "manager", "reviewer", "annotator", "viewer")
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
SNAKE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
HEALTH_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0

_counter = itertools.count(1)


def unique(prefix="x"):
    """A name no other call in this test session returns."""
    return "%s%d_%d" % (prefix, os.getpid(), next(_counter))


def password_for(login):
    """The password the suite gives `login` (at least 10 characters)."""
    return "pw-%s-0123456789" % login


def run_cli(*args, data=None, check=True, timeout=30, input=None):
    """Run `annotd args...`; returns the CompletedProcess (text mode)."""
    argv = [str(ANNOTD_BIN)] + [str(a) for a in args]
    cp = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input)
    if check and cp.returncode != 0:
        raise AssertionError(
            "command failed (%d): %s\nstdout: %s\nstderr: %s"
            % (cp.returncode, " ".join(argv), cp.stdout[-2000:], cp.stderr[-2000:])
        )
    return cp


def one_json_document(text):
    """Parse stdout that must be exactly one JSON document (whitespace around ok)."""
    doc = json.loads(text)  # raises on trailing garbage / a second document
    return doc


# --------------------------------------------------------------------------
# Database hook
# --------------------------------------------------------------------------


def fresh_db_url(tag):
    """
    A URL for a fresh database for one server, or None for the default
    (SQLite inside the data dir).

    With ANNOTD_DB=postgresql://user:pw@host:port/base the database name is
    replaced by `annotd_test_<pid>_<n>_<tag>` and created with `createdb`
    (from the same URL's credentials) when that tool exists; otherwise the
    server is expected to create it. Change only this function when the
    PostgreSQL backend lands.
    """
    if not ANNOTD_DB:
        return None
    u = urllib.parse.urlsplit(ANNOTD_DB)
    name = "annotd_test_%d_%d_%s" % (os.getpid(), next(_counter), re.sub(r"\W", "_", tag))
    url = urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + name, u.query, u.fragment))
    if shutil.which("psql"):
        admin_url = urllib.parse.urlunsplit((u.scheme, u.netloc, "/postgres", u.query, u.fragment))
        subprocess.run(["psql", admin_url, "-v", "ON_ERROR_STOP=1", "-qc",
                        'CREATE DATABASE "%s"' % name], check=True, capture_output=True)
    return url


def db_args(db_url):
    return ["--db", db_url] if db_url else []


# --------------------------------------------------------------------------
# HTTP client
# --------------------------------------------------------------------------


def _no_cookie_session():
    s = requests.Session()
    s.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    s.trust_env = False
    return s


class Api:
    """
    A thin client for one server. Bearer-only: its requests never carry
    cookies (tests that need cookies make their own requests.Session).
    """

    def __init__(self, base, token=None, session=None):
        self.base = base
        self.token = token
        self.s = session or _no_cookie_session()

    def as_token(self, token):
        return Api(self.base, token, self.s)

    def request(self, method, path, json_body=None, data=None, headers=None, token=None, **kw):
        h = {}
        tok = token if token is not None else self.token
        if tok:
            h["Authorization"] = "Bearer " + tok
        if json_body is not None:
            data = json.dumps(json_body).encode()
            h["Content-Type"] = "application/json"
        if headers:
            h.update(headers)
        kw.setdefault("timeout", 30)
        kw.setdefault("allow_redirects", False)
        return self.s.request(method, self.base + path, data=data, headers=h, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, json_body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def post_raw(self, path, data, content_type="application/json", **kw):
        headers = dict(kw.pop("headers", None) or {})
        if content_type is not None:
            headers["Content-Type"] = content_type
        return self.request("POST", path, data=data, headers=headers, **kw)

    def list_all(self, path, limit=1000):
        """Follow next_after to the end; returns all items."""
        items, after = [], None
        sep = "&" if "?" in path else "?"
        for _ in range(10000):
            q = "%s%slimit=%d" % (path, sep, limit)
            if after is not None:
                q += "&after=%d" % after
            r = self.get(q)
            assert r.status_code == 200, (q, r.status_code, r.text)
            body = r.json()
            items += body["items"]
            after = body["next_after"]
            if after is None:
                return items
        raise AssertionError("pagination did not end: " + path)


def expect(r, status, code=None, path=None):
    """
    Assert the response status and, for errors, the error body shape:
    {"error":{"code","message"[,"path"]}}. Returns the parsed JSON body (or
    None for empty bodies).
    """
    detail = "%s %s -> %d %s" % (r.request.method, r.request.url, r.status_code, r.text[:600])
    if isinstance(status, (tuple, set, list)):
        assert r.status_code in status, detail
    else:
        assert r.status_code == status, detail
    if r.status_code == 204 or not r.content:
        assert code is None, detail
        return None
    if r.status_code < 400 and not r.headers.get("Content-Type", "").startswith("application/json"):
        assert code is None, detail
        return r.content  # e.g. an export stream
    body = r.json()
    if r.status_code >= 400:
        assert_error_shape(body, detail)
        if code is not None:
            codes = code if isinstance(code, (tuple, set, list)) else (code,)
            assert body["error"]["code"] in codes, detail
        if path is not None:
            assert body["error"].get("path") == path, detail
    else:
        assert code is None, detail
    return body


def assert_error_shape(body, detail=""):
    assert isinstance(body, dict) and set(body) == {"error"}, detail
    err = body["error"]
    assert isinstance(err, dict), detail
    assert set(err) <= {"code", "message", "path"}, detail
    assert isinstance(err.get("code"), str) and SNAKE_RE.match(err["code"]), detail
    assert isinstance(err.get("message"), str) and err["message"], detail
    if "path" in err:
        assert isinstance(err["path"], str), detail


def assert_time(value):
    assert isinstance(value, str) and TIME_RE.match(value), value


def assert_id(value):
    assert isinstance(value, int) and not isinstance(value, bool) and value > 0, value


# --------------------------------------------------------------------------
# Server processes
# --------------------------------------------------------------------------

_running = []  # servers alive now, for failure reports


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `annotd serve` process on a fresh data dir."""

    def __init__(self, tmp, name, serve_args=(), owner="admin"):
        self.name = name
        self.root = Path(tmp)
        self.data = self.root / "data"
        self.owner_login = owner
        self.owner_password = password_for(owner)
        self.db_url = fresh_db_url(name)
        self.serve_args = list(serve_args)
        self.port = None
        self.base = None
        self.proc = None
        self.stderr_path = self.root / "serve.stderr"
        self.stdout_path = self.root / "serve.stdout"
        self.init_doc = None

    # -- lifecycle -------------------------------------------------------

    def init(self):
        pwfile = self.root / "owner.password"
        pwfile.write_text(self.owner_password + "\n")
        cp = run_cli("init", "--data", self.data, "--owner", self.owner_login,
                     "--password-file", pwfile, "--password-cost", "min",
                     *db_args(self.db_url))
        self.init_doc = one_json_document(cp.stdout)
        return self.init_doc

    def start(self):
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        argv = [str(ANNOTD_BIN), "serve", "--data", str(self.data),
                "--listen", "127.0.0.1:%d" % self.port, "--password-cost", "min",
                *db_args(self.db_url), *self.serve_args]
        self._err = open(self.stderr_path, "ab")
        self._out = open(self.stdout_path, "ab")
        self.proc = subprocess.Popen(argv, stdout=self._out, stderr=self._err,
                                     stdin=subprocess.DEVNULL)
        _running.append(self)
        deadline = time.monotonic() + HEALTH_TIMEOUT
        s = _no_cookie_session()
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("annotd serve exited with %d during startup\n%s"
                                     % (self.proc.returncode, self.stderr_tail()))
            try:
                r = s.get(self.base + "/healthz", timeout=1)
                if r.status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.proc.kill()
        raise AssertionError("annotd serve not healthy after %.0f s\n%s"
                             % (HEALTH_TIMEOUT, self.stderr_tail()))

    def stop(self):
        """SIGTERM; returns the exit code (killing after STOP_TIMEOUT)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                if self in _running:
                    _running.remove(self)
                raise AssertionError("annotd serve did not stop within %.0f s of SIGTERM\n%s"
                                     % (STOP_TIMEOUT, self.stderr_tail()))
        if self in _running:
            _running.remove(self)
        self._err.close()
        self._out.close()
        return self.proc.returncode

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stderr_tail(self, n=40):
        try:
            lines = self.stderr_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no stderr)"
        return "--- %s: tail of %s ---\n%s" % (self.name, self.stderr_path, "\n".join(lines[-n:]))

    # -- helpers ---------------------------------------------------------

    def api(self, token=None):
        return Api(self.base, token)

    def login(self, login, password=None):
        r = self.api().post("/api/v1/auth/login",
                            {"login": login, "password": password or password_for(login)})
        body = expect(r, 200)
        return body

    def token(self, login, password=None):
        return self.login(login, password)["token"]

    def cli(self, *args, check=True):
        """A CLI command on this server's data dir (talks to the running server)."""
        return run_cli(*args, check=check)


def start_server(tmp_path_factory, name, serve_args=()):
    if not ANNOTD_BIN.exists():
        pytest.exit("annotd binary not found at %s (set ANNOTD_BIN or build it)" % ANNOTD_BIN,
                    returncode=2)
    srv = Server(tmp_path_factory.mktemp(name), name, serve_args)
    srv.init()
    srv.start()
    return srv


def stop_and_check(srv):
    rc = srv.stop()
    assert rc == 0, "annotd serve exited with %r after SIGTERM\n%s" % (rc, srv.stderr_tail())


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    srv = start_server(tmp_path_factory, "main")
    yield srv
    stop_and_check(srv)


SMALL_LIMITS = ["--max-body", "1k", "--max-import", "4k", "--max-json-depth", "8",
                "--session-ttl", "2s"]


@pytest.fixture(scope="session")
def small_server(tmp_path_factory):
    """A server with small limits: 1 KiB bodies, 4 KiB imports, depth 8, 2 s sessions."""
    srv = start_server(tmp_path_factory, "small", SMALL_LIMITS)
    yield srv
    stop_and_check(srv)


@pytest.fixture(scope="session")
def api(server):
    return server.api()


@pytest.fixture(scope="session")
def admin(server):
    """Api client of the platform admin (first owner, from `annotd init`)."""
    return server.api(server.token(server.owner_login, server.owner_password))


# --------------------------------------------------------------------------
# The world: two orgs, one user per role in each, a project with tasks each
# --------------------------------------------------------------------------

TEXT_CONFIG = {"classes": {"choices": ["pos", "neg"], "multiple": False},
               "spans": {"labels": ["PER", "LOC"], "overlap": False}}
IMAGE_CONFIG = {"tools": ["box", "polygon", "keypoints"],
                "labels": [{"name": "car"},
                           {"name": "person", "keypoints": ["nose", "neck"], "skeleton": [[0, 1]]}],
                "classes": {"choices": ["day", "night"], "multiple": True}}


class Org:
    def __init__(self, tag, org, users, clients, project, tasks, extra_user):
        self.tag = tag            # "a" / "b"
        self.org = org            # org object as POST /orgs answered
        self.id = org["id"]
        self.users = users        # role -> user object (from login)
        self.clients = clients    # role -> Api with that user's token
        self.project = project    # a text project
        self.tasks = tasks        # its tasks (list objects)
        self.extra_user = extra_user  # a viewer nobody logs in as: object for /users/{id}

    def __getitem__(self, role):
        return self.clients[role]


class World:
    def __init__(self, server, admin, a, b):
        self.server = server
        self.admin = admin
        self.a = a
        self.b = b


def make_project(client, kind="text", config=None, **fields):
    body = {"name": fields.pop("name", unique("proj")), "kind": kind,
            "config": config if config is not None else (TEXT_CONFIG if kind == "text" else IMAGE_CONFIG)}
    body.update(fields)
    return expect(client.post("/api/v1/projects", body), 201)


def import_tasks(client, project_id, records, mode=None):
    data = "".join(json.dumps(r) + "\n" for r in records).encode()
    q = "?mode=" + mode if mode else ""
    return client.post_raw("/api/v1/projects/%d/tasks%s" % (project_id, q), data,
                           content_type="application/x-ndjson")


def _build_org(server, admin, tag):
    owner_login = unique(tag + "_owner")
    r = admin.post("/api/v1/orgs", {"name": unique("Org " + tag.upper()),
                                    "owner": {"login": owner_login,
                                              "password": password_for(owner_login),
                                              "name": "Owner " + tag.upper()}})
    org = expect(r, 201)
    logins = {"owner": owner_login}
    owner = server.api(server.token(owner_login))
    for role in ROLES[1:]:
        login = unique("%s_%s" % (tag, role))
        expect(owner.post("/api/v1/users", {"login": login, "password": password_for(login),
                                            "name": "%s %s" % (tag.upper(), role), "role": role}), 201)
        logins[role] = login
    extra_login = unique(tag + "_extra")
    extra = expect(owner.post("/api/v1/users", {"login": extra_login,
                                                "password": password_for(extra_login),
                                                "name": "Extra", "role": "viewer"}), 201)
    users, clients = {}, {}
    for role, login in logins.items():
        body = server.login(login)
        users[role] = body["user"]
        clients[role] = server.api(body["token"])
    project = make_project(clients["owner"], name=unique("world " + tag))
    records = [{"key": "k%d" % i, "data": {"text": "%s text %d" % (tag, i)}} for i in range(3)]
    res = expect(import_tasks(clients["owner"], project["id"], records), 200)
    assert res["created"] == 3, res
    tasks = clients["owner"].list_all("/api/v1/projects/%d/tasks" % project["id"])
    assert len(tasks) == 3, tasks
    return Org(tag, org, users, clients, project, tasks, extra)


@pytest.fixture(scope="session")
def world(server, admin):
    return World(server, admin, _build_org(server, admin, "a"), _build_org(server, admin, "b"))


# --------------------------------------------------------------------------
# Reporting: server stderr tail on failure
# --------------------------------------------------------------------------


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for srv in list(_running):
            rep.sections.append(("annotd stderr (%s)" % srv.name, srv.stderr_tail()))
            if not srv.alive():
                rep.sections.append(("annotd (%s)" % srv.name,
                                     "server is DEAD, exit code %r" % srv.proc.returncode))
