"""Fixtures for the tools' tests: the platform's database markers and challenges directory."""

from __future__ import annotations

import pytest

from tests import pg
from tests.platform.conftest import challenges_dir

__all__ = ["challenges_dir"]


def pytest_configure(config: pytest.Config) -> None:
    pg.configure(config)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    pg.deselect(config, items)
