"""`heldout deploy …`: the docker-compose stack's images, built offline, and the worker's checks."""

from __future__ import annotations

import email.parser
import fcntl
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

from heldout.sandbox import SandboxError, engine, get_sandbox, image
from heldout.sandbox.environment import PYTHON_VERSION

Say = Callable[[str], None]

# One Debian base serves the three Dockerfiles of deploy/ when no registry answers: every
# package their RUN steps would otherwise fetch is in it (postgresql and redis-server,
# python3-venv for the app's virtualenv), so their builds need no network.
BASE_REPO = "heldout-deploy-base"
BASE_PACKAGES = ("python3", "python3-venv", "postgresql", "redis-server")
# What the Dockerfiles start from where a registry answers.
PUBLIC_BASES = ("python:3.11-slim-bookworm", "debian:bookworm-slim")
STAGED_CONTEXT = Path("var") / "deploy" / "app"  # relative to the compose file's directory
# `docker-compose build` interpolates the whole file, secrets included, though the build
# uses none of them: placeholders stand in for the ones the shell does not set.
REQUIRED_SECRETS = ("HELDOUT_SECRET_KEY", "HELDOUT_INTERNAL_TOKEN", "HELDOUT_POSTGRES_PASSWORD",
                    "HELDOUT_REDIS_PASSWORD")


@dataclass(frozen=True)
class Step:
    what: str
    seconds: float


def base_tag() -> str:
    """The local base's tag: a hash of its recipe, so a changed package list rebuilds it."""
    recipe = f"debian:{image.DEBIAN_SUITE}:{','.join(BASE_PACKAGES)}"
    return f"{BASE_REPO}:{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"


def _pulled(client: Any, reference: str) -> bool:
    repo, tag = reference.split(":")
    try:
        client.images.pull(repo, tag=tag)
    except engine.ENGINE_ERRORS:
        return False
    return True


def ensure_bases(client: Any, say: Say, *, local: bool = False) -> str | None:
    """The base every Dockerfile builds from (a local tag), or None for the public ones.

    A local base built earlier is reused without asking a registry; otherwise the public
    images are pulled when a registry answers, and the base is made by debootstrap when
    none does (or ``local`` asks for it).
    """
    tag = base_tag()
    if image.image_exists(client, tag):
        say(f"local base {tag} is built")
        return tag
    if not local:
        if all(image.image_exists(client, ref) or _pulled(client, ref) for ref in PUBLIC_BASES):
            say(f"building from the public images {', '.join(PUBLIC_BASES)}")
            return None
        say("no registry answers: building the base from Debian packages")
    image.debootstrap_image(client, say, packages=BASE_PACKAGES, tag=tag)
    say(f"built {tag}")
    return tag


def _version() -> str:
    from importlib.metadata import version

    return version("heldout")


def app_wheels(project: Path, say: Say) -> tuple[Path, Path]:
    """(dependency wheelhouse, heldout's own wheel): ``heldout[server]`` for CPython 3.11.

    The dependencies are downloaded once per ``pyproject.toml`` and machine; heldout's
    wheel is built afresh from the checkout (hatchling builds it reproducibly, so the
    image's layer is reused while the code is unchanged).
    """
    pyproject = (project / "pyproject.toml").read_bytes()
    key = hashlib.sha256(pyproject + platform.machine().encode()).hexdigest()[:16]
    built = Path(tempfile.mkdtemp(prefix="heldout-wheel-"))
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                             "--disable-pip-version-check", "--wheel-dir", str(built), str(project)],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise click.ClickException(f"building heldout's wheel failed:\n{result.stderr[-3000:]}")
    wheels = list(built.glob("heldout-*.whl"))
    if len(wheels) != 1:
        raise click.ClickException(f"expected one heldout wheel in {built}, found {wheels}")
    target = image.cache_root() / "deploy-wheelhouse" / key
    if not (target / ".complete").exists():
        # pip evaluates environment markers for the Python running it, not the image's: a
        # dependency only some 3.11 releases need (redis wants async-timeout below 3.11.3,
        # and Debian 12 has 3.11.2) would be missing. Fetched until nothing is.
        shutil.rmtree(target, ignore_errors=True)
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        requested = [f"heldout[server]=={_version()}"]
        for _ in range(10):
            image.download_wheels(partial, requested, say, find_links=built)
            (partial / ".complete").unlink()
            requested = missing_requirements(partial, {"heldout": {"server"}})
            if not requested:
                break
            say(f"for other Python 3.11 releases also: {', '.join(requested)}")
        else:
            raise click.ClickException(f"the wheelhouse in {partial} never became complete")
        (partial / ".complete").write_text("ok\n")
        partial.rename(target)
    return target, wheels[0]


def _marker_environments(extras: set[str]) -> Iterator[dict[str, str]]:
    """The images' possible Pythons (every CPython 3.11 release on Linux), once per extra."""
    for micro in range(0, 30):
        for extra in extras | {""}:
            yield {"python_version": PYTHON_VERSION,
                   "python_full_version": f"{PYTHON_VERSION}.{micro}",
                   "implementation_name": "cpython", "platform_python_implementation": "CPython",
                   "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
                   "platform_machine": platform.machine(), "extra": extra}


def _applies(marker: Marker | None, extras: set[str]) -> bool:
    return marker is None or any(marker.evaluate(env) for env in _marker_environments(extras))


def missing_requirements(wheels: Path, extras: dict[str, set[str]]) -> list[str]:
    """Requirements of the wheels in ``wheels`` that apply to some 3.11 and have no wheel there.

    ``extras`` names the extras asked of a distribution (``{"heldout": {"server"}}``);
    extras the wheels ask of each other are followed too.
    """
    metadata: dict[str, list[Requirement]] = {}
    name: str
    for wheel in wheels.glob("*.whl"):
        name = canonicalize_name(parse_wheel_filename(wheel.name)[0])
        with zipfile.ZipFile(wheel) as archive:
            member = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
            message = email.parser.Parser().parsestr(archive.read(member).decode("utf-8"))
        metadata[name] = [Requirement(line) for line in message.get_all("Requires-Dist") or []]
    asked: dict[str, set[str]] = {canonicalize_name(k): set(v) for k, v in extras.items()}
    missing: dict[str, Requirement] = {}
    changed = True
    while changed:  # extras asked of a wheel can make more of its requirements apply
        changed = False
        for name, requirements in metadata.items():
            for requirement in requirements:
                if not _applies(requirement.marker, asked.get(name, set())):
                    continue
                wanted: str = canonicalize_name(requirement.name)
                if wanted not in metadata:
                    missing.setdefault(wanted, requirement)
                if not requirement.extras <= asked.setdefault(wanted, set()):
                    asked[wanted] |= requirement.extras
                    changed = True
    return [f"{r.name}{'[' + ','.join(sorted(r.extras)) + ']' if r.extras else ''}{r.specifier}"
            for r in missing.values()]


def _sync(files: dict[str, Path], target: Path) -> None:
    """Make ``target`` hold exactly ``files`` (name → source); unchanged files stay as they are."""
    target.mkdir(parents=True, exist_ok=True)
    for stale in set(os.listdir(target)) - set(files):
        path = target / stale
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    for name, source in files.items():
        dest = target / name
        if dest.is_file() and dest.stat().st_size == source.stat().st_size \
                and dest.read_bytes() == source.read_bytes():
            continue
        shutil.copy2(source, dest)


def stage_context(project: Path, deps: Path, own_wheel: Path) -> Path:
    """The app image's build context: its Dockerfile, the dependencies' wheels, heldout's own
    wheel and the challenges."""
    context = project / STAGED_CONTEXT
    context.mkdir(parents=True, exist_ok=True)
    _sync({p.name: p for p in deps.glob("*.whl") if not p.name.startswith("heldout-")},
          context / "wheels")
    _sync({own_wheel.name: own_wheel}, context / "heldout")
    shutil.copy2(project / "deploy" / "app.Dockerfile", context / "Dockerfile")
    challenges = context / "challenges"
    if challenges.exists():
        shutil.rmtree(challenges)
    shutil.copytree(project / "challenges", challenges, copy_function=shutil.copy2,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return context


def compose_command() -> list[str]:
    """`docker-compose` (v1, Debian's) or, where only that is installed, `docker compose`."""
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True,
                                                 check=False).returncode == 0:
        return ["docker", "compose"]
    raise click.ClickException("neither docker-compose nor `docker compose` is installed "
                               "(Debian: apt-get install -y docker-compose)")


def compose_env(base: str | None) -> dict[str, str]:
    env = dict(os.environ)
    for name in REQUIRED_SECRETS:
        env.setdefault(name, "unused-by-the-build")
    if base is not None:
        env["HELDOUT_IMAGE_BASE"] = base
    else:
        env.pop("HELDOUT_IMAGE_BASE", None)
    return env


@contextmanager
def _timed(steps: list[Step], what: str) -> Iterator[None]:
    started = time.monotonic()
    yield
    steps.append(Step(what, time.monotonic() - started))


def build_images(compose_file: Path, say: Say, *, local: bool = False,
                 sandbox: bool = True) -> list[Step]:
    """Everything the stack needs on this engine; each step reuses what is already built."""
    project = compose_file.resolve().parent
    steps: list[Step] = []
    try:
        client = engine.get_client()
        if sandbox:
            with _timed(steps, "sandbox image (the worker runs jobs in it)"):
                image.build(client=client, say=say)
        with _timed(steps, "base image"):
            base = ensure_bases(client, say, local=local)
        with _timed(steps, "wheels for heldout[server]"):
            deps, own = app_wheels(project, say)
    except SandboxError as exc:
        raise click.ClickException(str(exc)) from exc
    with _timed(steps, "build context"):
        context = stage_context(project, deps, own)
    say(f"app build context: {context}")
    with _timed(steps, "docker-compose build"):
        command = [*compose_command(), "-f", str(compose_file), "build"]
        say(f"{' '.join(command)} (HELDOUT_IMAGE_BASE={base or 'the public images'}) …")
        result = subprocess.run(command, cwd=project, env=compose_env(base), check=False,
                                stdout=sys.stderr)
        if result.returncode != 0:
            raise click.ClickException(f"`{' '.join(command)}` failed (exit {result.returncode})")
    return steps


@click.group("deploy")
def deploy_group() -> None:
    """The docker-compose deployment: images built on this host, and the worker's checks."""


@deploy_group.command("images")
@click.option("-f", "--file", "compose_file", default="docker-compose.yml", show_default=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The compose file (its directory holds deploy/ and challenges/).")
@click.option("--local-base", is_flag=True,
              help="Build the base from Debian packages even if a registry answers.")
@click.option("--no-sandbox", is_flag=True, help="Leave out the sandbox runtime image.")
def images_command(compose_file: Path, local_base: bool, no_sandbox: bool) -> None:
    """Build the sandbox, base and stack images offline (no registry needed); reuse what exists."""
    say: Say = lambda line: click.echo(line, err=True)  # noqa: E731
    started = time.monotonic()
    steps = build_images(compose_file, say, local=local_base, sandbox=not no_sandbox)
    for step in steps:
        click.echo(f"{step.seconds:8.1f} s  {step.what}")
    click.echo(f"{time.monotonic() - started:8.1f} s  in all")


def _held_lock(data_dir: Path) -> str | None:
    """The worker id whose lock some live process holds in ``data_dir``, if any."""
    for lock in sorted((data_dir / "worker-locks").glob("*.lock")):
        fd = os.open(lock, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return lock.stem
        finally:
            os.close(fd)  # closing releases the lock if we got it
    return None


@deploy_group.command("check-worker")
@click.option("--running", is_flag=True,
              help="Also require a live worker in this container (its identity lock held).")
def check_worker_command(running: bool) -> None:
    """Before and while a worker runs: engine answers, sandbox image exists (, worker alive)."""
    try:
        sandbox = get_sandbox()  # the environment's settings, as the worker's
        try:
            health = sandbox.health()
        finally:
            sandbox.close()
    except SandboxError as exc:
        raise click.ClickException(f"the worker's sandbox does not answer: {exc}") from exc
    if not health.engine.ok:
        raise click.ClickException(f"the worker needs the host's Docker engine: "
                                   f"{health.engine.detail}")
    tag = health.image_name
    if not health.image.ok:
        raise click.ClickException(
            f"the sandbox image {tag} is missing on the Docker engine this worker uses: build it "
            "on that host (`heldout sandbox build`, or `heldout deploy images`), then start the "
            "worker again")
    if running:
        data_dir = Path(os.environ.get("HELDOUT_DATA_DIR", "var")).resolve()
        holder = _held_lock(data_dir)
        if holder is None:
            raise click.ClickException(f"no worker holds an identity in {data_dir}")
        click.echo(f"worker {holder} running; engine answers; sandbox image {tag} present")
    else:
        click.echo(f"engine answers; sandbox image {tag} present")


if __name__ == "__main__":
    # The worker's health check runs this often: the module alone imports in a fraction of
    # the whole command line's time (no Flask app, no graders).
    deploy_group()
