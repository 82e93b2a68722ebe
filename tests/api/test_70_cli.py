"""
The CLI basics: --version, --help, init's output, and CLI writes against a
data dir a running server is serving (they go through that server, and are
visible through the API at once). Exact flags may still move; the contract
is in the brief this suite was written from.
"""

import json
import os
import stat

import pytest

from conftest import (Server, assert_id, db_args, expect, fresh_db_url,
                      one_json_document, password_for, run_cli, stop_and_check, unique)

COMMANDS = [["init"], ["serve"], ["org", "add"], ["user", "add"], ["project", "create"],
            ["import"], ["export"], ["backup"]]


def test_version():
    cp = run_cli("--version")
    assert "0.1.0" in cp.stdout, cp.stdout


def test_help():
    cp = run_cli("--help")
    assert cp.stdout.strip(), "empty --help"
    for cmd in ("init", "serve", "import", "export", "backup"):
        assert cmd in cp.stdout, (cmd, cp.stdout)


@pytest.mark.parametrize("cmd", COMMANDS, ids=["-".join(c) for c in COMMANDS])
def test_command_help(cmd):
    cp = run_cli(*cmd, "--help")
    assert cp.stdout.strip(), cmd
    assert "--data" in cp.stdout, (cmd, cp.stdout)


def test_unknown_command_fails():
    cp = run_cli("frobnicate", check=False)
    assert cp.returncode != 0
    cp = run_cli("serve", "--no-such-flag", check=False, timeout=10)
    assert cp.returncode != 0


def test_init_generates_password_and_it_works(tmp_path):
    srv = Server(tmp_path, "cli-init")
    data = tmp_path / "fresh"  # missing; init creates it
    cp = run_cli("init", "--data", data, "--owner", "root", "--password-cost", "min",
                 *db_args(srv.db_url))
    doc = one_json_document(cp.stdout)
    assert set(doc) == {"org", "user", "password"}, doc
    assert_id(doc["org"]["id"])
    assert doc["org"]["name"] == "default"
    assert doc["user"]["login"] == "root"
    assert_id(doc["user"]["id"])
    pw = doc["password"]
    assert isinstance(pw, str) and len(pw) >= 10
    assert pw not in cp.stderr
    assert data.is_dir()

    srv.data = data
    srv.start()
    try:
        body = srv.login("root", pw)
        assert body["user"]["org"]["id"] == doc["org"]["id"]
        assert body["user"]["org"]["name"] == doc["org"]["name"]
        me = expect(srv.api(body["token"]).get("/api/v1/me"), 200)
        assert me["admin"] is True and me["role"] == "owner"
        expect(srv.api().post("/api/v1/auth/login", {"login": "root", "password": pw + "x"}), 401)
    finally:
        stop_and_check(srv)


def test_init_with_password_file_and_org_name(tmp_path):
    pwfile = tmp_path / "pw"
    pwfile.write_text(password_for("boss") + "\n")
    cp = run_cli("init", "--data", tmp_path / "d", "--owner", "boss", "--password-file", pwfile,
                 "--org", "Acme Labs", "--password-cost", "min",
                 *db_args(fresh_db_url("cli-init2")))
    doc = one_json_document(cp.stdout)
    assert "password" not in doc, doc
    assert doc["org"]["name"] == "Acme Labs"
    assert doc["user"]["login"] == "boss"
    assert password_for("boss") not in cp.stdout + cp.stderr


def test_init_refuses_short_password_file(tmp_path):
    pwfile = tmp_path / "pw"
    pwfile.write_text("short\n")
    cp = run_cli("init", "--data", tmp_path / "d", "--owner", "boss", "--password-file", pwfile,
                 "--password-cost", "min", *db_args(fresh_db_url("cli-init3")), check=False)
    assert cp.returncode != 0, cp.stdout


# -- CLI while the server runs ----------------------------------------------------------


def test_local_admin_token_file_is_private(server):
    found = [p for p in server.data.iterdir()
             if p.is_file() and ("token" in p.name or "admin" in p.name)]
    assert found, sorted(p.name for p in server.data.iterdir())
    for p in found:
        mode = stat.S_IMODE(os.stat(p).st_mode)
        assert mode == 0o600, (p, oct(mode))


def cli_json(*args, unwrap=None):
    """Run a reporting CLI command: exactly one JSON document on stdout.
    unwrap: accept both {"user": {...}} and the bare object."""
    cp = run_cli(*args)
    doc = one_json_document(cp.stdout)
    if unwrap and isinstance(doc.get(unwrap), dict):
        doc = doc[unwrap]
    return doc


def test_cli_user_add_visible_through_api(server, admin, tmp_path):
    org = server.init_doc["org"]["id"]
    login = unique("cliuser")
    pwfile = tmp_path / "pw"
    pwfile.write_text(password_for(login) + "\n")
    doc = cli_json("user", "add", "--data", server.data, "--org", org, "--login", login,
                   "--role", "reviewer", "--name", "From CLI", "--password-file", pwfile,
                   unwrap="user")
    assert doc["login"] == login and doc["role"] == "reviewer"
    assert login in [u["login"] for u in admin.list_all("/api/v1/users")]
    body = server.login(login)
    assert body["user"]["org"]["id"] == org and body["user"]["role"] == "reviewer"


def test_cli_user_add_into_another_org_while_serving(server, world, tmp_path):
    """The contract's `user add --org ID` for any org, while the server runs."""
    login = unique("cliuser")
    pwfile = tmp_path / "pw"
    pwfile.write_text(password_for(login) + "\n")
    doc = cli_json("user", "add", "--data", server.data, "--org", world.a.id, "--login", login,
                   "--role", "viewer", "--name", "From CLI", "--password-file", pwfile,
                   unwrap="user")
    assert doc["login"] == login
    assert server.login(login)["user"]["org"]["id"] == world.a.id


def test_cli_org_add_visible_through_api(server, admin, tmp_path):
    name, login = unique("CLI Org "), unique("cliowner")
    pwfile = tmp_path / "pw"
    pwfile.write_text(password_for(login) + "\n")
    doc = cli_json("org", "add", "--data", server.data, name, "--owner", login,
                   "--password-file", pwfile, unwrap="org")
    assert doc["name"] == name
    orgs = admin.list_all("/api/v1/orgs")
    assert name in [o["name"] for o in orgs]
    assert server.login(login)["user"]["org"]["name"] == name


def test_cli_project_import_export(server, admin, tmp_path):
    org = server.init_doc["org"]["id"]
    config = {"classes": {"choices": ["yes", "no"]}}
    name = unique("cliproj")
    doc = cli_json("project", "create", "--data", server.data, "--org", org, "--name", name,
                   "--kind", "text", "--config", json.dumps(config), "--overlap", 2,
                   unwrap="project")
    assert_id(doc["id"])
    p = expect(admin.get("/api/v1/projects/%d" % doc["id"]), 200)
    assert p["name"] == name and p["config"] == config and p["overlap"] == 2

    cfile = tmp_path / "config.json"
    cfile.write_text(json.dumps(config))
    doc2 = cli_json("project", "create", "--data", server.data, "--org", org,
                    "--name", unique("cliproj"), "--kind", "text", "--config", cfile,
                    unwrap="project")
    assert expect(admin.get("/api/v1/projects/%d" % doc2["id"]), 200)["config"] == config

    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("".join(json.dumps({"key": "c%d" % i, "data": {"text": "cli %d" % i}}) + "\n"
                             for i in range(4)))
    res = cli_json("import", "--data", server.data, "--project", doc["id"], tasks)
    assert res["created"] == 4 and res["existing"] == 0 and res["errors"] == []
    listed = admin.list_all("/api/v1/projects/%d/tasks" % doc["id"])
    assert sorted(t["key"] for t in listed) == ["c0", "c1", "c2", "c3"]

    arr = tmp_path / "tasks.json"
    arr.write_text(json.dumps([{"key": "c0", "data": {"text": "again"}},
                               {"key": "c9", "data": {"text": "new"}}]))
    res = cli_json("import", "--data", server.data, "--project", doc["id"], arr)
    assert res["created"] == 1 and res["existing"] == 1

    out = tmp_path / "export.jsonl"
    # export only reads: it opens the store itself (on PostgreSQL, the database)
    run_cli("export", "--data", server.data, "--project", doc["id"], "--format", "jsonl",
            "--out", out, *db_args(server.db_url))
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert sorted(x["task"]["key"] for x in lines) == ["c0", "c1", "c2", "c3", "c9"]
    r = admin.get("/api/v1/projects/%d/export?format=jsonl" % doc["id"])
    assert r.status_code == 200
    api_lines = [json.loads(x) for x in r.text.splitlines()]
    assert sorted(lines, key=lambda x: x["task"]["id"]) == \
        sorted(api_lines, key=lambda x: x["task"]["id"])


def test_cli_project_create_in_another_org_while_serving(server, world):
    """The contract's `project create --org ID` for any org, while the server runs."""
    name = unique("cliproj")
    doc = cli_json("project", "create", "--data", server.data, "--org", world.a.id, "--name", name,
                   "--kind", "text", "--config", json.dumps({"classes": {"choices": ["y"]}}),
                   unwrap="project")
    p = expect(world.a["viewer"].get("/api/v1/projects/%d" % doc["id"]), 200)
    assert p["name"] == name and p["org"] == world.a.id


def test_cli_import_of_unknown_project_fails(server, tmp_path):
    tasks = tmp_path / "t.jsonl"
    tasks.write_text(json.dumps({"data": {"text": "x"}}) + "\n")
    cp = run_cli("import", "--data", server.data, "--project", 2 ** 40, tasks, check=False)
    assert cp.returncode != 0


def test_cli_backup_while_serving(server, tmp_path):
    if server.db_url:
        pytest.skip("annotd backup copies the SQLite file; PostgreSQL is backed up with pg_dump")
    out = tmp_path / "backup.bin"
    run_cli("backup", "--data", server.data, "--out", out)
    assert out.is_file() and out.stat().st_size > 0
    assert server.alive()

