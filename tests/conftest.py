"""Fixtures shared by every test package."""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytest_plugins = ("pytester",)


def _load(name: str, filename: str) -> ModuleType:
    """A helper module of tests/, loaded by path: tests/ is not a package."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(filename))
    assert spec is not None and spec.loader is not None
    module = sys.modules.setdefault(spec.name, importlib.util.module_from_spec(spec))
    spec.loader.exec_module(module)
    return module


skips = _load("heldout_test_skips", "skips.py")
htmltree = _load("heldout_test_htmltree", "htmltree.py")


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(skips.SkipGate(skips.gate_enabled()), "heldout-skip-gate")


@pytest.fixture
def html() -> ModuleType:
    """Page element trees (tests/htmltree.py): ``html.parse(page).one(cls="total-value")``."""
    return htmltree


# scripts/test splits the SQLite pass of the whole suite in two sessions that run side by
# side: "engine-free" is every test that needs no Docker engine (browser tests included
# when their pages need no grading), and "rest" is everything else. Unset: every test.
SHARD_ENV = "HELDOUT_TEST_SHARD"
SHARDS = ("engine-free", "rest")


def _engine_free(item: pytest.Item) -> bool:
    return (item.get_closest_marker("docker") is None
            and item.get_closest_marker("disruptive") is None)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that restart shared services (the Docker engine) run after all the others."""
    shard = os.environ.get(SHARD_ENV, "")
    if shard:
        if shard not in SHARDS:
            raise pytest.UsageError(f"{SHARD_ENV}={shard!r}: one of {', '.join(SHARDS)}")
        wanted = shard == "engine-free"
        keep = [item for item in items if _engine_free(item) == wanted]
        dropped = [item for item in items if _engine_free(item) != wanted]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = keep
    items.sort(key=lambda item: item.get_closest_marker("disruptive") is not None)


# scripts/test runs the PostgreSQL pass beside the SQLite one and names its process here:
# a test that restarts a shared service waits until that pass has ended.
CONCURRENT_PASS_ENV = "HELDOUT_TEST_CONCURRENT_PID"


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("disruptive") is None:
        return
    pid = os.environ.get(CONCURRENT_PASS_ENV, "")
    if not pid.isdigit():
        return
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return
        time.sleep(1)
    pytest.fail(f"the concurrent test pass (pid {pid}) did not end within 30 minutes")


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


@pytest.fixture(scope="session")
def profile_images(docker_client: Any, sandbox_image: str) -> dict[str, str]:
    """Every runtime profile's image by profile name, built if needed (the deep-learning
    one takes minutes the first time, seconds when cached)."""
    from heldout.sandbox import image
    from heldout.sandbox.profiles import PROFILES

    return {name: image.build_profile(name, client=docker_client) for name in PROFILES}
