"""``python -m pytest_aigw serve``: see `pytest_aigw.cli`."""

from .cli import main

raise SystemExit(main())
