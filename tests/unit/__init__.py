"""Unit tests: pure functions on plain data, no database."""
