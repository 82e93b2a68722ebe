#!/usr/bin/env bash
# bench/run-pg.sh: claims+submits per second on PostgreSQL, one node and two
# nodes behind nginx, beside pgbench running the same claim and submit
# transactions directly, in one run.
#
#   bench/run-pg.sh [BUILD_DIR]          (make bench-pg: BUILD_DIR=build)
#
# Everything on 127.0.0.1: a throwaway PostgreSQL (scripts/pg-test-cluster,
# unless PG_URL names an existing server whose database may be created),
# `annotd init --db` once, two `annotd serve --db` nodes on their own data
# dirs, nginx (no TLS) with the two nodes as upstream. Every project is
# text, overlap 1, TASKS tasks, fresh for each measurement. Steps, each
# DURATION seconds:
#   pgb_c8         pgbench -c 8: the claim and submit of src/store/store_queue.c
#   http_1         loadgen, VAS annotators -> node A directly
#   http_2_nginx   loadgen -> nginx -> nodes A and B
#   http_1_nginx   loadgen -> nginx -> node A only (what nginx costs)
#   pgb_c16        pgbench -c 16 (two nodes' pools: 2 x 8 connections)
#   pgb_c8_nocount pgbench -c 8 without the UPDATE of the project's counters
#   pgb_c8_notify  pgbench -c 8 with / without pg_notify per change (the
#                  other variant of what the binary does)
#   pgb_c8_after   pgbench -c 8 again (the before/after mean is the baseline)
# pgbench ops/s = 2 x its tps (each script run is one claim transaction and
# one submit transaction).
#
# Knobs: VAS=64 DURATION=10 TASKS=40000 PG_URL= NGINX_WORKERS=auto KEEP=0
# QUICK=1 (DURATION=3 TASKS=8000 VAS=16) for a smoke test.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-${BUILD:-build}}
ANNOTD=$BUILD/annotd
LOADGEN=$BUILD/bench/loadgen

if [ "${QUICK:-0}" = 1 ]; then
    : "${VAS:=16}" "${DURATION:=3}" "${TASKS:=8000}"
fi
VAS=${VAS:-64}
DURATION=${DURATION:-10}
TASKS=${TASKS:-40000}
NGINX_WORKERS=${NGINX_WORKERS:-auto}
PSQL=${PSQL:-psql}
PGBENCH=${PGBENCH:-pgbench}
NGINX=${NGINX:-nginx}

for b in "$ANNOTD" "$LOADGEN"; do
    [ -x "$b" ] || { echo "run-pg.sh: '$b' is missing; build first (ninja -C $BUILD)" >&2; exit 1; }
done
for t in curl python3 "$PSQL" "$PGBENCH" "$NGINX"; do
    command -v "$t" >/dev/null || { echo "run-pg.sh: '$t' is needed (apt-get install nginx postgresql-client)" >&2; exit 1; }
done
[ "$VAS" -ge 16 ] || { echo "run-pg.sh: VAS must be at least 16 (pgbench -c 16 uses their users)" >&2; exit 1; }

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
WORK=$(mktemp -d "${TMPDIR:-/tmp}/annotd-bench-pg.XXXXXX")
chmod 755 "$WORK"
RESULTS=$WORK/results.jsonl
: >"$RESULTS"
PIDS=()
PGDIR=

cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    done
    [ -n "$PGDIR" ] && "$ROOT/scripts/pg-test-cluster" stop "$PGDIR" >/dev/null 2>&1 || true
    if [ "${KEEP:-0}" = 1 ]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '\n== %s\n' "$*"; }
json_field() { grep -o "\"$1\":[^,}]*" | head -1 | cut -d: -f2- | tr -d '"'; }
note() { printf '{"tag":"note","key":"%s","value":"%s"}\n' "$1" "$2" >>"$RESULTS"; }
record() { # record TAG CMD...: keep loadgen's RESULT line
    local tag=$1
    shift
    timeout $((DURATION + 60)) "$@" | tee "$WORK/$tag.out"
    grep '^RESULT ' "$WORK/$tag.out" | sed "s/^RESULT {/{\"tag\":\"$tag\",/" >>"$RESULTS" || true
}

# ---------------------------------------------------------------------------
log "machine"
date -u +%Y-%m-%dT%H:%M:%SZ | tee "$WORK/date"
echo "nproc $(nproc), $(uname -sr), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
note date "$(cat "$WORK/date")"
note loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)"

log "PostgreSQL"
if [ -z "${PG_URL:-}" ]; then
    PGDIR=$(mktemp -d /tmp/annotd-bench-pgdata.XXXXXX)
    PG_URL=$("$ROOT/scripts/pg-test-cluster" start "$PGDIR")
fi
DB_URL=$(python3 -c 'import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1]); print(u.urlunsplit((p.scheme, p.netloc, "/" + sys.argv[2], p.query, "")))' \
    "$PG_URL" "annotd_bench_$$")
"$PSQL" "$PG_URL" -X -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE annotd_bench_$$" >/dev/null
PGVER=$("$PSQL" "$DB_URL" -X -qAt -c "SHOW server_version")
echo "PostgreSQL $PGVER, database annotd_bench_$$ ($(echo "$DB_URL" | sed 's/:[^:@/]*@/:***@/'))"
note pg_version "$PGVER"
note pg_settings "$("$PSQL" "$DB_URL" -X -qAt -c "SELECT string_agg(name || '=' || setting, ' ') FROM pg_settings WHERE name IN ('fsync','synchronous_commit','shared_buffers','max_connections')")"

# ---------------------------------------------------------------------------
log "two annotd nodes on one database"
printf 'bench-owner-password\n' >"$WORK/owner.pw"
"$ANNOTD" init --data "$WORK/a" --db "$DB_URL" --owner owner --password-file "$WORK/owner.pw" \
    --password-cost min >/dev/null
start_node() { # start_node NAME -> URL on stdout
    local dir=$WORK/$1 url=
    "$ANNOTD" serve --data "$dir" --db "$DB_URL" --password-cost min --listen 127.0.0.1:0 \
        --max-import 1g --log-level warn >"$WORK/$1.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    echo "$pid" >"$WORK/$1.pid"
    for _ in $(seq 200); do
        if grep -q "\"pid\":$pid}" "$dir/server.json" 2>/dev/null; then
            url=$(grep -o '"url":"[^"]*"' "$dir/server.json" | cut -d'"' -f4)
            break
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$url" ] && curl -fsS --max-time 2 "$url/healthz" >/dev/null ||
        { echo "run-pg.sh: node $1 did not start" >&2; cat "$WORK/$1.log" >&2; exit 1; }
    echo "$url"
}
URL_A=$(start_node a)
PIDS+=("$(cat "$WORK/a.pid")")
URL_B=$(start_node b)
PIDS+=("$(cat "$WORK/b.pid")")
echo "node A $URL_A, node B $URL_B"

log "nginx on 127.0.0.1 in front of both"
NGINX_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
NGINX_PORT1=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$WORK/nginx"
# the proxy settings of deploy/nginx.conf, without TLS and limits
cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes $NGINX_WORKERS;
worker_rlimit_nofile 20000;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
daemon off;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    client_max_body_size 1g;
    keepalive_requests 1000000;
    upstream two { least_conn; server ${URL_A#http://}; server ${URL_B#http://}; keepalive 64; keepalive_requests 1000000; }
    upstream one { server ${URL_A#http://}; keepalive 64; keepalive_requests 1000000; }
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host \$host;
    proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    proxy_next_upstream error timeout;
    server { listen 127.0.0.1:$NGINX_PORT; location / { proxy_pass http://two; } }
    server { listen 127.0.0.1:$NGINX_PORT1; location / { proxy_pass http://one; } }
}
EOF
"$NGINX" -t -q -c "$WORK/nginx/nginx.conf"
"$NGINX" -c "$WORK/nginx/nginx.conf" >"$WORK/nginx/stdout.log" 2>&1 &
PIDS+=("$!")
NGINX2=http://127.0.0.1:$NGINX_PORT
NGINX1=http://127.0.0.1:$NGINX_PORT1
for _ in $(seq 50); do curl -fsS --max-time 1 "$NGINX2/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS --max-time 2 "$NGINX2/healthz" >/dev/null || { echo "run-pg.sh: nginx did not start" >&2; cat "$WORK/nginx/error.log" >&2; exit 1; }
echo "nginx $NGINX2 -> A + B, $NGINX1 -> A"

API=$URL_A/api/v1
OWNER_TOKEN=$(curl -sS -X POST "$API/auth/login" -H 'Content-Type: application/json' \
    -d '{"login":"owner","password":"bench-owner-password"}' | json_field token)
[ -n "$OWNER_TOKEN" ] || { echo "run-pg.sh: owner login failed" >&2; exit 1; }
owner_post() {
    curl -sS --max-time 30 -X POST "$API$1" -H "Authorization: Bearer $OWNER_TOKEN" \
        -H 'Content-Type: application/json' -d "$2"
}
awk -v n="$TASKS" 'BEGIN { for (i = 1; i <= n; i++)
    printf "{\"data\":{\"text\":\"task %d: the quick brown fox jumps over the lazy dog, twice.\"},\"key\":\"k%d\"}\n", i, i }' \
    >"$WORK/tasks.jsonl"
new_project() { # new_project NAME -> id (TASKS tasks imported)
    local id t0 t1
    id=$(owner_post /projects "{\"name\":\"$1\",\"kind\":\"text\",\"config\":{\"classes\":{\"choices\":[\"pos\",\"neg\"]}},\"overlap\":1}" | json_field id)
    t0=$(date +%s.%N)
    curl -sS --max-time 600 -X POST "$API/projects/$id/tasks" -H "Authorization: Bearer $OWNER_TOKEN" \
        -H 'Content-Type: application/x-ndjson' -H 'Expect:' -T "$WORK/tasks.jsonl" -o "$WORK/import.json"
    t1=$(date +%s.%N)
    grep -q '"errors":\[\]' "$WORK/import.json" || { echo "import failed: $(head -c 300 "$WORK/import.json")" >&2; exit 1; }
    echo "$1: project $id, $TASKS tasks imported in $(python3 -c "print(f'{$t1 - $t0:.1f}')") s" >&2
    echo "$id"
}

: >"$WORK/tokens"
for i in $(seq "$VAS"); do
    owner_post /users "{\"login\":\"va$i\",\"password\":\"va-password-$i\",\"name\":\"VA $i\",\"role\":\"annotator\"}" >/dev/null
    curl -sS -X POST "$API/auth/login" -H 'Content-Type: application/json' \
        -d "{\"login\":\"va$i\",\"password\":\"va-password-$i\"}" | json_field token >>"$WORK/tokens"
done
[ "$(grep -c . "$WORK/tokens")" -eq "$VAS" ] || { echo "run-pg.sh: logins failed" >&2; exit 1; }
UID0=$("$PSQL" "$DB_URL" -X -qAt -c "SELECT MIN(id) FROM users WHERE login LIKE 'va%'")
UIDN=$("$PSQL" "$DB_URL" -X -qAt -c "SELECT MAX(id) - MIN(id) + 1, COUNT(*) FROM users WHERE login LIKE 'va%'")
[ "$UIDN" = "$VAS|$VAS" ] || { echo "run-pg.sh: annotator ids not contiguous ($UIDN)" >&2; exit 1; }
echo "$VAS annotators logged in (user ids $UID0..)"

# ---------------------------------------------------------------------------
# The claim and submit transactions of src/store/store_queue.c (PostgreSQL
# texts of stmt_get_dialect(), same order), for overlap 1: the counters the
# server computes between statements are the constants they come to here.
# store_task_get() and the label row of {"classes":["pos"]} included; the
# server's per-request token lookup and the submit's schema read are not.
# \if :counters: the project's counters UPDATE; \if :notify: pg_notify per
# change, as store_event() does when the events code is in the binary.
NOW="(extract(epoch from clock_timestamp()) * 1000)::bigint"
COLS="id, task_id, project_id, user_id, kind, state, lease_until, draft, created_at, updated_at"
cat >"$WORK/claim_submit.sql" <<EOF
\set uid :uid0 + :client_id
BEGIN;
SELECT lease_seconds FROM projects WHERE id = :pid AND (org_id = 0 OR 0 = 0);
SELECT id FROM users WHERE id = :uid FOR NO KEY UPDATE;
SELECT $COLS FROM assignments WHERE user_id = :uid AND project_id = :pid AND state = 'leased' AND kind = 'normal' ORDER BY id LIMIT 1;
SELECT t.id AS tid FROM tasks t WHERE t.project_id = :pid AND t.open_slots > 0 AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.id AND a.user_id = :uid AND a.kind = 'normal' AND a.state IN ('submitted', 'skipped')) ORDER BY t.priority DESC, t.id LIMIT 1 FOR UPDATE SKIP LOCKED \gset
INSERT INTO assignments (task_id, project_id, user_id, kind, state, lease_until, created_at, updated_at) VALUES (:tid, :pid, :uid, 'normal', 'leased', $NOW + 3600000, $NOW, $NOW) ON CONFLICT (task_id, user_id) WHERE kind = 'normal' DO UPDATE SET state = 'leased', lease_until = excluded.lease_until, updated_at = excluded.updated_at RETURNING id AS aid \gset
SELECT t.project_id, t.state, t.n_leased, t.n_submitted, p.overlap, p.org_id FROM tasks t JOIN projects p ON p.id = t.project_id WHERE t.id = :tid FOR UPDATE OF t;
UPDATE tasks SET n_leased = 1, n_submitted = 0, open_slots = 0, state = 1 WHERE id = :tid;
\if :counters
INSERT INTO project_counts (project_id, shard, n_tasks, n_in_progress, n_done) VALUES (:pid, :tid % 16, 0, 1, 0) ON CONFLICT (project_id, shard) DO UPDATE SET n_tasks = project_counts.n_tasks + excluded.n_tasks, n_in_progress = project_counts.n_in_progress + excluded.n_in_progress, n_done = project_counts.n_done + excluded.n_done;
SELECT COALESCE(SUM(n_tasks), 0), COALESCE(SUM(n_in_progress), 0), COALESCE(SUM(n_done), 0) FROM project_counts WHERE project_id = :pid;
\endif
\if :notify
SELECT pg_notify('annotd', '1 project.' || :pid || ' {"type":"task","task":' || :tid || ',"state":"in_progress","cause":"claim","leased":1,"submitted":0,"counts":{"tasks":0,"in_progress":0,"done":0}}');
\endif
SELECT t.id, t.project_id, t.key, t.data, t.priority, t.state, t.created_at FROM tasks t WHERE t.id = :tid;
COMMIT;
BEGIN;
SELECT $COLS FROM assignments WHERE id = :aid AND (user_id = :uid OR :uid = 0) FOR UPDATE;
SELECT open_slots FROM tasks WHERE id = :tid FOR UPDATE;
SELECT COALESCE(MAX(version), 0) + 1 FROM annotations WHERE task_id = :tid AND user_id = :uid;
INSERT INTO annotations (task_id, project_id, assignment_id, user_id, version, source, result, created_at) VALUES (:tid, :pid, :aid, :uid, 1, 'human', '{"classes":["pos"]}', $NOW) RETURNING id AS annid, task_id, project_id, COALESCE(assignment_id, 0), COALESCE(user_id, 0), version, source, result, created_at \gset
UPDATE assignments SET state = 'submitted', lease_until = lease_until, updated_at = $NOW, draft = CASE WHEN 0 = 1 THEN draft ELSE NULL END WHERE id = :aid;
SELECT t.project_id, t.state, t.n_leased, t.n_submitted, p.overlap, p.org_id FROM tasks t JOIN projects p ON p.id = t.project_id WHERE t.id = :tid FOR UPDATE OF t;
UPDATE tasks SET n_leased = 0, n_submitted = 1, open_slots = 0, state = 2 WHERE id = :tid;
\if :counters
INSERT INTO project_counts (project_id, shard, n_tasks, n_in_progress, n_done) VALUES (:pid, :tid % 16, 0, -1, 1) ON CONFLICT (project_id, shard) DO UPDATE SET n_tasks = project_counts.n_tasks + excluded.n_tasks, n_in_progress = project_counts.n_in_progress + excluded.n_in_progress, n_done = project_counts.n_done + excluded.n_done;
SELECT COALESCE(SUM(n_tasks), 0), COALESCE(SUM(n_in_progress), 0), COALESCE(SUM(n_done), 0) FROM project_counts WHERE project_id = :pid;
\endif
\if :notify
SELECT pg_notify('annotd', '1 project.' || :pid || ' {"type":"annotation","task":' || :tid || ',"annotation":' || :annid || ',"user":' || :uid || ',"version":1}');
SELECT pg_notify('annotd', '1 project.' || :pid || ' {"type":"task","task":' || :tid || ',"state":"done","cause":"submit","leased":0,"submitted":1,"counts":{"tasks":0,"in_progress":0,"done":0}}');
\endif
INSERT INTO labels (annotation_id, task_id, project_id, user_id, field, label, value) VALUES (:annid, :tid, :pid, :uid, 'classes', 'pos', '1');
COMMIT;
EOF
# Does the binary under test notify inside its claim/submit transactions? (the first
# events code: store_event() -> pg_notify; with the relay, "annotd relay", NOTIFY runs
# on a connection of its own, outside them, and the baseline has none)
if grep -q pg_notify "$ANNOTD" && ! grep -q 'annotd relay' "$ANNOTD"; then BIN_NOTIFY=1; else BIN_NOTIFY=0; fi
note bin_notify "$BIN_NOTIFY"
echo "binary sends pg_notify per change in its transactions: $BIN_NOTIFY (the pgbench baseline does the same)"

pgb() { # pgb TAG CLIENTS COUNTERS NOTIFY
    local tag=$1 c=$2 pid out tps
    pid=$(new_project "$tag")
    out=$(timeout $((DURATION + 60)) "$PGBENCH" -n -M prepared -c "$c" -j 2 -T "$DURATION" \
        -D pid="$pid" -D uid0="$UID0" -D counters="$3" -D notify="$4" -f "$WORK/claim_submit.sql" "$DB_URL" 2>&1) ||
        { echo "$out" >&2; echo "run-pg.sh: pgbench failed" >&2; exit 1; }
    echo "$out" | grep -E 'transactions actually processed|failed|latency average|tps ='
    tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)
    lat=$(echo "$out" | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' | head -1)
    printf '{"tag":"%s","pgbench":{"clients":%s,"counters":%s,"notify":%s,"tps":%s,"latency_ms":%s}}\n' \
        "$tag" "$c" "$3" "$4" "${tps:-0}" "${lat:-0}" >>"$RESULTS"
}

http() { # http TAG URL
    local pid
    pid=$(new_project "$1")
    record "$1" "$LOADGEN" --url "$2" --project "$pid" --tokens "$WORK/tokens" --concurrency "$VAS" \
        --duration "$DURATION" --label "$1"
}

log "measurements ($DURATION s each, $VAS annotators over HTTP)"
pgb pgb_c8 8 1 "$BIN_NOTIFY"
http http_1 "$URL_A"
http http_2_nginx "$NGINX2"
http http_1_nginx "$NGINX1"
pgb pgb_c16 16 1 "$BIN_NOTIFY"
pgb pgb_c8_nocount 8 0 "$BIN_NOTIFY"
pgb pgb_c8_notify 8 1 $((1 - BIN_NOTIFY))
pgb pgb_c8_after 8 1 "$BIN_NOTIFY"
note loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)"
for n in a b; do
    grep -iE 'error|warn' "$WORK/$n.log" | head -5 | sed "s/^/node $n: /" || true
done

# ---------------------------------------------------------------------------
log "summary"
python3 - "$RESULTS" "$VAS" <<'EOF' | tee "$WORK/summary.md"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
vas = sys.argv[2]
by = {r["tag"]: r for r in rows if r["tag"] != "note"}
notes = {r["key"]: r["value"] for r in rows if r["tag"] == "note"}
def http_ops(t):
    r = by.get(t)
    return (r["claims_per_s"] + r["submits_per_s"]) if r else 0.0
def pgb_ops(t):
    r = by.get(t)
    return 2 * r["pgbench"]["tps"] if r else 0.0
def lat(t):
    r = by.get(t)
    if not r or "claim" not in r:
        return ""
    c, s = r["claim"], r["submit"]
    errs = c["http_errors"] + s["http_errors"] + c["transport_errors"] + s["transport_errors"]
    return "claim p50/p99 %.2f/%.1f ms, submit p50/p99 %.2f/%.1f ms, %d errors" % (
        c["p50_ms"], c["p99_ms"], s["p50_ms"], s["p99_ms"], errs)
base8 = (pgb_ops("pgb_c8") + pgb_ops("pgb_c8_after")) / 2
n = notes.get("bin_notify") == "1"
print("Run of %s, PostgreSQL %s (%s), load average %s at start, %s at end; binary %s pg_notify in its write transactions.\n"
      % (notes.get("date"), notes.get("pg_version"), notes.get("pg_settings"), notes.get("loadavg_start"),
         notes.get("loadavg_end"), "sends" if n else "does not send"))
print("| measure | claims+submits/s | ratio | |")
print("|---|---|---|---|")
print("| pgbench -c 8, claim+submit SQL as in store_queue.c (before / after) | %s / %s (mean %s) | 1.00 | baseline for 1 node |"
      % (f"{pgb_ops('pgb_c8'):,.0f}", f"{pgb_ops('pgb_c8_after'):,.0f}", f"{base8:,.0f}"))
print("| pgbench -c 16, same SQL | %s | | baseline for 2 nodes |" % f"{pgb_ops('pgb_c16'):,.0f}")
for t, what, base, bname in (("http_1", "HTTP, %s annotators -> node A" % vas, base8, "pgbench -c 8"),
                             ("http_2_nginx", "HTTP, %s annotators -> nginx -> A + B" % vas, pgb_ops("pgb_c16"), "pgbench -c 16"),
                             ("http_1_nginx", "HTTP, %s annotators -> nginx -> A" % vas, base8, "pgbench -c 8")):
    ops = http_ops(t)
    print("| %s | %s | %.2f of %s | %s |" % (what, f"{ops:,.0f}", ops / base if base else 0, bname, lat(t)))
o1, o2 = http_ops("http_1"), http_ops("http_2_nginx")
print("| 2 nodes behind nginx : 1 node direct | | %.2f | |" % (o2 / o1 if o1 else 0))
print("| pgbench -c 8 without the project-counters UPDATE | %s | %.2f of pgbench -c 8 | |"
      % (f"{pgb_ops('pgb_c8_nocount'):,.0f}", pgb_ops("pgb_c8_nocount") / base8 if base8 else 0))
print("| pgbench -c 8 %s pg_notify per change | %s | %.2f of pgbench -c 8 | |"
      % ("without" if n else "with", f"{pgb_ops('pgb_c8_notify'):,.0f}", pgb_ops("pgb_c8_notify") / base8 if base8 else 0))
EOF
if [ "${KEEP:-0}" != 1 ]; then
    mkdir -p "$ROOT/bench/results"
    cp "$RESULTS" "$ROOT/bench/results/pg-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
fi
