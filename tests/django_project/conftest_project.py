"""The sample's conftest.py (renamed in the copy test_django.py runs): its order reversed
when SHOP_REVERSE is set, so that outcomes can be compared."""

import os

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get("SHOP_REVERSE"):
        items.reverse()
