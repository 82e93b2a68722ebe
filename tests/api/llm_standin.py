#!/usr/bin/env python3
"""A stand-in for an OpenAI-compatible chat-completions endpoint (stdlib only).

It answers POST {prefix}/v1/chat/completions with a deterministic, valid
storyboard computed from the scene text of the request (the user message is
the JSON object {"cast","scene_length","scene_text"} that src/story/llm.c
sends; a plain-text user message is taken as the scene text itself):
one shot per sentence (after 。！？!?…； and newlines, closing quotes kept),
source offsets in code points of the scene text, quoted words as dialogue,
cast ids of the names and aliases found in the sentence.

Modes, by path prefix (or for bare /v1 by the env STANDIN_MODE):
  /v1/...        good answers
  /slow/v1/...   sleeps STANDIN_SLOW_SECONDS (default 5) first, then answers
  /bad/v1/...    200 with message content that is not JSON
  /enum/v1/...   200 with a shot whose size is not in the enum
  /fail/v1/...   500 with an OpenAI-style error
  /flaky/v1/...  500 on every other request (1st, 3rd ...), good otherwise
  /fenced/v1/... the good answer inside a ```json fenced block
GET /stats answers {"requests": {mode: count}, "last": <last request body>};
POST /reset clears them.

The first line on stdout is the port; then it serves until killed.
Usage: llm_standin.py [--port N]  (default: STANDIN_PORT or 0 = ephemeral)
"""

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("slow", "bad", "enum", "fail", "flaky", "fenced")
SENTENCE_END = set("。！？!?…；;\n")
CLOSING = set("”’」』）)\"")
QUOTES = (("“", "”"), ("「", "」"), ("『", "』"), ("‘", "’"), ('"', '"'))

lock = threading.Lock()
stats = {"requests": {}, "last": None}


def sentences(text):
    """[(start, end)] in code points, covering the non-blank text."""
    out, start, i, n = [], 0, 0, len(text)
    while i < n:
        c = text[i]
        i += 1
        if c in SENTENCE_END:
            while i < n and (text[i] in CLOSING or text[i] in SENTENCE_END):
                i += 1
            out.append((start, i))
            start = i
    if start < n:
        out.append((start, n))
    # drop blank pieces, trim white space from their ends
    trimmed = []
    for s, e in out:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            trimmed.append((s, e))
    return trimmed


def quoted(piece):
    for op, cl in QUOTES:
        a = piece.find(op)
        if a >= 0:
            b = piece.find(cl, a + 1)
            if b > a + 1:
                return piece[a + 1:b]
    return None


def storyboard(text, cast, speech_rate=4.0):
    shots = []
    for k, (s, e) in enumerate(sentences(text)):
        piece = text[s:e]
        present = []
        for m in cast:
            names = [m.get("name") or ""] + list(m.get("aliases") or [])
            if any(nm and nm in piece for nm in names):
                present.append(m["id"])
        dialogue = []
        words = quoted(piece)
        if words:
            dialogue.append({"speaker": present[0] if present else None,
                             "kind": "dialogue", "text": words})
        duration = round(len(words) / speech_rate + 1.0, 1) if words else 3.0
        shots.append({
            "id": "standin-%d" % k,  # ignored by annotd
            "size": ("medium", "close", "full")[k % 3],
            "angle": "eye",
            "move": "static",
            "picture": piece[:200],
            "characters": present,
            "dialogue": dialogue,
            "sound": "",
            "transition": "cut",
            "duration": duration,
            "notes": "",
            "source": {"start": s, "end": e},
        })
    return {"shots": shots}


def completion(content, model="standin-1"):
    return {
        "id": "chatcmpl-standin",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


def scene_of(request):
    """(scene_text, cast) from the request's last user message."""
    msgs = request.get("messages") or []
    user = next((m for m in reversed(msgs) if m.get("role") == "user"), {})
    content = user.get("content") or ""
    try:
        u = json.loads(content)
        if isinstance(u, dict) and isinstance(u.get("scene_text"), str):
            return u["scene_text"], [c for c in u.get("cast") or [] if isinstance(c, dict)]
    except ValueError:
        pass
    return content, []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def reply(self, status, obj):
        body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def mode(self):
        parts = self.path.split("?")[0].strip("/").split("/")
        if parts and parts[0] in MODES:
            return parts[0], "/" + "/".join(parts[1:])
        return os.environ.get("STANDIN_MODE", "good") or "good", "/" + "/".join(parts)

    def do_GET(self):
        if self.path == "/stats":
            with lock:
                return self.reply(200, stats)
        if self.path.rstrip("/").endswith("/v1/models"):
            return self.reply(200, {"object": "list", "data": [{"id": "standin-1"}]})
        self.reply(404, {"error": {"message": "not found"}})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.path == "/reset":
            with lock:
                stats["requests"].clear()
                stats["last"] = None
            return self.reply(200, {"ok": True})
        mode, rest = self.mode()
        if rest != "/v1/chat/completions":
            return self.reply(404, {"error": {"message": "no route " + self.path}})
        with lock:
            count = stats["requests"].get(mode, 0) + 1
            stats["requests"][mode] = count
            stats["last"] = raw.decode("utf-8", "replace")
        try:
            request = json.loads(raw)
        except ValueError:
            return self.reply(400, {"error": {"message": "request body is not JSON"}})
        model = request.get("model") or "standin-1"
        if mode == "fail" or (mode == "flaky" and count % 2 == 1):
            return self.reply(500, {"error": {"message": "stand-in failure", "type": "server_error"}})
        if mode == "slow":
            time.sleep(float(os.environ.get("STANDIN_SLOW_SECONDS", "5")))
        if mode == "bad":
            return self.reply(200, completion("Sure! Here is the storyboard: {shots: [", model))
        text, cast = scene_of(request)
        board = storyboard(text, cast)
        if mode == "enum" and board["shots"]:
            board["shots"][0]["size"] = "wide"
        content = json.dumps(board, ensure_ascii=False)
        if mode == "fenced":
            content = "```json\n" + content + "\n```"
        self.reply(200, completion(content, "standin-1"))


def main():
    port = int(os.environ.get("STANDIN_PORT", "0"))
    if len(sys.argv) == 3 and sys.argv[1] == "--port":
        port = int(sys.argv[2])
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
