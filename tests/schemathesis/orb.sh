#!/usr/bin/env bash
# schemathesis with ORB'S OpenAPI document against orb-mock started as `--spec` that document:
# every one of Orb's operations, the modelled ones (which may answer 404 for ids they do not
# hold, as the document allows) and the generated ones. Fails on any 5xx or any response that
# violates Orb's document. Bounded for CI: few examples per operation (a few minutes on 2 cores).
#
#   bash tests/schemathesis/orb.sh
#   ORB_OPENAPI=path/to/orb-openapi.json     (default ../shared/orb-openapi/orb-openapi-4.69.0.json)
#   SCHEMATHESIS_MAX_EXAMPLES=2, SCHEMATHESIS_STORES, ORB_MOCK_BIN: as for tests/schemathesis/run.sh
#
# Without the document this fails, unless ORB_MOCK_SKIP_OPENAPI=1 (then it skips, loudly).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

DOCUMENT="${ORB_OPENAPI:-$ROOT/../shared/orb-openapi/orb-openapi-4.69.0.json}"
if [ ! -f "$DOCUMENT" ]; then
  if [ "${ORB_MOCK_SKIP_OPENAPI:-}" = 1 ]; then
    echo "!!!!!!!!!! SKIPPED: Orb's OpenAPI document $DOCUMENT is missing (ORB_MOCK_SKIP_OPENAPI=1) !!!!!!!!!!"
    exit 0
  fi
  echo "tests/schemathesis/orb.sh: Orb's OpenAPI document $DOCUMENT is missing: set ORB_OPENAPI, or ORB_MOCK_SKIP_OPENAPI=1 to skip" >&2
  exit 1
fi
DOCUMENT="$(cd "$(dirname "$DOCUMENT")" && pwd)/$(basename "$DOCUMENT")"

SCHEMATHESIS_SCHEMA="$DOCUMENT" \
ORB_MOCK_ARGS="--spec $DOCUMENT" \
SCHEMATHESIS_WORK_SUFFIX="-orb" \
SCHEMATHESIS_MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-2}" \
  exec bash "$HERE/run.sh" --phases fuzzing "$@"
