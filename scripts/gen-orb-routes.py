#!/usr/bin/env python3
"""Generate src/http/orb_routes.txt from Orb's OpenAPI document.

Usage: python3 scripts/gen-orb-routes.py [path/to/orb-openapi.json]

Without an argument the document is ORB_OPENAPI (relative to the repository root), as
for the tests, else ../shared/orb-openapi/orb-openapi-4.69.0.json.

Only the method + path pairs are extracted; nothing else from the document
(schemas, descriptions, ...) goes into the project.
"""

import json
import os
import sys

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")

SCRIPT_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(SCRIPT_DIR)
DEFAULT_DOC = "../shared/orb-openapi/orb-openapi-4.69.0.json"
OUTPUT = os.path.join(REPO_ROOT, "src", "http", "orb_routes.txt")


def main() -> int:
    if len(sys.argv) > 1:
        # An explicit argument is an ordinary command-line path (relative to the cwd).
        doc_path = os.path.abspath(sys.argv[1])
    else:
        # ORB_OPENAPI or the default, relative to the repository root wherever we run from.
        named = os.environ.get("ORB_OPENAPI") or DEFAULT_DOC
        doc_path = os.path.normpath(os.path.join(REPO_ROOT, named))

    with open(doc_path, encoding="utf-8") as f:
        doc = json.load(f)

    version = doc.get("info", {}).get("version", "unknown")
    routes = set()
    for path, item in doc.get("paths", {}).items():
        if not isinstance(item, dict):
            continue
        for method in item:
            if method.lower() in HTTP_METHODS:
                routes.add((method.upper(), path))

    lines = [
        "# GENERATED FILE - do not edit by hand.",
        f"# Orb API routes (method + path) from {os.path.basename(doc_path)} (info.version {version}).",
        "# Regenerate: python3 scripts/gen-orb-routes.py [path/to/orb-openapi.json]",
    ]
    lines += [f"{m} {p}" for m, p in sorted(routes)]

    os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
    with open(OUTPUT, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {len(routes)} routes to {os.path.relpath(OUTPUT, REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
