"""
Media: the libvips work (an upload's decode check, a thumbnail's first
request) runs on the media pool's threads, never on an HTTP thread.

- While slow thumbnails of a large image occupy every media worker, other
  requests (GET /healthz, GET /api/v1/me, a cached thumbnail, a plain file)
  still answer: checked by what is still in flight when they answer, not by
  wall-clock thresholds.
- A full pool answers 503 unavailable with Retry-After at once, for
  thumbnails and image uploads (the upload's temp file is removed); what
  needs no libvips is served meanwhile.
- SIGTERM with image jobs in flight: the server stops cleanly, every job
  is answered (200, or 503 when it could not run), nothing is left in tmp/.

The large image is a PNG written here with zlib (6000 x 4000, like
bench/media.sh). A worker is known to be busy with a thumbnail while its
temp file DIR/tmp/thumb-* exists (media_thumb_open() makes it just before
calling libvips).
"""

import http.client
import signal
import struct
import threading
import time
import zlib

import pytest

from conftest import STOP_TIMEOUT, expect, start_server, stop_and_check

MEDIA = "/api/v1/media"
BIG_W, BIG_H = 6000, 4000
WAIT = 60.0  # seconds: a generous bound for what must happen, never asserted as a speed


# --------------------------------------------------------------------------
# images
# --------------------------------------------------------------------------

def _chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png(w, h, seed=0):
    """A w x h RGB PNG, quick to write at any size (rows are shifted copies)."""
    base = bytes((i * 7 + seed) & 255 for i in range(w * 3 + 3 * 256))
    raw = b"".join(b"\x00" + base[(y % 256) * 3:(y % 256) * 3 + w * 3] for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw, 1))
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


_big = {}


def big_png(seed):
    if seed not in _big:
        _big[seed] = png(BIG_W, BIG_H, seed)
    return _big[seed]


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def owner_of(srv):
    return srv.api(srv.token(srv.owner_login, srv.owner_password))


def tmp_names(srv, prefix):
    return [p.name for p in (srv.data / "media" / "tmp").iterdir() if p.name.startswith(prefix)]


def wait_for(cond, what):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.005)
    raise AssertionError("timed out waiting until " + what)


class InFlight:
    """Requests run on threads; `finished` counts those answered."""

    def __init__(self):
        self.lock = threading.Lock()
        self.finished = 0
        self.results = {}
        self.threads = []

    def start(self, key, fn):
        def run():
            try:
                r = fn()
                out = (r.status_code, r.headers, r.content)
            except Exception as e:  # noqa: BLE001 -- reported by the test
                out = ("error", None, repr(e))
            with self.lock:
                self.results[key] = out
                self.finished += 1

        t = threading.Thread(target=run, daemon=True)
        self.threads.append(t)
        t.start()

    def done(self):
        with self.lock:
            return self.finished

    def join(self):
        for t in self.threads:
            t.join(WAIT)
            assert not t.is_alive(), "a media request did not finish"
        return self.results


def send_get(srv, token, path):
    """
    Send a GET on a connection of its own now; returns a function that
    reads the answer (for InFlight.start). When this returns the request's
    bytes are on their way (in the kernel's buffers, at least).
    """
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=WAIT)
    conn.request("GET", path, headers={"Authorization": "Bearer " + token})

    def read():
        try:
            r = conn.getresponse()
            return RawReply(r.status, r.headers, r.read())
        finally:
            conn.close()
    return read


class RawReply:
    def __init__(self, status, headers, content):
        self.status_code = status
        self.headers = headers
        self.content = content


def get_thumb(srv, token, mid, n):
    return lambda: srv.api(token).get("%s/%s?thumb=%d" % (MEDIA, mid, n), timeout=WAIT)


def assert_thumb(result, n):
    status, headers, body = result
    assert status == 200, (n, status, body[:300] if isinstance(body, bytes) else body)
    assert headers["Content-Type"] == "image/jpeg"
    assert jpeg_size(body) == (n, round(n * BIG_H / BIG_W))


# --------------------------------------------------------------------------
# the default pool (2 workers), 2 HTTP threads
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pooled(tmp_path_factory):
    srv = start_server(tmp_path_factory, "media_pool", ["--threads", "2"])
    yield srv
    stop_and_check(srv)


def test_other_requests_answer_while_thumbnails_run(pooled):
    owner = owner_of(pooled)
    token = owner.token
    mid = expect(owner.post_raw(MEDIA, big_png(1), "image/png"), (200, 201))["id"]
    small = png(300, 200, seed=2)
    small_id = expect(owner.post_raw(MEDIA, small, "image/png"), (200, 201))["id"]
    expect(owner.get("%s/%s?thumb=64" % (MEDIA, small_id)), 200)  # made now, cached

    # six thumbnails not made yet: three rounds on the two workers
    sizes = [1000, 990, 980, 970, 960, 950]
    flight = InFlight()
    for n in sizes:
        flight.start(n, get_thumb(pooled, token, mid, n))
    # both workers are inside libvips
    wait_for(lambda: len(tmp_names(pooled, "thumb-")) >= 2, "two thumbnails are being made")

    me = pooled.api(token)
    for _ in range(3):
        r = me.get("/healthz")
        assert r.status_code == 200
        assert flight.done() == 0, "/healthz waited for a thumbnail"
        body = expect(me.get("/api/v1/me"), 200)
        assert body["login"] == pooled.owner_login
        assert flight.done() == 0, "/api/v1/me waited for a thumbnail"
        # a cached thumbnail and an original need no worker
        r = me.get("%s/%s?thumb=64" % (MEDIA, small_id))
        assert r.status_code == 200 and r.headers["Content-Type"] == "image/jpeg"
        r = me.get("%s/%s" % (MEDIA, small_id))
        assert r.status_code == 200 and r.content == small
        assert flight.done() == 0, "a request that needs no libvips waited for a thumbnail"

    results = flight.join()
    for n in sizes:
        assert_thumb(results[n], n)
    assert tmp_names(pooled, "thumb-") == []


def test_concurrent_image_uploads(pooled):
    """Uploads decoded on the workers answer as in the handler: sizes, 201/200, refusals."""
    owner = owner_of(pooled)
    token = owner.token
    images = {seed: png(1500 + seed, 1000, seed) for seed in range(10, 14)}
    broken = png(800, 600, seed=20)
    broken = broken[:len(broken) // 2]
    flight = InFlight()
    for seed, data in images.items():
        flight.start(seed, lambda d=data: pooled.api(token).post_raw(MEDIA, d, "image/png"))
    flight.start("broken", lambda: pooled.api(token).post_raw(MEDIA, broken, "image/png"))
    flight.start("me", lambda: pooled.api(token).get("/api/v1/me"))
    results = flight.join()
    for seed in images:
        status, _, body = results[seed]
        assert status == 201, (seed, status, body[:300])
    assert results["broken"][0] == 400 and b"invalid_image" in results["broken"][2]
    assert results["me"][0] == 200
    # the same bytes again: 200, same answer
    again = expect(owner.post_raw(MEDIA, images[10], "image/png"), 200)
    assert (again["width"], again["height"]) == (1510, 1000)
    wait_for(lambda: tmp_names(pooled, "upload-") == [], "no upload temp file is left")


# --------------------------------------------------------------------------
# one worker, nothing waits: the second image job is refused at once
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tight(tmp_path_factory):
    srv = start_server(tmp_path_factory, "media_tight",
                       ["--threads", "2", "--media-workers", "1", "--media-queue", "0"])
    yield srv
    stop_and_check(srv)


def test_full_pool_answers_503_at_once(tight):
    owner = owner_of(tight)
    token = owner.token
    mid = expect(owner.post_raw(MEDIA, big_png(3), "image/png"), (200, 201))["id"]
    small = png(300, 200, seed=4)
    small_id = expect(owner.post_raw(MEDIA, small, "image/png"), (200, 201))["id"]
    expect(owner.get("%s/%s?thumb=64" % (MEDIA, small_id)), 200)

    flight = InFlight()
    flight.start(900, get_thumb(tight, token, mid, 900))
    wait_for(lambda: tmp_names(tight, "thumb-"), "the worker is making the thumbnail")

    # another thumbnail to make: refused now, not queued
    r = owner.get("%s/%s?thumb=800" % (MEDIA, mid))
    expect(r, 503, "unavailable")
    assert r.headers["Retry-After"] == "1"
    # an image upload needs the decoder too: refused, its temp file removed
    other = png(320, 240, seed=5)
    r = owner.post_raw(MEDIA, other, "image/png")
    expect(r, 503, "unavailable")
    assert r.headers["Retry-After"] == "1"
    assert flight.done() == 0, "the first thumbnail ended before the refusals"

    # what needs no libvips is served meanwhile
    expect(owner.get("%s/%s?thumb=64" % (MEDIA, small_id)), 200)
    r = owner.get("%s/%s" % (MEDIA, small_id))
    assert r.status_code == 200 and r.content == small
    mp3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(200))
    assert expect(owner.post_raw(MEDIA, mp3, "audio/mpeg"), (200, 201))["mime"] == "audio/mpeg"

    assert_thumb(flight.join()[900], 900)
    wait_for(lambda: tmp_names(tight, "upload-") == [], "the refused upload's temp file is gone")
    # the refused upload left no file; sent again, it is stored
    body = expect(owner.post_raw(MEDIA, other, "image/png"), 201)
    assert (body["width"], body["height"]) == (320, 240)
    # and the refused thumbnail is made when asked again
    r = owner.get("%s/%s?thumb=800" % (MEDIA, mid))
    assert_thumb((r.status_code, r.headers, r.content), 800)


# --------------------------------------------------------------------------
# stopping with image jobs in flight
# --------------------------------------------------------------------------

def test_stop_with_jobs_in_flight(tmp_path_factory):
    srv = start_server(tmp_path_factory, "media_stop",
                       ["--media-workers", "1", "--media-queue", "8"])
    try:
        owner = owner_of(srv)
        token = owner.token
        mid = expect(owner.post_raw(MEDIA, big_png(1), "image/png"), (200, 201))["id"]
        sizes = [700, 690, 680, 670]
        flight = InFlight()
        for n in sizes:
            flight.start(n, send_get(srv, token, "%s/%s?thumb=%d" % (MEDIA, mid, n)))
        # a later connection answered: the kernel handed the earlier ones
        # (accepted first, in order) to the server before it
        expect(srv.api().get("/healthz"), 200)
        wait_for(lambda: tmp_names(srv, "thumb-"), "a thumbnail is being made")
        srv.proc.send_signal(signal.SIGTERM)
        results = flight.join()
        # one SIGTERM only: a second one during the stop is not what this tests
        srv.proc.wait(STOP_TIMEOUT)
    finally:
        rc = srv.stop()
    assert rc == 0, "annotd serve exited with %r after SIGTERM\n%s" % (rc, srv.stderr_tail())
    # every job answered: made (within the stop's grace) or refused
    for n in sizes:
        status = results[n][0]
        assert status in (200, 503), (n, results[n])
        if status == 200:
            assert_thumb(results[n], n)
    assert any(results[n][0] == 200 for n in sizes)  # at least the running one finished
    assert tmp_names(srv, "thumb-") == [] and tmp_names(srv, "upload-") == []
