"""Fixtures of the adversarial suite; the helpers live in the ``adversary`` package next door.

Every attack is a file in ``attacks/`` whose leading comment lines declare what it does
and the outcome the platform must reach (README.md lists the keys). Tests that take an
``attack`` or ``warm_attack`` argument are parametrized from that catalogue.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent


def _load_helpers() -> None:
    """Import ``adversary`` from this folder (importlib mode puts no test dir on sys.path)."""
    if "adversary" in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(
        "adversary", HERE / "adversary" / "__init__.py",
        submodule_search_locations=[str(HERE / "adversary")])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["adversary"] = module
    spec.loader.exec_module(module)


_load_helpers()

from adversary.catalogue import Attack, RunTerm, load_catalogue  # noqa: E402
from adversary.harness import CHURN, Adversary, BundleMaker, Neighbour, Secrets  # noqa: E402
from adversary.host import Canaries, HostGuard, HostListener, fingerprint  # noqa: E402

HONEST_SOLUTION = HERE / "honest" / "solution.py"
NEIGHBOUR_PROBE = HERE / "honest" / "neighbour.py"
CATALOGUE = load_catalogue()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "attack" in metafunc.fixturenames:
        chosen = list(CATALOGUE.values())
        metafunc.parametrize("attack", chosen, ids=[a.name for a in chosen])
    if "warm_attack" in metafunc.fixturenames:
        chosen = [a for a in CATALOGUE.values() if a.warm]
        metafunc.parametrize("warm_attack", chosen, ids=[a.name for a in chosen])


@pytest.fixture(scope="session")
def catalogue() -> dict[str, Attack]:
    return dict(CATALOGUE)


@pytest.fixture(scope="session")
def honest() -> Attack:
    """The control submission: an honest model that must score the same whatever runs beside it."""
    return Attack(
        name="honest", path=HONEST_SOLUTION, summary="an honest logistic regression",
        category="control", expect="graded with the same real score, alone or next to attacks",
        limits={"wall_seconds": 90, "memory_mb": 1024}, score_min=1, score_max=100,
        details=(r"1500 rows, one finite prediction per test id",
                 r"roc_auc 0\.\d+ on the \d+ private test rows: "),
        run=(RunTerm("exit_code", "=", ("0",)),),
    )


@pytest.fixture(scope="session")
def secret_values() -> Secrets:
    def token(kind: str) -> str:
        return f"heldout-{kind}-{secrets.token_hex(12)}"

    return Secrets(token("label-canary"), token("env-secret"), token("victim-secret"),
                   token("host-canary"))


@pytest.fixture(scope="session")
def bundles(tmp_path_factory: pytest.TempPathFactory, secret_values: Secrets) -> BundleMaker:
    if not CHURN.is_dir():
        pytest.fail(f"{CHURN} is missing: the adversarial suite grades against it")
    return BundleMaker(tmp_path_factory.mktemp("bundles"), secret_values.label_canary)


@pytest.fixture(scope="session")
def host_canaries(tmp_path_factory: pytest.TempPathFactory,
                  secret_values: Secrets) -> Iterator[Canaries]:
    token = secrets.token_hex(8)
    private = tmp_path_factory.mktemp("host-canaries")
    (private / "nested").mkdir()
    files = [private / "secret.txt", private / "nested" / "labels.csv",
             Path(f"/tmp/heldout-adversarial-canary-{token}.txt")]
    for index, path in enumerate(files):
        path.write_text(f"{secret_values.host_canary_text} #{index}\n")
        path.chmod(0o600 if index == 0 else 0o644)
    absent = Path(f"/tmp/heldout-adversarial-unpickled-{token}")
    yield Canaries(tuple(files), {p: fingerprint(p) for p in files}, absent)
    files[-1].unlink(missing_ok=True)
    absent.unlink(missing_ok=True)


@pytest.fixture(autouse=True)
def host_unharmed(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every Docker test must leave the host exactly as it found it."""
    if request.node.get_closest_marker("docker") is None:
        yield
        return
    client = request.getfixturevalue("docker_client")
    request.getfixturevalue("sandbox_image")
    guard = HostGuard(client, request.getfixturevalue("host_canaries"))
    before = guard.snapshot()
    yield
    found = guard.settle(before)
    if found:
        guard.clean_up()
        pytest.fail("the host was harmed:\n  " + "\n  ".join(found))


@pytest.fixture
def adversary(request: pytest.FixtureRequest, tmp_path: Path, bundles: BundleMaker,
              secret_values: Secrets, host_canaries: Canaries) -> Adversary:
    return Adversary(request, tmp_path, bundles, secret_values, host_canaries)


@pytest.fixture
def warm_pools(docker_client: Any) -> Iterator[Callable[[Any], Any]]:
    """Make warm pools (one container each) for given limits; all closed after the test."""
    from heldout.sandbox.pool import WarmPool

    pools: list[Any] = []

    def make(limits: Any) -> Any:
        pool = WarmPool(client=docker_client, size=1)
        pools.append(pool)
        pool.prime(limits)
        return pool

    yield make
    for pool in pools:
        pool.close()


# Helpers an attack asks for with ``needs:`` (the harness requests them by name).


@pytest.fixture
def host_listener() -> Iterator[HostListener]:
    listener = HostListener()
    listener.self_test()
    yield listener
    listener.close()


@pytest.fixture
def host_canary(host_canaries: Canaries) -> Path:
    return host_canaries.must_stay_absent


@pytest.fixture
def env_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, secret_values: Secrets) -> str:
    """Secrets in the grading process's environment and in the Docker client's config."""
    secret = secret_values.env_secret
    for name in ("HELDOUT_SECRET_KEY", "HELDOUT_ADVERSARIAL_SECRET", "AWS_SECRET_ACCESS_KEY",
                 "DATABASE_URL", "HELDOUT_DATABASE_URL"):
        monkeypatch.setenv(name, secret)
    # The Docker SDK injects proxies from its config into every container it creates.
    config = tmp_path / "docker-config"
    config.mkdir()
    proxy = f"http://user:{secret}@proxy.invalid:3128"
    (config / "config.json").write_text(json.dumps({"proxies": {"default": {
        "httpProxy": proxy, "httpsProxy": proxy, "ftpProxy": proxy, "noProxy": secret}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    return secret


class VictimRun:
    """A concurrent run whose /output holds a secret; its host run directory is known."""

    def __init__(self, rundir: Path, container: Any, result: list[Any]) -> None:
        self.rundir = rundir
        self.container = container
        self.result = result


@pytest.fixture
def other_run(tmp_path: Path, docker_client: Any, secret_values: Secrets) -> Iterator[VictimRun]:
    from heldout.sandbox import JobSpec, Limits, run
    from heldout.sandbox.engine import LABEL_RUNDIR

    token = secrets.token_hex(8)
    workspace = tmp_path / "victim"
    workspace.mkdir()
    (workspace / "main.py").write_text(
        "import time\n"
        f"open('/output/secret.txt', 'w').write({secret_values.victim_secret!r})\n"
        "time.sleep(600)\n")
    spec = JobSpec(command=("python", "main.py"), workspace=workspace,
                   limits=Limits(wall_seconds=90), labels={"heldout.adversarial-victim": token})
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(run(spec, tmp_path / "victim-out")),
                              name="adversarial-victim", daemon=True)
    thread.start()
    container = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = docker_client.containers.list(
            filters={"label": f"heldout.adversarial-victim={token}"})
        if found:
            container = found[0]
            if (Path(container.labels[LABEL_RUNDIR]) / "output" / "secret.txt").exists():
                break
        time.sleep(0.05)
    assert container is not None, "the victim run did not start"
    yield VictimRun(Path(container.labels[LABEL_RUNDIR]), container, result)
    with contextlib.suppress(Exception):  # it may have stopped on its own
        container.kill()
    thread.join(timeout=60)
    assert result, "the victim run did not finish"
    copied = result[0].output("secret.txt")
    assert copied is not None and copied.path.read_text() == secret_values.victim_secret


@pytest.fixture
def neighbour(docker_client: Any, tmp_path: Path) -> Neighbour:
    return Neighbour(docker_client, NEIGHBOUR_PROBE, tmp_path / "neighbour",
                     tmp_path / "neighbour-out")
