"""The README's test examples run as written, so the front door stays true."""

from __future__ import annotations

import re
from pathlib import Path

import httpcore2  # noqa: F401
import pytest

# Imported here, not first inside pytester's in-process run: that run forgets the modules
# it imported, and a second copy of httpcore2 would not match the error classes httpx2
# has already cached, so later tests would see unmapped httpcore2 errors.

pytestmark = pytest.mark.sdk

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
# Complete examples only: a fragment such as `def test_both(...): ...` is not run.
TEST_BLOCKS = [block for block in BLOCKS if "def test_" in block and "): ..." not in block]


def test_the_readme_has_test_examples() -> None:
    assert len(TEST_BLOCKS) >= 3


@pytest.mark.parametrize("source", TEST_BLOCKS, ids=lambda s: re.findall(r"def (test_\w+)", s)[0])
def test_readme_example_passes(pytester: pytest.Pytester, source: str) -> None:
    pytester.makepyfile(source)
    result = pytester.runpytest()
    tests = len(re.findall(r"^def test_", source, flags=re.MULTILINE))
    outcomes = result.parseoutcomes()
    assert set(outcomes) <= {"passed"}, result.stdout.str()
    assert outcomes["passed"] >= tests  # parametrized examples run more than once
