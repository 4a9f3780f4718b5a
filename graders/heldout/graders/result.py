"""What grading says about a submission: checks, metrics, run stats and the score."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

if TYPE_CHECKING:
    from heldout.sandbox.spec import RunResult

CheckKind = Literal["metric", "test", "probe", "run"]
Status = Literal["graded", "internal_error"]
Split = Literal["hidden", "public"]

CHECK_KINDS: tuple[str, ...] = get_args(CheckKind)
STATUSES: tuple[str, ...] = get_args(Status)
SPLITS: tuple[str, ...] = get_args(Split)
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


@dataclass(frozen=True)
class RunStats:
    """What the candidate's run did and cost: the ``run`` object of ``heldout grade --json``.

    Built from the sandbox's ``RunResult`` without its output files (they live in a
    scratch directory that is gone once grading ends), so it can be stored and reloaded.
    ``limit`` is the sandbox's name for the cap that ended the run (``time``, ``memory``,
    ``file_size``, ``output``, ``processes``), ``signal`` the signal that killed it.
    """

    exit_code: int | None
    timed_out: bool
    oom_killed: bool
    wall_seconds: float
    peak_memory_mb: float
    output_bytes: int
    stdout_tail: str
    stderr_tail: str
    cpu_seconds: float = 0.0
    limit: str | None = None
    signal: int | None = None
    warm: bool = False
    # Stopped by the sandbox once its work was done (a service after its probe): not a crash.
    stopped: bool = False

    @classmethod
    def from_result(cls, result: RunResult) -> RunStats:
        return cls(exit_code=result.exit_code, timed_out=result.timed_out,
                   oom_killed=result.oom_killed, wall_seconds=result.wall_seconds,
                   peak_memory_mb=result.peak_memory_mb, output_bytes=result.output_bytes,
                   stdout_tail=result.stdout_tail, stderr_tail=result.stderr_tail,
                   cpu_seconds=result.cpu_seconds, limit=result.limit, signal=result.signal,
                   warm=result.warm, stopped=result.stopped)

    def as_dict(self) -> dict[str, Any]:
        # Rounded as the sandbox always printed them: stored records and the CLI agree.
        return {
            "exit_code": self.exit_code,
            "timed_out": self.timed_out,
            "oom_killed": self.oom_killed,
            "wall_seconds": round(self.wall_seconds, 3),
            "cpu_seconds": round(self.cpu_seconds, 3),
            "peak_memory_mb": round(self.peak_memory_mb, 1),
            "output_bytes": self.output_bytes,
            "stdout_tail": self.stdout_tail,
            "stderr_tail": self.stderr_tail,
            "limit": self.limit,
            "signal": self.signal,
            "warm": self.warm,
            "stopped": self.stopped,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> RunStats:
        """Rebuild from :meth:`as_dict` or a stored record; a malformed one raises ``ValueError``.

        Records stored before ``signal`` and ``warm`` existed load with their defaults.
        """
        try:
            exit_code, signal, limit = raw["exit_code"], raw.get("signal"), raw.get("limit")
            return cls(
                exit_code=None if exit_code is None else _integer(exit_code, "exit_code"),
                timed_out=_flag(raw["timed_out"], "timed_out"),
                oom_killed=_flag(raw["oom_killed"], "oom_killed"),
                wall_seconds=_number(raw["wall_seconds"], "wall_seconds"),
                peak_memory_mb=_number(raw["peak_memory_mb"], "peak_memory_mb"),
                output_bytes=_integer(raw["output_bytes"], "output_bytes"),
                stdout_tail=_text(raw["stdout_tail"], "stdout_tail"),
                stderr_tail=_text(raw["stderr_tail"], "stderr_tail"),
                cpu_seconds=_number(raw.get("cpu_seconds", 0.0), "cpu_seconds"),
                limit=None if limit is None else _text(limit, "limit"),
                signal=None if signal is None else _integer(signal, "signal"),
                warm=_flag(raw.get("warm", False), "warm"),
                stopped=_flag(raw.get("stopped", False), "stopped"),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a run record: {exc!r}") from exc


def _integer(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"not a run record: {name} must be an integer, got {value!r}")
    return value


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"not a run record: {name} must be a number, got {value!r}")
    return float(value)


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"not a run record: {name} must be true or false, got {value!r}")
    return value


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"not a run record: {name} must be a string, got {value!r}")
    return value


@dataclass(frozen=True)
class Evaluation:
    """The outcome of grading one submission against one bundle version.

    ``internal_error`` carries no score (``None``): it is retried, never shown as a zero.
    ``run`` is what the candidate's run did, or None when nothing ran (e.g. the
    submission was refused before running, or the platform failed). ``split`` says
    whether hidden grading or the public checks produced it.
    """

    challenge: str
    version: str
    status: Status
    score: float | None
    max_score: float = MAX_SCORE
    checks: tuple[Check, ...] = ()
    metrics: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    run: RunStats | None = None
    error: str | None = None
    split: Split = "hidden"
    # Files a kind kept from the run for the report (the notebook kind's executed notebook),
    # by name. Candidate-controlled bytes: render them sanitised. Not in as_dict (the JSON
    # contract); whoever stores an evaluation stores these beside it.
    artefacts: Mapping[str, bytes] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {self.status!r}")
        out_of_range = self.score is None or not 0 <= self.score <= self.max_score
        if self.status == "graded" and out_of_range:
            raise ValueError(f"a graded evaluation needs a score in 0..{self.max_score}")
        if self.status == "internal_error" and self.score is not None:
            raise ValueError("an internal_error carries no score")
        if self.split not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {self.split!r}")
        if self.run is not None and not isinstance(self.run, RunStats):
            raise TypeError(f"run must be RunStats or None, got {type(self.run).__name__}")
        object.__setattr__(self, "checks", tuple(self.checks))
        object.__setattr__(self, "metrics", MappingProxyType(dict(self.metrics)))
        object.__setattr__(self, "artefacts", MappingProxyType(dict(self.artefacts)))

    @classmethod
    def internal_error(cls, challenge: str, version: str, error: str,
                       run: RunStats | None = None) -> Evaluation:
        return cls(challenge=challenge, version=version, status="internal_error", score=None,
                   run=run, error=error)

    @property
    def graded(self) -> bool:
        return self.status == "graded"

    def as_dict(self) -> dict[str, Any]:
        """The object printed by ``heldout grade --json`` (see ARCHITECTURE.md).

        ``error`` is the one key beyond the contract: null when graded, the reason otherwise.
        ``split`` appears for public checks alone (``"split": "public"``), so hidden
        grading prints exactly the contract's object, as it always has.
        """
        shown = {
            "challenge": self.challenge,
            "version": self.version,
            "status": self.status,
            "score": None if self.score is None else _num(self.score),
            "max_score": _num(self.max_score),
            "checks": [check.as_dict() for check in self.checks],
            "metrics": dict(self.metrics),
            "run": None if self.run is None else self.run.as_dict(),
            "error": self.error,
        }
        if self.split == "public":
            shown["split"] = self.split
        return shown

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Evaluation:
        """Rebuild a stored evaluation; a malformed record raises ``ValueError``."""
        try:
            score, run, split = raw["score"], raw.get("run"), raw.get("split", "hidden")
            if split not in SPLITS:
                raise ValueError(f"not an evaluation record: split {split!r}")
            return cls(
                challenge=str(raw["challenge"]),
                version=str(raw["version"]),
                status=cast(Status, raw["status"]),
                score=None if score is None else float(score),
                max_score=float(raw.get("max_score", MAX_SCORE)),
                checks=tuple(Check.from_dict(c) for c in raw.get("checks", [])),
                metrics={str(k): float(v) for k, v in dict(raw.get("metrics") or {}).items()},
                run=None if run is None else RunStats.from_dict(run),
                error=raw.get("error"),
                split=cast(Split, split),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not an evaluation record: {exc!r}") from exc


def _num(value: float) -> float | int:
    """Whole numbers print as integers (100, not 100.0); others keep two decimals."""
    rounded = round(value, 2)
    return int(rounded) if rounded == int(rounded) else rounded
