"""Builds the sandbox runtime images, offline when no registry answers; cached by content hash.

The default image comes first (a pulled or debootstrapped base, then the pinned wheels);
every other runtime profile (see :mod:`heldout.sandbox.profiles`) is layered on it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker.errors

from heldout.sandbox import engine
from heldout.sandbox.apt_sources import host_debian_mirror
from heldout.sandbox.environment import PYTHON_VERSION, REQUIREMENTS
from heldout.sandbox.errors import ImageBuildError, ImageMissing
from heldout.sandbox.profiles import DEFAULT_PROFILE, PROFILES, Profile, get_profile
from heldout.sandbox.settings import SandboxSettings, or_environment
from heldout.sandbox.spec import JobSpec

log = logging.getLogger(__name__)

IMAGE_DIR = Path(__file__).with_name("image_context")
RUNTIME_REPO = "heldout-runtime"
BASE_REPO = "heldout-base"
PULL_BASE = ("python", f"{PYTHON_VERSION}-slim-bookworm")
DEBIAN_SUITE = "bookworm"
DEFAULT_DEBIAN_MIRROR = "http://deb.debian.org/debian"  # when the host has no apt sources
DEBIAN_PACKAGES = ("python3", "python3-venv", "libgomp1")

Say = Callable[[str], None]


def debian_mirror(settings: SandboxSettings | None = None) -> str:
    """The settings' Debian mirror, else the host's own apt source, else Debian's CDN."""
    return or_environment(settings).debian_mirror or host_debian_mirror() or DEFAULT_DEBIAN_MIRROR


def cache_root(settings: SandboxSettings | None = None) -> Path:
    """Where wheelhouses live (the settings' cache directory)."""
    return or_environment(settings).cache_dir


def _base_recipe() -> str:
    return f"debian:{DEBIAN_SUITE}:{','.join(DEBIAN_PACKAGES)}|pull:{':'.join(PULL_BASE)}"


def base_tag() -> str:
    digest = hashlib.sha256(_base_recipe().encode()).hexdigest()[:12]
    return f"{BASE_REPO}:{digest}"


def _context_files() -> list[Path]:
    return sorted(p for p in IMAGE_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


@functools.lru_cache(maxsize=1)
def content_hash() -> str:
    """Hash of everything that goes into the image: recipe, Dockerfile, pins, runtime files."""
    digest = hashlib.sha256(_base_recipe().encode())
    for path in _context_files():
        digest.update(path.relative_to(IMAGE_DIR).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def default_image(settings: SandboxSettings | None = None) -> str:
    """The image jobs run in: the settings' image, or the content-addressed runtime tag."""
    return or_environment(settings).image or f"{RUNTIME_REPO}:{content_hash()}"


def _profile_files(profile: Profile) -> list[Path]:
    assert profile.context is not None
    return sorted(p for p in profile.context.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts)


def profile_hash(profile: Profile, settings: SandboxSettings | None = None) -> str:
    """Hash of a layered profile: the image it is layered on (the default image, or the
    one ``HELDOUT_SANDBOX_IMAGE`` names) and its own context's files."""
    digest = hashlib.sha256(f"{default_image(settings)}|{profile.name}".encode())
    assert profile.context is not None
    for path in _profile_files(profile):
        digest.update(path.relative_to(profile.context).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def profile_image(name: str = DEFAULT_PROFILE, settings: SandboxSettings | None = None) -> str:
    """The image a job of runtime profile ``name`` runs in.

    The default profile's is ``default_image``; a layered profile's is content-addressed
    from its own context and the image it is layered on."""
    profile = get_profile(name)
    if profile.context is None:
        return default_image(settings)
    return f"{profile.repository}:{profile_hash(profile, settings)}"


def job_image(spec: JobSpec, settings: SandboxSettings | None = None) -> str:
    """The image ``spec`` runs in: its own, else its runtime profile's."""
    return spec.image or profile_image(spec.profile, settings)


def image_exists(client: Any, tag: str) -> bool:
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def _pull_base(client: Any, say: Say) -> bool:
    repo, tag = PULL_BASE
    try:
        image = client.images.pull(repo, tag=tag)
    except engine.ENGINE_ERRORS as exc:
        say(f"no registry answers ({str(exc).splitlines()[0][:120]}); building the base from Debian packages")
        return False
    image.tag(*base_tag().split(":"))
    return True


def debootstrap_image(client: Any, say: Say, *, packages: Sequence[str], tag: str,
                      settings: SandboxSettings | None = None) -> None:
    """Build image ``tag`` from Debian packages alone (debootstrap + ``docker import``).

    The way to a base image where no registry answers: only the host needs the mirror.
    """
    if shutil.which("debootstrap") is None:
        raise ImageBuildError(
            "the base image can't be pulled and debootstrap is missing: "
            "install it (`apt-get install -y debootstrap`, as root) or make a registry reachable"
        )
    if os.geteuid() != 0:
        raise ImageBuildError("building the base image from Debian packages needs root (debootstrap)")
    mirror = debian_mirror(settings)
    with tempfile.TemporaryDirectory(prefix="heldout-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        say(f"debootstrap {DEBIAN_SUITE} ({', '.join(packages)}) from {mirror} …")
        result = subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={','.join(packages)}",
             DEBIAN_SUITE, str(rootfs), mirror],
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            raise ImageBuildError(f"debootstrap failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for child in (rootfs / junk).glob("*"):
                if child.is_file():
                    child.unlink()
        say("importing the root filesystem as a Docker image …")
        tar = subprocess.Popen(["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."],
                               stdout=subprocess.PIPE)
        assert tar.stdout is not None
        repo, name = tag.split(":")
        try:
            client.api.import_image_from_stream(tar.stdout, repository=repo, tag=name)
        finally:
            tar.stdout.close()
            tar.wait()
        if tar.returncode != 0 or not image_exists(client, tag):
            raise ImageBuildError("importing the debootstrapped root filesystem failed")


def ensure_base(client: Any, say: Say, settings: SandboxSettings) -> str:
    tag = base_tag()
    if image_exists(client, tag):
        return tag
    if not _pull_base(client, say):
        debootstrap_image(client, say, packages=DEBIAN_PACKAGES, tag=tag, settings=settings)
    return tag


def download_wheels(target: Path, requirements: Sequence[str], say: Say, *,
                    find_links: Path | None = None) -> Path:
    """Wheels for ``requirements`` (pip arguments) for the images' Python, into ``target``.

    Binary wheels only, for CPython 3.11 on this machine's architecture, whatever Python
    runs here, so an image can install them with no network. Done once: a marker file
    says the download completed.
    """
    marker = target / ".complete"
    if marker.exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    machine = platform.machine()
    say(f"downloading wheels for Python {PYTHON_VERSION} ({machine}) into {target} …")
    platforms = [f"manylinux_2_{minor}_{machine}" for minor in (17, 24, 27, 28, 31, 34, 36)]
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
               "--only-binary=:all:", "--python-version", PYTHON_VERSION, "--implementation", "cp",
               "--abi", f"cp{PYTHON_VERSION.replace('.', '')}", "--dest", str(target)]
    for tag in [*platforms, f"manylinux2014_{machine}"]:
        command += ["--platform", tag]
    if find_links is not None:
        command += ["--find-links", str(find_links)]
    result = subprocess.run([*command, *requirements], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ImageBuildError(f"downloading wheels failed (is PyPI reachable?):\n{result.stderr[-3000:]}")
    marker.write_text("ok\n")
    return target


def wheelhouse(say: Say, settings: SandboxSettings, requirements: Path = REQUIREMENTS, *,
               no_deps: bool = False) -> Path:
    """Wheels for a pinned requirements file, downloaded on the host once per pin set.

    ``no_deps``: the file pins everything to install (a layered profile's additions)."""
    key = hashlib.sha256(requirements.read_bytes() + platform.machine().encode()
                         + (b"|no-deps" if no_deps else b"")).hexdigest()[:16]
    arguments = ["--no-deps"] if no_deps else []
    return download_wheels(settings.cache_dir / "wheelhouse" / key,
                           [*arguments, "-r", str(requirements)], say)


@contextlib.contextmanager
def _build_context(wheels: Path, source: Path = IMAGE_DIR) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="heldout-build-") as tmp:
        context = Path(tmp)
        shutil.copytree(source, context, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(wheels, context / "wheels", ignore=shutil.ignore_patterns(".complete"))
        yield context


def _docker_build(client: Any, context: Path, tag: str, buildargs: dict[str, str]) -> None:
    try:
        client.images.build(path=str(context), tag=tag, buildargs=buildargs, pull=False,
                            rm=True, forcerm=True, network_mode="none")
    except docker.errors.BuildError as exc:
        lines = "".join(str(item.get("stream", item.get("error", ""))) for item in exc.build_log)
        raise ImageBuildError(f"building the sandbox image {tag} failed: {exc}\n"
                              f"{lines[-3000:]}") from exc


def build(*, force: bool = False, say: Say = log.info, client: Any | None = None,
          settings: SandboxSettings | None = None) -> str:
    """Make sure the runtime image exists; return its tag. Seconds when already built.

    Settings default to the environment's (``heldout sandbox build`` runs without the
    platform)."""
    settings = or_environment(settings)
    client = client or engine.get_client(settings)
    tag = default_image(settings)
    if not force and image_exists(client, tag):
        say(f"sandbox image {tag} is up to date")
        return tag
    if settings.image:
        raise ImageBuildError(f"HELDOUT_SANDBOX_IMAGE={tag} is set but that image does not exist")
    base = ensure_base(client, say, settings)
    wheels = wheelhouse(say, settings)
    say(f"building {tag} from {base} …")
    repo = tag.split(":")[0]
    with _build_context(wheels) as context:
        _docker_build(client, context, tag, {"BASE": base})
    client.images.get(tag).tag(repo, "latest")
    say(f"built {tag}")
    return tag


def build_profile(name: str = DEFAULT_PROFILE, *, force: bool = False, say: Say = log.info,
                  client: Any | None = None, settings: SandboxSettings | None = None) -> str:
    """Make sure the image of runtime profile ``name`` exists (the default image first, a
    layered profile on top of it); return its tag. Seconds when already built."""
    settings = or_environment(settings)
    client = client or engine.get_client(settings)
    profile = get_profile(name)
    runtime = build(force=force and profile.context is None, say=say, client=client,
                    settings=settings)
    if profile.context is None or profile.requirements is None:
        return runtime
    tag = profile_image(name, settings)
    if not force and image_exists(client, tag):
        say(f"{name} image {tag} is up to date")
        return tag
    wheels = wheelhouse(say, settings, profile.requirements, no_deps=True)
    say(f"building {tag} on {runtime} …")
    with _build_context(wheels, profile.context) as context:
        _docker_build(client, context, tag, {"RUNTIME": runtime})
    client.images.get(tag).tag(profile.repository, "latest")
    say(f"built {tag}")
    return tag


@dataclass(frozen=True)
class ProfileImage:
    """A runtime profile's image as ``heldout sandbox build`` reports it.

    ``build_seconds`` is 0 when the image was already there; ``import_seconds`` is what
    the heavy modules took to import in a fresh container, ``run_seconds`` the whole
    ``docker run … python -c 'import …'`` that measured it."""

    profile: str
    tag: str
    size_mb: float
    build_seconds: float
    modules: tuple[str, ...]
    import_seconds: float
    run_seconds: float


def cold_import(client: Any, tag: str, modules: Sequence[str]) -> tuple[float, float]:
    """(seconds the imports took inside, seconds the whole run took) in a new container
    with no network: the cold start a job of this profile pays before its first line."""
    names = ", ".join(modules)
    code = ("import time; t = time.perf_counter(); "
            f"import {names}; print(time.perf_counter() - t)")
    started = time.monotonic()
    try:
        out = client.containers.run(tag, ["python", "-c", code], remove=True,
                                    network_mode="none", stdout=True, stderr=True)
    except docker.errors.ContainerError as exc:
        raise ImageBuildError(f"{tag}: importing {names} failed: {exc}") from exc
    except docker.errors.ImageNotFound as exc:
        raise ImageMissing(f"{tag} is not built: run `heldout sandbox build`") from exc
    total = time.monotonic() - started
    return float(out.decode().strip().splitlines()[-1]), total


def build_all(*, force: bool = False, say: Say = log.info, client: Any | None = None,
              settings: SandboxSettings | None = None,
              names: Sequence[str] | None = None) -> list[ProfileImage]:
    """Build every runtime profile's image (or those ``names``), the default first, and
    measure each: size and a cold import of its heavy modules."""
    settings = or_environment(settings)
    client = client or engine.get_client(settings)
    chosen = list(names) if names else list(PROFILES)
    for name in chosen:
        get_profile(name)
    reports: list[ProfileImage] = []
    for name in sorted(chosen, key=lambda n: n != DEFAULT_PROFILE):
        started = time.monotonic()
        existed = not force and image_exists(client, profile_image(name, settings))
        tag = build_profile(name, force=force, say=say, client=client, settings=settings)
        seconds = 0.0 if existed else time.monotonic() - started
        modules = PROFILES[name].heavy_modules
        inside, whole = cold_import(client, tag, modules)
        size = client.images.get(tag).attrs.get("Size", 0) / 1e6
        reports.append(ProfileImage(name, tag, round(size, 1), round(seconds, 1), modules,
                                    round(inside, 2), round(whole, 2)))
    return reports
