#!/usr/bin/env bash
# Hostile input: schemathesis (PyPI, pinned below) fuzzes a live orb-mock with orb-mock's own
# OpenAPI document (GET /_mock/openapi.json). Fails on any 5xx, any response that violates the
# document (body schema, status code, content type), or any schemathesis error.
#
#   bash tests/schemathesis/run.sh              # in-memory SQLite, then a fresh PostgreSQL database
#   SCHEMATHESIS_STORES=sqlite|postgres|both   (default both)
#   ORB_MOCK_BIN=/path/to/orb-mock ...          # use that binary instead of `cargo build --locked`
#   SCHEMATHESIS_MAX_EXAMPLES=100               # test cases per operation and phase (default 100)
#   SCHEMATHESIS_SEED=1                         # fixed by default, so a CI failure reproduces
#   extra arguments are passed to `st run` (e.g. --include-path-regex invoices)
#   SCHEMATHESIS_SCHEMA=path.json               # fuzz with this document instead (tests/schemathesis/orb.sh)
#   ORB_MOCK_ARGS="--spec path.json"            # extra flags for orb-mock
#
# PostgreSQL: ORB_MOCK_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/postgres) names
# a database to connect to; a fresh database is created next to it and dropped afterwards. If it
# is unreachable the PostgreSQL pass fails, unless ORB_MOCK_SKIP_POSTGRES=1 (never under CI=true).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"

SCHEMATHESIS_VERSION="4.32.5"
STORES="${SCHEMATHESIS_STORES:-both}"
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-100}"
SEED="${SCHEMATHESIS_SEED:-20261128}"
PG_BASE="${ORB_MOCK_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}"
WORK="$ROOT/target/schemathesis${SCHEMATHESIS_WORK_SUFFIX:-}"
VENV="$ROOT/target/schemathesis-venv"
TOKEN="sk_test_schemathesis"

section() { printf '\n==================== %s ====================\n' "$*"; }
die() { printf 'tests/schemathesis: %s\n' "$*" >&2; exit 1; }
# shellcheck source=tests/lib.sh
source "$ROOT/tests/lib.sh"
want_store() { [ "$STORES" = both ] || [ "$STORES" = "$1" ]; }

# ---------------------------------------------------------------------------------------------
section "orb-mock binary"
BIN="$(orb_mock_bin)"
[ -x "$BIN" ] || die "no executable at $BIN"
echo "using $BIN"

section "schemathesis $SCHEMATHESIS_VERSION (venv at target/schemathesis-venv)"
if [ ! -x "$VENV/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$VENV"
fi
if [ "$("$VENV/bin/st" --version 2>/dev/null || true)" != "st, version $SCHEMATHESIS_VERSION" ]; then
  "$VENV/bin/pip" install --disable-pip-version-check -q "schemathesis==$SCHEMATHESIS_VERSION"
fi
"$VENV/bin/st" --version

# ---------------------------------------------------------------------------------------------
SERVER_PID=""
PG_DB=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
  if [ -n "$PG_DB" ]; then
    psql "$PG_BASE" -q -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 || true
    PG_DB=""
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

FAILED=()
SKIPPED=""
ST_ARGS=("$@")
mkdir -p "$WORK"

# run_store NAME DATABASE_URL
run_store() {
  local name="$1" db_url="$2" port log
  port="$(free_port)"
  log="$WORK/orb-mock-$name.log"
  section "store: $name — orb-mock on 127.0.0.1:$port (log: ${log#"$ROOT"/})"
  # Deletions cascade at once, so fuzzed reads also meet fully deleted resources.
  RUST_LOG="${RUST_LOG:-orb_mock=warn}" "$BIN" \
    --listen "127.0.0.1:$port" \
    --database-url "$db_url" \
    --deletion-delay 0s \
    ${ORB_MOCK_ARGS:-} \
    >"$log" 2>&1 &
  SERVER_PID=$!
  local ok=""
  for _ in $(seq 1 150); do
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 30 "$log" >&2; die "orb-mock exited during start-up ($name)"; }
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/_mock/health")" = 200 ]; then
      ok=1
      break
    fi
    sleep 0.2
  done
  [ -n "$ok" ] || { tail -n 30 "$log" >&2; die "orb-mock did not become healthy ($name)"; }

  section "store: $name — st run (max $MAX_EXAMPLES examples per operation, seed $SEED)"
  # st keeps a crash cache in its working directory: keep it under target/.
  st_run() {
    (cd "$WORK" && "$VENV/bin/st" run "${SCHEMATHESIS_SCHEMA:-http://127.0.0.1:$port/_mock/openapi.json}" \
      --url "http://127.0.0.1:$port/v1" \
      --header "Authorization: Bearer $TOKEN" \
      --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
      --max-examples "$MAX_EXAMPLES" \
      --seed "$SEED" \
      --workers 2 \
      --generation-with-security-parameters false \
      --generation-database none \
      --report junit --report-dir "$WORK/report-$name" \
      --no-color \
      ${SCHEMATHESIS_MAX_TIME:+--max-time "$SCHEMATHESIS_MAX_TIME"} \
      "${ST_ARGS[@]}") 2>&1 | tee "$WORK/st-$name.out"
    return "${PIPESTATUS[0]}"
  }
  if ! st_run; then
    # schemathesis itself can crash inside the Python interpreter ("Runtime Error", e.g. CPython's
    # "AST constructor recursion depth mismatch") while every generated case passed: that says
    # nothing about orb-mock, so the run is repeated once. A failed check is never repeated.
    if grep -q 'Runtime Error' "$WORK/st-$name.out" && ! grep -q '^Failures:' "$WORK/st-$name.out" &&
      grep -Eq '^  ([0-9]+) generated, \1 passed' "$WORK/st-$name.out"; then
      echo "schemathesis crashed with every case passing; running it once more ($name)"
      st_run || FAILED+=("$name")
    else
      FAILED+=("$name")
    fi
  fi
  # A panic is caught and answered as a 500, which the run above already fails on; say so
  # plainly anyway.
  if grep -q 'panicked' "$log"; then
    grep -m 5 'panicked' "$log" >&2
    FAILED+=("$name (orb-mock panicked)")
  fi
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

if want_store sqlite; then
  run_store sqlite "sqlite::memory:"
fi

if want_store postgres; then
  if psql "$PG_BASE" -q -tAc 'SELECT 1' >/dev/null 2>&1; then
    PG_DB="orb_mock_schemathesis_$$_$(date +%s)"
    psql "$PG_BASE" -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$PG_DB\"" >/dev/null
    pg_url="$(printf '%s' "$PG_BASE" | sed -E "s#^(postgres(ql)?://[^/]*)(/[^?]*)?#\1/$PG_DB#")"
    run_store postgres "$pg_url"
    psql "$PG_BASE" -q -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null
    PG_DB=""
  else
    postgres_unreachable "$PG_BASE"
  fi
fi

section "summary"
if [ "${#FAILED[@]}" -gt 0 ]; then
  printf 'FAILED: %s\n' "${FAILED[@]}"
  exit 1
fi
echo "schemathesis found nothing${SKIPPED:+; $SKIPPED}"
