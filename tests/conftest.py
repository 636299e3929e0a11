"""Shared test configuration: the database fixtures live in fix_db.py, loaded as a plugin."""

pytest_plugins = ["tests.fix_db"]
