#!/usr/bin/env bash
# bench/media.sh: do slow image jobs hold up the other requests?
#
#   bench/media.sh [BUILD_DIR]        (default: build)
#
# On 127.0.0.1: a fresh data dir and server, one W x H PNG uploaded (made
# with python3's zlib), then
#   1. GET /api/v1/me timed REQUESTS times on one keep-alive connection
#      (bench/loadgen --get), the server otherwise idle;
#   2. the same while CONC clients each ask, one after the other, for
#      thumbnails of that image not made yet (?thumb=1024-i, 1024-i-CONC,
#      ...: every request is a libvips job), until the timing ends.
# Prints loadgen's table for both and the thumbnails' statuses (200 made,
# 503 refused by a full image pool).
#
# Knobs (environment): CONC=8 REQUESTS=2000 W=6000 H=4000 THREADS= (HTTP
# threads; empty: the server's default) SERVE_ARGS= (more flags) KEEP=0
set -euo pipefail

BUILD=${1:-${BUILD:-build}}
ANNOTD=$BUILD/annotd
LOADGEN=$BUILD/bench/loadgen
CONC=${CONC:-8}
REQUESTS=${REQUESTS:-2000}
W=${W:-6000}
H=${H:-4000}
for b in "$ANNOTD" "$LOADGEN"; do
    [ -x "$b" ] || { echo "media.sh: '$b' is missing; build first (ninja -C $BUILD)" >&2; exit 1; }
done
command -v curl >/dev/null || { echo "media.sh: curl is needed" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/annotd-media-bench.XXXXXX")
DATA=$WORK/data
SERVER_PID=
cleanup() {
    touch "$WORK/stop"
    wait_clients || true
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 150); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    if [ "${KEEP:-0}" = 1 ]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
CLIENTS=()
wait_clients() { for p in "${CLIENTS[@]}"; do wait "$p" 2>/dev/null || true; done; CLIENTS=(); }
trap cleanup EXIT
json_field() { grep -o "\"$1\":[^,}]*" | head -1 | cut -d: -f2- | tr -d '"'; }

printf 'bench-owner-password\n' >"$WORK/owner.pw"
"$ANNOTD" init --data "$DATA" --owner owner --password-file "$WORK/owner.pw" --password-cost min >/dev/null
# shellcheck disable=SC2086
"$ANNOTD" serve --data "$DATA" --password-cost min --listen 127.0.0.1:0 --log-level warn \
    ${THREADS:+--threads "$THREADS"} ${SERVE_ARGS:-} >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
URL=
for _ in $(seq 100); do
    if grep -q "\"pid\":$SERVER_PID}" "$DATA/server.json" 2>/dev/null; then
        URL=$(grep -o '"url":"[^"]*"' "$DATA/server.json" | cut -d'"' -f4)
        break
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
[ -n "$URL" ] || { echo "media.sh: the server did not start" >&2; cat "$WORK/server.log" >&2; exit 1; }
TOKEN=$(curl -sS -X POST "$URL/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d '{"login":"owner","password":"bench-owner-password"}' | json_field token)
[ -n "$TOKEN" ] || { echo "media.sh: login failed" >&2; exit 1; }
echo "$TOKEN" >"$WORK/tokens"

python3 - "$W" "$H" "$WORK/big.png" <<'EOF'
import struct, sys, zlib
w, h, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
base = bytes((i * 7) & 255 for i in range(w * 3 + 3 * 256))
raw = b"".join(b"\x00" + base[(y % 256) * 3:(y % 256) * 3 + w * 3] for y in range(h))
with open(out, "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b""))
EOF
T0=$(date +%s.%N)
ID=$(curl -sS --max-time 120 -X POST "$URL/api/v1/media" -H "Authorization: Bearer $TOKEN" \
    --data-binary @"$WORK/big.png" | json_field id)
T1=$(date +%s.%N)
[ -n "$ID" ] || { echo "media.sh: upload failed" >&2; exit 1; }
awk -v a="$T0" -v b="$T1" -v u="$URL" -v p="$SERVER_PID" -v w="$W" -v h="$H" -v id="$ID" \
    'BEGIN { printf "server %s (pid %s), image %sx%s uploaded in %.2f s: %s\n", u, p, w, h, b - a, id }'


echo
echo "== GET /api/v1/me x $REQUESTS, idle server"
"$LOADGEN" --url "$URL" --tokens "$WORK/tokens" --get /api/v1/me --requests "$REQUESTS" --label me-idle |
    grep -v '^RESULT'

echo
echo "== GET /api/v1/me x $REQUESTS while $CONC clients ask for new thumbnails"
thumb_client() { # thumb_client I: sizes 1024-I, 1024-I-CONC, ... until the stop file
    local n=$((1024 - $1))
    while [ ! -e "$WORK/stop" ] && [ "$n" -ge 32 ]; do
        curl -sS -o /dev/null -w '%{http_code}\n' --max-time 120 \
            -H "Authorization: Bearer $TOKEN" "$URL/api/v1/media/$ID?thumb=$n" >>"$WORK/thumbs.$1" || true
        n=$((n - CONC))
    done
}
for i in $(seq 0 $((CONC - 1))); do
    thumb_client "$i" &
    CLIENTS+=($!)
done
sleep 1 # every client has a job in flight
"$LOADGEN" --url "$URL" --tokens "$WORK/tokens" --get /api/v1/me --requests "$REQUESTS" --label me-thumbs |
    grep -v '^RESULT'
touch "$WORK/stop"
wait_clients
cat "$WORK"/thumbs.* 2>/dev/null | sort | uniq -c | awk '{printf "thumbnails answered %s: %s\n", $2, $1}'
