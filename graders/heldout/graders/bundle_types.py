"""What a challenge bundle is: its validated parts, as immutable values (no loading here)."""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from heldout.graders.errors import BundleError, UnknownName
from heldout.sandbox.profiles import DEFAULT_PROFILE
from heldout.sandbox.spec import Limits

TOML_NAME = "challenge.toml"
STATEMENT_NAME = "statement.md"
SLUG_PATTERN = re.compile(r"[a-z0-9-]{1,64}")
DIFFICULTIES = ("easy", "medium", "hard")
SKIPPED_DIRS = frozenset({"__pycache__"})
ENV_CHALLENGES_DIR = "HELDOUT_CHALLENGES_DIR"

DEFAULT_MAX_SUBMISSION_BYTES = 1024 * 1024
DEFAULT_MAX_SUBMISSION_FILES = 20
DEFAULT_GENERATOR_TIMEOUT_SECONDS = 120.0
# Seeds fit a signed 32-bit column on every database backend.
MAX_VARIANT_SEED = 2**31 - 1


@dataclass(frozen=True)
class SubmissionSpec:
    """What a candidate may upload: the entrypoint plus files matching ``allowed``."""

    entrypoint: str
    allowed: tuple[str, ...] = ()
    max_bytes: int = DEFAULT_MAX_SUBMISSION_BYTES
    max_files: int = DEFAULT_MAX_SUBMISSION_FILES

    def accepts(self, relative_path: str) -> bool:
        """Whether a file at this path (POSIX, relative) may be part of a submission."""
        if relative_path == self.entrypoint:
            return True
        name = PurePosixPath(relative_path).name
        return any(fnmatch.fnmatchcase(relative_path, pattern)
                   or fnmatch.fnmatchcase(name, pattern) for pattern in self.allowed)

    def describe(self) -> str:
        return ", ".join((self.entrypoint, *self.allowed))


@dataclass(frozen=True)
class SolutionCase:
    """A submission kept in ``solutions/<name>/`` with the score range it must get."""

    name: str
    path: Path
    min_score: float
    max_score: float
    description: str = ""
    # Declared in challenge.toml: this case is starter/ as shipped, file for file.
    same_as_starter: bool = False

    def accepts(self, score: float) -> bool:
        return self.min_score <= score <= self.max_score


@dataclass(frozen=True)
class VariantConfig:
    """The validated ``[variants]`` table: a seeded generator at the bundle's root.

    ``default_seed`` is the seed the committed public/ and hidden/ were generated with.
    """

    generator: str
    default_seed: int
    timeout_seconds: float = DEFAULT_GENERATOR_TIMEOUT_SECONDS


@dataclass(frozen=True)
class Variant:
    """One generated variant of a bundle's data, as stored in the variant cache."""

    seed: int
    digest: str
    root: Path

    @property
    def public_dir(self) -> Path:
        return self.root / "public"

    @property
    def hidden_dir(self) -> Path:
        """This variant's answers: grading side only, like a bundle's hidden/."""
        return self.root / "hidden"


@dataclass(frozen=True)
class Bundle:
    """A validated challenge bundle; ``version`` is the content hash of its directory."""

    slug: str
    root: Path
    title: str
    kind: str
    summary: str
    skills: tuple[str, ...]
    difficulty: str
    expected_minutes: int
    statement: str
    submission: SubmissionSpec
    limits: Limits
    grading: GradingConfig
    solutions: tuple[SolutionCase, ...]
    version: str
    variants: VariantConfig | None = None
    # The runtime profile (heldout.sandbox.profiles) every job of this bundle runs in.
    profile: str = DEFAULT_PROFILE
    # A practice sample (``practice = true``): the practice page's, never in the catalogue.
    practice: bool = False
    # Set by :meth:`with_variant`: public_dir and hidden_dir then name the variant's data.
    variant: Variant | None = None

    @property
    def toml_path(self) -> Path:
        return self.root / TOML_NAME

    @property
    def public_dir(self) -> Path:
        """The data candidates see: the bound variant's, else the committed public/."""
        return self.variant.public_dir if self.variant is not None else self.root / "public"

    @property
    def starter_dir(self) -> Path:
        return self.root / "starter"

    @property
    def hidden_dir(self) -> Path:
        """Grading-side data (the bound variant's, else hidden/). Never mount, never serve."""
        return self.variant.hidden_dir if self.variant is not None else self.root / "hidden"

    @property
    def answer_dirs(self) -> tuple[Path, ...]:
        """Every tree holding answers: committed hidden/, the variant's, and solutions/."""
        dirs = [self.root / "hidden", self.solutions_dir]
        if self.variant is not None:
            dirs.append(self.variant.hidden_dir)
        return tuple(dirs)

    def with_variant(self, variant: Variant | None) -> Bundle:
        """This bundle graded and served with ``variant``'s data (None: the committed data)."""
        return dataclasses.replace(self, variant=variant)

    @property
    def solutions_dir(self) -> Path:
        return self.root / "solutions"

    @property
    def quick_solutions(self) -> tuple[SolutionCase, ...]:
        """The cases CI grades (``heldout challenges check`` without ``--all``), in order.

        The reference (the case with the highest ``min_score``, the first of equals), the
        starter case (``same_as_starter``) and the first other case challenge.toml
        declares: one flawed solution, the one its author put first.
        """
        if not self.solutions:
            return ()
        reference = max(self.solutions, key=lambda case: case.min_score)
        starter = [case for case in self.solutions
                   if case.same_as_starter and case is not reference][:1]
        flawed = [case for case in self.solutions
                  if case is not reference and not case.same_as_starter][:1]
        chosen = {id(case) for case in (reference, *starter, *flawed)}
        return tuple(case for case in self.solutions if id(case) in chosen)

    def solution(self, name: str) -> SolutionCase:
        for case in self.solutions:
            if case.name == name:
                return case
        raise UnknownName("solution case", name, [c.name for c in self.solutions])


def display_path(path: Path) -> str:
    """A path as messages show it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)




@dataclass(frozen=True)
class GradingConfig:
    """Base of each kind's validated ``[grading]`` table."""

    @property
    def public_run_budget(self) -> int | None:
        """How many public-check runs an attempt may make of the challenge (None: no cap).

        Kinds whose public checks score on labels held back from the candidate set one.
        """
        return None

    def optional_files(self) -> tuple[str, ...]:
        """Files besides the entrypoint that the kind runs by name when the candidate adds
        them (a deployment's build step): the workspace opens a tab for each."""
        return ()


@dataclass(frozen=True)
class BundleScan:
    """Every bundle of a directory that loaded, and the errors of those that didn't."""

    bundles: tuple[Bundle, ...]
    errors: tuple[BundleError, ...]


