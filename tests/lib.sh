# Shared by the scripts under tests/ (source it): where the orb-mock binary is, the pinned SDK
# environments, and starting orb-mock on a free port. Callers set `set -euo pipefail`, ROOT (the
# project root) and define die().

# Prints the path of the orb-mock binary: $ORB_MOCK_BIN if set, else a `cargo build --locked`
# debug build, found where cargo says its target directory is (so CARGO_TARGET_DIR and
# .cargo/config.toml are honoured).
orb_mock_bin() {
  if [ -n "${ORB_MOCK_BIN:-}" ]; then
    printf '%s\n' "$ORB_MOCK_BIN"
    return
  fi
  (cd "$ROOT" && cargo build --locked >&2)
  printf '%s/debug/orb-mock\n' "$(cargo_target_dir)"
}

# Cargo's target directory for this project.
cargo_target_dir() {
  (cd "$ROOT" && cargo metadata --format-version 1 --no-deps) |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'
}

# A TCP port that was free a moment ago.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# The pinned Python SDK (tests/sdk/python/requirements.txt) in target/sdk/venv; prints the venv.
sdk_python_venv() {
  local venv="$ROOT/target/sdk/venv" req="$ROOT/tests/sdk/python/requirements.txt"
  local stamp="$venv/.requirements.sha256"
  if [ ! -x "$venv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$venv" >&2
  fi
  # Reinstall only when requirements.txt changed.
  if ! sha256sum --status -c "$stamp" 2>/dev/null; then
    "$venv/bin/pip" install --disable-pip-version-check -q -r "$req" >&2
    sha256sum "$req" >"$stamp"
  fi
  printf '%s\n' "$venv"
}

# The pinned Node SDK (tests/sdk/node/package-lock.json), installed with npm ci; prints its
# node_modules directory.
sdk_node_modules() {
  (cd "$ROOT/tests/sdk/node" && npm ci --no-audit --no-fund --loglevel=error >&2)
  printf '%s\n' "$ROOT/tests/sdk/node/node_modules"
}

# start_orb_mock BIN LOG ARGS...: starts orb-mock on a free port with ARGS, waits until
# GET /_mock/health answers 200, and sets SERVER_PID and SERVER_URL (http://127.0.0.1:PORT).
# The caller stops it with stop_orb_mock (also from its EXIT trap).
start_orb_mock() {
  local bin="$1" log="$2" port
  shift 2
  port="$(free_port)"
  "$bin" --listen "127.0.0.1:$port" "$@" >"$log" 2>&1 &
  SERVER_PID=$!
  SERVER_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 150); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      tail -n 30 "$log" >&2
      SERVER_PID=""
      die "orb-mock exited during start-up (log: $log)"
    fi
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "$SERVER_URL/_mock/health")" = 200 ]; then
      return 0
    fi
    sleep 0.2
  done
  tail -n 30 "$log" >&2
  die "orb-mock did not answer GET /_mock/health with 200 (log: $log)"
}

stop_orb_mock() {
  if [ -n "${SERVER_PID:-}" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}

# fresh_postgres BASE_URL PREFIX: creates a fresh database next to BASE_URL's and sets PG_DB (its
# name, for drop_postgres) and PG_URL (same server and credentials, the new database).
fresh_postgres() {
  local base="$1" prefix="$2"
  PG_DB="${prefix}_$$_$(date +%s)"
  psql "$base" -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$PG_DB\"" >/dev/null
  PG_URL="$(printf '%s' "$base" | sed -E "s#^(postgres(ql)?://[^/]*)(/[^?]*)?#\1/$PG_DB#")"
}

# drop_postgres BASE_URL: drops the database fresh_postgres made, if any.
drop_postgres() {
  if [ -n "${PG_DB:-}" ]; then
    psql "$1" -q -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 || true
    PG_DB=""
  fi
}

# postgres_unreachable BASE_URL: the PostgreSQL pass cannot run. It fails, unless
# ORB_MOCK_SKIP_POSTGRES=1 opts out, which CI=true never does; an opt-out is said loudly and
# recorded in SKIPPED for the summary. A green run therefore means both stores ran.
postgres_unreachable() {
  if [ "${CI:-}" = true ] || [ "${ORB_MOCK_SKIP_POSTGRES:-}" != 1 ]; then
    die "PostgreSQL at $1 is unreachable: the PostgreSQL pass is required (ORB_MOCK_SKIP_POSTGRES=1 skips it, outside CI only)"
  fi
  printf '\n!!!!!!!!!! SKIPPED: PostgreSQL at %s is unreachable; the PostgreSQL pass did not run (ORB_MOCK_SKIP_POSTGRES=1) !!!!!!!!!!\n\n' "$1"
  SKIPPED="PostgreSQL pass SKIPPED (unreachable, ORB_MOCK_SKIP_POSTGRES=1)"
}
