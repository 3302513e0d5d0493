#!/usr/bin/env python3
"""Pulls the runnable code blocks out of the README, so that CI runs what readers read.

A fenced block is a test when the line just above its opening fence is a marker:

    <!-- readme-test: python testing -->     language, then the name of a program

Blocks with the same language and name are joined, in README order, into one program (a later
block may use what an earlier one defined, as a reader pasting them in order would). A block
that a reader cannot run as is says why instead:

    <!-- readme-test: none (not tested in CI: Go's module proxy is not reachable) -->

Every ```python, ```js, ```go and ```java block must carry one of the two, so a new snippet
cannot slip past CI. `127.0.0.1:4010` in a program is replaced by --address, the orb-mock the
runner started.

    extract.py README.md OUT_DIR --address 127.0.0.1:PORT
writes OUT_DIR/<language>-<name>.<py|mjs> and prints one file name per line.
"""

import argparse
import re
import sys
from pathlib import Path

MARKER = re.compile(r"^<!--\s*readme-test:\s*(?P<spec>.*?)\s*-->\s*$")
FENCE = re.compile(r"^(?P<fence>```+)(?P<lang>[\w+-]*)\s*$")
CHECKED = {"python", "py", "js", "javascript", "mjs", "go", "java"}
LANGUAGES = {"python": ("python", "py"), "node": ("node", "mjs")}
README_ADDRESS = "127.0.0.1:4010"


def blocks(lines):
    """Yields (line number, language, marker or None, code) for each fenced block."""
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        start, fence, lang = i, match["fence"], match["lang"].lower()
        above = lines[i - 1] if i > 0 else ""
        marker = MARKER.match(above)
        i += 1
        code = []
        while i < len(lines) and not lines[i].startswith(fence):
            code.append(lines[i])
            i += 1
        i += 1
        yield start + 1, lang, marker["spec"] if marker else None, "".join(code)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("readme", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--address", required=True, help="host:port of the orb-mock to use")
    args = parser.parse_args()

    lines = args.readme.read_text(encoding="utf-8").splitlines(keepends=True)
    programs = {}
    problems = []
    for line, lang, spec, code in blocks(lines):
        where = f"{args.readme}:{line}"
        if spec is None:
            if lang in CHECKED:
                problems.append(
                    f"{where}: a ```{lang} block without a <!-- readme-test: … --> marker above it"
                )
            continue
        if spec.startswith("none"):
            if not re.fullmatch(r"none \(.+\)", spec):
                problems.append(f"{where}: write the reason: <!-- readme-test: none (why) -->")
            continue
        parts = spec.split()
        if len(parts) != 2 or parts[0] not in LANGUAGES:
            problems.append(
                f"{where}: marker {spec!r} is not '<language> <name>' with language one of "
                f"{', '.join(LANGUAGES)}"
            )
            continue
        language, name = parts
        if not re.fullmatch(r"[a-z0-9-]+", name):
            problems.append(f"{where}: program name {name!r} is not lowercase letters, digits, -")
            continue
        programs.setdefault((language, name), []).append((line, code))

    if problems:
        print("\n".join(problems), file=sys.stderr)
        sys.exit(1)
    if not programs:
        print(f"{args.readme}: no <!-- readme-test: … --> blocks found", file=sys.stderr)
        sys.exit(1)

    args.out.mkdir(parents=True, exist_ok=True)
    for (language, name), parts in programs.items():
        comment = "#" if language == "python" else "//"
        text = "".join(
            f"{comment} {args.readme.name}, line {line}\n{code}" for line, code in parts
        ).replace(README_ADDRESS, args.address)
        path = args.out / f"{language}-{name}.{LANGUAGES[language][1]}"
        path.write_text(text, encoding="utf-8")
        print(path.name)


if __name__ == "__main__":
    main()
