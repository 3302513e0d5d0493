#!/usr/bin/env bash
# The benchmark: orb-mock on three stores (and with --spec) against Prism, Steady and the
# limits, side by side in one run on one machine. See BENCHMARKS.md for the method. Usage:
#
#   bash bench/run.sh                          # the full run (about 25-35 minutes on 2 cores)
#   SCALE=0.1 RUNS=3 DURATION=3 bash bench/run.sh   # a quick check of the instrument
#
# Knobs (environment):
#   RUNS=5               runs per figure; each figure is the median
#   STARTUP_RUNS=$RUNS   start-up runs per target (PRISM_STARTUP_RUNS=3: Prism takes ~30-60 s each)
#   CASCADE_RUNS=3       cascade-drain runs per store (each seeds 10,000 x 11 rows afresh)
#   SCALE=1              multiplies every data size (20,000 GET ids, 20,000 DELETEs per run,
#                        10,000 cascades, 10,000 vs 1,000,000 growth, 2,000 webhook events)
#   DURATION=5           seconds per wrk run (a DELETE run also ends when its ids run out)
#   WARMUP=2             seconds of GET load before a target's measured runs
#   TARGETS="sqlite-mem sqlite-file pg spec prism steady limit"
#                        (spec: orb-mock on SQLite memory with --spec "$SPEC")
#   SKIP=""              any of: cascade growth journal pgbench webhooks (to leave a part out)
#   GROWTH_STORES="sqlite-mem sqlite-file pg"
#   WEBHOOK_STORES="sqlite-mem sqlite-file pg"   stores the webhook delivery row runs on
#   PG_URL=postgres://postgres@127.0.0.1:5432   databases orbbench_* are created and dropped
#   SPEC=$ORB_OPENAPI    Orb's OpenAPI document, for the peers and --spec (default: ../shared/orb-openapi/orb-openapi-4.69.0.json)
#   BASE_PORT=4710       ports BASE_PORT..BASE_PORT+3 must be free
#   KEEP_WORK=1          keep the scratch directory (logs, raw results)
#   BUILD=0              use the binaries already built (development of the script only)
# Output: the Markdown report on stdout and in bench/results/<date>.md.
set -euo pipefail
shopt -s inherit_errexit

cd "$(dirname "$0")/.."
ROOT=$PWD
BENCH=$ROOT/bench

RUNS=${RUNS:-5}
STARTUP_RUNS=${STARTUP_RUNS:-$RUNS}
PRISM_STARTUP_RUNS=${PRISM_STARTUP_RUNS:-3}
CASCADE_RUNS=${CASCADE_RUNS:-3}
SCALE=${SCALE:-1}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-2}
TARGETS=${TARGETS:-"sqlite-mem sqlite-file pg spec prism steady limit"}
SKIP=${SKIP:-}
GROWTH_STORES=${GROWTH_STORES:-"sqlite-mem sqlite-file pg"}
WEBHOOK_STORES=${WEBHOOK_STORES:-"sqlite-mem sqlite-file pg"}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
SPEC=${SPEC:-${ORB_OPENAPI:-$ROOT/../shared/orb-openapi/orb-openapi-4.69.0.json}}
BASE_PORT=${BASE_PORT:-4710}
THREADS=2
CONNECTIONS=32
export BENCH_KEY=sk_test_bench
export BENCH_DIR=$BENCH

scaled() { python3 -c "import sys; print(max(1, int(round($1 * $SCALE))))"; }
GET_N=$(scaled 20000)
DEL_N=$(( $(scaled 20000) / CONNECTIONS * CONNECTIONS ))  # a multiple of pgbench's clients
[ "$DEL_N" -gt 0 ] || DEL_N=$CONNECTIONS
CASCADE_N=$(scaled 10000)
GROWTH_SMALL=$(scaled 10000)
GROWTH_BIG=$(scaled 1000000)
GROWTH_DEL=$(( $(scaled 1000) < GROWTH_SMALL / RUNS ? $(scaled 1000) : GROWTH_SMALL / RUNS ))
HOOK_N=$(scaled 2000)

ORB_BIN=$ROOT/target/release/orb-mock
LIMIT_BIN=$ROOT/target/bench-limit/release/bench-limit
PRISM_BIN=$BENCH/peers/node_modules/.bin/prism
STEADY_BIN=$BENCH/peers/node_modules/@stdy/cli-linux-x64/bin/steady
PORT_ORB=$BASE_PORT
PORT_PRISM=$((BASE_PORT + 1))
PORT_STEADY=$((BASE_PORT + 2))
PORT_LIMIT=$((BASE_PORT + 3))

WORK=$(mktemp -d /tmp/orb-bench.XXXXXX)
RESULTS=$WORK/results.jsonl
: >"$RESULTS"
: >"$WORK/pids"
: >"$WORK/dbs"
STARTED_AT=$(date +%s)

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
skipped() { [[ " $SKIP " == *" $1 "* ]]; }
wants() { [[ " $TARGETS " == *" $1 "* ]]; }

# --- clean-up: every server this script started, every database it created -----------------------

stop_pid() {
  local pid=$1
  [ -n "$pid" ] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  while read -r pid; do stop_pid "$pid"; done <"$WORK/pids"
  while read -r db; do
    [ -n "$db" ] && psql_admin -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  done <"$WORK/dbs"
  if [ "${KEEP_WORK:-0}" = 1 ] || [ "$status" != 0 ]; then
    log "scratch directory kept: $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- what the run needs --------------------------------------------------------------------------

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  log "installing $* from apt"
  as_root apt-get install -y "$@" >/dev/null 2>&1 ||
    { as_root apt-get update >/dev/null 2>&1 && as_root apt-get install -y "$@" >/dev/null; }
}
command -v wrk >/dev/null || apt_install wrk
command -v curl >/dev/null || apt_install curl
command -v python3 >/dev/null || apt_install python3
command -v psql >/dev/null && command -v pgbench >/dev/null ||
  apt_install postgresql-client postgresql-contrib
command -v npm >/dev/null || apt_install nodejs npm
[ -f "$SPEC" ] || die "Orb's OpenAPI document is not at $SPEC (set SPEC)"

if [ ! -x "$PRISM_BIN" ] || [ ! -x "$STEADY_BIN" ] ||
   [ "$BENCH/peers/package-lock.json" -nt "$BENCH/peers/node_modules/.package-lock.json" ]; then
  log "installing Prism and Steady (pinned in bench/peers/package-lock.json)"
  # No install scripts: neither needs one (Steady's binary is an optional dependency package),
  # and one of Prism's dependencies would phone home.
  SCARF_ANALYTICS=false npm ci --prefix "$BENCH/peers" --ignore-scripts --no-audit --no-fund \
    --loglevel=error >&2
fi
[ -x "$STEADY_BIN" ] || STEADY_BIN=$BENCH/peers/node_modules/.bin/steady  # not linux-x64

if [ "${BUILD:-1}" = 1 ]; then
  log "building orb-mock (release) and the limit binary"
  cargo build --release --locked --quiet >&2
  CARGO_TARGET_DIR=$ROOT/target/bench-limit \
    cargo build --release --locked --quiet --manifest-path "$BENCH/limit/Cargo.toml" >&2
fi

PG_OK=1
export PGOPTIONS="-c client_min_messages=warning"
psql_admin() { psql -X -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres "$@"; }
PG_HOST=$(python3 -c "from urllib.parse import urlsplit as u; print(u('$PG_URL').hostname)")
PG_PORT=$(python3 -c "from urllib.parse import urlsplit as u; print(u('$PG_URL').port or 5432)")
PG_USER=$(python3 -c "from urllib.parse import urlsplit as u; print(u('$PG_URL').username or 'postgres')")
if ! pg_isready -h "$PG_HOST" -p "$PG_PORT" -q 2>/dev/null; then
  log "PostgreSQL is not answering on $PG_HOST:$PG_PORT: the PostgreSQL column is skipped"
  PG_OK=0
fi
HAS_JOURNAL_FLAG=0
"$ORB_BIN" --help 2>/dev/null | grep -q -- '--journal-size' && HAS_JOURNAL_FLAG=1

# --- servers -------------------------------------------------------------------------------------

DB_COUNTER=0
# fresh_pg_db [TEMPLATE]: creates a new database (a copy of TEMPLATE if given), named in NEW_DB.
fresh_pg_db() {
  DB_COUNTER=$((DB_COUNTER + 1))
  NEW_DB="orbbench_$$_$DB_COUNTER"
  echo "$NEW_DB" >>"$WORK/dbs"
  psql_admin -qc "DROP DATABASE IF EXISTS $NEW_DB" >/dev/null
  psql_admin -qc "CREATE DATABASE $NEW_DB${1:+ TEMPLATE $1}" >/dev/null
}
drop_pg_db() { psql_admin -qc "DROP DATABASE IF EXISTS $1" >/dev/null; }

# DELETEs queue their cascade an hour ahead, so that a DELETE run measures the request alone (the
# cascade drain measures cascades); the cascade drain sets 0s.
ORB_DELAY=1h

# server_cmd TARGET [orb-mock flags...]: sets CMD (an array), URL, HEALTH and ANY for a fresh
# instance: a new in-memory store, a new SQLite file, or a new PostgreSQL database. The spec
# target is orb-mock on a new in-memory store, answering the routes it does not model from Orb's
# document (--spec).
server_cmd() {
  local target=$1; shift
  ANY=""
  case $target in
    sqlite-mem|sqlite-file|pg|spec)
      local db
      if [ "$target" = spec ]; then set -- --spec "$SPEC" "$@"; fi
      case $target in
        sqlite-mem|spec) db="sqlite::memory:" ;;
        sqlite-file)
          rm -f "$WORK"/orb.db*
          db="sqlite://$WORK/orb.db" ;;
        pg) fresh_pg_db; LAST_DB=$NEW_DB; db="$PG_URL/$LAST_DB" ;;
      esac
      # Where bench/lib/seed.py writes rows straight into the database: with --sql (the growth
      # row), and on PostgreSQL for a build without POST /_mock/fixtures.
      unset BENCH_SEED_PG BENCH_SEED_SQLITE
      case $target in
        pg) export BENCH_SEED_PG=$db ;;
        sqlite-file) export BENCH_SEED_SQLITE=$WORK/orb.db ;;
      esac
      URL=http://127.0.0.1:$PORT_ORB
      HEALTH=$URL/_mock/health
      FILLER=/_mock/health
      CMD=(env RUST_LOG=warn "$ORB_BIN" --listen "127.0.0.1:$PORT_ORB" --database-url "$db"
           --deletion-delay "$ORB_DELAY" "$@") ;;
    prism)
      URL=http://127.0.0.1:$PORT_PRISM
      HEALTH=$URL/customers/bench_probe
      FILLER=/customers/bench_probe
      ANY=--any
      CMD=("$PRISM_BIN" mock -p "$PORT_PRISM" -h 127.0.0.1 -v error "$SPEC") ;;
    steady)
      URL=http://127.0.0.1:$PORT_STEADY
      HEALTH=$URL/customers/bench_probe
      FILLER=/customers/bench_probe
      ANY=--any
      CMD=("$STEADY_BIN" -p "$PORT_STEADY" --host 127.0.0.1 -q "$SPEC") ;;
    limit)
      URL=http://127.0.0.1:$PORT_LIMIT
      HEALTH=$URL/health
      FILLER=/health
      CMD=("$LIMIT_BIN" "127.0.0.1:$PORT_LIMIT") ;;
    *) die "unknown target $target" ;;
  esac
}

wait_port_free() {
  local port=$1
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || return 0
    sleep 0.1
  done
  die "port $port is still in use"
}

# start TARGET [flags...]: starts a fresh instance, leaves its pid in PID and its start-up time in
# STARTUP_MS.
start() {
  local target=$1; shift
  server_cmd "$target" "$@"
  local pidfile=$WORK/pid.$target
  STARTUP_MS=$(python3 "$BENCH/lib/startup.py" --keep "$pidfile" --timeout 300 \
    --log "$WORK/$target.log" $ANY "$HEALTH" -- "${CMD[@]}")
  PID=$(cat "$pidfile")
  echo "$PID" >>"$WORK/pids"
}

stop() {
  stop_pid "$PID"
  wait_port_free "${URL##*:}"
  PID=""
}

# --- measurements --------------------------------------------------------------------------------

# record TARGET WORKLOAD RUN JSON-OBJECT
record() {
  local body=$4
  printf '{"target":"%s","workload":"%s","run":%s,%s\n' "$1" "$2" "$3" "${body#\{}" >>"$RESULTS"
}

# measure TARGET WORKLOAD RUN COMMAND...: records the JSON object COMMAND prints.
measure() {
  local target=$1 workload=$2 run=$3; shift 3
  local figures
  figures=$("$@") || die "$target: $workload run $run failed"
  record "$target" "$workload" "$run" "$figures"
}

# wrk_run SCRIPT SECONDS [VAR=value...]: runs wrk on URL and prints its BENCHJSON object.
wrk_run() {
  local script=$1 seconds=$2; shift 2
  local out
  out=$(env "$@" timeout $((seconds + 120)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${seconds}s" \
    --timeout 10s -s "$BENCH/wrk/$script" "$URL" 2>&1) || die "wrk failed: $out"
  local json
  json=$(grep '^BENCHJSON ' <<<"$out" | head -n 1) || die "wrk printed no figures: $out"
  echo "${json#BENCHJSON }"
}

# wrk_fixed SECONDS [VAR=value...]: runs delete.lua on URL until each thread has had its share
# of ids answered (wrk itself would wait out its -d; it is interrupted instead, which makes it
# report at once), or for SECONDS at most. Prints the BENCHJSON object.
wrk_fixed() {
  local seconds=$1; shift
  local marks=$WORK/marks
  rm -rf "$marks"
  mkdir -p "$marks"
  env "$@" BENCH_MARK_DIR="$marks" BENCH_FILLER_PATH="$FILLER" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${seconds}s" \
    --timeout 10s -s "$BENCH/wrk/delete.lua" "$URL" >"$WORK/wrk.out" 2>&1 &
  local wpid=$!
  echo "$wpid" >>"$WORK/pids"
  local deadline=$((SECONDS + seconds + 120))
  while kill -0 "$wpid" 2>/dev/null; do
    if [ "$(find "$marks" -type f | wc -l)" -ge "$THREADS" ]; then
      kill -INT "$wpid" 2>/dev/null || true
      break
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      kill -KILL "$wpid" 2>/dev/null || true
      die "wrk did not finish: $(cat "$WORK/wrk.out")"
    fi
    sleep 0.02
  done
  wait "$wpid" || die "wrk failed: $(cat "$WORK/wrk.out")"
  local json
  json=$(grep '^BENCHJSON ' "$WORK/wrk.out" | head -n 1) ||
    die "wrk printed no figures: $(cat "$WORK/wrk.out")"
  echo "${json#BENCHJSON }"
}

measure_startup() {
  local target=$1 runs=$2
  [ "$runs" -gt 0 ] || return 0
  log "$target: start-up x$runs (+1)"
  for run in $(seq 1 "$runs"); do
    server_cmd "$target"
    local ms
    ms=$(python3 "$BENCH/lib/startup.py" --timeout 300 --log "$WORK/$target.log" $ANY \
      "$HEALTH" -- "${CMD[@]}")
    record "$target" startup "$run" "{\"ms\":$ms}"
    if [ "$target" = pg ]; then drop_pg_db "$LAST_DB"; fi
    wait_port_free "${URL##*:}"
  done
}

rss() { python3 "$BENCH/lib/rss.py" "$1"; }

seed() {  # seed PREFIX COUNT [--owned]: prints seconds
  local out
  out=$(python3 "$BENCH/lib/seed.py" "$URL" "$@") || die "seeding $1 failed"
  echo "${out%% *}"
}

is_orb() { [[ $1 == sqlite-mem || $1 == sqlite-file || $1 == pg ]]; }
# Targets that answer GET /plans/{id} from Orb's document: orb-mock with --spec and the peers.
serves_spec() { [[ $1 == spec || $1 == prism || $1 == steady ]]; }

# The plan row: GET /plans/plan_bench, a body generated from Orb's document (fixed path), after
# one request alone (Prism prepares a route's generator at its first request, which takes it
# seconds) and a WARMUP of the same load.
plan_runs() {
  local target=$1
  log "$target: GET /plans/{id} x$RUNS (${DURATION}s each)"
  curl -sf -o /dev/null -m 300 -H "Authorization: Bearer $BENCH_KEY" "$URL/plans/plan_bench" ||
    die "$target: GET /plans/plan_bench did not answer 2xx"
  wrk_run plan.lua "$WARMUP" >/dev/null
  for run in $(seq 1 "$RUNS"); do
    measure "$target" plan "$run" wrk_run plan.lua "$DURATION"
  done
}

# The HTTP workloads on one target: start-up, RSS, GET, DELETE, POST, PUT, and the plan row on
# the targets that serve Orb's document. The spec target runs start-up, RSS and the plan row
# only (its modelled routes are sqlite-mem's).
http_workloads() {
  local target=$1 startup_runs=$STARTUP_RUNS
  if [ "$target" = prism ]; then startup_runs=$PRISM_STARTUP_RUNS; fi
  # The last start-up run is the instance the load runs use.
  measure_startup "$target" $((startup_runs - 1))
  start "$target"
  record "$target" startup "$startup_runs" "{\"ms\":$STARTUP_MS}"
  sleep 1
  local idle
  idle=$(rss "$PID")
  if [ "$target" = spec ]; then
    plan_runs "$target"
    local load
    load=$(rss "$PID")
    record "$target" rss 1 "{\"idle_kb\":${idle% *},\"load_kb\":${load% *},\"hwm_kb\":${load#* }}"
    stop
    return 0
  fi
  if is_orb "$target"; then
    log "$target: seeding $GET_N + $((RUNS * DEL_N)) customers"
    local s1 s2
    s1=$(seed bget_ "$GET_N")
    s2=$(seed bdel_ $((RUNS * DEL_N)))
    record "$target" seed 1 "{\"seed_s\":$(python3 -c "print($s1 + $s2)"),\"customers\":$((GET_N + RUNS * DEL_N))}"
  fi
  log "$target: GET x$RUNS, DELETE x$RUNS, POST x$RUNS, PUT x$RUNS (${DURATION}s each)"
  wrk_run get.lua "$WARMUP" BENCH_N="$GET_N" >/dev/null
  for run in $(seq 1 "$RUNS"); do
    measure "$target" get "$run" wrk_run get.lua "$DURATION" BENCH_N="$GET_N"
  done
  for run in $(seq 1 "$RUNS"); do
    measure "$target" delete "$run" wrk_fixed "$DURATION" BENCH_PREFIX=bdel_ \
      BENCH_N=$((RUNS * DEL_N)) BENCH_FROM=$(((run - 1) * DEL_N)) BENCH_COUNT="$DEL_N" \
      BENCH_THREADS="$THREADS"
  done
  for run in $(seq 1 "$RUNS"); do
    measure "$target" post "$run" wrk_run post.lua "$DURATION"
  done
  # PUT edits the GET row's customers (the DELETE row deleted others), a new name each time.
  for run in $(seq 1 "$RUNS"); do
    measure "$target" put "$run" wrk_run put.lua "$DURATION" BENCH_N="$GET_N"
  done
  if serves_spec "$target"; then plan_runs "$target"; fi
  local load
  load=$(rss "$PID")
  record "$target" rss 1 "{\"idle_kb\":${idle% *},\"load_kb\":${load% *},\"hwm_kb\":${load#* }}"
  stop
  if [ "$target" = pg ]; then drop_pg_db "$LAST_DB"; fi

  if [ "$target" = sqlite-mem ] && ! skipped journal; then
    if [ "$HAS_JOURNAL_FLAG" = 1 ]; then
      log "$target: GET x$RUNS with --journal-size 0"
      start "$target" --journal-size 0
      seed bget_ "$GET_N" >/dev/null
      wrk_run get.lua "$WARMUP" BENCH_N="$GET_N" >/dev/null
      for run in $(seq 1 "$RUNS"); do
        measure "$target" get_nojournal "$run" wrk_run get.lua "$DURATION" BENCH_N="$GET_N"
      done
      stop
    else
      log "orb-mock has no --journal-size yet: journal on/off not measured"
    fi
  fi
}

# The PostgreSQL DELETE limit: pgbench running orb-mock's DELETE transaction on a database seeded
# exactly like orb-mock's own, with as many clients as wrk has connections.
pgbench_limit() {
  log "limit: pgbench DELETE x$RUNS on a database seeded like orb-mock's"
  start pg
  local db=$LAST_DB
  seed bget_ "$GET_N" >/dev/null
  seed bdel_ $((RUNS * DEL_N)) >/dev/null
  stop
  local acct
  acct=$(psql -X -At -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$db" \
    -c "SELECT account FROM customers LIMIT 1")
  psql -X -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$db" -c "VACUUM ANALYZE" >/dev/null
  for run in $(seq 1 "$RUNS"); do
    rm -f "$WORK"/pgbench_log*
    local out
    out=$(cd "$WORK" && timeout 900 pgbench -n -M prepared -h "$PG_HOST" -p "$PG_PORT" \
      -U "$PG_USER" -c "$CONNECTIONS" -j "$THREADS" -t $((DEL_N / CONNECTIONS)) \
      -D acct="$acct" -D prefix=bdel_ -D n=$((RUNS * DEL_N)) -D from=$(((run - 1) * DEL_N)) \
      -D clients="$CONNECTIONS" -D i=0 -f "$BENCH/pg/delete.sql" \
      --log --log-prefix="$WORK/pgbench_log" "$db" 2>&1) || die "pgbench failed: $out"
    printf '%s\n' "$out" >"$WORK/pgbench.out"
    local figures
    figures=$(python3 - "$WORK" <<'EOF'
import glob, re, statistics, sys
text = open(sys.argv[1] + "/pgbench.out").read()
tps = float(re.search(r"tps = ([0-9.]+) \(without initial connection time\)", text).group(1))
failed = re.search(r"number of failed transactions: (\d+)", text)
lat = sorted(int(line.split()[2]) / 1000 for f in glob.glob(sys.argv[1] + "/pgbench_log*")
             for line in open(f) if line.strip())
q = statistics.quantiles(lat, n=100)
print(f'{{"rps":{tps:.2f},"p50_ms":{statistics.median(lat):.3f},"p99_ms":{q[98]:.3f},'
      f'"requests":{len(lat)},"non2xx":{int(failed.group(1)) if failed else 0},"socket_errors":0}}')
EOF
)
    record limit delete_pgbench "$run" "$figures"
  done
  drop_pg_db "$db"
}

# Seconds until every cascade is done: no customer is listed any more (a deleting customer still
# is, as {"id", "deleted": true}).
wait_all_gone() {
  local deadline=$(( $(date +%s) + 900 ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    if curl -sf -H "Authorization: Bearer $BENCH_KEY" "$URL/customers?limit=1" |
       grep -q '"data":\[\]'; then
      return 0
    fi
    sleep 0.05
  done
  die "cascades did not finish within 900 s"
}

cascade_drain() {
  local target=$1
  log "$target: cascade drain x$CASCADE_RUNS ($CASCADE_N customers x (1 + 5 + 5) rows)"
  for run in $(seq 1 "$CASCADE_RUNS"); do
    ORB_DELAY=0s start "$target"
    local seeded
    seeded=$(seed bcas_ "$CASCADE_N" --owned)
    local t0 t1
    t0=$(date +%s.%N)
    local del
    del=$(wrk_fixed 900 BENCH_PREFIX=bcas_ BENCH_N="$CASCADE_N" BENCH_FROM=0 \
      BENCH_COUNT="$CASCADE_N" BENCH_THREADS="$THREADS")
    wait_all_gone
    t1=$(date +%s.%N)
    local completed
    completed=$(curl -s -H "Authorization: Bearer $BENCH_KEY" "$URL/_mock/deletions" |
      python3 -c 'import json,sys
try: print(sum(d.get("state") == "completed" for d in json.load(sys.stdin)["data"]))
except Exception: print("None")')
    record "$target" cascade "$run" "$(python3 -c "
import json
d = json.loads('$del')
s = $t1 - $t0
print(json.dumps({'per_s': round($CASCADE_N / s, 2), 'seconds': round(s, 3),
  'customers': $CASCADE_N, 'delete_s': d['duration_s'], 'non2xx': d['non2xx'],
  'socket_errors': d['socket_errors'], 'completed_jobs': $completed, 'seed_s': $seeded}))")"
    stop
    if [ "$target" = pg ]; then drop_pg_db "$LAST_DB"; fi
  done
}

# The cascade limits: the same soft deletes as one statement, on a store orb-mock seeded.
cascade_limits() {
  if [ "$PG_OK" = 1 ] && wants pg; then
    log "limit: one-statement cascade on PostgreSQL x$CASCADE_RUNS"
    start pg
    local template=$LAST_DB
    seed bcas_ "$CASCADE_N" --owned >/dev/null
    stop
    local acct
    acct=$(psql -X -At -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$template" \
      -c "SELECT account FROM customers LIMIT 1")
    for run in $(seq 1 "$CASCADE_RUNS"); do
      fresh_pg_db "$template"
      local copy=$NEW_DB
      psql -X -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$copy" -c "VACUUM ANALYZE" >/dev/null
      local out ms
      out=$(psql -X -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$copy" -v acct="$acct" \
        -v ON_ERROR_STOP=1 -c '\timing on' -f "$BENCH/pg/cascade.sql" 2>&1) ||
        die "cascade statement failed: $out"
      ms=$(grep -o 'Time: [0-9.]*' <<<"$out" | tail -n 1 | cut -d' ' -f2)
      record limit cascade_pg "$run" "$(python3 -c "print('{\"per_s\":%.2f,\"seconds\":%.4f}' % ($CASCADE_N / ($ms / 1000), $ms / 1000))")"
      drop_pg_db "$copy"
    done
    drop_pg_db "$template"
  fi
  if wants sqlite-file; then
    log "limit: one-transaction cascade on a SQLite file x$CASCADE_RUNS"
    start sqlite-file
    seed bcas_ "$CASCADE_N" --owned >/dev/null
    stop
    for run in $(seq 1 "$CASCADE_RUNS"); do
      rm -f "$WORK"/limit.db*
      cp "$WORK/orb.db" "$WORK/limit.db"
      if [ -f "$WORK/orb.db-wal" ]; then cp "$WORK/orb.db-wal" "$WORK/limit.db-wal"; fi
      measure limit cascade_sqlite "$run" python3 - "$WORK/limit.db" "$BENCH/pg/cascade-sqlite.sql" <<EOF
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA synchronous=NORMAL")
sql = open(sys.argv[2]).read()
start = time.perf_counter()
conn.executescript(sql)
s = time.perf_counter() - start
print('{"per_s":%.2f,"seconds":%.4f}' % ($CASCADE_N / s, s))
EOF
    done
  fi
}

growth() {
  local target=$1
  for size in small big; do
    local n=$GROWTH_SMALL
    if [ "$size" = big ]; then n=$GROWTH_BIG; fi
    log "$target: growth, DELETE x$RUNS among $n customers"
    start "$target"
    # An in-memory store is seeded through fixtures; the others straight through SQL, which
    # loads 1,000,000 customers in seconds (see bench/lib/seed.py).
    local seeded how=--sql
    if [ "$target" = sqlite-mem ]; then how=; fi
    seeded=$(seed bgrw_ "$n" $how)
    wrk_run get.lua "$WARMUP" BENCH_PREFIX=bgrw_ BENCH_N="$n" >/dev/null
    for run in $(seq 1 "$RUNS"); do
      local figures
      figures=$(wrk_fixed "$DURATION" BENCH_PREFIX=bgrw_ BENCH_N="$n" \
        BENCH_FROM=$(((run - 1) * GROWTH_DEL)) BENCH_COUNT="$GROWTH_DEL" BENCH_THREADS="$THREADS")
      record "$target" "growth_$size" "$run" "{\"store\":$n,\"seed_s\":$seeded,${figures#\{}"
    done
    stop
    if [ "$target" = pg ]; then drop_pg_db "$LAST_DB"; fi
  done
}

# The webhook delivery row: a fresh orb-mock per run with one endpoint at the limit binary (the
# receiver, which counts); HOOK_N customers created as fast as 16 clients can, each emitting one
# customer.created; from the first POST until the receiver has counted HOOK_N deliveries.
webhook_delivery() {
  local target=$1
  log "$target: webhook delivery x$RUNS ($HOOK_N customer.created events to a local receiver)"
  local receiver=http://127.0.0.1:$PORT_LIMIT
  local pidfile=$WORK/pid.receiver
  python3 "$BENCH/lib/startup.py" --keep "$pidfile" --timeout 60 --log "$WORK/receiver.log" \
    "$receiver/health" -- "$LIMIT_BIN" "127.0.0.1:$PORT_LIMIT" >/dev/null
  local receiver_pid
  receiver_pid=$(cat "$pidfile")
  echo "$receiver_pid" >>"$WORK/pids"
  for run in $(seq 1 "$RUNS"); do
    start "$target"
    measure "$target" webhooks "$run" python3 "$BENCH/lib/webhooks.py" "$URL" "$receiver" "$HOOK_N"
    stop
    if [ "$target" = pg ]; then drop_pg_db "$LAST_DB"; fi
  done
  stop_pid "$receiver_pid"
  wait_port_free "$PORT_LIMIT"
}

# --- the run -------------------------------------------------------------------------------------

log "scratch: $WORK; sizes: GET $GET_N, DELETE $DEL_N/run, cascade $CASCADE_N, growth $GROWTH_SMALL vs $GROWTH_BIG ($GROWTH_DEL deletes/run), webhooks $HOOK_N/run"
for target in $TARGETS; do
  if [ "$target" = pg ] && [ "$PG_OK" = 0 ]; then continue; fi
  http_workloads "$target"
done
if [ "$PG_OK" = 1 ] && wants pg && ! skipped pgbench; then pgbench_limit; fi
if ! skipped webhooks; then
  for target in $WEBHOOK_STORES; do
    wants "$target" || continue
    [ "$target" = pg ] && [ "$PG_OK" = 0 ] && continue
    webhook_delivery "$target"
  done
fi
if ! skipped cascade; then
  for target in sqlite-mem sqlite-file pg; do
    wants "$target" || continue
    [ "$target" = pg ] && [ "$PG_OK" = 0 ] && continue
    cascade_drain "$target"
  done
  cascade_limits
fi
if ! skipped growth; then
  for target in $GROWTH_STORES; do
    wants "$target" || continue
    [ "$target" = pg ] && [ "$PG_OK" = 0 ] && continue
    growth "$target"
  done
fi

# --- the report ----------------------------------------------------------------------------------

WALL=$(( $(date +%s) - STARTED_AT ))
export META_DATE=$(date -u +"%Y-%m-%d %H:%M UTC")
export META_MACHINE="$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) memory, Linux $(uname -r)"
export META_VERSIONS="orb-mock $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- src migrations Cargo.toml Cargo.lock 2>/dev/null || echo '+uncommitted'), Prism $(node -p "require('$BENCH/peers/node_modules/@stoplight/prism-cli/package.json').version"), Steady $(node -p "require('$BENCH/peers/node_modules/@stdy/cli/package.json').version"), $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2), $(psql -X -At -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -c 'SHOW server_version' 2>/dev/null | sed 's/^/PostgreSQL /' | cut -d' ' -f1-2), node $(node -v), $(rustc --version | cut -d' ' -f1-2)"
export META_WALL="$((WALL / 60)) min $((WALL % 60)) s"
NOTES=()
[ "$HAS_JOURNAL_FLAG" = 1 ] || NOTES+=("orb-mock has no --journal-size flag in this build: the journal row is missing.")
[ "$PG_OK" = 1 ] || NOTES+=("PostgreSQL was not reachable: its column and pgbench are missing.")
export META_NOTES=$(printf '%s\n' "${NOTES[@]+"${NOTES[@]}"}")
python3 - "$WORK/meta.json" <<EOF
import json, os, sys
json.dump({
  "date": os.environ["META_DATE"], "machine": os.environ["META_MACHINE"],
  "versions": os.environ["META_VERSIONS"], "wall": os.environ["META_WALL"],
  "notes": [n for n in os.environ["META_NOTES"].split("\n") if n],
  "runs": $RUNS, "startup_runs": $STARTUP_RUNS, "prism_startup_runs": $PRISM_STARTUP_RUNS,
  "cascade_runs": $CASCADE_RUNS, "scale": "$SCALE", "duration": $DURATION,
  "threads": $THREADS, "connections": $CONNECTIONS, "get_n": $GET_N, "del_n": $DEL_N,
  "cascade_n": $CASCADE_N, "growth_small": $GROWTH_SMALL, "growth_big": $GROWTH_BIG,
  "hook_n": $HOOK_N,
}, open(sys.argv[1], "w"))
EOF
mkdir -p "$BENCH/results"
SUFFIX=""
[ "$SCALE" = 1 ] || SUFFIX="-scale$SCALE"
REPORT=$BENCH/results/$(date -u +%Y-%m-%d)$SUFFIX.md
python3 "$BENCH/lib/report.py" "$RESULTS" "$WORK/meta.json" >"$REPORT"
cp "$RESULTS" "${REPORT%.md}.jsonl"
REPORT_REL=${REPORT#$ROOT/}
cat "$REPORT"
log "report written to $REPORT_REL (raw figures: ${REPORT_REL%.md}.jsonl); wall time $META_WALL"
