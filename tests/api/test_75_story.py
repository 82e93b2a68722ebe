"""
Novel -> storyboard: POST/GET /projects/{id}/novel, the roster, sync flags,
storyboard exports, and the CLI `story import` / `story export`.

The flow of the issue: import -> draft -> annotate -> review -> export, and
the sync test: import chapters 1-3, edit shots by API, append chapters 4-5
and change a sentence in chapter 2, sync, check every human shot intact
(flagged where its source changed) and the new chapters drafted. The LLM
drafter runs against tests/api/llm_standin.py over real HTTP.
"""

import csv
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO_ROOT, db_args, expect, make_project, run_cli, start_server, stop_and_check, unique

NOVELS = REPO_ROOT.parent / "shared" / "testdata" / "novels"
if not NOVELS.exists():
    NOVELS = Path("/work/shared/testdata/novels")
SIZES = {"long", "full", "medium", "close", "closeup", "extreme_closeup"}

CHAPTERS = {
    1: ("第一章 雨夜", [
        "夜色沉沉，大雨倾盆。张三推开酒馆的木门，抖落斗笠上的雨水。",
        "张三道：“店家，来一壶热酒，再切二斤牛肉。”",
        "店家笑道：“客官稍等，马上就来。”",
        "角落里坐着一个穿青衣的少年，正低头擦拭一柄短剑。",
    ]),
    2: ("第二章 少年", [
        "少年抬起头来，目光如电，盯着张三看了半晌。",
        "少年问道：“你就是人称快刀的张三？”",
        "张三哈哈一笑，说道：“正是在下，小兄弟有何指教？”",
        "少年将短剑拍在桌上，冷冷地说：“我来取你的人头。”",
    ]),
    3: ("第三章 出刀", [
        "窗外一道闪电划过，照亮了两人的脸。",
        "张三缓缓站起身来，右手按住了刀柄。",
        "店家吓得躲到柜台后面，浑身发抖。",
        "张三道：“年纪轻轻，何苦送命。”",
    ]),
    4: ("第四章 旧事", [
        "少年咬牙道：“十年前，你在落霞山杀了我爹。”",
        "张三脸色一变，沉默良久，长叹一声。",
    ]),
    5: ("第五章 真相", [
        "张三说道：“你爹不是我杀的，杀他的人另有其人。”",
        "少年愣住了，握剑的手微微颤抖。",
    ]),
}
CHANGED_FROM = "张三哈哈一笑，说道：“正是在下，小兄弟有何指教？”"
CHANGED_TO = "张三把酒碗一放，沉声道：“不错，正是在下。你是谁家的孩子？”"


def novel_text(chapters, changed=False, title="《快刀》"):
    out = [title, ""]
    for n in chapters:
        head, paras = CHAPTERS[n]
        out.append(head)
        for p in paras:
            out.append(p.replace(CHANGED_FROM, CHANGED_TO) if changed else p)
        out.append("")
    return "\n".join(out).encode()


def post_novel(client, pid, body, query=""):
    return client.post_raw("/api/v1/projects/%d/novel%s" % (pid, query), body, content_type="text/plain")


def storyboard_project(owner, config=None, **fields):
    return make_project(owner, kind="storyboard", config=config if config is not None else {}, **fields)


def claim(client, pid):
    r = client.post("/api/v1/projects/%d/next" % pid)
    body = expect(r, (200, 204))
    return None if r.status_code == 204 else body


def check_summary(s):
    assert set(s) >= {"encoding", "converted", "stripped", "chapters", "sync"}
    assert set(s["sync"]) >= {"added", "kept", "redrafted", "flagged"}
    for c in s["chapters"]:
        assert set(c) >= {"index", "title", "chars", "scenes", "utterances", "shots"}
        assert all(isinstance(c[k], int) and c[k] >= 0 for k in ("index", "chars", "scenes", "utterances", "shots"))


def check_result(data, result):
    """A shot list valid for the task's text (ids unique, offsets in code points)."""
    n = len(data["text"])  # Python str length is code points
    ids = [s["id"] for s in result["shots"]]
    assert len(ids) == len(set(ids))
    for s in result["shots"]:
        assert s["size"] in SIZES
        assert 0 <= s["source"]["start"] <= s["source"]["end"] <= n
        assert s["duration"] > 0


# --------------------------------------------------------------------------
# import -> draft -> annotate -> review -> export
# --------------------------------------------------------------------------


def test_import_real_novel_drafts_every_scene(world):
    owner = world.a["owner"]
    p = storyboard_project(owner)
    raw = (NOVELS / "a-q-zhengzhuan.utf8-crlf.txt").read_bytes()
    s = expect(post_novel(owner, p["id"], raw), 200)
    check_summary(s)
    assert s["encoding"] == "utf-8" and s["converted"] is None
    assert len(s["chapters"]) == 9
    assert [c["index"] for c in s["chapters"]] == list(range(1, 10))
    total = sum(c["shots"] for c in s["chapters"])
    assert total > 100
    assert s["sync"] == {"added": total, "kept": 0, "redrafted": 0, "flagged": 0}
    scenes = sum(c["scenes"] for c in s["chapters"])
    proj = expect(owner.get("/api/v1/projects/%d" % p["id"]), 200)
    assert proj["counts"]["total"] == scenes

    novel = expect(owner.get("/api/v1/projects/%d/novel" % p["id"]), 200)
    assert novel["id"] == s["novel"] and len(novel["chapters"]) == 9
    assert [c["scenes"] for c in novel["chapters"]] == [c["scenes"] for c in s["chapters"]]
    assert novel["totals"]["shots"] == total and novel["totals"]["duration"] > 0
    assert novel["totals"]["target_seconds"] == 150 * 60

    roster = expect(owner.get("/api/v1/projects/%d/characters" % p["id"]), 200)["characters"]
    names = {c["name"] for c in roster}
    assert names & {"阿Q", "赵太爷", "王胡", "小D", "吴妈"}, names

    # an annotator's claim starts from the machine's draft
    ann = world.a["annotator"]
    c = claim(ann, p["id"])
    draft = c["assignment"]["draft"]
    assert draft and draft["shots"]
    check_result(c["task"]["data"], draft)
    assert c["task"]["data"]["novel"] == s["novel"]
    assert set(c["task"]["data"]["chapter"]) >= {"index", "title", "volume"}


def test_annotate_review_export(world):
    owner, ann, rev = world.a["owner"], world.a["annotator"], world.a["reviewer"]
    p = storyboard_project(owner, {"target_minutes": 10, "custom_fields": [{"name": "lighting", "type": "text"}]})
    expect(post_novel(owner, p["id"], novel_text([1, 2])), 200)
    c = claim(ann, p["id"])
    shots = c["assignment"]["draft"]["shots"]
    shots[0]["picture"] = "雨夜，酒馆门口，人工修改"
    shots[0]["size"] = "closeup"
    shots[0]["custom"] = {"lighting": "冷色"}
    an = expect(ann.post("/api/v1/assignments/%d/submit" % c["assignment"]["id"], {"result": {"shots": shots}}), 201)
    # review accepts
    r = expect(rev.get("/api/v1/projects/%d/review/next" % p["id"]), 200)
    assert r["annotation"]["id"] == an["id"]
    expect(rev.post("/api/v1/annotations/%d/review" % an["id"], {"verdict": "accept"}), 201)

    # storyboard-json: the documented document
    r = owner.get("/api/v1/projects/%d/export?format=storyboard-json" % p["id"])
    doc = expect(r, 200)
    assert doc["format"] == "annotd-storyboard" and doc["version"] == 1
    first = doc["chapters"][0]["scenes"][0]
    assert first["status"] == "accepted"
    assert first["shots"][0]["picture"] == "雨夜，酒馆门口，人工修改"
    assert doc["totals"]["shots"] == sum(len(s["shots"]) for ch in doc["chapters"] for s in ch["scenes"])

    # CSV: UTF-8 with BOM, the Chinese columns, the human edit
    r = owner.get("/api/v1/projects/%d/export?format=storyboard-csv" % p["id"])
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
    assert "text/csv" in r.headers["Content-Type"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert "镜号" in rows[0] and "景别" in rows[0] and "台词" in rows[0]
    assert "lighting" in rows[0]  # custom fields become columns
    assert any("冷色" in row for row in rows[1:])
    assert any("人工修改" in cell for row in rows[1:] for cell in row)
    assert any("特写" in row for row in rows[1:])

    r = owner.get("/api/v1/projects/%d/export?format=fountain" % p["id"])
    assert r.status_code == 200 and "第一章" in r.text
    r = owner.get("/api/v1/projects/%d/export?format=srt" % p["id"])
    assert r.status_code == 200 and " --> " in r.text and r.text.lstrip().startswith("1")
    r = owner.get("/api/v1/projects/%d/export?format=storyboard-html" % p["id"])
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert "<script" not in r.text.lower() and "@media print" in r.text
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]
    assert "attachment" in r.headers["Content-Disposition"]

    # jsonl still works; unknown formats name the storyboard ones
    expect(owner.get("/api/v1/projects/%d/export?format=jsonl" % p["id"]), 200)
    expect(owner.get("/api/v1/projects/%d/export?format=pdf" % p["id"]), 400, "invalid_request", "format")


def test_storyboard_result_is_validated(world):
    owner, ann = world.a["owner"], world.a["annotator"]
    p = storyboard_project(owner)
    expect(post_novel(owner, p["id"], novel_text([1])), 200)
    c = claim(ann, p["id"])
    aid = c["assignment"]["id"]
    shots = c["assignment"]["draft"]["shots"]
    bad = json.loads(json.dumps(shots))
    bad[0]["size"] = "huge"
    expect(ann.post("/api/v1/assignments/%d/submit" % aid, {"result": {"shots": bad}}), 400, "invalid_result")
    bad = json.loads(json.dumps(shots))
    bad[0]["source"] = {"start": 0, "end": 10 ** 6}
    expect(ann.post("/api/v1/assignments/%d/submit" % aid, {"result": {"shots": bad}}), 400, "invalid_result")
    if len(shots) > 1:
        bad = json.loads(json.dumps(shots))
        bad[1]["id"] = bad[0]["id"]
        expect(ann.post("/api/v1/assignments/%d/submit" % aid, {"result": {"shots": bad}}), 400, "invalid_result")
    expect(ann.post("/api/v1/assignments/%d/submit" % aid, {"result": {"shots": shots}}), 201)


# --------------------------------------------------------------------------
# serialized sync
# --------------------------------------------------------------------------


def annotate_all(client, pid, mark="人工："):
    """Claim and submit every open task, prefixing each shot's picture; returns {task: result}."""
    done = {}
    while True:
        c = claim(client, pid)
        if c is None:
            return done
        shots = c["assignment"]["draft"]["shots"]
        for s in shots:
            s["picture"] = mark + s.get("picture", "")
        res = {"shots": shots}
        expect(client.post("/api/v1/assignments/%d/submit" % c["assignment"]["id"], {"result": res}), 201)
        done[c["task"]["id"]] = (c["task"]["data"], res)


def latest(client, task_id):
    items = expect(client.get("/api/v1/tasks/%d/annotations" % task_id), 200)["items"]
    return max(items, key=lambda a: a["id"])


def test_sync_keeps_every_human_edit(world):
    owner, ann = world.a["owner"], world.a["annotator"]
    p = storyboard_project(owner)
    first = expect(post_novel(owner, p["id"], novel_text([1, 2, 3])), 200)
    assert [c["index"] for c in first["chapters"]] == [1, 2, 3]
    human = annotate_all(ann, p["id"])
    assert len(human) == sum(c["scenes"] for c in first["chapters"])
    n_human = sum(len(r["shots"]) for _, r in human.values())

    second = expect(post_novel(owner, p["id"], novel_text([1, 2, 3, 4, 5], changed=True)), 200)
    check_summary(second)
    fate = {c["index"]: c["sync"] for c in second["chapters"]}
    assert fate == {1: "kept", 2: "changed", 3: "kept", 4: "added", 5: "added"}
    sync = second["sync"]
    assert sync["added"] == sum(c["shots"] for c in second["chapters"] if c["index"] >= 4) > 0
    assert sync["flagged"] >= 1
    assert sync["kept"] + sync["flagged"] == n_human  # every human shot is kept or flagged, none dropped

    flags = expect(owner.get("/api/v1/projects/%d/story/flags" % p["id"]), 200)["flags"]
    assert len(flags) == sync["flagged"]
    for task_id, (data, res) in human.items():
        cur = latest(owner, task_id)
        ids = [s["id"] for s in cur["result"]["shots"]]
        assert ids == [s["id"] for s in res["shots"]], "a human shot was dropped or reordered"
        for before, after in zip(res["shots"], cur["result"]["shots"]):
            for k in ("picture", "size", "dialogue", "characters", "duration"):
                assert after.get(k) == before.get(k), (k, before, after)
        if data["chapter"]["index"] == 2 and cur["source"] == "sync":
            task = expect(owner.get("/api/v1/tasks/%d" % task_id), 200)
            assert CHANGED_TO.split("，")[0] in task["data"]["text"]
            check_result(task["data"], cur["result"])
        else:
            assert cur["source"] == "human", "an unchanged scene was rewritten"
    # every version of a flagged shot stays in history: the draft, the human's, the sync's
    f0 = flags[0]
    hist = expect(owner.get("/api/v1/tasks/%d/shots/%s/history" % (f0["task_id"], f0["shot_id"])), 200)
    sources = [v["source"] for v in hist["versions"]]
    assert sources[0] == "prediction" and "human" in sources and sources[-1] == "sync", sources
    assert hist["versions"][-1]["shot"]["picture"].startswith("人工：")
    expect(owner.get("/api/v1/tasks/%d/shots/nope/history" % f0["task_id"]), 404)
    expect(world.b["owner"].get("/api/v1/tasks/%d/shots/%s/history" % (f0["task_id"], f0["shot_id"])), 404)
    flagged = {f["shot_id"] for f in flags}
    for f in flags:
        assert f["reason"] in ("source_changed", "source_gone") and f["diff"] and not f["resolved"]
        tf = expect(owner.get("/api/v1/tasks/%d/flags" % f["task_id"]), 200)["flags"]
        assert f["id"] in [x["id"] for x in tf]
    assert flagged, flags
    # flagged work goes back to review
    proj = expect(owner.get("/api/v1/projects/%d" % p["id"]), 200)
    assert proj["counts"]["to_review"] >= 1

    # new chapters are drafted and claimable; the drafts' ids are new
    ids_before = {s["id"] for _, r in human.values() for s in r["shots"]}
    c = claim(ann, p["id"])
    assert c and c["task"]["data"]["chapter"]["index"] in (2, 4, 5)
    assert not ({s["id"] for s in c["assignment"]["draft"]["shots"]} & ids_before) or \
        c["task"]["data"]["chapter"]["index"] == 2

    # resolving a flag
    expect(world.a["reviewer"].post("/api/v1/story/flags/%d/resolve" % flags[0]["id"]), 204)
    open_flags = expect(owner.get("/api/v1/projects/%d/story/flags?open=1" % p["id"]), 200)["flags"]
    assert flags[0]["id"] not in [f["id"] for f in open_flags]

    # the same file again: everything kept, nothing drafted
    third = expect(post_novel(owner, p["id"], novel_text([1, 2, 3, 4, 5], changed=True)), 200)
    assert {c["sync"] for c in third["chapters"]} == {"kept"}
    assert third["sync"]["added"] == third["sync"]["redrafted"] == third["sync"]["flagged"] == 0


def test_append_only_new_chapters(world):
    owner = world.a["owner"]
    p = storyboard_project(owner)
    expect(post_novel(owner, p["id"], novel_text([1, 2, 3])), 200)
    before = expect(owner.get("/api/v1/projects/%d" % p["id"]), 200)["counts"]["total"]
    s = expect(post_novel(owner, p["id"], novel_text([4], title="")), 200)
    assert [(c["index"], c["sync"]) for c in s["chapters"]] == [(4, "added")]
    novel = expect(owner.get("/api/v1/projects/%d/novel" % p["id"]), 200)
    assert [c["index"] for c in novel["chapters"]] == [1, 2, 3, 4]
    after = expect(owner.get("/api/v1/projects/%d" % p["id"]), 200)["counts"]["total"]
    assert after == before + s["chapters"][0]["scenes"]


def test_machine_drafts_are_redrafted_not_flagged(world):
    owner = world.a["owner"]
    p = storyboard_project(owner)
    expect(post_novel(owner, p["id"], novel_text([1, 2, 3])), 200)
    s = expect(post_novel(owner, p["id"], novel_text([1, 2, 3], changed=True)), 200)
    assert s["sync"]["flagged"] == 0 and s["sync"]["added"] == 0
    assert s["sync"]["redrafted"] >= 1
    assert expect(owner.get("/api/v1/projects/%d/story/flags" % p["id"]), 200)["flags"] == []


# --------------------------------------------------------------------------
# encodings and bad input
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name,encoding,converted,chapters", [
    ("liaozhai-zhiyi.gbk.txt", "gb18030", None, 127),
    ("hongloumeng-traditional.gb18030.txt", "gb18030", "t2s", 120),
])
def test_import_gb_novels(world, name, encoding, converted, chapters):
    owner = world.a["owner"]
    p = storyboard_project(owner)
    q = "?t2s=1" if converted else ""
    s = expect(post_novel(owner, p["id"], (NOVELS / name).read_bytes(), q), 200)
    assert s["encoding"] == encoding and s["converted"] == converted
    assert len(s["chapters"]) == chapters


def test_bad_novels_leave_everything_intact(world):
    owner = world.a["owner"]
    p = storyboard_project(owner)
    expect(post_novel(owner, p["id"], novel_text([1])), 200)
    snapshot = expect(owner.get("/api/v1/projects/%d/novel" % p["id"]), 200)
    expect(post_novel(owner, p["id"], b""), 400, "invalid_request")
    expect(post_novel(owner, p["id"], b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8), 415)
    r = post_novel(owner, p["id"], "Это русский текст, который не входит в поддерживаемые кодировки. ".encode("koi8-r") * 20)
    expect(r, 415)
    assert "unsupported encoding" in r.json()["error"]["message"]  # and names the detector's guess
    expect(post_novel(owner, p["id"], novel_text([1]), "?t2s=maybe"), 400, "invalid_request", "t2s")
    assert expect(owner.get("/api/v1/projects/%d/novel" % p["id"]), 200) == snapshot
    # no headings: one chapter; unbalanced quotes are fine
    q = storyboard_project(owner)
    s = expect(post_novel(owner, q["id"], "他说：“走吧。\n她没有回答，只是望着窗外的雨。\n“为什么？”\n".encode() * 5), 200)
    assert len(s["chapters"]) == 1


def test_novel_routes_need_a_storyboard_project(world):
    owner = world.a["owner"]
    text_project = world.a.project
    expect(post_novel(owner, text_project["id"], novel_text([1])), 400, "invalid_request", "project")
    p = storyboard_project(owner)
    expect(owner.get("/api/v1/projects/%d/novel" % p["id"]), 404)
    expect(owner.get("/api/v1/projects/%d/export?format=storyboard-json" % p["id"]), 404)


def test_novel_over_the_cap(small_server):
    admin = small_server.api(small_server.token("admin"))
    p = storyboard_project(admin)
    big = novel_text([1, 2, 3, 4, 5]) * 4000  # beyond small_server's --max-import
    r = post_novel(admin, p["id"], big)
    assert r.status_code == 413


# --------------------------------------------------------------------------
# the roster
# --------------------------------------------------------------------------


def test_roster_edit_merge_delete(world):
    owner, ann, viewer = world.a["owner"], world.a["annotator"], world.a["viewer"]
    p = storyboard_project(owner)
    expect(post_novel(owner, p["id"], novel_text([1, 2, 3])), 200)
    base = "/api/v1/projects/%d/characters" % p["id"]
    roster = expect(owner.get(base), 200)["characters"]
    zhang = next(c for c in roster if c["name"] == "张三")
    assert zhang["id"].startswith("c") and zhang["lines"] >= 1 and zhang["source"] == "machine"

    kid = expect(ann.post(base, {"name": "少年", "aliases": ["小兄弟"],
                                 "sheet": {"appearance": "青衣，短剑", "voice": "少年音，冷"}}), 201)
    assert kid["sheet"]["appearance"] == "青衣，短剑" and kid["source"] == "human"
    expect(viewer.post(base, {"name": "路人"}), 403)
    expect(owner.post(base, {"name": ""}), 400, "invalid_request", "name")
    expect(owner.post(base, {"name": "x", "sheet": {"evil": 1}}), 400, "invalid_request", "sheet")
    expect(owner.post(base, {"name": "x", "sheet": {"references": ["../etc/passwd"]}}), 400)

    # a given name beside the full name is proposed for a merge
    jun = expect(owner.post(base, {"name": "俊义"}), 201)
    lu = expect(owner.post(base, {"name": "卢俊义"}), 201)
    sugg = expect(owner.get(base), 200)["suggestions"]
    assert {"from": jun["id"], "into": lu["id"], "reason": "given_name"} in sugg

    upd = expect(ann.request("PATCH", base + "/" + kid["id"], {"aliases": ["小兄弟", "青衣少年"]}), 200)
    assert upd["aliases"] == ["小兄弟", "青衣少年"] and upd["name"] == "少年"
    alias = expect(owner.post(base, {"name": "快刀"}), 201)
    merged = expect(owner.post(base + "/" + alias["id"] + "/merge", {"into": zhang["id"]}), 200)
    assert "快刀" in merged["aliases"]
    roster = {c["id"]: c for c in expect(owner.get(base), 200)["characters"]}
    assert roster[alias["id"]]["merged_into"] == zhang["id"]
    expect(owner.post(base + "/" + zhang["id"] + "/merge", {"into": zhang["id"]}), 400)
    expect(ann.delete(base + "/" + kid["id"]), 403)
    expect(owner.delete(base + "/" + kid["id"]), 204)
    expect(owner.delete(base + "/" + kid["id"]), 404)
    # another org sees nothing
    expect(world.b["owner"].get(base), 404)


# --------------------------------------------------------------------------
# the LLM drafter, against a stand-in endpoint over real HTTP
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def standin():
    env = dict(os.environ, STANDIN_SLOW_SECONDS="1")
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("llm_standin.py"))],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    line = proc.stdout.readline().strip()
    port = int(line.split()[-1]) if line else 0
    assert port, "the stand-in did not start"
    yield "http://127.0.0.1:%d" % port
    proc.kill()
    proc.wait()


@pytest.fixture(scope="module")
def llm_server(tmp_path_factory, standin):
    old = os.environ.get("ANNOTD_LLM_ALLOW")
    os.environ["ANNOTD_LLM_ALLOW"] = standin + "/"
    try:
        srv = start_server(tmp_path_factory, "llm")
    finally:
        if old is None:
            os.environ.pop("ANNOTD_LLM_ALLOW", None)
        else:
            os.environ["ANNOTD_LLM_ALLOW"] = old
    yield srv
    stop_and_check(srv)


def llm_project(client, base, **extra):
    drafter = {"kind": "llm", "base_url": base, "model": "standin-1", "timeout_seconds": 2}
    drafter.update(extra)
    return storyboard_project(client, {"drafter": drafter})


def wait_job(client, job_id, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        job = expect(client.get("/api/v1/jobs/%d" % job_id), 200)
        if job["state"] not in ("queued", "running"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def test_llm_drafter_drafts_in_a_background_job(llm_server, standin):
    admin = llm_server.api(llm_server.token("admin"))
    p = llm_project(admin, standin + "/v1")
    s = expect(post_novel(admin, p["id"], novel_text([1, 2])), 200)
    scenes = sum(c["scenes"] for c in s["chapters"])
    # the rules drafted at once; the LLM re-drafts in a job
    assert s["drafter"]["kind"] == "llm" and s["drafter"]["job"] == s["job"]["id"]
    assert s["job"]["kind"] == "story.llm_draft" and s["job"]["total"] == scenes
    assert sum(c["shots"] for c in s["chapters"]) > 0
    job = wait_job(admin, s["job"]["id"])
    assert job["state"] == "done", job
    assert job["progress"] == {"done": scenes, "total": scenes}
    assert job["result"]["drafted"] == scenes and job["result"]["fallbacks"] == 0
    jobs = expect(admin.get("/api/v1/projects/%d/jobs" % p["id"]), 200)["items"]
    assert jobs[0]["id"] == job["id"]
    c = claim(admin, p["id"])
    check_result(c["task"]["data"], c["assignment"]["draft"])
    assert all(sh["id"].startswith("l%d-" % job["id"]) for sh in c["assignment"]["draft"]["shots"])


def test_llm_job_never_replaces_human_work(llm_server, standin):
    admin = llm_server.api(llm_server.token("admin"))
    p = llm_project(admin, standin + "/slow/v1", timeout_seconds=5)
    s = expect(post_novel(admin, p["id"], novel_text([1, 2, 3])), 200)
    # an annotator submits the first scene while the slow job runs
    c = claim(admin, p["id"])
    mine = c["assignment"]["draft"]
    expect(admin.post("/api/v1/assignments/%d/submit" % c["assignment"]["id"], {"result": mine}), 201)
    job = wait_job(admin, s["job"]["id"], timeout=120)
    assert job["state"] == "done", job
    cur = latest(admin, c["task"]["id"])
    assert cur["result"] == mine and cur["source"] == "human"


@pytest.mark.parametrize("mode", ["bad", "fail"])
def test_llm_failures_fall_back_to_rules(llm_server, standin, mode):
    admin = llm_server.api(llm_server.token("admin"))
    p = llm_project(admin, standin + "/%s/v1" % mode, timeout_seconds=1)
    s = expect(post_novel(admin, p["id"], novel_text([1])), 200)
    job = wait_job(admin, s["job"]["id"])
    scenes = sum(c["scenes"] for c in s["chapters"])
    assert job["state"] == "done" and job["result"]["fallbacks"] == scenes >= 1, job
    assert job["result"]["error"]
    c = claim(admin, p["id"])
    assert c["assignment"]["draft"]["shots"]  # the rule-based drafts stood in
    assert all(sh["id"].startswith("s") for sh in c["assignment"]["draft"]["shots"])


def test_cancel_a_job(llm_server, standin):
    admin = llm_server.api(llm_server.token("admin"))
    p = llm_project(admin, standin + "/slow/v1", timeout_seconds=5)
    s = expect(post_novel(admin, p["id"], novel_text([1, 2, 3, 4, 5])), 200)
    job = expect(admin.post("/api/v1/jobs/%d/cancel" % s["job"]["id"]), 200)
    assert job["cancel_requested"]
    job = wait_job(admin, s["job"]["id"], timeout=120)
    assert job["state"] == "cancelled"
    expect(admin.post("/api/v1/jobs/%d/cancel" % s["job"]["id"]), 409)
    expect(world_less_get(llm_server, s["job"]["id"]), 401)


def world_less_get(srv, job_id):
    return srv.api().get("/api/v1/jobs/%d" % job_id)


def test_llm_endpoint_outside_the_allow_list_is_refused(world):
    owner = world.a["owner"]
    p = llm_project(owner, "http://169.254.169.254/latest")
    r = post_novel(owner, p["id"], novel_text([1]))
    expect(r, 400, "invalid_request", "config.drafter.base_url")
    expect(owner.get("/api/v1/projects/%d/novel" % p["id"]), 404)


# --------------------------------------------------------------------------
# the CLI
# --------------------------------------------------------------------------


def test_cli_story_import_and_export(server, world, tmp_path):
    owner = world.a["owner"]
    p = storyboard_project(owner)
    f = tmp_path / "novel.txt"
    f.write_bytes(novel_text([1, 2]))
    # through the running server the CLI acts as the platform admin: its own org's projects
    admin = server.api(server.token("admin"))
    q = storyboard_project(admin)
    cp = run_cli("story", "import", "--data", server.data, "--project", str(q["id"]), f)
    s = json.loads(cp.stdout)
    check_summary(s)
    assert len(s["chapters"]) == 2
    out = tmp_path / "board.csv"
    cp = run_cli("story", "export", "--data", server.data, "--project", str(q["id"]),
                 "--format", "storyboard-csv", "--out", out, *db_args(server.db_url))
    assert json.loads(cp.stdout)["bytes"] == out.stat().st_size
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    cp = run_cli("story", "export", "--data", server.data, "--project", str(q["id"]), "--format", "srt",
                 *db_args(server.db_url))
    assert " --> " in cp.stdout
    cp = run_cli("story", "export", "--data", server.data, "--project", str(q["id"]), "--format", "pdf",
                 check=False)
    assert cp.returncode == 2
    cp = run_cli("story", "import", "--data", server.data, "--project", str(p["id"]), f, check=False)
    assert cp.returncode == 1  # another org's project through the server


def test_a_job_survives_a_restart(tmp_path_factory, standin):
    """A server stopping mid-job gives it back to the queue; the next start resumes it."""
    old = os.environ.get("ANNOTD_LLM_ALLOW")
    os.environ["ANNOTD_LLM_ALLOW"] = standin + "/"
    try:
        srv = start_server(tmp_path_factory, "jobrestart")
        admin = srv.api(srv.token("admin"))
        p = llm_project(admin, standin + "/slow/v1", timeout_seconds=5)
        s = expect(post_novel(admin, p["id"], novel_text([1, 2, 3, 4, 5])), 200)
        total = s["job"]["total"]
        deadline = time.monotonic() + 60
        while True:
            job = expect(admin.get("/api/v1/jobs/%d" % s["job"]["id"]), 200)
            if job["progress"]["done"] >= 1:
                break
            assert time.monotonic() < deadline, job
            time.sleep(0.1)
        assert job["state"] == "running" and job["progress"]["done"] < total
        assert srv.stop() == 0
        srv.start()
        admin = srv.api(srv.token("admin"))
        job = wait_job(admin, s["job"]["id"], timeout=120)
        assert job["state"] == "done" and job["attempts"] == 2, job
        assert job["progress"] == {"done": total, "total": total}
        stop_and_check(srv)
    finally:
        if old is None:
            os.environ.pop("ANNOTD_LLM_ALLOW", None)
        else:
            os.environ["ANNOTD_LLM_ALLOW"] = old
