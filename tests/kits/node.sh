#!/usr/bin/env bash
# The npm kit, as a user gets it: put the orb-mock executable into npm/linux-x64/bin, `npm pack`
# the root package and the platform package, install both tarballs and the Node SDK into a
# scratch project with --ignore-scripts, and run tests/kits/node/kit.test.mjs there.
#
#   bash tests/kits/node.sh
#   ORB_MOCK_BIN=/path/to/orb-mock ...   # package that binary instead of `cargo build --locked`
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
WORK="$ROOT/target/kits"
SCRATCH="$WORK/node-scratch"
section() { printf '\n==================== %s ====================\n' "$*"; }

section "orb-mock executable"
if [ -n "${ORB_MOCK_BIN:-}" ]; then
  BIN="$ORB_MOCK_BIN"
else
  cargo build --locked
  BIN="$ROOT/target/debug/orb-mock"
fi
"$BIN" --version

section "npm pack (npm/orb-mock, npm/linux-x64)"
mkdir -p "$WORK/npm"
rm -f "$WORK"/npm/*.tgz
# Without its debug info (200 MB -> 17 MB for a debug build), so that pack and install are quick.
mkdir -p "$WORK/stripped"
strip -o "$WORK/stripped/orb-mock" "$BIN"
node npm/platform-package.js linux-x64 "$WORK/stripped/orb-mock"
(cd npm/orb-mock && npm pack --silent --pack-destination "$WORK/npm")
(cd npm/linux-x64 && npm pack --silent --pack-destination "$WORK/npm")
ls -l "$WORK"/npm/*.tgz

section "scratch project: npm install --ignore-scripts"
rm -rf "$SCRATCH"
mkdir -p "$SCRATCH"
cp tests/kits/node/kit.test.mjs "$SCRATCH/"
cat >"$SCRATCH/package.json" <<'JSON'
{ "name": "orb-mock-kit-check", "private": true, "type": "module" }
JSON
# The platform package's tarball first, so that the root package's optional dependency on it
# is met locally; the other platforms' packages do not apply to this machine.
(cd "$SCRATCH" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error \
  "$WORK"/npm/orb-mock-linux-x64-*.tgz "$WORK"/npm/orb-mock-0*.tgz orb-billing@6.11.0)
[ ! -e "$SCRATCH/node_modules/.bin/orb-mock" ] || echo "bin shim: node_modules/.bin/orb-mock"

section "node --test through startOrbMock() and orb-billing"
(cd "$SCRATCH" && env -u ORB_MOCK_BIN -u ORB_MOCK_URL node --test --test-reporter=spec kit.test.mjs)
