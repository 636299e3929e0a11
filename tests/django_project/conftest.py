"""The sample's order: reversed when SHOP_REVERSE is set, so outcomes can be compared."""

import os

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get("SHOP_REVERSE"):
        items.reverse()
