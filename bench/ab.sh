#!/usr/bin/env bash
# Two builds of orb-mock, one write or read row, alternating (A B B A A B ...), so that both
# builds see the same minutes of a noisy machine. BENCHMARKS.md ("Group commit of customer
# writes") was measured with it. Usage:
#
#   bash bench/ab.sh OLD_BIN NEW_BIN [ROUNDS] [ROW] [STORE]
#     ROUNDS  rounds of two runs per build (default 3)
#     ROW     put | post | get (default put): wrk/put.lua, wrk/post.lua or wrk/get.lua
#     STORE   mem | file | pg (default mem): SQLite in memory, a SQLite file, or a fresh
#             PostgreSQL database `orbab` next to PG_URL
#
# Each run: a fresh server, 20,000 seeded customers, a 2-second GET warm-up, then a 5-second
# `wrk -t2 -c32` of the row. Prints one `old|new req/s` line per run, then each build's median
# and the ratio new / old. Builds older than the fixtures route cannot be seeded.
set -euo pipefail
shopt -s inherit_errexit

cd "$(dirname "$0")/.."
OLD_BIN=${1:?OLD_BIN}
NEW_BIN=${2:?NEW_BIN}
ROUNDS=${3:-3}
ROW=${4:-put}
STORE=${5:-mem}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-4799}
export BENCH_KEY=sk_test_bench BENCH_DIR=$PWD/bench
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)" >&2; exit 1; }
case $ROW in put | post | get) ;; *) echo "ROW is put, post or get" >&2; exit 2 ;; esac

WORK=$(mktemp -d /tmp/orb-ab.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

run_one() {
  local bin=$1 label=$2 db pid out
  case $STORE in
    mem) db=sqlite::memory: ;;
    file) rm -f "$WORK"/ab.db*; db="sqlite://$WORK/ab.db" ;;
    pg)
      psql -X -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS orbab WITH (FORCE)" \
        -c "CREATE DATABASE orbab" >/dev/null
      db="$PG_URL/orbab" ;;
    *) echo "STORE is mem, file or pg" >&2; exit 2 ;;
  esac
  RUST_LOG=warn "$bin" --listen "127.0.0.1:$PORT" --database-url "$db" --deletion-delay 60s \
    >"$WORK/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 200); do
    curl -sf "http://127.0.0.1:$PORT/_mock/health" >/dev/null && break
    sleep 0.05
  done
  python3 bench/lib/seed.py "http://127.0.0.1:$PORT" bget_ 20000 >/dev/null
  BENCH_N=20000 wrk -t2 -c32 -d2s -s bench/wrk/get.lua "http://127.0.0.1:$PORT" >/dev/null 2>&1
  out=$(BENCH_N=20000 wrk -t2 -c32 -d5s --timeout 10s -s "bench/wrk/$ROW.lua" \
    "http://127.0.0.1:$PORT" 2>&1)
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  echo "$label $(awk '/Requests\/sec/ {print $2}' <<<"$out")"
}

for round in $(seq 1 "$ROUNDS"); do
  if ((round % 2)); then
    run_one "$OLD_BIN" old; run_one "$NEW_BIN" new
  else
    run_one "$NEW_BIN" new; run_one "$OLD_BIN" old
  fi
done | tee "$WORK/runs"
python3 - "$WORK/runs" <<'EOF'
import statistics, sys
runs = {"old": [], "new": []}
for line in open(sys.argv[1]):
    label, rate = line.split()
    runs[label].append(float(rate))
old, new = (statistics.median(runs[k]) for k in ("old", "new"))
print(f"median old {old:,.0f} req/s, new {new:,.0f} req/s, new/old {new / old:.2f}")
EOF
