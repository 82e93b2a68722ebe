"""
The CLI commands that mirror the API: org add, user add, project create,
import, export, backup. Each is run twice on the same data dir: offline
(the command opens the store itself) and while a server serves the dir (the
writing commands go through it as the platform admin; export and backup
read the store directly). What they print is the API's JSON.
"""

import json
import os
import shutil

import pytest
from pathlib import Path

from conftest import (TEXT_CONFIG, Server, assert_id, assert_time, expect, import_tasks,
                      one_json_document, password_for, run_cli, stop_and_check, unique)

USER_KEYS = {"id", "login", "name", "role", "admin", "org", "created_at"}
PROJECT_KEYS = {"id", "org", "name", "kind", "config", "overlap", "lease_seconds", "created_at",
                "active_annotators", "counts"}


class CliDir:
    """A fresh data dir made by `annotd init`, with a server started on demand."""

    def __init__(self, tmp_path, name):
        self.tmp = tmp_path
        self.srv = Server(tmp_path, name)
        self.srv.init()
        self.data = self.srv.data
        self.db = ["--db", self.srv.db_url] if self.srv.db_url else []
        self.admin_org = self.srv.init_doc["org"]["id"]
        self._n = 0

    def run(self, *args, check=True, input=None):
        return run_cli(*args, "--data", self.data, *self.db, check=check, input=input)

    def json(self, *args, input=None):
        return one_json_document(self.run(*args, input=input).stdout)

    def fail(self, *args, rc=1, input=None):
        cp = self.run(*args, check=False, input=input)
        assert cp.returncode == rc, (args, cp.returncode, cp.stdout, cp.stderr)
        assert cp.stderr.startswith("annotd: "), cp.stderr
        return cp

    def file(self, text, name=None):
        self._n += 1
        p = self.tmp / (name or "f%d" % self._n)
        p.write_text(text)
        return p

    def pwfile(self, login):
        return self.file(password_for(login) + "\n")

    def start(self):
        self.srv.start()
        return self.srv

    def admin_api(self):
        return self.srv.api(self.srv.token(self.srv.owner_login, self.srv.owner_password))


@pytest.fixture
def cli(tmp_path, request):
    d = CliDir(tmp_path, request.node.name[:40])
    yield d
    if d.srv.alive():
        stop_and_check(d.srv)


def jsonl(records):
    return "".join(json.dumps(r) + "\n" for r in records)


def assert_user(u, login, role, org_id):
    assert set(u) == USER_KEYS, u
    assert_id(u["id"])
    assert u["login"] == login and u["role"] == role and u["admin"] is False
    assert u["org"]["id"] == org_id and isinstance(u["org"]["name"], str)
    assert_time(u["created_at"])


def assert_project(p, org_id, name, config, overlap=1, lease=3600):
    assert set(p) == PROJECT_KEYS, p
    assert_id(p["id"])
    assert p["org"] == org_id and p["name"] == name and p["kind"] == "text"
    assert p["config"] == config and p["overlap"] == overlap and p["lease_seconds"] == lease
    assert_time(p["created_at"])
    assert p["counts"] == {"total": 0, "open": 0, "in_progress": 0, "done": 0,
                           "to_review": 0, "reviewed": 0, "accepted": 0, "rejected": 0}


def make_org(cli, **kw):
    name, login = unique("Org "), unique("own")
    doc = cli.json("org", "add", name, "--owner", login, "--password-file", cli.pwfile(login),
                   "--password-cost", "min", *kw.get("extra", ()))
    assert set(doc) == {"id", "name", "created_at", "owner"}, doc
    assert_id(doc["id"])
    assert doc["name"] == name
    assert_time(doc["created_at"])
    assert_user(doc["owner"], login, "owner", doc["id"])
    return doc


def make_user(cli, org_id, role="annotator"):
    login = unique("u")
    doc = cli.json("user", "add", "--org", org_id, "--login", login, "--role", role,
                   "--name", "User " + login, "--password-file", cli.pwfile(login),
                   "--password-cost", "min")
    assert_user(doc, login, role, org_id)
    assert doc["name"] == "User " + login
    return doc


def make_project(cli, org_id, config=TEXT_CONFIG, *extra):
    name = unique("proj")
    doc = cli.json("project", "create", "--org", org_id, "--name", name, "--kind", "text",
                   "--config", json.dumps(config), *extra)
    return doc, name


RECORDS = [{"key": "k1", "data": {"text": "one"}},
           {"key": "k2", "data": {"text": "two"}, "priority": 5},
           {"data": {"text": "keyless"}}]


# -- offline --------------------------------------------------------------------------


def test_offline_org_user_project(cli):
    org = make_org(cli, extra=["--owner-name", "The Owner"])
    assert org["owner"]["name"] == "The Owner"
    user = make_user(cli, org["id"], "reviewer")

    doc, name = make_project(cli, org["id"], TEXT_CONFIG, "--overlap", "3", "--lease-seconds", "90")
    assert_project(doc, org["id"], name, TEXT_CONFIG, overlap=3, lease=90)
    cfile = cli.file(json.dumps(TEXT_CONFIG), "config.json")
    doc2 = cli.json("project", "create", "--org", org["id"], "--name", "from file", "--kind", "text",
                    "--config", cfile)
    assert_project(doc2, org["id"], "from file", TEXT_CONFIG)

    # what the CLI made offline is what the API serves, and the passwords work
    srv = cli.start()
    owner = srv.api(srv.token(org["owner"]["login"]))
    assert expect(owner.get("/api/v1/projects/%d" % doc["id"]), 200) == doc
    me = expect(srv.api(srv.token(user["login"])).get("/api/v1/me"), 200)
    assert me["org"] == user["org"] and me["role"] == "reviewer"


def test_offline_import_export_backup(cli):
    doc, _ = make_project(cli, cli.admin_org)
    pid = doc["id"]
    bad = jsonl(RECORDS) + "\nnot json\n" + json.dumps({"data": {}}) + "\n"
    res = cli.json("import", "--project", pid, cli.file(bad))
    assert res == {"created": 3, "existing": 0, "errors": [
        {"at": "line 5", "code": "invalid_json", "message": res["errors"][0]["message"]},
        {"at": "line 6", "code": "invalid_request", "message": res["errors"][1]["message"]}]}, res
    assert res["errors"][1]["message"].startswith("data.text")

    # an array (first non-space byte '['), from standard input; existing keys are left alone
    arr = "  \n" + json.dumps([{"key": "k1", "data": {"text": "again"}},
                               {"key": "k9", "data": {"text": "nine"}}, 7])
    res = cli.json("import", "--project", pid, "-", input=arr)
    assert res["created"] == 1 and res["existing"] == 1, res
    assert res["errors"] == [{"at": "item 3", "code": "invalid_request",
                              "message": "a record must be an object"}]

    # all-or-nothing: summary on stdout, exit 1, nothing stored
    cp = cli.fail("import", "--project", pid, "--all-or-nothing",
                  cli.file(jsonl([{"key": "n1", "data": {"text": "x"}}, {"data": 1}])))
    res = one_json_document(cp.stdout)
    assert res["created"] == 0 and res["errors"][0]["at"] == "line 2", res

    # export to stdout: JSON Lines only
    lines = [json.loads(x) for x in cli.run("export", "--project", pid).stdout.splitlines()]
    assert [x["task"]["key"] for x in lines] == ["k1", "k2", None, "k9"]
    assert lines[0]["task"]["data"] == {"text": "one"} and lines[0]["annotations"] == []

    # export --out: replaced atomically, summary on stdout, no temporary files left
    out = cli.tmp / "exp" / "p.jsonl"
    out.parent.mkdir()
    out.write_text("old\n")
    summary = cli.json("export", "--project", pid, "--format", "jsonl", "--out", out)
    text = out.read_text()
    assert summary == {"format": "jsonl", "tasks": 4, "bytes": len(text.encode()), "out": str(out)}
    assert [json.loads(x) for x in text.splitlines()] == lines
    assert os.listdir(out.parent) == ["p.jsonl"]

    # backup: a new file that is a working store; an existing file is refused
    if cli.srv.db_url:
        return  # PostgreSQL: backups are pg_dump's
    bak = cli.tmp / "backup.db"
    doc = cli.json("backup", "--out", bak)
    assert doc == {"out": str(bak), "bytes": bak.stat().st_size} and doc["bytes"] > 0
    cp = cli.fail("backup", "--out", bak)
    assert "exists" in cp.stderr
    restored = cli.tmp / "restored"
    restored.mkdir()
    shutil.copy(bak, restored / "annotd.db")
    cp = run_cli("export", "--data", restored, "--project", pid)
    assert [json.loads(x) for x in cp.stdout.splitlines()] == lines


def test_offline_conflicts_and_bad_input(cli):
    org = make_org(cli)
    login = org["owner"]["login"]
    cp = cli.fail("org", "add", org["name"], "--owner", unique("o"), "--password-file",
                  cli.pwfile("x"), "--password-cost", "min")
    assert "taken" in cp.stderr
    cp = cli.fail("user", "add", "--org", org["id"], "--login", login, "--role", "viewer",
                  "--password-file", cli.pwfile(login), "--password-cost", "min")
    assert "--login" in cp.stderr and "taken" in cp.stderr
    cp = cli.fail("user", "add", "--org", 999999, "--login", unique("u"), "--role", "viewer",
                  "--password-file", cli.pwfile("x"), "--password-cost", "min")
    assert "no org 999999" in cp.stderr
    cp = cli.fail("project", "create", "--org", 999999, "--name", "p", "--kind", "text",
                  "--config", json.dumps(TEXT_CONFIG))
    assert "no org 999999" in cp.stderr
    cp = cli.fail("import", "--project", 2 ** 40, cli.file(jsonl(RECORDS)))
    assert "no project" in cp.stderr
    cp = cli.fail("export", "--project", 2 ** 40)
    assert "no project" in cp.stderr and cp.stdout == ""
    doc, _ = make_project(cli, cli.admin_org)
    cp = cli.fail("import", "--project", doc["id"], "-", input="[1, 2")
    assert "not valid JSON" in cp.stderr


# -- input checks: the same whether or not a server runs ---------------------------------


def input_errors(cli):
    """Run bad commands; returns [(returncode, stderr)] in order."""
    short = cli.file("short\n", "short.pw")
    good = cli.file(password_for("x") + "\n", "good.pw")
    cases = [
        ("user", "add", "--org", cli.admin_org, "--login", "bad login", "--role", "viewer",
         "--password-file", good),
        ("user", "add", "--org", cli.admin_org, "--login", "ok", "--role", "boss",
         "--password-file", good),
        ("user", "add", "--org", cli.admin_org, "--login", "ok", "--role", "viewer",
         "--password-file", short),
        ("user", "add", "--org", cli.admin_org, "--login", "ok", "--role", "viewer",
         "--password-file", cli.tmp / "missing"),
        ("org", "add", "", "--owner", "ok", "--password-file", good),
        ("project", "create", "--org", cli.admin_org, "--name", "p", "--kind", "text",
         "--config", json.dumps({"classes": {"choices": []}})),
        ("project", "create", "--org", cli.admin_org, "--name", "p", "--kind", "video",
         "--config", "{}"),
        ("project", "create", "--org", cli.admin_org, "--name", "p", "--kind", "text",
         "--config", json.dumps(TEXT_CONFIG), "--overlap", "0"),
        ("project", "create", "--org", cli.admin_org, "--name", "p", "--kind", "text",
         "--config", "{\"a\":"),
        ("project", "create", "--org", cli.admin_org, "--name", "p", "--kind", "text",
         "--config", cli.tmp / "missing.json"),
        ("project", "create", "--org", cli.admin_org, "--name", "p", "--kind", "text",
         "--config", '{"classes": {"choices": ["a"]}, "x": [1, 99999999999999999999999]}'),
    ]
    out = []
    for args in cases:
        cp = cli.run(*args, check=False)
        assert cp.stdout == "", (args, cp.stdout)
        out.append((cp.returncode, cp.stderr))
    return out


def test_input_errors_are_precise_and_the_same_with_a_server(cli):
    offline = input_errors(cli)
    assert all(rc == 1 for rc, _ in offline), offline
    expected = ["--login: ", "--role: must be one of", "must be at least 10", "password file",
                "NAME: must be 1 to 200", "config.classes.choices: ", "kind: required, one of",
                "overlap: must be between 1 and 100", "--config: the argument is not valid JSON",
                "--config: failed to open", "config.x[1]: integer out of range (at most 64 bits)"]
    assert len(offline) == len(expected)
    for (rc, err), want in zip(offline, expected):
        assert err.startswith("annotd: ") and want in err, (want, err)
    cli.start()
    assert input_errors(cli) == offline


@pytest.mark.parametrize("args", [
    ["org", "add", "--owner", "x", "--password-file", "f"],                # no NAME
    ["user", "add", "--org", "abc", "--login", "x", "--role", "viewer", "--password-file", "f"],
    ["user", "add", "--org", "1", "--role", "viewer", "--password-file", "f"],
    ["project", "create", "--org", "1", "--name", "p", "--kind", "text"],  # no --config
    ["project", "create", "--org", "1", "--name", "p", "--kind", "text", "--config", "{}",
     "--overlap", "many"],
    ["import", "--project", "1"],                                          # no FILE
    ["import", "--project", "0", "f"],
    ["export", "--project", "1", "--format", "csv"],
    ["export"],
    ["backup"],
    ["backup", "--out", "x", "extra"],
], ids=lambda a: "-".join(a[:2]))
def test_usage_errors_exit_2(cli, args):
    cp = cli.fail(*args, rc=2)
    assert "usage: annotd" in cp.stderr


def test_help_texts():
    for cmd in (["org", "add"], ["user", "add"], ["project", "create"], ["import"], ["export"],
                ["backup"]):
        cp = run_cli(*cmd, "--help")
        assert cp.stdout.startswith("usage: annotd " + " ".join(cmd)), cp.stdout
        assert "--data DIR" in cp.stdout


# -- through a running server -----------------------------------------------------------


def test_server_org_and_user_add(cli):
    srv = cli.start()
    admin = cli.admin_api()
    org = make_org(cli)
    assert org["name"] in [o["name"] for o in admin.list_all("/api/v1/orgs")]
    owner = srv.api(srv.token(org["owner"]["login"]))

    user = make_user(cli, cli.admin_org, "manager")
    assert expect(admin.get("/api/v1/users/%d" % user["id"]), 200) == user
    cp = cli.fail("user", "add", "--org", cli.admin_org, "--login", user["login"], "--role",
                  "viewer", "--password-file", cli.pwfile("x"))
    assert cp.stderr == "annotd: login: the login is taken\n"
    cp = cli.fail("org", "add", org["name"], "--owner", unique("o"), "--password-file",
                  cli.pwfile("x"))
    assert "taken" in cp.stderr

    # the platform admin names another org in the request: the user lands there
    login = unique("u")
    made = cli.json("user", "add", "--org", org["id"], "--login", login, "--role", "viewer",
                    "--password-file", cli.pwfile(login))
    assert made["org"]["id"] == org["id"]
    assert login in [u["login"] for u in owner.list_all("/api/v1/users")]
    # an org that does not exist is refused with the server's word
    cp = cli.fail("user", "add", "--org", 999999, "--login", unique("u"), "--role", "viewer",
                  "--password-file", cli.pwfile("x"))
    assert "no such org" in cp.stderr


def test_server_project_import_export_backup(cli):
    srv = cli.start()
    admin = cli.admin_api()
    doc, name = make_project(cli, cli.admin_org, TEXT_CONFIG, "--overlap", "2")
    assert_project(doc, cli.admin_org, name, TEXT_CONFIG, overlap=2)
    assert expect(admin.get("/api/v1/projects/%d" % doc["id"]), 200) == doc
    pid = doc["id"]

    # the summary is the API's own answer, also for a JSON Lines body with errors
    bad = jsonl(RECORDS) + "{oops\n"
    res = cli.json("import", "--project", pid, cli.file(bad))
    twin = expect(admin.post("/api/v1/projects", {"name": unique("twin"), "kind": "text",
                                                  "config": TEXT_CONFIG}), 201)
    api_res = expect(admin.post_raw("/api/v1/projects/%d/tasks" % twin["id"], bad.encode(),
                                    content_type="application/x-ndjson"), 200)
    assert res == api_res and res["created"] == 3 and res["errors"][0]["at"] == "line 4"

    # standard input (sent chunked), an array, and all-or-nothing
    many = jsonl({"key": "m%d" % i, "data": {"text": "t%d" % i}} for i in range(3000))
    res = cli.json("import", "--project", pid, "-", input=many)
    assert res == {"created": 3000, "existing": 0, "errors": []}
    res = cli.json("import", "--project", pid,
                   cli.file(json.dumps([{"key": "k1", "data": {"text": "x"}},
                                        {"key": "a1", "data": {"text": "y"}}])))
    assert res == {"created": 1, "existing": 1, "errors": []}
    cp = cli.fail("import", "--project", pid, "--all-or-nothing",
                  cli.file(jsonl([{"key": "z1", "data": {"text": "x"}}, {"key": 5}])))
    res = one_json_document(cp.stdout)
    assert res["created"] == 0 and res["errors"][0]["at"] == "line 2"
    assert expect(admin.get("/api/v1/projects/%d" % pid), 200)["counts"]["total"] == 3004

    # export and backup read the store directly while the server runs
    out = cli.tmp / "export.jsonl"
    summary = cli.json("export", "--project", pid, "--out", out)
    assert summary["tasks"] == 3004 and summary["out"] == str(out)
    mine = [json.loads(x) for x in out.read_text().splitlines()]
    theirs = [json.loads(x) for x in
              admin.get("/api/v1/projects/%d/export?format=jsonl" % pid).text.splitlines()]
    assert mine == theirs
    bak = cli.tmp / "b.db"
    if not cli.srv.db_url:
        assert cli.json("backup", "--out", bak)["bytes"] == bak.stat().st_size
    assert srv.alive()
    # and the server keeps writing afterwards
    expect(import_tasks(admin, pid, [{"key": "after", "data": {"text": "x"}}]), 200)


def test_server_works_in_other_orgs_for_the_platform_admin(cli):
    org = make_org(cli)  # offline
    other, _ = make_project(cli, org["id"])
    cli.start()
    made = cli.json("project", "create", "--org", org["id"], "--name", unique("p"), "--kind", "text",
                    "--config", json.dumps(TEXT_CONFIG))
    assert made["org"] == org["id"]
    res = cli.json("import", "--project", other["id"], cli.file(jsonl(RECORDS)))
    assert res["created"] > 0
    cp = cli.fail("import", "--project", 999999, cli.file(jsonl(RECORDS)))
    assert "999999" in cp.stderr
    # export reads the store: any org's project
    summary = cli.json("export", "--project", other["id"], "--out", cli.tmp / "o.jsonl")
    assert summary["tasks"] == res["created"]


def test_server_import_over_the_servers_cap(cli):
    doc, _ = make_project(cli, cli.admin_org)
    cli.srv.serve_args = ["--max-import", "4k"]
    cli.start()
    big = jsonl({"key": "b%d" % i, "data": {"text": "x" * 40}} for i in range(400))
    assert len(big) > 16 * 1024
    cp = cli.fail("import", "--project", doc["id"], cli.file(big))  # announced length: 413
    assert "larger than it takes" in cp.stderr and cp.stdout == ""
    cp = cli.fail("import", "--project", doc["id"], "-", input=big)  # chunked: cut off
    assert "larger than it takes" in cp.stderr and cp.stdout == ""
    assert cli.srv.alive()


# --------------------------------------------------------------------------
# story import / export without a server (the CLI opens the store itself)
# --------------------------------------------------------------------------

DEMO_NOVEL = Path(__file__).resolve().parents[2] / "scripts" / "demo-novel.txt"


def test_story_import_and_export_without_a_server(cli, tmp_path):
    cfg = cli.file("{}")
    p = cli.json("project", "create", "--org", str(cli.admin_org), "--name", "分镜", "--kind", "storyboard",
                 "--config", cfg)
    s = cli.json("story", "import", "--project", str(p["id"]), DEMO_NOVEL)
    assert [c["index"] for c in s["chapters"]] == [1, 2, 3, 4, 5]
    shots = sum(c["shots"] for c in s["chapters"])
    assert s["sync"] == {"added": shots, "kept": 0, "redrafted": 0, "flagged": 0}
    # the same file again: a sync that keeps everything, exit code 0
    again = cli.json("story", "import", "--project", str(p["id"]), DEMO_NOVEL)
    assert again["sync"]["kept"] == shots and again["sync"]["added"] == 0
    out = tmp_path / "board.html"
    done = cli.json("story", "export", "--project", str(p["id"]), "--format", "storyboard-html", "--out", out)
    assert done["bytes"] == out.stat().st_size and "<script" not in out.read_text()
    # bad input: a clear error, exit code 1, nothing changed
    bad = cli.file("\x00\x01\x02 binary", name="bad.txt")
    cp = cli.fail("story", "import", "--project", str(p["id"]), bad)
    assert "novel" in cp.stderr
    cli.fail("story", "import", "--project", "999999", DEMO_NOVEL)
    cli.fail("story", "export", "--project", str(p["id"]), "--format", "pdf", rc=2)
