"""Fixtures of the integration tests (the session's database ones are in tests/conftest.py)."""

from tests.integration.tasks_env import env

__all__ = ["env"]
