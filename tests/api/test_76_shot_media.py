"""
Media per storyboard shot (issue 5, part 9): image and video prompts in the
drafts, frames and clips attached to shots (uploaded, or generated through
an OpenAI-compatible images endpoint as a background job), their review,
and the accepted media in the exports.

Routes: POST /tasks/{id}/shots/{shot}/media, GET /tasks/{id}/shots/media,
POST /shot-media/{id}/review, POST /tasks/{id}/shots/{shot}/generate.
Generation runs against tests/api/images_standin.py over real HTTP.
"""

import csv
import io
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import expect, make_project, start_server, stop_and_check, unique
from images_standin import png

NOVEL = "\n".join([
    "《快刀》", "",
    "第一章 雨夜",
    "夜色沉沉，大雨倾盆。张三推开酒馆的木门，抖落斗笠上的雨水。",
    "张三道：“店家，来一壶热酒，再切二斤牛肉。”",
    "店家笑道：“客官稍等，马上就来。”",
    "角落里坐着一个穿青衣的少年，正低头擦拭一柄短剑。", "",
]).encode()
LOOK = {"appearance": "三十来岁，浓眉", "costume": "黑衣，背长刀"}
STYLE = "国漫风格分镜"


def storyboard(owner, config=None):
    """A storyboard project with 张三's sheet and the novel; returns (project, doc)."""
    p = make_project(owner, kind="storyboard", config=config if config is not None else {"style": STYLE})
    expect(owner.post("/api/v1/projects/%d/characters" % p["id"], {"name": "张三", "sheet": LOOK}), 201)
    expect(owner.post_raw("/api/v1/projects/%d/novel" % p["id"], NOVEL, content_type="text/plain"), 200)
    return p, export_json(owner, p)


def export_json(owner, p):
    return expect(owner.get("/api/v1/projects/%d/export?format=storyboard-json" % p["id"]), 200)


def shots_of(doc):
    return [(sc["task"], shot) for ch in doc["chapters"] for sc in ch["scenes"] for shot in sc["shots"]]


def upload(client, data):
    r = client.post_raw("/api/v1/media", data, content_type="application/octet-stream")
    return expect(r, (200, 201))["id"]


def attach(client, task, shot, media, kind="first_frame"):
    return client.post("/api/v1/tasks/%d/shots/%s/media" % (task, shot), {"media": media, "kind": kind})


def items(client, task):
    return expect(client.get("/api/v1/tasks/%d/shots/media" % task), 200)["items"]


def review(client, item, verdict, note=None):
    body = {"verdict": verdict}
    if note is not None:
        body["note"] = note
    return client.post("/api/v1/shot-media/%d/review" % item, body)


# --------------------------------------------------------------------------
# prompts
# --------------------------------------------------------------------------


def test_drafts_carry_prompts_with_the_character_sheet(world):
    owner = world.a["owner"]
    p, doc = storyboard(owner)
    shots = [s for _, s in shots_of(doc)]
    assert shots and all(s["image_prompt"] and s["video_prompt"] for s in shots)
    assert all(s["image_prompt"].endswith(STYLE) and s["video_prompt"].endswith(STYLE) for s in shots)
    assert all(s["media"] == [] for s in shots)
    # every shot with 张三 describes him the same way (his sheet)
    zhang = [s for s in shots if "张三" in s["image_prompt"]]
    assert zhang and all("张三（三十来岁，浓眉，黑衣，背长刀）" in s["image_prompt"] for s in zhang)
    # the video prompt adds the camera move and the duration
    first = shots[0]
    assert "镜头" in first["video_prompt"] and "时长" in first["video_prompt"]
    # the default style when the config names none
    p2, doc2 = storyboard(owner, config={})
    assert all(s["image_prompt"].endswith("动画分镜") for _, s in shots_of(doc2))


def test_prompts_are_part_of_the_result_schema(world):
    owner = world.a["owner"]
    p, doc = storyboard(owner)
    task, shot = shots_of(doc)[0]
    ann = world.a["annotator"]
    c = expect(ann.post("/api/v1/projects/%d/next" % p["id"]), 200)
    result = c["assignment"]["draft"]
    result["shots"][0]["image_prompt"] = "人工提示词"
    result["shots"][0]["video_prompt"] = 7
    r = ann.post("/api/v1/assignments/%d/submit" % c["assignment"]["id"], {"result": result})
    expect(r, 400, "invalid_result", "result.shots[0].video_prompt")
    result["shots"][0]["video_prompt"] = "x" * 9000
    r = ann.post("/api/v1/assignments/%d/submit" % c["assignment"]["id"], {"result": result})
    expect(r, 400, "invalid_result", "result.shots[0].video_prompt")
    result["shots"][0]["video_prompt"] = "人工视频提示词"
    expect(ann.post("/api/v1/assignments/%d/submit" % c["assignment"]["id"], {"result": result}), 201)


@pytest.mark.parametrize("config,path", [
    ({"style": 3}, "style"),
    ({"images": {"base_url": "http://x/v1"}}, "images.model"),
    ({"images": {"base_url": "ftp://x", "model": "m"}}, "images.base_url"),
    ({"images": {"base_url": "http://x/v1", "model": "m", "api_key": "sk-1"}}, "images.api_key"),
    ({"images": {"base_url": "http://x/v1", "model": "m", "size": "big"}}, "images.size"),
    ({"images": {"base_url": "http://x/v1", "model": "m", "size": "10x10"}}, "images.size"),
    ({"images": {"base_url": "http://x/v1", "model": "m", "seed": 1}}, "images.seed"),
])
def test_images_config_is_checked(world, config, path):
    r = world.a["owner"].post("/api/v1/projects", {"name": unique("sb"), "kind": "storyboard", "config": config})
    expect(r, 400, "invalid_request", "config." + path)


# --------------------------------------------------------------------------
# attach, list, review, export
# --------------------------------------------------------------------------


def test_attach_review_and_export(world):
    owner, reviewer, ann = world.a["owner"], world.a["reviewer"], world.a["annotator"]
    p, doc = storyboard(owner)
    task, shot = shots_of(doc)[0]
    frame1 = upload(owner, png(32, 18, (200, 10, 10)))
    frame2 = upload(owner, png(32, 18, (10, 200, 10)))

    item1 = expect(attach(ann, task, shot["id"], frame1), 201)
    assert item1["media"] == frame1 and item1["kind"] == "first_frame" and item1["source"] == "upload"
    assert item1["status"] == "pending" and item1["shot"] == shot["id"] and item1["task"] == task
    assert item1["mime"] == "image/png" and item1["model"] is None and item1["reviewed_at"] is None
    got = items(world.a["viewer"], task)
    assert [i["id"] for i in got] == [item1["id"]]

    # a rejection needs a note; an annotator may not review
    expect(review(reviewer, item1["id"], "reject"), 400, "invalid_request", "note")
    expect(review(reviewer, item1["id"], "reject", ""), 400, "invalid_request", "note")
    expect(review(reviewer, item1["id"], "reject", "  \n "), 400, "invalid_request", "note")
    expect(review(ann, item1["id"], "accept"), 403, "forbidden")
    expect(review(reviewer, item1["id"], "maybe"), 400, "invalid_request", "verdict")
    rej = expect(review(reviewer, item1["id"], "reject", "雨太小，重画"), 200)
    assert rej["status"] == "rejected" and rej["note"] == "雨太小，重画"
    assert rej["reviewed_by"] == world.a.users["reviewer"]["id"] and rej["reviewed_at"]

    item2 = expect(attach(owner, task, shot["id"], frame2), 201)
    acc = expect(review(reviewer, item2["id"], "accept"), 200)
    assert acc["status"] == "accepted"
    # accepting another first frame of the shot supersedes the accepted one
    expect(review(owner, item1["id"], "accept", "还是这张好"), 200)
    by_id = {i["id"]: i for i in items(owner, task)}
    assert by_id[item1["id"]]["status"] == "accepted"
    assert by_id[item2["id"]]["status"] == "rejected" and by_id[item2["id"]]["note"] == "superseded"
    assert [i["id"] for i in items(owner, task)] == [item2["id"], item1["id"]]  # newest first

    # a clip needs a video; a frame an image
    expect(attach(owner, task, shot["id"], frame1, kind="clip"), 400, "invalid_request", "kind")
    expect(attach(owner, task, shot["id"], frame1, kind="poster"), 400, "invalid_request", "kind")
    expect(attach(owner, task, shot["id"], "nothex"), 400, "invalid_request", "media")
    expect(attach(owner, task, shot["id"], "0" * 64), 404, "not_found")
    expect(attach(owner, task, "no-such-shot", frame1), 404, "not_found")
    expect(attach(owner, world.a.tasks[0]["id"], shot["id"], frame1), 404, "not_found")  # not a storyboard task
    expect(owner.get("/api/v1/tasks/%d/shots/media" % world.a.tasks[0]["id"]), 404, "not_found")

    # the exports carry the accepted frame
    doc = export_json(owner, p)
    media = dict((s["id"], s["media"]) for _, s in shots_of(doc))
    assert media[shot["id"]] == [{"id": frame1, "kind": "first_frame", "source": "upload", "model": None,
                                  "mime": "image/png"}]
    assert all(m == [] for sid, m in media.items() if sid != shot["id"])
    r = owner.get("/api/v1/projects/%d/export?format=storyboard-html" % p["id"])
    assert r.status_code == 200
    assert '<img class="frame" alt="首帧" src="data:image/' in r.text
    assert r.text.count("<img") == 1 and "img-src data:" in r.headers["Content-Security-Policy"]
    assert frame1 in r.text and frame2 not in r.text
    r = owner.get("/api/v1/projects/%d/export?format=storyboard-csv" % p["id"])
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][-1] == "参考图"
    row = next(row for row in rows[1:] if shot["id"] in row)
    assert row[-1] == frame1


def test_other_orgs_see_nothing(world):
    a, b = world.a, world.b
    p, doc = storyboard(a["owner"])
    task, shot = shots_of(doc)[0]
    mine = upload(a["owner"], png(20, 20, (1, 2, 3)))
    theirs = upload(b["owner"], png(20, 20, (4, 5, 6)))
    item = expect(attach(a["owner"], task, shot["id"], mine), 201)
    # org B: A's task, items and reviews are invisible
    expect(b["owner"].get("/api/v1/tasks/%d/shots/media" % task), 404, "not_found")
    expect(attach(b["owner"], task, shot["id"], theirs), 404, "not_found")
    expect(review(b["owner"], item["id"], "accept"), 404, "not_found")
    # org A cannot attach media only org B uploaded
    expect(attach(a["owner"], task, shot["id"], theirs), 404, "not_found")
    assert [i["id"] for i in items(a["owner"], task)] == [item["id"]]
    # without an image endpoint, generation is refused
    r = a["annotator"].post("/api/v1/tasks/%d/shots/%s/generate" % (task, shot["id"]), {"kind": "first_frame"})
    expect(r, 409, "conflict")
    r = a["annotator"].post("/api/v1/tasks/%d/shots/%s/generate" % (task, shot["id"]), {"kind": "clip"})
    expect(r, 400, "invalid_request", "kind")


# --------------------------------------------------------------------------
# generation against a stand-in images endpoint
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def images():
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("images_standin.py"))],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline().strip()
    assert line, "the images stand-in did not start"
    yield "http://127.0.0.1:%d" % int(line)
    proc.kill()
    proc.wait()


@pytest.fixture(scope="module")
def img_server(tmp_path_factory, images):
    old = os.environ.get("ANNOTD_LLM_ALLOW")
    os.environ["ANNOTD_LLM_ALLOW"] = images + "/"
    try:
        srv = start_server(tmp_path_factory, "images")
    finally:
        if old is None:
            os.environ.pop("ANNOTD_LLM_ALLOW", None)
        else:
            os.environ["ANNOTD_LLM_ALLOW"] = old
    yield srv
    stop_and_check(srv)


def wait_job(client, job_id, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = expect(client.get("/api/v1/jobs/%d" % job_id), 200)
        if job["state"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.1)
    raise AssertionError("job %d did not end: %r" % (job_id, job))


def generate(client, task, shot, kind="first_frame"):
    r = client.post("/api/v1/tasks/%d/shots/%s/generate" % (task, shot), {"kind": kind})
    body = expect(r, 202)
    assert body["job"]["kind"] == "story.generate_frame" and body["job"]["state"] == "queued"
    return wait_job(client, body["job"]["id"])


def test_generate_a_frame(img_server, images):
    admin = img_server.api(img_server.token("admin"))
    p, doc = storyboard(admin, {"style": STYLE, "images": {"base_url": images + "/v1", "model": "standin-image",
                                                           "size": "1024x576", "timeout_seconds": 10}})
    task, shot = next((t, s) for t, s in shots_of(doc) if "张三" in s["image_prompt"])
    job = generate(admin, task, shot["id"])
    assert job["state"] == "done", job
    got = items(admin, task)
    assert len(got) == 1 and got[0]["id"] == job["result"]["item"]
    item = got[0]
    assert item["source"] == "generated" and item["model"] == "standin-image" and item["status"] == "pending"
    assert item["prompt"] == shot["image_prompt"] and item["kind"] == "first_frame"
    assert item["mime"] == "image/png"
    # the stand-in was asked exactly as the OpenAI images API says
    with urllib.request.urlopen(images + "/stats") as f:
        stats = json.load(f)
    sent = json.loads(stats["last"])
    assert sent == {"model": "standin-image", "prompt": shot["image_prompt"], "size": "1024x576", "n": 1,
                    "response_format": "b64_json"}
    # the frame is the org's media, servable and thumbnailable
    r = admin.get("/api/v1/media/%s" % item["media"])
    assert r.status_code == 200 and r.content.startswith(b"\x89PNG")
    # accepted, it shows in the exports with its model
    expect(review(admin, item["id"], "accept"), 200)
    media = dict((s["id"], s["media"]) for _, s in shots_of(export_json(admin, p)))
    assert media[shot["id"]] == [{"id": item["media"], "kind": "first_frame", "source": "generated",
                                  "model": "standin-image", "mime": "image/png"}]
    # a last frame too
    job = generate(admin, task, shot["id"], "last_frame")
    assert job["state"] == "done", job
    assert {i["kind"] for i in items(admin, task)} == {"first_frame", "last_frame"}


@pytest.mark.parametrize("mode,words", [("bad", "not base64"), ("notimage", "not a png"),
                                        ("fail", "answered 500"), ("url", "never fetched")])
def test_a_bad_endpoint_fails_the_job_and_stores_nothing(img_server, images, mode, words):
    admin = img_server.api(img_server.token("admin"))
    p, doc = storyboard(admin, {"images": {"base_url": images + "/%s/v1" % mode, "model": "m",
                                           "timeout_seconds": 5}})
    task, shot = shots_of(doc)[0]
    job = generate(admin, task, shot["id"])
    assert job["state"] == "failed" and words in job["error"].lower(), job
    assert items(admin, task) == []


def test_an_endpoint_outside_the_allow_list_is_refused(img_server):
    admin = img_server.api(img_server.token("admin"))
    p, doc = storyboard(admin, {"images": {"base_url": "http://169.254.169.254/v1", "model": "m"}})
    task, shot = shots_of(doc)[0]
    r = admin.post("/api/v1/tasks/%d/shots/%s/generate" % (task, shot["id"]), {"kind": "first_frame"})
    expect(r, 400, "invalid_request", "config.images.base_url")
    r = admin.post("/api/v1/tasks/%d/shots/%s/generate" % (task, "nope"), {"kind": "first_frame"})
    expect(r, 404, "not_found")
