"""
Media: content-addressed uploads (POST /api/v1/media), serving with
ranges and thumbnails (GET /api/v1/media/{id}[?thumb=N]), org isolation,
and the refusals (unknown type, broken or huge images, empty, too large).

Images are made here: PNG with zlib, JPEG from a small embedded file.
"""

import base64
import hashlib
import os
import struct
import time
import zlib

import pytest
import requests

from conftest import IMAGE_CONFIG, expect, import_tasks, make_project, start_server, stop_and_check

# 40 x 30 baseline JPEG (made once with libvips, quality 50)
JPEG_40x30 = base64.b64decode(
    "/9j/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19i"
    "Z2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2Nj"
    "Y2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2P/wAARCAAeACgDASIAAhEBAxEB/8QAHwAAAQUBAQEB"
    "AQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1Fh"
    "ByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZ"
    "WmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXG"
    "x8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAEC"
    "AwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHB"
    "CSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0"
    "dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX"
    "2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwD0CiiigAooooAKKKKACiiigAooooAK"
    "KKKAP//Z")

MEDIA = "/api/v1/media"


# --------------------------------------------------------------------------
# making and reading images
# --------------------------------------------------------------------------

def _chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png(w, h, seed=0, alpha=False, noise=False, ihdr_only_size=None):
    """A w x h 8-bit RGB(A) PNG; `seed` makes the bytes unique."""
    bands = 4 if alpha else 3
    if noise:
        raw = b"".join(b"\x00" + os.urandom(w * bands) for _ in range(h))
    else:
        rows = []
        for y in range(h):
            row = bytearray([0])
            for x in range(w):
                px = [(x * 7 + seed) & 255, (y * 5 + seed * 3) & 255, (x + y + seed) & 255]
                if alpha:
                    px.append((x * 3) & 255)
                row += bytes(px)
            rows.append(bytes(row))
        raw = b"".join(rows)
    iw, ih = ihdr_only_size or (w, h)
    ihdr = struct.pack(">IIBBBBB", iw, ih, 8, 6 if alpha else 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw))
            + _chunk(b"IEND", b""))


def jpeg_size(data):
    """(width, height) from a JPEG's SOF marker."""
    assert data[:2] == b"\xff\xd8"
    i = 2
    while i < len(data):
        assert data[i] == 0xFF, i
        marker = data[i + 1]
        seg = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            return w, h
        i += 2 + seg
    raise AssertionError("no SOF marker")


def webp_size(data):
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    kind = data[12:16]
    if kind == b"VP8X":
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return w, h
    if kind == b"VP8L":
        b = int.from_bytes(data[21:25], "little")
        return (b & 0x3FFF) + 1, ((b >> 14) & 0x3FFF) + 1
    if kind == b"VP8 ":
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    raise AssertionError("unknown WebP chunk %r" % kind)


def sha(data):
    return hashlib.sha256(data).hexdigest()


def upload(client, data, content_type="application/octet-stream"):
    return client.post_raw(MEDIA, data, content_type=content_type)


def media_files(data_dir, media_id):
    root = data_dir / "media"
    return list(root.glob("%s/%s/%s" % (media_id[:2], media_id[2:4], media_id)))


def tmp_files(media_root):
    return sorted(p.name for p in (media_root / "tmp").iterdir())


def wait_tmp_empty(media_root, timeout=3.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not tmp_files(media_root):
            return
        time.sleep(0.05)
    assert tmp_files(media_root) == []


_seed = iter(range(1, 1 << 30))


def fresh_png(w=120, h=80, alpha=False):
    return png(w, h, seed=next(_seed) * 17 + os.getpid(), alpha=alpha)


# --------------------------------------------------------------------------
# upload
# --------------------------------------------------------------------------

def test_upload_png_identified_by_content(world):
    data = fresh_png(300, 200)
    # the client's Content-Type is not trusted either way
    body = expect(upload(world.a["owner"], data, "text/plain"), 201)
    assert body == {"id": sha(data), "mime": "image/png", "bytes": len(data),
                    "width": 300, "height": 200}
    assert len(media_files(world.server.data, body["id"])) == 1


def test_upload_jpeg(world):
    body = expect(upload(world.a["manager"], JPEG_40x30, "image/png"), (200, 201))
    assert body["id"] == sha(JPEG_40x30)
    assert body["mime"] == "image/jpeg"
    assert (body["width"], body["height"]) == (40, 30)
    assert body["bytes"] == len(JPEG_40x30)


def test_reupload_is_idempotent(world):
    data = fresh_png()
    first = expect(upload(world.a["owner"], data), 201)
    again = expect(upload(world.a["owner"], data), 200)
    assert again == first
    # another user of the same org: the org has it already
    assert expect(upload(world.a["manager"], data), 200) == first
    assert len(media_files(world.server.data, first["id"])) == 1


def test_roles(world):
    data = fresh_png()
    for role in ("reviewer", "annotator", "viewer"):
        expect(upload(world.a[role], data), 403, "forbidden")
    body = expect(upload(world.a["manager"], data), 201)
    for role in ("owner", "manager", "reviewer", "annotator", "viewer"):
        r = world.a[role].get("%s/%s" % (MEDIA, body["id"]))
        assert r.status_code == 200, (role, r.status_code, r.text[:200])
        assert r.content == data
    expect(world.server.api().get("%s/%s" % (MEDIA, body["id"])), 401)


def test_other_org_never_sees_it(world):
    data = fresh_png()
    body = expect(upload(world.a["owner"], data), 201)
    url = "%s/%s" % (MEDIA, body["id"])
    for role in ("owner", "viewer"):
        expect(world.b[role].get(url), 404, "not_found")
        expect(world.b[role].get(url + "?thumb=64"), 404, "not_found")
    # the same bytes from org B: stored once, now visible to B too
    assert expect(upload(world.b["owner"], data), 201) == body
    assert world.b["viewer"].get(url).content == data
    assert len(media_files(world.server.data, body["id"])) == 1
    # the platform admin is not an org of its own media either
    expect(world.admin.get(url), 404)


def test_bad_ids(world):
    data = fresh_png()
    body = expect(upload(world.a["owner"], data), 201)
    c = world.a["owner"]
    for bad in (body["id"].upper(), body["id"][:-1], body["id"] + "0", "x" * 64,
                "..%2F..%2Fannotd.db", "%2e%2e", "0" * 64):
        r = c.get("%s/%s" % (MEDIA, bad))
        assert r.status_code in (400, 404), (bad, r.status_code)


# --------------------------------------------------------------------------
# serving
# --------------------------------------------------------------------------

def test_get_headers(world):
    data = fresh_png()
    mid = expect(upload(world.a["owner"], data), 201)["id"]
    r = world.a["viewer"].get("%s/%s" % (MEDIA, mid))
    assert r.status_code == 200
    assert r.content == data
    h = r.headers
    assert h["Content-Type"] == "image/png"
    assert h["ETag"] == '"%s"' % mid
    assert h["Cache-Control"] == "private, max-age=31536000, immutable"
    assert h["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in h["Content-Security-Policy"]
    assert h["Content-Disposition"] == 'inline; filename="%s.png"' % mid
    assert h["Accept-Ranges"] == "bytes"
    assert int(h["Content-Length"]) == len(data)
    # conditional: the client's copy is current
    r = world.a["viewer"].get("%s/%s" % (MEDIA, mid), headers={"If-None-Match": h["ETag"]})
    assert r.status_code == 304 and r.content == b""
    # HEAD: the headers only
    r = world.a["viewer"].request("HEAD", "%s/%s" % (MEDIA, mid))
    assert r.status_code == 200 and r.content == b""
    assert int(r.headers["Content-Length"]) == len(data)


def test_ranges(world):
    data = fresh_png(200, 100)
    mid = expect(upload(world.a["owner"], data), 201)["id"]
    url = "%s/%s" % (MEDIA, mid)
    c = world.a["annotator"]
    n = len(data)

    def get(rng, **extra):
        return c.get(url, headers=dict({"Range": rng}, **extra))

    r = get("bytes=0-9")
    assert r.status_code == 206
    assert r.content == data[:10]
    assert r.headers["Content-Range"] == "bytes 0-9/%d" % n
    assert r.headers["Content-Type"] == "image/png"

    r = get("bytes=10-")
    assert r.status_code == 206 and r.content == data[10:]
    assert r.headers["Content-Range"] == "bytes 10-%d/%d" % (n - 1, n)

    r = get("bytes=-5")
    assert r.status_code == 206 and r.content == data[-5:]
    assert r.headers["Content-Range"] == "bytes %d-%d/%d" % (n - 5, n - 1, n)

    r = get("bytes=-%d" % (n + 100))  # a suffix longer than the file: all of it
    assert r.status_code == 206 and r.content == data

    r = get("bytes=5-%d" % (n + 1000))  # the end clamps
    assert r.status_code == 206 and r.content == data[5:]

    for rng in ("bytes=%d-" % n, "bytes=%d-%d" % (n + 5, n + 10), "bytes=-0"):
        r = get(rng)
        expect(r, 416, "range_not_satisfiable")
        assert r.headers["Content-Range"] == "bytes */%d" % n

    # several ranges: the whole file (200), as RFC 9110 §14.2 allows
    r = get("bytes=0-1,4-5")
    assert r.status_code == 200 and r.content == data
    # junk and reversed ranges are ignored
    for rng in ("bytes=9-2", "items=0-1", "bytes=a-b"):
        r = get(rng)
        assert r.status_code == 200 and r.content == data, rng
    # If-Range with another version: the whole file
    r = get("bytes=0-9", **{"If-Range": '"other"'})
    assert r.status_code == 200 and r.content == data
    r = get("bytes=0-9", **{"If-Range": '"%s"' % mid})
    assert r.status_code == 206 and r.content == data[:10]


def test_thumbnails(world):
    data = fresh_png(300, 200)
    mid = expect(upload(world.a["owner"], data), 201)["id"]
    c = world.a["viewer"]
    for n in (64, 256):
        r = c.get("%s/%s?thumb=%d" % (MEDIA, mid, n))
        assert r.status_code == 200, r.text[:300]
        assert r.headers["Content-Type"] == "image/jpeg"
        w, h = jpeg_size(r.content)
        assert max(w, h) <= n and (w, h) == (n, round(n * 200 / 300)), (w, h)
        assert r.headers["ETag"] == '"%s-%d"' % (mid, n)
        assert r.headers["Cache-Control"] == "private, max-age=31536000, immutable"
        # cached on disk: the second answer is the same file
        again = c.get("%s/%s?thumb=%d" % (MEDIA, mid, n))
        assert again.status_code == 200 and again.content == r.content
    thumbs = list((world.server.data / "media" / "thumbs").rglob(mid + "-*"))
    assert len(thumbs) == 2, thumbs

    # never enlarged
    r = c.get("%s/%s?thumb=1024" % (MEDIA, mid))
    assert r.status_code == 200 and jpeg_size(r.content) == (300, 200)

    # ranges work on thumbnails too
    r = c.get("%s/%s?thumb=64" % (MEDIA, mid), headers={"Range": "bytes=0-1"})
    assert r.status_code == 206 and r.content == b"\xff\xd8"

    for bad in ("16", "31", "1025", "abc", "", "64.5", "-64"):
        expect(c.get("%s/%s?thumb=%s" % (MEDIA, mid, bad)), 400, "invalid_request", path="thumb")


def test_thumbnail_with_alpha_is_webp(world):
    data = fresh_png(90, 180, alpha=True)
    mid = expect(upload(world.a["owner"], data), 201)["id"]
    r = world.a["owner"].get("%s/%s?thumb=32" % (MEDIA, mid))
    assert r.status_code == 200, r.text[:300]
    assert r.headers["Content-Type"] == "image/webp"
    w, h = webp_size(r.content)
    assert (w, h) == (16, 32)


def test_jpeg_thumbnail(world):
    mid = expect(upload(world.a["owner"], JPEG_40x30), (200, 201))["id"]
    r = world.a["owner"].get("%s/%s?thumb=32" % (MEDIA, mid))
    assert r.status_code == 200 and jpeg_size(r.content) == (32, 24)


# --------------------------------------------------------------------------
# other kinds
# --------------------------------------------------------------------------

def test_audio_and_video_by_magic(world):
    mp3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + os.urandom(200)
    body = expect(upload(world.a["owner"], mp3, "image/png"), 201)
    assert body["mime"] == "audio/mpeg" and body["width"] is None and body["height"] is None
    mp4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + os.urandom(100)
    assert expect(upload(world.a["owner"], mp4), 201)["mime"] == "video/mp4"
    webm = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm" + os.urandom(64)
    assert expect(upload(world.a["owner"], webm), 201)["mime"] == "video/webm"
    r = world.a["owner"].get("%s/%s" % (MEDIA, body["id"]))
    assert r.headers["Content-Type"] == "audio/mpeg" and r.content == mp3
    expect(world.a["owner"].get("%s/%s?thumb=64" % (MEDIA, body["id"])), 415,
           "unsupported_media_type")


# --------------------------------------------------------------------------
# refusals leave nothing behind
# --------------------------------------------------------------------------

def assert_not_stored(world, data):
    assert media_files(world.server.data, sha(data)) == []
    wait_tmp_empty(world.server.data / "media")


def test_empty_body(world):
    expect(upload(world.a["owner"], b""), 400, "invalid_request")
    wait_tmp_empty(world.server.data / "media")


def test_unknown_type(world):
    for data in (b"hello, world: plain text is not media\n" + os.urandom(8),
                 b"<svg xmlns='http://www.w3.org/2000/svg'></svg>",
                 b"%PDF-1.7\n" + os.urandom(50),
                 b"BM" + os.urandom(60)):
        r = upload(world.a["owner"], data, "image/png")
        expect(r, 415, "unsupported_media_type")
        assert "JPEG" in r.json()["error"]["message"]
        assert_not_stored(world, data)


def test_broken_images(world):
    whole = png(200, 200, noise=True)
    for data in (whole[: len(whole) // 2],              # truncated pixel data
                 whole[:40],                            # header only
                 b"\x89PNG\r\n\x1a\n" + os.urandom(300),  # the magic, then junk
                 JPEG_40x30[:300]):                     # a truncated JPEG
        expect(upload(world.a["owner"], data), 400, "invalid_image")
        assert_not_stored(world, data)


def test_huge_images(world):
    for w, h in ((60000, 10), (10, 50001), (20000, 20000)):
        data = png(4, 4, seed=next(_seed), ihdr_only_size=(w, h))
        r = upload(world.a["owner"], data)
        expect(r, 400, "image_too_large")
        assert str(w) in r.json()["error"]["message"]
        assert_not_stored(world, data)


# --------------------------------------------------------------------------
# tasks may refer to media
# --------------------------------------------------------------------------

def test_image_task_with_media_id(world):
    data = fresh_png(64, 48)
    mid = expect(upload(world.a["owner"], data), 201)["id"]
    project = make_project(world.a["owner"], kind="image", config=IMAGE_CONFIG)
    res = expect(import_tasks(world.a["owner"], project["id"],
                              [{"key": "m1", "data": {"image": mid, "width": 64, "height": 48}},
                               {"key": "m2", "data": {"image": mid}}]), 200)
    assert res["created"] == 2, res
    res = expect(import_tasks(world.a["owner"], project["id"],
                              [{"key": "bad", "data": {"image": mid.upper()}}]), 200)
    assert res["created"] == 0 and len(res["errors"]) == 1, res
    assert "media id" in res["errors"][0]["message"]
    tasks = world.a["owner"].list_all("/api/v1/projects/%d/tasks" % project["id"])
    assert sorted(t["data"]["image"] for t in tasks) == [mid, mid]


# --------------------------------------------------------------------------
# a server with a 1 KiB upload cap and its own media dir
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def capped(tmp_path_factory):
    media_dir = tmp_path_factory.mktemp("shared-media") / "m"
    srv = start_server(tmp_path_factory, "media_cap", ["--max-upload", "1k", "--media", str(media_dir)])
    srv.media_dir = media_dir
    yield srv
    stop_and_check(srv)


def test_upload_cap(capped):
    owner = capped.api(capped.token(capped.owner_login, capped.owner_password))
    small = png(8, 8, seed=3)
    assert len(small) < 1024
    body = expect(upload(owner, small), 201)
    # --media DIR: the files go there, not into the data dir
    assert (capped.media_dir / body["id"][:2] / body["id"][2:4] / body["id"]).is_file()
    assert not (capped.data / "media").exists()

    big = png(64, 64, noise=True)
    assert len(big) > 1024
    expect(upload(owner, big), 413, "too_large")
    # chunked, without Content-Length: refused while streaming
    r = owner.request("POST", MEDIA, data=iter([big[:600], big[600:]]),
                      headers={"Content-Type": "image/png"})
    assert r.status_code == 413, r.text[:200]
    assert not list(capped.media_dir.glob("*/*/" + sha(big)))
    wait_tmp_empty(capped.media_dir)
