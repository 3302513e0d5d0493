#!/usr/bin/env bash
# The npm kit, as a user gets it: put the orb-mock executable into npm/linux-x64/bin, `npm pack`
# the root package and the platform package, install both tarballs, the Node SDK and vitest into
# a scratch project with --ignore-scripts, and run tests/kits/node/kit.test.mjs there with
# `vitest run`, its globalSetup being the example the orb-mock package ships
# (tests/kits/node/vitest.config.mjs).
#
#   bash tests/kits/node.sh
#   ORB_MOCK_BIN=/path/to/orb-mock ...   # package that binary instead of `cargo build --locked`
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=tests/lib.sh
source tests/lib.sh
WORK="$(cargo_target_dir)/kits"
SCRATCH="$WORK/node-scratch"
die() { echo "node.sh: $*" >&2; exit 1; }
section() { printf '\n==================== %s ====================\n' "$*"; }

section "orb-mock executable"
BIN="$(orb_mock_bin)"
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
cp tests/kits/node/kit.test.mjs tests/kits/node/vitest.config.mjs "$SCRATCH/"
cat >"$SCRATCH/package.json" <<'JSON'
{ "name": "orb-mock-kit-check", "private": true, "type": "module" }
JSON
# The platform package's tarball first, so that the root package's optional dependency on it
# is met locally; the other platforms' packages do not apply to this machine. vite is pinned
# beside vitest because vitest 3 accepts vite 5 to 7, and vite 7 needs Node 20.19 or later.
(cd "$SCRATCH" && npm install --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error \
  "$WORK"/npm/orb-mock-linux-x64-*.tgz "$WORK"/npm/orb-mock-0*.tgz orb-billing@6.11.0 \
  vitest@3.2.7 vite@6.4.6)
[ -x "$SCRATCH/node_modules/.bin/orb-mock" ] || die "npm installed no orb-mock bin shim"

section "vitest run: the globalSetup example, startOrbMock() and orb-billing"
(cd "$SCRATCH" && env -u ORB_MOCK_BIN -u ORB_MOCK_URL ./node_modules/.bin/vitest run)
