"""``pytest-aigw drift [CASSETTE_DIR...]``: the drift report on the command line.

Exit status: 0 when the fake matches every recording (or differs only as the
allow-list allows), 1 when it differs otherwise, 2 for a usage error or a broken
cassette (one line each, naming the file).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from .._errors import ConfigError
from ..cassette import CassetteError
from .replay import find_cassettes, replay_cassette
from .report import PROG, build_report, read_allow_list

__all__ = ["DEFAULT_DIR", "add_parser", "run"]

DEFAULT_DIR = Path("tests/cassettes")


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``drift`` subcommand and its flags."""
    drift = commands.add_parser(
        "drift",
        help="compare the fake's default answers with recorded real ones",
        description=(
            "Replay every recorded gateway and REST request in the cassettes under the"
            " directories on the fake with its default settings, and compare its answers"
            " with the recorded ones: status, cf-aig-* headers and the shape of their"
            " values, body key structure, stream events, and log fields. Exit 1 when they"
            " differ beyond the allow-list."
        ),
    )
    drift.add_argument(
        "dirs",
        nargs="*",
        type=Path,
        metavar="CASSETTE_DIR",
        help=f"directories searched for cassettes, recursively (default: {DEFAULT_DIR})",
    )
    drift.add_argument(
        "--json",
        metavar="PATH",
        help="also write the report as JSON to PATH; '-' writes it to stdout instead of the table",
    )
    drift.add_argument(
        "--allow",
        type=Path,
        metavar="FILE",
        help="differences to accept: one key 'kind | where | real | fake' a line, or JSON",
    )


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run the report for parsed *args*; returns the exit status."""
    out = out or sys.stdout
    try:
        dirs = _dirs(args.dirs)
        allowed = read_allow_list(args.allow) if args.allow is not None else []
    except ConfigError as error:
        return _error(str(error))
    broken = []
    drifts = []
    for directory in dirs:
        for path in find_cassettes(directory):
            try:
                drifts.append(replay_cassette(path))
            except CassetteError as error:
                broken.append(str(error))
    if broken:
        for line in broken:
            sys.stderr.write(f"{PROG}: error: {line}\n")
        return 2
    report = build_report(drifts, allowed)
    if args.json == "-":  # stdout carries the JSON alone; the summary goes aside
        out.write(report.dumps())
        sys.stderr.write(report.summary() + "\n")
        return report.exit_code
    if args.json is not None:
        try:
            Path(args.json).write_text(report.dumps(), encoding="utf-8")
        except OSError as error:
            return _error(f"cannot write --json {args.json}: {error.strerror}")
    out.write(report.table() + report.summary() + "\n")
    return report.exit_code


def _dirs(given: list[Path]) -> list[Path]:
    if not given:
        if not DEFAULT_DIR.is_dir():
            raise ConfigError(
                f"no cassette directory given, and {DEFAULT_DIR} does not exist here:"
                " pass the directories to search, e.g. pytest-aigw drift tests/cassettes"
            )
        return [DEFAULT_DIR]
    for directory in given:
        if not directory.is_dir():
            raise ConfigError(f"{directory} is not a directory: pass directories of cassettes")
    return given


def _error(message: str) -> int:
    sys.stderr.write(f"{PROG}: error: {message}\n")
    return 2
