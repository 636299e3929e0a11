"""The examples in seqdoctor's docstrings run, and say what they show.

Every module of the package is imported and its doctests run, so that an
example that drifts from the code fails here rather than misleads a reader.
``__main__`` modules are left out: importing one runs the program.
"""

from __future__ import annotations

import doctest
import importlib
import io
import pkgutil

import pytest

import seqdoctor

MODULES = sorted(
    [seqdoctor.__name__]
    + [
        info.name
        for info in pkgutil.walk_packages(seqdoctor.__path__, f"{seqdoctor.__name__}.")
        if not info.name.endswith(".__main__")
    ]
)


def test_every_module_is_found() -> None:
    assert {"seqdoctor.catalog.model", "seqdoctor.checks.base", "seqdoctor.report"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    output = io.StringIO()

    for test in doctest.DocTestFinder().find(module):
        runner.run(test, out=output.write)

    assert runner.failures == 0, output.getvalue()
