"""Loading bundles: read and validate ``challenge.toml``, find bundles, hash versions."""

from __future__ import annotations

import hashlib
import os
import stat
import tomllib
from pathlib import Path, PurePosixPath

from heldout.graders.bundle_types import (
    DEFAULT_GENERATOR_TIMEOUT_SECONDS,
    DEFAULT_MAX_SUBMISSION_BYTES,
    DEFAULT_MAX_SUBMISSION_FILES,
    DIFFICULTIES,
    ENV_CHALLENGES_DIR,
    MAX_VARIANT_SEED,
    SKIPPED_DIRS,
    SLUG_PATTERN,
    STATEMENT_NAME,
    TOML_NAME,
    Bundle,
    BundleScan,
    SolutionCase,
    SubmissionSpec,
    VariantConfig,
    display_path,
)
from heldout.graders.errors import BundleError, BundleNotFound, UnknownName
from heldout.graders.fields import Table
from heldout.graders.kinds import KINDS
from heldout.sandbox.profiles import DEFAULT_PROFILE, PROFILES
from heldout.sandbox.spec import Limits


def bundle_files(root: Path) -> list[tuple[str, Path]]:
    """Every regular file of a bundle as (POSIX relative path, path), sorted by path.

    ``__pycache__`` is skipped; a link or special file is a ``BundleError``, so a bundle
    can't point outside itself and its hash covers everything it contains.
    """
    found: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        for name in [*dirnames, *filenames]:
            path = here / name
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                raise BundleError(f"{display_path(path)}: symbolic links are not allowed "
                                 "in a bundle")
            if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
                raise BundleError(f"{display_path(path)}: not a regular file or directory")
            if stat.S_ISREG(mode):
                found.append((path.relative_to(root).as_posix(), path))
    found.sort(key=lambda item: item[0])
    return found


def bundle_version(root: Path) -> str:
    """``sha256:<hex>`` over every file's relative path and bytes, in sorted order."""
    digest = hashlib.sha256()
    for relative, path in bundle_files(root):
        data = path.read_bytes()
        encoded = relative.encode("utf-8")
        # Lengths first, so no two different bundles can feed the same byte stream.
        digest.update(f"{len(encoded)}:{len(data)}:".encode())
        digest.update(encoded)
        digest.update(data)
    return f"sha256:{digest.hexdigest()}"


def _safe_relative(table: Table, key: str, value: str) -> str:
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts or value != path.as_posix() or "\\" in value:
        raise table.error(key, "must be a plain relative path inside the submission, "
                          f"got {value!r}")
    return value


def _read_toml(path: Path) -> dict[str, object]:
    shown = display_path(path)
    if not path.is_file():
        raise BundleError(f"{shown}: missing (every bundle needs one)")
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise BundleError(f"{shown}: not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise BundleError(f"{shown}: not UTF-8: {exc}") from exc


def _submission(table: Table) -> SubmissionSpec:
    entrypoint = _safe_relative(table, "entrypoint", table.string("entrypoint"))
    allowed = table.string_list("allowed", ())
    max_bytes = table.integer("max_bytes", DEFAULT_MAX_SUBMISSION_BYTES, minimum=1)
    max_files = table.integer("max_files", DEFAULT_MAX_SUBMISSION_FILES, minimum=1)
    table.finish()
    return SubmissionSpec(entrypoint, allowed, max_bytes, max_files)


def _limits(table: Table) -> Limits:
    known = set(Limits.__dataclass_fields__)
    for key in table.raw:
        if key not in known:
            raise table.error(key, f"unknown limit; known: {', '.join(sorted(known))}")
        value = table.number(key)
        if value <= 0:
            raise table.error(key, f"must be positive, got {table.raw[key]}")
    try:
        return Limits.from_mapping(table.raw)
    except (ValueError, TypeError) as exc:
        raise BundleError(f"{table.file}: [limits]: {exc}") from exc


def _variants(table: Table, root: Path) -> VariantConfig | None:
    if not table.raw:
        return None
    generator = table.string("generator")
    pure = PurePosixPath(generator)
    if (pure.is_absolute() or len(pure.parts) != 1 or pure.suffix != ".py"
            or generator != pure.as_posix()):
        raise table.error("generator", "must name a .py file at the bundle's root, "
                          f"got {generator!r}")
    path = root / generator
    if not path.is_file() or path.is_symlink():
        raise table.error("generator", f"{generator} is missing")
    default_seed = table.integer("default_seed", minimum=0)
    if default_seed > MAX_VARIANT_SEED:
        raise table.error("default_seed", f"must be at most {MAX_VARIANT_SEED}")
    timeout = table.number("timeout_seconds", DEFAULT_GENERATOR_TIMEOUT_SECONDS)
    if timeout <= 0:
        raise table.error("timeout_seconds", "must be positive")
    table.finish()
    for area in ("public", "hidden"):
        if not (root / area).is_dir():
            raise table.error("generator", f"{area}/ is missing: the committed data is the "
                              "default seed's variant")
    return VariantConfig(generator, default_seed, timeout)


def _solutions(table: Table, root: Path) -> tuple[SolutionCase, ...]:
    directory = root / "solutions"
    on_disk = sorted(p.name for p in directory.iterdir() if p.is_dir()
                     and p.name not in SKIPPED_DIRS) if directory.is_dir() else []
    cases: list[SolutionCase] = []
    for name, case in table.subtables().items():
        if not SLUG_PATTERN.fullmatch(name):
            raise table.error(name, "case names use lowercase letters, digits and dashes")
        low = case.number("min_score")
        high = case.number("max_score")
        description = case.string("description", "", empty_ok=True)
        same_as_starter = case.boolean("same_as_starter", False)
        case.finish()
        for key, value in (("min_score", low), ("max_score", high)):
            if not 0 <= value <= 100:
                raise case.error(key, f"must be within 0..100, got {value:g}")
        if low > high:
            raise case.error("min_score", f"{low:g} is above max_score {high:g}")
        if name not in on_disk:
            raise case.error("min_score", f"no directory solutions/{name}/ holds this case")
        if same_as_starter and not (root / "starter").is_dir():
            raise case.error("same_as_starter", "the bundle has no starter/ to be the same as")
        cases.append(SolutionCase(name, directory / name, low, high, description, same_as_starter))
    missing = [name for name in on_disk if name not in table.raw]
    if missing:
        raise BundleError(f"{table.file}: [solutions.{missing[0]}]: missing: solutions/"
                          f"{missing[0]}/ exists but has no expected score range")
    return tuple(cases)


def load_bundle(path: Path | str) -> Bundle:
    """Load and validate the bundle in directory ``path``; raise ``BundleError`` if malformed."""
    root = Path(path)
    if not root.is_dir():
        raise BundleNotFound(f"{display_path(root)}: not a bundle directory")
    slug = root.resolve().name
    toml_path = root / TOML_NAME
    shown = display_path(toml_path)
    if not SLUG_PATTERN.fullmatch(slug):
        raise BundleError(f"{display_path(root)}: directory name {slug!r} is not a valid slug "
                          "(lowercase letters, digits and dashes, at most 64)")
    top = Table(_read_toml(toml_path), file=shown)
    title = top.string("title")
    kind_name = top.string("kind")
    try:
        kind = KINDS.get(kind_name)
    except UnknownName as exc:
        raise top.error("kind", str(exc)) from None
    summary = top.string("summary")
    skills = top.string_list("skills")
    difficulty = top.choice("difficulty", DIFFICULTIES)
    expected_minutes = top.integer("expected_minutes", minimum=1)
    profile = top.choice("profile", tuple(sorted(PROFILES)), DEFAULT_PROFILE)
    practice = top.boolean("practice", False)
    submission = _submission(top.table("submission"))
    limits = _limits(top.table("limits", required=False))
    grading = kind.parse_grading(top.table("grading"), root=root, submission=submission)
    solutions = _solutions(top.table("solutions", required=False), root)
    variants = _variants(top.table("variants", required=False), root)
    top.finish()

    statement_path = root / STATEMENT_NAME
    try:
        statement = statement_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BundleError(f"{display_path(statement_path)}: missing") from None
    except UnicodeDecodeError as exc:
        raise BundleError(f"{display_path(statement_path)}: not UTF-8: {exc}") from exc
    if not statement.strip():
        raise BundleError(f"{display_path(statement_path)}: empty")

    return Bundle(
        slug=slug, root=root, title=title, kind=kind_name, summary=summary, skills=skills,
        difficulty=difficulty, expected_minutes=expected_minutes, statement=statement,
        submission=submission, limits=limits, grading=grading, solutions=solutions,
        version=bundle_version(root), variants=variants, profile=profile,
        practice=practice,
    )


def default_challenges_dir() -> Path:
    """``$HELDOUT_CHALLENGES_DIR``, else the repository's ``challenges/``, else ``./challenges``."""
    configured = os.environ.get(ENV_CHALLENGES_DIR)
    if configured:
        return Path(configured)
    # graders/heldout/graders/bundle_loading.py -> the repository root is three levels up.
    in_repo = Path(__file__).resolve().parents[3] / "challenges"
    if in_repo.is_dir():
        return in_repo
    return Path.cwd() / "challenges"


def _candidate_dirs(root: Path) -> list[Path]:
    if not root.is_dir():
        raise BundleNotFound(f"{display_path(root)}: no challenges directory here "
                             f"(set {ENV_CHALLENGES_DIR})")
    return sorted(p for p in root.iterdir()
                  if p.is_dir() and not p.name.startswith((".", "_")))


def scan_bundles(root: Path | None = None) -> BundleScan:
    bundles: list[Bundle] = []
    errors: list[BundleError] = []
    for directory in _candidate_dirs(root or default_challenges_dir()):
        try:
            bundles.append(load_bundle(directory))
        except BundleError as exc:
            errors.append(exc)
    return BundleScan(tuple(bundles), tuple(errors))


def discover_bundles(root: Path | None = None) -> list[Bundle]:
    """Every bundle under ``root``, sorted by slug; the first broken one raises."""
    scan = scan_bundles(root)
    if scan.errors:
        raise scan.errors[0]
    return list(scan.bundles)


def resolve_bundle(slug_or_dir: str | Path, root: Path | None = None) -> Bundle:
    """A bundle by slug (under ``root``) or by directory path."""
    text = str(slug_or_dir)
    if isinstance(slug_or_dir, Path) or "/" in text or os.sep in text or text.startswith("."):
        return load_bundle(Path(slug_or_dir))
    if not SLUG_PATTERN.fullmatch(text):
        raise BundleNotFound(f"{text!r} is neither a challenge slug nor a bundle directory")
    base = root or default_challenges_dir()
    directory = base / text
    if not directory.is_dir():
        known = [p.name for p in _candidate_dirs(base)]
        raise BundleNotFound(f"no challenge {text!r} in {display_path(base)}; "
                             f"known: {', '.join(known) or '(none)'}")
    return load_bundle(directory)
