#!/usr/bin/env python3
"""A stand-in for an OpenAI-compatible images endpoint (stdlib only).

POST {prefix}/v1/images/generations answers {"created","model","data":[{"b64_json"}]}
with a small valid PNG (64x36, a colour derived from the prompt).

Modes, by path prefix:
  /v1/...        a good answer
  /bad/v1/...    200 whose b64_json is not base64
  /notimage/v1/. 200 whose b64_json decodes to text, not an image
  /fail/v1/...   500 with an OpenAI-style error
  /url/v1/...    200 with data[0].url only (annotd must not fetch it)
GET /stats answers {"requests": {mode: count}, "last": <last request body>}.

The first line on stdout is the port; then it serves until killed.
"""

import base64
import json
import struct
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("bad", "notimage", "fail", "url")
lock = threading.Lock()
stats = {"requests": {}, "last": None}


def png(width, height, rgb):
    """A valid truecolour PNG of one colour."""
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, obj):
        body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/stats":
            with lock:
                return self.reply(200, stats)
        self.reply(404, {"error": {"message": "not found"}})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = self.path.split("?")[0].strip("/").split("/")
        mode = parts[0] if parts and parts[0] in MODES else "good"
        rest = "/" + "/".join(parts[1:] if mode != "good" else parts)
        if rest != "/v1/images/generations":
            return self.reply(404, {"error": {"message": "no route " + self.path}})
        with lock:
            stats["requests"][mode] = stats["requests"].get(mode, 0) + 1
            stats["last"] = raw.decode("utf-8", "replace")
        try:
            req = json.loads(raw)
        except ValueError:
            return self.reply(400, {"error": {"message": "request body is not JSON"}})
        if not isinstance(req.get("prompt"), str) or req.get("response_format") != "b64_json":
            return self.reply(400, {"error": {"message": "prompt and response_format b64_json required"}})
        model = req.get("model") or "standin-image"
        if mode == "fail":
            return self.reply(500, {"error": {"message": "stand-in failure", "type": "server_error"}})
        if mode == "url":
            return self.reply(200, {"created": 0, "data": [{"url": "http://169.254.169.254/x.png"}]})
        if mode == "bad":
            return self.reply(200, {"created": 0, "model": model, "data": [{"b64_json": "%%% not base64 %%%"}]})
        if mode == "notimage":
            text = base64.b64encode(b"hello, this is not an image").decode()
            return self.reply(200, {"created": 0, "model": model, "data": [{"b64_json": text}]})
        h = zlib.crc32(req["prompt"].encode("utf-8"))
        image = png(64, 36, (h & 0xFF, (h >> 8) & 0xFF, (h >> 16) & 0xFF))
        self.reply(200, {"created": 0, "model": model,
                         "data": [{"b64_json": base64.b64encode(image).decode(), "revised_prompt": req["prompt"]}]})


def main():
    port = int(sys.argv[2]) if len(sys.argv) == 3 and sys.argv[1] == "--port" else 0
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
