"""Per-candidate data variants: run a bundle's seeded generator on the host, cache the result.

A variant is built once per (bundle version, seed) into a temporary directory next to
the cache entry, checked, then renamed into place, so a reader sees a whole variant or
none. The generator is trusted bundle code, but it runs as a subprocess: a crash, a hang
or a stray import can't touch the worker's process, and the timeout bounds it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from heldout.graders.bundle_loading import bundle_files
from heldout.graders.bundle_types import MAX_VARIANT_SEED, Bundle, Variant, VariantConfig
from heldout.graders.errors import BundleError, GraderError

__all__ = ["ENV_VARIANTS_DIR", "Variant", "VariantError", "bind_variant", "cached_variant",
           "default_variants_dir", "materialise_variant", "variant_dirs"]

ENV_VARIANTS_DIR = "HELDOUT_VARIANTS_DIR"
METADATA_NAME = "variant.json"
AREAS = ("public", "hidden")
MAX_SHOWN_OUTPUT = 2000


class VariantError(GraderError):
    """A variant could not be built (bad seed, generator failed); never a candidate's zero."""


def default_variants_dir() -> Path:
    """``$HELDOUT_VARIANTS_DIR``, else the user's cache directory (never a shared /tmp)."""
    configured = os.environ.get(ENV_VARIANTS_DIR)
    if configured:
        return Path(configured)
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "heldout" / "variants"


def _entry(cache_dir: Path, slug: str, version: str, seed: int) -> Path:
    return cache_dir / slug / f"{version.removeprefix('sha256:')}-{seed}"


def _config(bundle: Bundle) -> VariantConfig:
    if bundle.variants is None:
        raise VariantError(f"{bundle.slug} declares no [variants] generator")
    return bundle.variants


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_VARIANT_SEED:
        raise VariantError(f"variant seed must be an integer in 0..{MAX_VARIANT_SEED}, "
                           f"got {seed!r}")


def cached_variant(cache_dir: Path, slug: str, version: str, seed: int) -> Variant | None:
    """The variant already built for (version, seed), or None; never runs a generator."""
    root = _entry(cache_dir, slug, version, seed)
    try:
        meta = json.loads((root / METADATA_NAME).read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError) as exc:
        raise VariantError(f"variant cache entry {root} is unreadable: {exc}") from exc
    if meta.get("version") != version or meta.get("seed") != seed:
        raise VariantError(f"variant cache entry {root} holds {meta.get('version')} seed "
                           f"{meta.get('seed')}, not {version} seed {seed}")
    return Variant(seed=seed, digest=str(meta["digest"]), root=root)


def variant_dirs(root: Path) -> dict[str, list[str]]:
    """The files of public/ and hidden/ under ``root`` by area (relative POSIX paths)."""
    return {area: [name for name, _ in bundle_files(root / area)] if (root / area).is_dir()
            else [] for area in AREAS}


def _digest(root: Path) -> str:
    """``sha256:`` over every generated file's area, path and bytes (like a bundle version)."""
    digest = hashlib.sha256()
    for area in AREAS:
        for relative, path in bundle_files(root / area):
            data = path.read_bytes()
            name = f"{area}/{relative}".encode()
            digest.update(f"{len(name)}:{len(data)}:".encode())
            digest.update(name)
            digest.update(data)
    return f"sha256:{digest.hexdigest()}"


def _tail(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MAX_SHOWN_OUTPUT else "…" + text[-MAX_SHOWN_OUTPUT:]


def _run_generator(bundle: Bundle, config: VariantConfig, seed: int, build: Path) -> None:
    script = bundle.root / config.generator
    # Isolated mode and a bare environment: the generator sees neither the platform's
    # settings (secret key, database URL) nor modules beside it; it gets NumPy from the
    # interpreter the platform runs on, which is what makes its output reproducible.
    command = [sys.executable, "-I", str(script), "--seed", str(seed),
               "--public", str(build / "public"), "--hidden", str(build / "hidden")]
    env = {"PATH": os.environ.get("PATH", os.defpath), "PYTHONHASHSEED": "0",
           "LC_ALL": "C.UTF-8", "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory(prefix="heldout-generator-") as scratch:
        env["HOME"] = env["TMPDIR"] = scratch
        try:
            done = subprocess.run(command, cwd=scratch, env=env, capture_output=True,
                                  text=True, errors="replace", timeout=config.timeout_seconds,
                                  check=False)
        except subprocess.TimeoutExpired:
            raise VariantError(f"{bundle.slug}: generator {config.generator} seed {seed} "
                               f"timed out after {config.timeout_seconds:g} s") from None
        except OSError as exc:
            raise VariantError(f"{bundle.slug}: generator {config.generator} could not "
                               f"start: {exc}") from exc
    if done.returncode != 0:
        raise VariantError(f"{bundle.slug}: generator {config.generator} seed {seed} exited "
                           f"with status {done.returncode}: {_tail(done.stderr) or '(no output)'}")


def _check_layout(bundle: Bundle, build: Path) -> None:
    """The variant holds exactly the committed data's file names, as plain files."""
    extra = sorted({p.name for p in build.iterdir()} - set(AREAS))
    if extra:
        raise VariantError(f"{bundle.slug}: generator wrote outside public/ and hidden/: "
                           f"{', '.join(extra)}")
    try:
        produced = variant_dirs(build)
        committed = variant_dirs(bundle.root)
    except BundleError as exc:
        raise VariantError(f"{bundle.slug}: generator output refused: {exc}") from exc
    for area in AREAS:
        missing = sorted(set(committed[area]) - set(produced[area]))
        unexpected = sorted(set(produced[area]) - set(committed[area]))
        if missing or unexpected:
            parts = [f"missing {', '.join(missing)}" if missing else "",
                     f"unexpected {', '.join(unexpected)}" if unexpected else ""]
            raise VariantError(f"{bundle.slug}: generator output differs from the committed "
                               f"{area}/ in its files: {'; '.join(p for p in parts if p)}")


def _seal(build: Path) -> None:
    # The sandbox reads public/ as another user; hidden/ is for the grading host alone.
    build.chmod(0o755)
    for area, dir_mode, file_mode in (("public", 0o755, 0o644), ("hidden", 0o700, 0o600)):
        for dirpath, _dirnames, filenames in os.walk(build / area):
            Path(dirpath).chmod(dir_mode)
            for name in filenames:
                (Path(dirpath) / name).chmod(file_mode)


def materialise_variant(bundle: Bundle, seed: int, cache_dir: Path) -> Variant:
    """The variant of ``bundle`` for ``seed``, generated on first use and cached.

    Raises ``VariantError`` (an internal error for grading) when the bundle has no
    generator, the seed is out of range, or the generator fails, hangs or writes files
    other than those of the committed public/ and hidden/.
    """
    config = _config(bundle)
    _check_seed(seed)
    cached = cached_variant(cache_dir, bundle.slug, bundle.version, seed)
    if cached is not None:
        return cached
    final = _entry(cache_dir, bundle.slug, bundle.version, seed)
    final.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=".build-", dir=final.parent))
    try:
        for area in AREAS:
            (build / area).mkdir()
        _run_generator(bundle, config, seed, build)
        _check_layout(bundle, build)
        digest = _digest(build)
        _seal(build)
        meta = {"slug": bundle.slug, "version": bundle.version, "seed": seed, "digest": digest}
        (build / METADATA_NAME).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        try:
            os.rename(build, final)
        except OSError:
            # Another process finished the same variant first: same inputs, so keep theirs.
            if cached_variant(cache_dir, bundle.slug, bundle.version, seed) is None:
                raise
    finally:
        if build.exists():
            shutil.rmtree(build, ignore_errors=True)
    found = cached_variant(cache_dir, bundle.slug, bundle.version, seed)
    if found is None:
        raise VariantError(f"variant cache entry {final} vanished after it was built")
    return found


def bind_variant(bundle: Bundle, seed: int | None, cache_dir: Path) -> Bundle:
    """``bundle`` with its variant for ``seed`` bound; unchanged without a generator or seed.

    A seed of None (an attempt started before variants existed) keeps the committed data.
    """
    if bundle.variants is None or seed is None:
        return bundle
    return bundle.with_variant(materialise_variant(bundle, seed, cache_dir))
