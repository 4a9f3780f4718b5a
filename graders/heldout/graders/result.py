"""What grading says about a submission: checks, metrics, run stats and the score."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, cast, get_args

CheckKind = Literal["metric", "test", "probe", "run"]
Status = Literal["graded", "internal_error"]

CHECK_KINDS: tuple[str, ...] = get_args(CheckKind)
STATUSES: tuple[str, ...] = get_args(Status)
MAX_SCORE = 100.0
# A detail is one line an interviewer reads; it often quotes candidate output, which must
# never grow a report (or the database) without bound.
MAX_DETAIL_CHARS = 500


@dataclass(frozen=True)
class Check:
    """One verdict an interviewer reads: ✓/✗, points and a one-line explanation."""

    name: str
    kind: CheckKind
    passed: bool
    score: float
    max_score: float
    detail: str

    def __post_init__(self) -> None:
        if self.kind not in CHECK_KINDS:
            raise ValueError(f"check kind must be one of {', '.join(CHECK_KINDS)}, "
                             f"got {self.kind!r}")
        if not 0 <= self.score <= self.max_score:
            raise ValueError(f"check {self.name!r}: score {self.score} outside 0..{self.max_score}")
        if len(self.detail) > MAX_DETAIL_CHARS:
            cut = len(self.detail) - MAX_DETAIL_CHARS
            object.__setattr__(self, "detail", f"{self.detail[:MAX_DETAIL_CHARS]}… ({cut} more characters)")

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "passed": self.passed,
                "score": _num(self.score), "max_score": _num(self.max_score), "detail": self.detail}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Check:
        return cls(name=str(raw["name"]), kind=cast(CheckKind, raw["kind"]),
                   passed=bool(raw["passed"]), score=float(raw["score"]),
                   max_score=float(raw["max_score"]), detail=str(raw["detail"]))


def _frozen(value: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    return None if value is None else MappingProxyType(dict(value))


@dataclass(frozen=True)
class Evaluation:
    """The outcome of grading one submission against one bundle version.

    ``internal_error`` carries no score (``None``): it is retried, never shown as a zero.
    ``run`` is the sandbox's run record, or None when nothing ran (e.g. the submission
    was refused before running, or the platform failed).
    """

    challenge: str
    version: str
    status: Status
    score: float | None
    max_score: float = MAX_SCORE
    checks: tuple[Check, ...] = ()
    metrics: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    run: Mapping[str, Any] | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {self.status!r}")
        out_of_range = self.score is None or not 0 <= self.score <= self.max_score
        if self.status == "graded" and out_of_range:
            raise ValueError(f"a graded evaluation needs a score in 0..{self.max_score}")
        if self.status == "internal_error" and self.score is not None:
            raise ValueError("an internal_error carries no score")
        object.__setattr__(self, "checks", tuple(self.checks))
        object.__setattr__(self, "metrics", MappingProxyType(dict(self.metrics)))
        object.__setattr__(self, "run", _frozen(self.run))

    @classmethod
    def internal_error(cls, challenge: str, version: str, error: str,
                       run: Mapping[str, Any] | None = None) -> Evaluation:
        return cls(challenge=challenge, version=version, status="internal_error", score=None,
                   run=run, error=error)

    @property
    def graded(self) -> bool:
        return self.status == "graded"

    def as_dict(self) -> dict[str, Any]:
        """The object printed by ``heldout grade --json`` (see ARCHITECTURE.md).

        ``error`` is the one key beyond the contract: null when graded, the reason otherwise.
        """
        return {
            "challenge": self.challenge,
            "version": self.version,
            "status": self.status,
            "score": None if self.score is None else _num(self.score),
            "max_score": _num(self.max_score),
            "checks": [check.as_dict() for check in self.checks],
            "metrics": dict(self.metrics),
            "run": None if self.run is None else dict(self.run),
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Evaluation:
        """Rebuild a stored evaluation; a malformed record raises ``ValueError``."""
        try:
            score = raw["score"]
            return cls(
                challenge=str(raw["challenge"]),
                version=str(raw["version"]),
                status=cast(Status, raw["status"]),
                score=None if score is None else float(score),
                max_score=float(raw.get("max_score", MAX_SCORE)),
                checks=tuple(Check.from_dict(c) for c in raw.get("checks", [])),
                metrics={str(k): float(v) for k, v in dict(raw.get("metrics") or {}).items()},
                run=raw.get("run"),
                error=raw.get("error"),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not an evaluation record: {exc!r}") from exc


def _num(value: float) -> float | int:
    """Whole numbers print as integers (100, not 100.0); others keep two decimals."""
    rounded = round(value, 2)
    return int(rounded) if rounded == int(rounded) else rounded
