"""What a challenge bundle is: its validated parts, as immutable values (no loading here)."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from heldout.graders.errors import BundleError, UnknownName
from heldout.sandbox.spec import Limits

TOML_NAME = "challenge.toml"
STATEMENT_NAME = "statement.md"
SLUG_PATTERN = re.compile(r"[a-z0-9-]{1,64}")
DIFFICULTIES = ("easy", "medium", "hard")
SKIPPED_DIRS = frozenset({"__pycache__"})
ENV_CHALLENGES_DIR = "HELDOUT_CHALLENGES_DIR"

DEFAULT_MAX_SUBMISSION_BYTES = 1024 * 1024
DEFAULT_MAX_SUBMISSION_FILES = 20


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

    @property
    def toml_path(self) -> Path:
        return self.root / TOML_NAME

    @property
    def public_dir(self) -> Path:
        return self.root / "public"

    @property
    def starter_dir(self) -> Path:
        return self.root / "starter"

    @property
    def hidden_dir(self) -> Path:
        """Grading-side data. Never mount it for candidate code, never serve it."""
        return self.root / "hidden"

    @property
    def solutions_dir(self) -> Path:
        return self.root / "solutions"

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


@dataclass(frozen=True)
class BundleScan:
    """Every bundle of a directory that loaded, and the errors of those that didn't."""

    bundles: tuple[Bundle, ...]
    errors: tuple[BundleError, ...]


