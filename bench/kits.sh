#!/usr/bin/env bash
# Start-up of the Python kit beside the executable's own (BENCHMARKS.md, "Test kits"):
#   - the executable: exec -> first healthy answer (bench/lib/startup.py, as bench/run.sh does);
#   - Python: OrbMock() -> first successful request with a fresh account
#     (bench/lib/orbmock_startup.py: spawn, ready line, health check, one Orb request).
# Both use the same executable: ORB_MOCK_BIN, else target/release/orb-mock, else target/debug.
#   bash bench/kits.sh [RUNS]      (default 10)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${1:-10}"
BIN="${ORB_MOCK_BIN:-}"
if [ -z "$BIN" ]; then
  for candidate in "$ROOT/target/release/orb-mock" "$ROOT/target/debug/orb-mock"; do
    [ -x "$candidate" ] && { BIN="$candidate"; break; }
  done
fi
[ -x "$BIN" ] || { echo "no orb-mock executable: cargo build --release, or set ORB_MOCK_BIN" >&2; exit 1; }
PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import httpx' 2>/dev/null || { echo "$PYTHON lacks httpx (pip install httpx)" >&2; exit 1; }
echo "executable: $BIN ($("$BIN" --version)); $RUNS runs each"

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

binary=()
for _ in $(seq 1 "$RUNS"); do
  port="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  binary+=("$("$PYTHON" "$ROOT/bench/lib/startup.py" "http://127.0.0.1:$port/_mock/health" -- \
    "$BIN" --listen "127.0.0.1:$port")")
done
python_runs="$(ORB_MOCK_BIN="$BIN" PYTHONPATH="$ROOT/python" "$PYTHON" "$ROOT/bench/lib/orbmock_startup.py" "$RUNS")"

printf '| what | median | runs (ms) |\n|---|---|---|\n'
printf '| executable: exec -> first healthy answer | %s ms | %s |\n' \
  "$(printf '%s\n' "${binary[@]}" | median)" "$(echo "${binary[*]}")"
printf '| Python `OrbMock()` -> first successful request | %s ms | %s |\n' \
  "$(echo "$python_runs" | median)" "$(echo $python_runs)"
