"""Generate the synchronous `LogsClient` from `AsyncLogsClient`, its one source.

    python scripts/unasync.py          # rewrite pytest_aigw/client.py
    python scripts/unasync.py --check  # exit 1 when the generated class is stale

`pytest_aigw/client.py` holds the shared core, then `AsyncLogsClient` (edited by hand),
then a marker line, then `LogsClient`, which this script writes: the async class with
`async`/`await` dropped and the async names replaced by their sync twins (the approach
of httpcore's unasync script). The result goes through `ruff format`, so the file on
disk is what `ruff format --check` expects; the lint env runs the check.
"""

from __future__ import annotations

import argparse
import difflib
import re
import subprocess
import sys
from pathlib import Path

TARGET = Path(__file__).resolve().parent.parent / "pytest_aigw" / "client.py"
SOURCE_START = "class AsyncLogsClient:"
MARKER = (
    "# Everything below is generated from AsyncLogsClient by scripts/unasync.py: edit the\n"
    "# async class above and run `python scripts/unasync.py` (the lint env checks it).\n"
)

# Regular expressions applied in order; the async side on the left.
SUBSTITUTIONS = (
    # `(await self.call(...)).field` needs its parentheses; `self.call(...).field` does not.
    (r"\(await (\w[\w.]*\([^()]*\))\)", r"\1"),
    (r"\basync (def|with|for)\b", r"\1"),
    (r"\bawait ", ""),
    (r"\bAsyncLogsClient\b", "LogsClient"),
    (r"\bAsyncIterator\b", "Iterator"),
    (r"\bAwaitable\[None\]", "None"),
    (r"\bhttpx\.AsyncClient\b", "httpx.Client"),
    (r"\banyio\.sleep\b", "time.sleep"),
    (r"\baread\b", "read"),
    (r"\baclose\b", "close"),
    (r"\b__aenter__\b", "__enter__"),
    (r"\b__aexit__\b", "__exit__"),
    (r"\basynchronously\b", "synchronously"),
    (r"\ban async context manager\b", "a context manager"),
)
# An async generator cannot `yield from`; its sync twin should (ruff's UP028 asks for it).
YIELD_LOOP = re.compile(r"^(\s*)for (\w+) in (\w+):\n\s*yield \2\n", re.MULTILINE)
# Nothing async may survive into the sync class.
LEFTOVER = re.compile(r"\b(async|await|aread|aclose|anyio|Awaitable|AsyncClient)\b")


class UnasyncError(Exception):
    """The file is not laid out as this script expects."""


def unasync(source: str) -> str:
    """The sync twin of the async class text *source*."""
    for pattern, replacement in SUBSTITUTIONS:
        source = re.sub(pattern, replacement, source)
    source = YIELD_LOOP.sub(r"\1yield from \3\n", source)
    leftover = LEFTOVER.search(source)
    if leftover is not None:
        line = source.count("\n", 0, leftover.start()) + 1
        raise UnasyncError(
            f"line {line} of the generated class still says {leftover.group()!r}:"
            " add a substitution for it to scripts/unasync.py"
        )
    return source


def generate(text: str) -> str:
    """*text* (the whole module) with the generated part rebuilt from the async class."""
    if text.count(SOURCE_START) != 1 or text.count(MARKER) != 1:
        raise UnasyncError(
            f"{TARGET.name} needs one {SOURCE_START!r} line and one marker comment"
            " (starting '# Everything below is generated') after it"
        )
    head, _ = text.split(MARKER)
    source = head[head.index(SOURCE_START) :].rstrip("\n") + "\n"
    return ruff_format(f"{head.rstrip()}\n\n\n{MARKER}\n\n{unasync(source)}")


def ruff_format(text: str) -> str:
    """*text* as `ruff format` writes it, with the project's settings."""
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(TARGET), "-"],
        input=text,
        capture_output=True,
        text=True,
        cwd=TARGET.parent.parent,
        check=False,
    )
    if done.returncode != 0:
        raise UnasyncError(f"ruff format failed: {done.stderr.strip()}")
    return done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="only check; exit 1 when the file is stale"
    )
    args = parser.parse_args(argv)
    current = TARGET.read_text(encoding="utf-8")
    try:
        wanted = generate(current)
    except UnasyncError as error:
        print(f"unasync: error: {error}", file=sys.stderr)
        return 2
    if wanted == current:
        return 0
    if args.check:
        diff = difflib.unified_diff(
            current.splitlines(keepends=True),
            wanted.splitlines(keepends=True),
            f"{TARGET.name} (on disk)",
            f"{TARGET.name} (generated)",
        )
        sys.stderr.writelines(diff)
        print(
            f"unasync: {TARGET} is stale: LogsClient no longer matches AsyncLogsClient;"
            " run `python scripts/unasync.py`",
            file=sys.stderr,
        )
        return 1
    TARGET.write_text(wanted, encoding="utf-8")
    print(f"unasync: rewrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
