#!/usr/bin/env bash
# bench/run.sh: the annotd benchmark, end to end, on loopback.
#
#   bench/run.sh [BUILD_DIR]          (make bench: BUILD_DIR=build)
#
# Steps (all against 127.0.0.1, each bounded in time):
#   1. fresh data dir, `annotd init --password-cost min`, server started
#   2. text project, overlap 1, TASKS tasks imported as JSON Lines;
#      VAS annotators created through POST /api/v1/users and logged in
#   3. sqlite_raw (one action per transaction), loadgen closed loop
#      (VAS annotators, DURATION s), sqlite_raw again, sqlite_raw batched:
#      the ratio HTTP durable claims+submits/s : raw one-per-transaction
#   4. IDLE idle keep-alive connections + open-loop claims at RATE/s:
#      server VmRSS and claim p99, against the same rate without them
#   5. BIG tasks imported in one JSON Lines stream (timed) and a 1,000-task
#      project: next-task latency on each; list page and count at BIG
#
# Knobs (environment): VAS=64 DURATION=10 TASKS=200000 BIG=1000000
# IDLE=10000 RATE=1000 RATE_DURATION=15 PORT=0 (any free one) KEEP=0 (keep the work dir)
# QUICK=1 shrinks everything for a smoke test.
set -euo pipefail

BUILD=${1:-${BUILD:-build}}
ANNOTD=$BUILD/annotd
LOADGEN=$BUILD/bench/loadgen
RAW=$BUILD/bench/sqlite_raw
MIGRATION=$(cd "$(dirname "$0")/.." && pwd)/src/store/migrations/0001_foundation.sql

if [ "${QUICK:-0}" = 1 ]; then
    : "${VAS:=16}" "${DURATION:=3}" "${TASKS:=20000}" "${BIG:=50000}" "${IDLE:=1000}"
    : "${RATE:=500}" "${RATE_DURATION:=4}"
fi
VAS=${VAS:-64}
DURATION=${DURATION:-10}
TASKS=${TASKS:-200000}
BIG=${BIG:-1000000}
IDLE=${IDLE:-10000}
RATE=${RATE:-1000}
RATE_DURATION=${RATE_DURATION:-15}
PORT=${PORT:-0} # 0: the server picks a free port and names it in DATA/server.json

for b in "$ANNOTD" "$LOADGEN" "$RAW"; do
    [ -x "$b" ] || { echo "run.sh: '$b' is missing; build first (ninja -C $BUILD)" >&2; exit 1; }
done
command -v curl >/dev/null || { echo "run.sh: curl is needed" >&2; exit 1; }
command -v python3 >/dev/null || { echo "run.sh: python3 is needed for the table" >&2; exit 1; }

# 10,000 idle connections need ~10,100 descriptors on each side; the hard
# limit on these VMs is 20,000 (MEASUREMENTS.md).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((IDLE + 500)) ]; then
    echo "run.sh: ulimit -n is $(ulimit -n), too low for IDLE=$IDLE" >&2
    exit 1
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/annotd-bench.XXXXXX")
DATA=$WORK/data
RESULTS=$WORK/results.jsonl
SERVER_PID=
: >"$RESULTS"

cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    if [ "${KEEP:-0}" = 1 ]; then
        echo "work dir kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

log() { printf '\n== %s\n' "$*"; }
json_field() { grep -o "\"$1\":[^,}]*" | head -1 | cut -d: -f2- | tr -d '"'; }

# Keep the RESULT lines of a bench program, show everything.
record() {
    local tag=$1
    shift
    "$@" | tee "$WORK/$tag.out"
    grep '^RESULT ' "$WORK/$tag.out" | sed "s/^RESULT {/{\"tag\":\"$tag\",/" >>"$RESULTS" || true
}

note() { # note KEY VALUE: a scalar for the table
    printf '{"tag":"note","key":"%s","value":"%s"}\n' "$1" "$2" >>"$RESULTS"
}

owner_post() { # owner_post PATH JSON
    curl -sS --max-time 30 -X POST "$API$1" -H "Authorization: Bearer $OWNER_TOKEN" \
        -H 'Content-Type: application/json' -d "$2"
}

create_project() { # create_project NAME -> id
    owner_post /projects "{\"name\":\"$1\",\"kind\":\"text\",\"config\":{\"classes\":{\"choices\":[\"pos\",\"neg\"]}},\"overlap\":1}" |
        json_field id
}

gen_tasks() { # gen_tasks N PREFIX FILE: JSON Lines, ~110 bytes a record
    awk -v n="$1" -v p="$2" 'BEGIN {
        for (i = 1; i <= n; i++)
            printf "{\"data\":{\"text\":\"task %d: the quick brown fox jumps over the lazy dog, twice.\"},\"key\":\"%s%d\"}\n", i, p, i
    }' >"$3"
}

import_tasks() { # import_tasks PROJECT FILE -> seconds on stdout, reply in $WORK/import.json
    local t0 t1
    t0=$(date +%s.%N)
    curl -sS --max-time 600 -X POST "$API/projects/$1/tasks" -H "Authorization: Bearer $OWNER_TOKEN" \
        -H 'Content-Type: application/x-ndjson' -H 'Expect:' -T "$2" -o "$WORK/import.json"
    t1=$(date +%s.%N)
    grep -q "\"errors\":\[\]" "$WORK/import.json" || { echo "import failed: $(head -c 400 "$WORK/import.json")" >&2; exit 1; }
    python3 -c "print(f'{$t1 - $t0:.2f}')"
}

server_rss() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }

# ---------------------------------------------------------------------------
log "machine"
date -u +%Y-%m-%dT%H:%M:%SZ | tee "$WORK/date"
echo "nproc $(nproc), $(uname -sr), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
note date "$(cat "$WORK/date")"
note loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)"
# fsync on this disk, appending 4 KiB (what a WAL commit does), as context
FSYNC=$(python3 - "$WORK/fsync.probe" <<'EOF'
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
t = []
for i in range(300):
    os.write(fd, b"x" * 4096)
    a = time.perf_counter(); os.fsync(fd); t.append(time.perf_counter() - a)
os.close(fd); os.unlink(sys.argv[1])
t.sort()
print(f"p50 {t[150]*1e3:.3f} ms, p99 {t[296]*1e3:.2f} ms")
EOF
)
echo "fsync (append 4 KiB): $FSYNC"
note fsync "$FSYNC"

# ---------------------------------------------------------------------------
log "setup: data dir, server on 127.0.0.1"
printf 'bench-owner-password\n' >"$WORK/owner.pw"
"$ANNOTD" init --data "$DATA" --owner owner --password-file "$WORK/owner.pw" --password-cost min >/dev/null
"$ANNOTD" serve --data "$DATA" --password-cost min --listen "127.0.0.1:$PORT" --max-import 1g \
    --log-level warn >"$WORK/server.log" 2>&1 &
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
[ -n "$URL" ] && curl -fsS --max-time 2 "$URL/healthz" >/dev/null ||
    { echo "run.sh: the server did not start" >&2; cat "$WORK/server.log" >&2; exit 1; }
API=$URL/api/v1
echo "server pid $SERVER_PID on $URL"
OWNER_TOKEN=$(curl -sS -X POST "$API/auth/login" -H 'Content-Type: application/json' \
    -d '{"login":"owner","password":"bench-owner-password"}' | json_field token)
[ -n "$OWNER_TOKEN" ] || { echo "run.sh: owner login failed" >&2; exit 1; }
echo "$OWNER_TOKEN" >"$WORK/owner.token"

P_MAIN=$(create_project main)
gen_tasks "$TASKS" m "$WORK/main.jsonl"
T=$(import_tasks "$P_MAIN" "$WORK/main.jsonl")
echo "project $P_MAIN: $TASKS tasks imported in $T s"
note import_main_s "$T"
rm -f "$WORK/main.jsonl"

: >"$WORK/tokens"
for i in $(seq "$VAS"); do
    owner_post /users "{\"login\":\"va$i\",\"password\":\"va-password-$i\",\"name\":\"VA $i\",\"role\":\"annotator\"}" >/dev/null
    curl -sS -X POST "$API/auth/login" -H 'Content-Type: application/json' \
        -d "{\"login\":\"va$i\",\"password\":\"va-password-$i\"}" | json_field token >>"$WORK/tokens"
done
[ "$(grep -c . "$WORK/tokens")" -eq "$VAS" ] || { echo "run.sh: logins failed" >&2; exit 1; }
echo "$VAS annotators logged in"

# ---------------------------------------------------------------------------
log "1. durable claims+submits/s: raw SQLite vs HTTP ($VAS annotators, $DURATION s)"
record raw_a "$RAW" --db "$WORK/raw.db" --migration "$MIGRATION" --tasks "$TASKS" --users "$VAS" \
    --duration "$DURATION" --batches 1
record http "$LOADGEN" --url "$URL" --project "$P_MAIN" --tokens "$WORK/tokens" \
    --concurrency "$VAS" --duration "$DURATION" --server-pid "$SERVER_PID" --label http
record raw_b "$RAW" --db "$WORK/raw.db" --migration "$MIGRATION" --tasks "$TASKS" --users "$VAS" \
    --duration "$DURATION" --batches 1,64
record http_drafts "$LOADGEN" --url "$URL" --project "$P_MAIN" --tokens "$WORK/tokens" \
    --concurrency "$VAS" --duration "$DURATION" --drafts --heartbeat-every 5 --label http_drafts

# ---------------------------------------------------------------------------
log "2. $IDLE idle keep-alive connections, claims at $RATE/s"
P_RATE=$(create_project rate)
gen_tasks $((RATE * RATE_DURATION * 3)) r "$WORK/rate.jsonl"
import_tasks "$P_RATE" "$WORK/rate.jsonl" >/dev/null
rm -f "$WORK/rate.jsonl"
# warm up (not recorded): the first commits after a large import checkpoint
# its WAL and stall the writer for up to seconds (see README, findings)
"$LOADGEN" --url "$URL" --project "$P_RATE" --tokens "$WORK/tokens" --concurrency "$VAS" \
    --duration 3 --rate "$RATE" --label warmup >"$WORK/warmup.out"
record rate_noidle "$LOADGEN" --url "$URL" --project "$P_RATE" --tokens "$WORK/tokens" \
    --concurrency "$VAS" --duration "$RATE_DURATION" --rate "$RATE" --server-pid "$SERVER_PID" \
    --label rate_noidle
record rate_idle "$LOADGEN" --url "$URL" --project "$P_RATE" --tokens "$WORK/tokens" \
    --concurrency "$VAS" --duration "$RATE_DURATION" --rate "$RATE" --idle-connections "$IDLE" \
    --server-pid "$SERVER_PID" --label rate_idle
sleep 1
note rss_after_idle_closed_kb "$(server_rss)"

# ---------------------------------------------------------------------------
log "3. next-task latency at 1,000 vs $BIG tasks; import time; page and count at $BIG"
P_SMALL=$(create_project small)
gen_tasks 1000 s "$WORK/small.jsonl"
import_tasks "$P_SMALL" "$WORK/small.jsonl" >/dev/null
P_BIG=$(create_project big)
gen_tasks "$BIG" b "$WORK/big.jsonl"
note big_jsonl_bytes "$(stat -c %s "$WORK/big.jsonl")"
T=$(import_tasks "$P_BIG" "$WORK/big.jsonl")
echo "project $P_BIG: $BIG tasks imported in $T s ($(stat -c %s "$WORK/big.jsonl") bytes of JSON Lines)"
note import_big_s "$T"
note rss_after_big_import_kb "$(server_rss)"
rm -f "$WORK/big.jsonl"

# one annotator: the latency of one claim/submit, nothing queued behind it;
# 1,000 tasks last about a second at that pace, so both runs are short
for p in "$P_SMALL:next_1k" "$P_BIG:next_big"; do
    record "${p#*:}_c1" "$LOADGEN" --url "$URL" --project "${p%%:*}" --tokens "$WORK/tokens" \
        --concurrency 1 --duration 2 --label "${p#*:}_c1"
done
# then VAS annotators on the big one (the small one would be exhausted at once)
record next_big_c64 "$LOADGEN" --url "$URL" --project "$P_BIG" --tokens "$WORK/tokens" \
    --concurrency "$VAS" --duration 5 --label next_big_c$VAS

echo "$OWNER_TOKEN" >"$WORK/owner.tokens"
for g in "list_first:/api/v1/projects/$P_BIG/tasks?limit=100" \
         "list_deep:/api/v1/projects/$P_BIG/tasks?limit=100&after=$((BIG * 9 / 10))" \
         "list_open:/api/v1/projects/$P_BIG/tasks?state=open&limit=100" \
         "list_done:/api/v1/projects/$P_BIG/tasks?state=done&limit=100" \
         "count:/api/v1/projects/$P_BIG" \
         "count_small:/api/v1/projects/$P_SMALL"; do
    record "${g%%:*}" "$LOADGEN" --url "$URL" --tokens "$WORK/owner.tokens" --get "${g#*:}" \
        --requests 200 --label "${g%%:*}"
done
note db_bytes "$(du -cb "$DATA"/annotd.db* | tail -1 | cut -f1)"
note loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------------------
log "summary"
python3 "$(dirname "$0")/summary.py" "$RESULTS" "$VAS" "$IDLE" "$RATE" "$BIG" | tee "$WORK/summary.md"
if [ "${KEEP:-0}" != 1 ]; then
    mkdir -p "$(dirname "$0")/results"
    cp "$RESULTS" "$(dirname "$0")/results/$(date -u +%Y%m%dT%H%M%SZ).jsonl"
fi
