#!/usr/bin/env bash
# The README's examples, run as written: every block marked `<!-- readme-test: … -->` in
# README.md is extracted by tests/readme/extract.py and run against a live orb-mock, started with
# its default flags on a free port (the programs' 127.0.0.1:4010 is replaced by that port), once
# on in-memory SQLite and once on a fresh PostgreSQL database. Python programs run with the
# pinned orb-billing of tests/sdk (target/sdk/venv), Node programs with its npm install.
#
#   bash tests/readme/run.sh
#   ORB_MOCK_BIN=/path/to/orb-mock ...    # use that binary instead of `cargo build --locked`
#   README_STORES=sqlite|postgres|both    (default both)
#
# PostgreSQL: ORB_MOCK_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/postgres); if it
# is unreachable the PostgreSQL pass fails, unless ORB_MOCK_SKIP_POSTGRES=1 (never under CI=true).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"

section() { printf '\n==================== %s ====================\n' "$*"; }
die() { printf 'tests/readme: %s\n' "$*" >&2; exit 1; }
# shellcheck source=tests/lib.sh
source "$ROOT/tests/lib.sh"

STORES="${README_STORES:-both}"
PG_BASE="${ORB_MOCK_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}"
WORK="$(cargo_target_dir)/readme"
want_store() { [ "$STORES" = both ] || [ "$STORES" = "$1" ]; }

SERVER_PID=""
PG_DB=""
cleanup() {
  stop_orb_mock
  drop_postgres "$PG_BASE"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

section "orb-mock binary"
BIN="$(orb_mock_bin)"
[ -x "$BIN" ] || die "no executable at $BIN"
echo "using $BIN"

section "the SDKs the examples use"
VENV="$(sdk_python_venv)"
"$VENV/bin/python" -c 'import orb; print("Python orb-billing", orb.__version__)'
NODE_MODULES="$(sdk_node_modules)"
node -e "console.log('Node orb-billing', require('$NODE_MODULES/orb-billing/package.json').version)"

FAILED=()
SKIPPED=""

# run_store NAME DATABASE_URL
run_store() {
  local name="$1" db_url="$2" out="$WORK/$1" program
  rm -rf "$out"
  mkdir -p "$out"
  section "store: $name"
  start_orb_mock "$BIN" "$WORK/orb-mock-$name.log" --database-url "$db_url"
  echo "orb-mock at $SERVER_URL (log: $WORK/orb-mock-$name.log)"
  # Node resolves `import 'orb-billing'` from the program's directory upwards.
  ln -sfn "$NODE_MODULES" "$out/node_modules"
  local programs
  programs="$(python3 "$HERE/extract.py" README.md "$out" --address "${SERVER_URL#http://}")"
  for program in $programs; do
    printf -- '--- %s\n' "$program"
    local status=0
    case "$program" in
      *.py) (cd "$out" && "$VENV/bin/python" "$program") || status=$? ;;
      *.mjs) (cd "$out" && node "$program") || status=$? ;;
      *) die "no runner for $program" ;;
    esac
    if [ "$status" -eq 0 ]; then
      echo "ok: $program"
    else
      echo "FAILED: $program (exit $status; the program is $out/$program)"
      FAILED+=("$program on $name")
    fi
  done
  stop_orb_mock
}

if want_store sqlite; then
  run_store sqlite "sqlite::memory:"
fi

if want_store postgres; then
  if psql "$PG_BASE" -q -tAc 'SELECT 1' >/dev/null 2>&1; then
    fresh_postgres "$PG_BASE" orb_mock_readme
    run_store postgres "$PG_URL"
    drop_postgres "$PG_BASE"
  else
    postgres_unreachable "$PG_BASE"
  fi
fi

section "summary"
if [ "${#FAILED[@]}" -gt 0 ]; then
  printf 'FAILED: %s\n' "${FAILED[@]}"
  exit 1
fi
echo "every README example passed${SKIPPED:+; $SKIPPED}"
