"""Fixtures shared by every test package."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that restart shared services (the Docker engine) run after all the others."""
    items.sort(key=lambda item: item.get_closest_marker("disruptive") is not None)


def _docker_required() -> bool:
    return os.environ.get("CI") == "true" or os.environ.get("HELDOUT_REQUIRE_DOCKER") == "1"


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    """The real Docker engine. Missing engine: skip locally, fail under CI/scripts/test."""
    from heldout.sandbox import engine
    from heldout.sandbox.errors import EngineUnavailable

    try:
        client = engine.get_client()
    except EngineUnavailable as exc:
        if _docker_required():
            pytest.fail(f"Docker is required here: {exc}")
        pytest.skip(f"no Docker engine: {exc}")
    yield client
    engine.close_clients()


@pytest.fixture(scope="session")
def sandbox_image(docker_client: Any) -> str:
    """The runtime image, built if needed (seconds when cached)."""
    from heldout.sandbox import image

    return image.build(client=docker_client)
