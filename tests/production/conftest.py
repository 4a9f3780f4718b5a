"""The production topology (tests/production/hosts.py), started once for these tests."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests import skips
from tests.production import hosts


@pytest.fixture(scope="session")
def topology(sandbox_image: str) -> Iterator[hosts.Topology]:
    """PostgreSQL, Redis, the web app and three worker hosts; removed and checked at the end.

    A machine without what it needs (root, iproute2, redis-server, PostgreSQL's server)
    skips these tests locally and fails them where the whole suite must run.
    """
    missing = hosts.requirements()
    if missing:
        message = f"the production topology needs {'; '.join(missing)}"
        if skips.gate_enabled():
            pytest.fail(message)
        pytest.skip(message)
    topology = hosts.Topology(sandbox_image)
    started = time.monotonic()
    try:
        topology.start()
    except BaseException:
        left = topology.close()
        if left:
            print("left behind after a failed start:", *left, sep="\n  ")
        raise
    print(f"topology up in {time.monotonic() - started:.1f} s at {topology.root}")
    yield topology
    left = topology.close()
    assert not left, "the topology left things behind:\n  " + "\n  ".join(left)
