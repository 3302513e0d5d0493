#!/usr/bin/env bash
# Official-SDK fidelity suites: the Python (orb-billing 4.90.0, strict response validation) and
# Node (orb-billing 6.11.0) SDKs against a real orb-mock, once on in-memory SQLite and once on a
# fresh PostgreSQL database. orb-mock runs with `--spec` Orb's OpenAPI document, so the suites
# also call the SDK resources orb-mock does not model (test_spec_resources.py,
# spec-resources.test.mjs) and check the modelled routes stay authoritative beside it.
#
#   bash tests/sdk/run.sh                 # both SDKs, both stores
#   ORB_MOCK_BIN=/path/to/orb-mock ...    # use that binary instead of `cargo build --locked`
#   SDK_SUITES=python|node|both  (default both)
#   SDK_STORES=sqlite|postgres|both  (default both)
#   ORB_OPENAPI=path/to/orb-openapi.json  (default ../shared/orb-openapi/orb-openapi-4.69.0.json)
#   extra arguments are passed to pytest (e.g. -k idempotent -x)
#
# Without Orb's document this fails, unless ORB_MOCK_SKIP_OPENAPI=1 (ignored under CI=true): then
# orb-mock runs without `--spec` and the spec-resource tests are skipped, loudly.
#
# PostgreSQL: ORB_MOCK_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/postgres) names
# a database to connect to; a fresh database is created next to it and dropped afterwards. If it
# is unreachable the PostgreSQL pass fails, unless ORB_MOCK_SKIP_POSTGRES=1 (never under CI=true).
set -euo pipefail

SDK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SDK_DIR/../.." && pwd)"
cd "$ROOT"

SUITES="${SDK_SUITES:-both}"
STORES="${SDK_STORES:-both}"
PG_BASE="${ORB_MOCK_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}"
WORK="$ROOT/target/sdk"
VENV="$WORK/venv"
# One account per test: the suites take keys from this list in order, never twice. The Node test
# files run in processes of their own, so each takes keys from its own block of the list
# (helpers.mjs): 128 leaves each of the three files 42.
KEY_COUNT=128

section() { printf '\n==================== %s ====================\n' "$*"; }
die() { printf 'tests/sdk: %s\n' "$*" >&2; exit 1; }
# shellcheck source=tests/lib.sh
source "$ROOT/tests/lib.sh"

# Orb's OpenAPI document, for --spec.
DOCUMENT="${ORB_OPENAPI:-$ROOT/../shared/orb-openapi/orb-openapi-4.69.0.json}"
SPEC_ARGS=()
SPEC_SKIPPED=""
if [ -f "$DOCUMENT" ]; then
  DOCUMENT="$(cd "$(dirname "$DOCUMENT")" && pwd)/$(basename "$DOCUMENT")"
  SPEC_ARGS=(--spec "$DOCUMENT")
  export ORB_MOCK_SDK_SPEC=1
elif [ "${ORB_MOCK_SKIP_OPENAPI:-}" = 1 ] && [ "${CI:-}" != true ]; then
  SPEC_SKIPPED="spec-resource tests SKIPPED (Orb's document $DOCUMENT is missing, ORB_MOCK_SKIP_OPENAPI=1)"
  export ORB_MOCK_SDK_SPEC=0
else
  die "Orb's OpenAPI document $DOCUMENT is missing: set ORB_OPENAPI to its path, or ORB_MOCK_SKIP_OPENAPI=1 to skip the spec-resource tests"
fi

want_suite() { [ "$SUITES" = both ] || [ "$SUITES" = "$1" ]; }
want_store() { [ "$STORES" = both ] || [ "$STORES" = "$1" ]; }

# ---------------------------------------------------------------------------------------------
section "orb-mock binary"
BIN="$(orb_mock_bin)"
[ -x "$BIN" ] || die "no executable at $BIN"
echo "using $BIN"
"$BIN" --version

# ---------------------------------------------------------------------------------------------
mkdir -p "$WORK"
if want_suite python; then
  section "Python SDK (venv at target/sdk/venv)"
  VENV="$(sdk_python_venv)"
  "$VENV/bin/python" -c 'import orb, pytest; print("orb-billing", orb.__version__, "/ pytest", pytest.__version__)'
fi

if want_suite node; then
  section "Node SDK (npm ci in tests/sdk/node)"
  sdk_node_modules >/dev/null
  node --version
  node -e 'console.log("orb-billing", require("./tests/sdk/node/node_modules/orb-billing/package.json").version)'
fi

# ---------------------------------------------------------------------------------------------
KEYS_PY=""
KEYS_NODE=""
for i in $(seq -w 1 "$KEY_COUNT"); do
  KEYS_PY="${KEYS_PY:+$KEYS_PY,}sk_test_sdk_py_$i"
  KEYS_NODE="${KEYS_NODE:+$KEYS_NODE,}sk_test_sdk_node_$i"
done

SERVER_PID=""
PG_DB=""
PG_ADMIN_URL=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
  if [ -n "$PG_DB" ]; then
    psql "$PG_ADMIN_URL" -q -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 || true
    PG_DB=""
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

FAILED=()
SKIPPED=""

# run_store NAME DATABASE_URL
run_store() {
  local name="$1" db_url="$2" port log
  port="$(free_port)"
  log="$WORK/orb-mock-$name.log"
  section "store: $name — starting orb-mock on 127.0.0.1:$port (log: ${log#"$ROOT"/})"
  # A long deletion delay: cascades run only when a test asks (POST /_mock/deletions/complete),
  # so "being deleted" is observable for as long as a test needs. A 10ms webhook retry base:
  # a flush (POST /_mock/webhooks/flush) then sees a failing receiver's retries.
  RUST_LOG="${RUST_LOG:-orb_mock=info,tower_http=warn}" "$BIN" \
    --listen "127.0.0.1:$port" \
    --database-url "$db_url" \
    --api-keys "$KEYS_PY,$KEYS_NODE" \
    --deletion-delay 1h \
    --webhook-retry-base 10ms \
    "${SPEC_ARGS[@]}" \
    >"$log" 2>&1 &
  SERVER_PID=$!

  local ok=""
  for _ in $(seq 1 150); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      tail -n 30 "$log" >&2
      die "orb-mock exited during start-up ($name)"
    fi
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/_mock/health")" = 200 ]; then
      ok=1
      break
    fi
    sleep 0.2
  done
  [ -n "$ok" ] || { tail -n 30 "$log" >&2; die "orb-mock did not answer GET /_mock/health with 200 ($name)"; }
  echo "healthy"

  export ORB_MOCK_URL="http://127.0.0.1:$port"

  if want_suite python; then
    section "store: $name — Python SDK suite (pytest)"
    if ! ORB_MOCK_SDK_KEYS="$KEYS_PY" "$VENV/bin/python" -m pytest "$SDK_DIR/python" \
      -p no:cacheprovider -q -ra --tb=short "${PYTEST_ARGS[@]}"; then
      FAILED+=("python on $name")
    fi
  fi

  if want_suite node; then
    section "store: $name — Node SDK suite (node --test)"
    if ! (cd "$SDK_DIR/node" && ORB_MOCK_SDK_KEYS="$KEYS_NODE" node --test --test-reporter=spec test/*.test.mjs); then
      FAILED+=("node on $name")
    fi
  fi

  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

PYTEST_ARGS=("$@")

if want_store sqlite; then
  run_store sqlite "sqlite::memory:"
fi

if want_store postgres; then
  PG_ADMIN_URL="$PG_BASE"
  if psql "$PG_ADMIN_URL" -q -tAc 'SELECT 1' >/dev/null 2>&1; then
    PG_DB="orb_mock_sdk_$$_$(date +%s)"
    psql "$PG_ADMIN_URL" -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$PG_DB\"" >/dev/null
    # Same server and credentials, the fresh database instead of the admin one.
    pg_url="$(printf '%s' "$PG_BASE" | sed -E "s#^(postgres(ql)?://[^/]*)(/[^?]*)?#\1/$PG_DB#")"
    run_store postgres "$pg_url"
    psql "$PG_ADMIN_URL" -q -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null
    PG_DB=""
  else
    section "store: postgres"
    postgres_unreachable "$PG_BASE"
  fi
fi

section "summary"
if [ -n "$SPEC_SKIPPED" ]; then
  printf '\n!!!!!!!!!! %s !!!!!!!!!!\n\n' "$SPEC_SKIPPED"
fi
if [ "${#FAILED[@]}" -gt 0 ]; then
  printf 'FAILED: %s\n' "${FAILED[@]}"
  exit 1
fi
if [ -n "$SKIPPED" ] || [ -n "$SPEC_SKIPPED" ]; then
  echo "all SDK suites that ran passed; ${SKIPPED}${SKIPPED:+${SPEC_SKIPPED:+; }}$SPEC_SKIPPED"
else
  echo "all SDK suites passed"
fi
