#!/usr/bin/env bash
# What the account clock costs the hot rows (README, "Moving time"; BENCHMARKS.md, "The account
# clock"): GET /customers/{id} and DELETE /customers/{id} for an account whose clock is a year
# ahead (POST /_mock/clock) against an account on real time, on one server in one run. The two
# accounts alternate (real, moved, then moved, real, ...) so that both see the same minutes of
# a noisy machine. Usage:
#
#   bash bench/clock.sh [ROUNDS] [STORE]
#     ROUNDS  rounds (default 3); each runs GET, then DELETE, for both accounts
#     STORE   mem | pg (default mem): SQLite in memory, or a fresh PostgreSQL database `orbclock`
#             next to PG_URL
#   ORB_MOCK_BIN  the binary (default: target/release/orb-mock, built with --locked)
#
# GET: a 5-second `wrk -t2 -c32` of get.lua over BENCH_N (20,000) seeded customers. DELETE:
# delete.lua over BENCH_N customers seeded for the round, each deleted once (cascades an hour
# ahead, so the row measures the request). Prints one `row account req/s` line per run, then
# each row's medians and the ratio moved / real.
set -euo pipefail
shopt -s inherit_errexit

cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
STORE=${2:-mem}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-4798}
N=${BENCH_N:-20000}
URL="http://127.0.0.1:$PORT"
export BENCH_DIR=$PWD/bench
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)" >&2; exit 1; }
if [ -z "${ORB_MOCK_BIN:-}" ]; then
  cargo build --release --locked -q
  ORB_MOCK_BIN=target/release/orb-mock
fi

WORK=$(mktemp -d /tmp/orb-clock.XXXXXX)
PID=""
cleanup() {
  [ -z "$PID" ] || kill "$PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

case $STORE in
  mem) DB=sqlite::memory: ;;
  pg)
    psql -X -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS orbclock WITH (FORCE)" \
      -c "CREATE DATABASE orbclock" >/dev/null
    DB="$PG_URL/orbclock" ;;
  *) echo "STORE is mem or pg" >&2; exit 2 ;;
esac
RUST_LOG=warn "$ORB_MOCK_BIN" --listen "127.0.0.1:$PORT" --database-url "$DB" \
  --deletion-delay 1h >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 200); do
  curl -sf "$URL/_mock/health" >/dev/null && break
  sleep 0.05
done

REAL=sk_test_clock_real
MOVED=sk_test_clock_moved
for key in $REAL $MOVED; do
  BENCH_KEY=$key python3 bench/lib/seed.py "$URL" bget_ "$N" >/dev/null
done
curl -sf -X POST "$URL/_mock/clock" -H "Authorization: Bearer $MOVED" \
  -H 'Content-Type: application/json' -d '{"advance": "365d"}' >/dev/null

label() { [ "$1" = "$MOVED" ] && echo moved || echo real; }

get_run() {  # get_run KEY: prints req/s
  BENCH_KEY=$1 BENCH_N=$N wrk -t2 -c32 -d5s --timeout 10s -s bench/wrk/get.lua "$URL" 2>&1 |
    awk '/Requests\/sec/ {print $2}'
}

delete_run() {  # delete_run KEY PREFIX: deletes N seeded customers once each; prints req/s
  local marks=$WORK/marks wpid
  rm -rf "$marks"
  mkdir -p "$marks"
  BENCH_KEY=$1 python3 bench/lib/seed.py "$URL" "$2" "$N" >/dev/null
  BENCH_KEY=$1 BENCH_PREFIX=$2 BENCH_N=$N BENCH_COUNT=$N BENCH_THREADS=2 \
    BENCH_MARK_DIR=$marks wrk -t2 -c32 -d120s --timeout 10s -s bench/wrk/delete.lua "$URL" \
    >"$WORK/wrk.out" 2>&1 &
  wpid=$!
  while kill -0 "$wpid" 2>/dev/null; do
    if [ "$(find "$marks" -type f | wc -l)" -ge 2 ]; then
      kill -INT "$wpid" 2>/dev/null || true
      break
    fi
    sleep 0.02
  done
  wait "$wpid" || true
  python3 -c 'import json,sys; print(json.loads(sys.argv[1].split(" ",1)[1])["rps"])' \
    "$(grep '^BENCHJSON ' "$WORK/wrk.out" | head -n 1)"
}

# Warm-up, both accounts.
for key in $REAL $MOVED; do get_run "$key" >/dev/null; done

for round in $(seq 1 "$ROUNDS"); do
  if ((round % 2)); then order="$REAL $MOVED"; else order="$MOVED $REAL"; fi
  for key in $order; do echo "get $(label "$key") $(get_run "$key")"; done
  for key in $order; do
    echo "delete $(label "$key") $(delete_run "$key" "bdel${round}$(label "$key")_")"
  done
done | tee "$WORK/runs"

python3 - "$WORK/runs" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    row, account, rate = line.split()
    runs.setdefault(row, {}).setdefault(account, []).append(float(rate))
for row, accounts in runs.items():
    real, moved = (statistics.median(accounts[k]) for k in ("real", "moved"))
    print(f"{row}: median real {real:,.0f} req/s, moved {moved:,.0f} req/s, moved/real {moved / real:.2f}")
PY
if [ "$STORE" = pg ]; then
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
  psql -X -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS orbclock WITH (FORCE)" >/dev/null
fi
