"""Builds the sandbox runtime image, offline when no registry answers; cached by content hash."""

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
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import docker.errors

from heldout.sandbox import engine
from heldout.sandbox.apt_sources import host_debian_mirror
from heldout.sandbox.environment import PYTHON_VERSION, REQUIREMENTS
from heldout.sandbox.errors import ImageBuildError
from heldout.sandbox.settings import SandboxSettings, or_environment

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


def wheelhouse(say: Say, settings: SandboxSettings) -> Path:
    """Wheels for the pinned requirements, downloaded on the host once per pin set."""
    requirements = REQUIREMENTS
    key = hashlib.sha256(requirements.read_bytes() + platform.machine().encode()).hexdigest()[:16]
    return download_wheels(settings.cache_dir / "wheelhouse" / key, ["-r", str(requirements)], say)


@contextlib.contextmanager
def _build_context(wheels: Path) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="heldout-build-") as tmp:
        context = Path(tmp)
        shutil.copytree(IMAGE_DIR, context, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(wheels, context / "wheels", ignore=shutil.ignore_patterns(".complete"))
        yield context


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
        try:
            client.images.build(path=str(context), tag=tag, buildargs={"BASE": base}, pull=False,
                                rm=True, forcerm=True, network_mode="none")
        except docker.errors.BuildError as exc:
            lines = "".join(str(item.get("stream", item.get("error", ""))) for item in exc.build_log)
            raise ImageBuildError(f"building the sandbox image failed: {exc}\n{lines[-3000:]}") from exc
    client.images.get(tag).tag(repo, "latest")
    say(f"built {tag}")
    return tag
