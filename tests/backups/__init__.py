"""Backup image tests against a real PostgreSQL server (a package: its conftest must not shadow tests/conftest.py)."""
