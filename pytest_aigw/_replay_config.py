"""The replay run's settings: where the cassettes are, what matching ignores, how fast.

    setting          option                     env (PYTEST_AIGW_...)   ini
    cassette dir     --aigw-cassette-dir=DIR    CASSETTE_DIR            aigw_cassette_dir
    ignored fields   --aigw-replay-ignore=FIELD REPLAY_IGNORE (a,b)     aigw_replay_ignore (lines)
    chunk pacing     --aigw-replay-speed=X      REPLAY_SPEED            aigw_replay_speed

The cassette directory and the speed resolve command line > environment > ini; ignored
fields add up from all three places, as redacted names do: a field named anywhere is
volatile everywhere.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._config import CASSETTE_DIR, Setting, given_value
from ._errors import ConfigError
from .redaction import split_names

__all__ = ["REPLAY_SETTINGS", "ReplayConfig", "replay_config"]

REPLAY_IGNORE = Setting(
    "--aigw-replay-ignore",
    "aigw_replay_ignore",
    "PYTEST_AIGW_REPLAY_IGNORE",
    "A request body field that replay matching ignores, as a dotted path ('user',"
    " 'metadata.run_id', 'messages.*.id'), or a cf-aig-metadata key"
    " ('cf-aig-metadata.trace'); repeatable.",
)
REPLAY_SPEED = Setting(
    "--aigw-replay-speed",
    "aigw_replay_speed",
    "PYTEST_AIGW_REPLAY_SPEED",
    "How fast replayed stream chunks come: 0 (default) at once, 1 at the recorded pace,"
    " 2 twice as fast.",
)
REPLAY_SETTINGS = (CASSETTE_DIR, REPLAY_IGNORE, REPLAY_SPEED)
_FIELD = re.compile(r"[^.\s]+(\.[^.\s]+)*")  # dotted, no empty or blank segment


@dataclass(frozen=True)
class ReplayConfig:
    """Where the cassettes are (None: next to each module), ignored fields, chunk pace."""

    cassette_dir: str | None = None
    ignore: tuple[str, ...] = ()
    speed: float = 0.0


def replay_config(
    getoption: Any, getini: Any, environ: Mapping[str, str] = os.environ
) -> ReplayConfig:
    """Resolve the replay settings; `ConfigError` names the setting and where it was given."""

    def first(setting: Setting) -> tuple[Any, str]:
        return given_value(setting, getoption, getini, environ)

    directory, _ = first(CASSETTE_DIR)
    ignored = [
        *((field, REPLAY_IGNORE.option) for field in getoption(REPLAY_IGNORE.dest) or []),
        *((field, REPLAY_IGNORE.env) for field in split_names(environ.get(REPLAY_IGNORE.env, ""))),
        *((field, f"ini {REPLAY_IGNORE.ini}") for field in getini(REPLAY_IGNORE.ini) or []),
    ]
    return ReplayConfig(
        cassette_dir=str(directory).strip() or None if directory is not None else None,
        ignore=tuple(dict.fromkeys(_field(value, where) for value, where in ignored)),
        speed=_speed(*first(REPLAY_SPEED)),
    )


def _field(value: str, where: str) -> str:
    field = value.strip()
    if not _FIELD.fullmatch(field):
        raise ConfigError(
            f"{where} must be a dotted field path such as 'user' or 'metadata.run_id',"
            f" got {value!r}"
        )
    return field


def _speed(value: object, where: str) -> float:
    if value is None or value == "":
        return 0.0
    try:
        speed = float(str(value).strip())
    except ValueError:
        speed = -1.0
    if not 0 <= speed < float("inf"):
        raise ConfigError(
            f"{where} must be a speed >= 0 (0: no waiting, 1: the recorded pace, 2: twice"
            f" as fast), got {value!r}"
        )
    return speed
