#!/usr/bin/env bash
# The Python kit, as a user gets it: build the `orb-mock` wheel with maturin, install it into a
# fresh virtualenv, and run tests/kits/python/test_plugin.py (which uses only the plugin's
# fixtures) three ways: plainly, under pytest-xdist `-n 2` (one orb-mock per worker), and with
# ORB_MOCK_URL naming an orb-mock that is already running (the installed executable, started
# here with `--listen 127.0.0.1:0`; its port read from its ready line).
#
#   bash tests/kits/python.sh
#   KITS_PROFILE=release ...   # build the wheel as the release does (default dev: the debug
#                              # build CI already has, so only the link is new)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=tests/lib.sh
source tests/lib.sh
WORK="$(cargo_target_dir)/kits"
TOOLS="$WORK/tools"
VENV="$WORK/python-venv"
PROFILE="${KITS_PROFILE:-dev}"
section() { printf '\n==================== %s ====================\n' "$*"; }

section "maturin (target/kits/tools)"
if [ ! -x "$TOOLS/bin/maturin" ]; then
  python3 -m venv "$TOOLS"
  "$TOOLS/bin/pip" install --disable-pip-version-check -q maturin==1.16.0
fi
"$TOOLS/bin/maturin" --version

section "wheel (maturin build --profile $PROFILE)"
rm -rf "$WORK/wheels"
start=$(date +%s)
"$TOOLS/bin/maturin" build --locked --profile "$PROFILE" --strip --out "$WORK/wheels"
echo "wheel built in $(( $(date +%s) - start )) s"
WHEEL="$(ls "$WORK"/wheels/orb_mock-*.whl)"

section "fresh virtualenv with the wheel"
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --disable-pip-version-check -q "$WHEEL" \
  -r tests/sdk/python/requirements.txt pytest-xdist==3.8.0 execnet==2.1.2
"$VENV/bin/orb-mock" --version
"$VENV/bin/python" -c 'import orb_mock; print("orb_mock from", orb_mock.__file__)'

# The virtualenv is not activated: the plugin finds the executable next to its Python.
run_pytest() { (cd "$WORK" && "$VENV/bin/python" -m pytest "$ROOT/tests/kits/python" -p no:cacheprovider -q "$@"); }

section "pytest: the plugin starts orb-mock"
run_pytest
section "pytest -n 2: one orb-mock per xdist worker"
run_pytest -n 2

section "pytest with ORB_MOCK_URL: attach to a running orb-mock"
READY="$WORK/ready.json"
rm -f "$READY"
"$VENV/bin/orb-mock" --listen 127.0.0.1:0 >"$READY" 2>"$WORK/orb-mock-attach.log" &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true' EXIT
URL=""
for _ in $(seq 1 300); do
  URL="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["url"])' "$READY" 2>/dev/null)" && break
  kill -0 "$SERVER" || { cat "$WORK/orb-mock-attach.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$URL" ] || { echo "no ready line from orb-mock" >&2; exit 1; }
echo "orb-mock is running at $URL"
ORB_MOCK_URL="$URL" ORB_MOCK_EXPECT_URL="$URL" run_pytest -n 2
kill "$SERVER"
wait "$SERVER" || true
