"""The documentation's examples run as written: every ```python block of the README and the
doctests of the package's modules, and the tests the README cites exist."""

from __future__ import annotations

import doctest
import importlib
import re
from pathlib import Path

import pytest

README = Path(__file__).parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_examples():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code):
    exec(compile(code, str(README), "exec"), {"__name__": "readme_example"})


@pytest.mark.parametrize("module", ["gridmatch", "gridmatch.clearing", "gridmatch.orders", "gridmatch.book"])
def test_docstring_examples(module):
    failures, tried = doctest.testmod(importlib.import_module(module), report=True)
    assert tried > 0 and failures == 0


def test_every_test_the_readme_cites_exists():
    """The README backs its guarantees with named tests: each name must be a test of tests/."""
    cited = set(re.findall(r"`(test_\w+)`", README.read_text()))
    defined = {
        name
        for path in Path(__file__).parent.glob("test_*.py")
        for name in re.findall(r"def (test_\w+)\(", path.read_text())
    }
    assert cited and not cited - defined, sorted(cited - defined)
