"""The attack catalogue: attack files in ``attacks/`` and the outcome each declares."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ATTACKS_DIR = Path(__file__).resolve().parents[1] / "attacks"
# Small caps keep the suite fast; an attack's ``limits:`` line overrides single values.
ATTACK_LIMITS: dict[str, float] = {
    "wall_seconds": 20, "memory_mb": 512, "cpus": 1, "pids": 64, "nofile": 256,
    "file_size_mb": 64, "output_mb": 32, "tmp_mb": 64, "output_files": 64, "log_bytes": 16384,
}
HEADER_LINE = re.compile(r"^# ([a-z-]+):\s*(.*?)\s*$")
CONTINUED = re.compile(r"^#\s{3,}(\S.*?)\s*$")  # a long value goes on, indented
RUN_TERM = re.compile(r"^([a-z_]+)(=|<|>)(.+)$")
ROUTES = ("grader", "run")
NEEDS = ("host_listener", "other_run", "env_secret", "host_canary", "neighbour")
KEYS = {"attack", "category", "route", "limits", "score-min", "score-max", "detail", "run",
        "stdout", "forbid", "runs", "warm", "needs", "max-wall", "expect"}


@dataclass(frozen=True)
class RunTerm:
    """One ``run:`` expectation: ``key=a|b`` (any of), ``key<n`` or ``key>n``."""

    key: str
    op: str
    values: tuple[str, ...]

    def problem(self, run: Mapping[str, Any]) -> str | None:
        if self.key not in run:
            return f"run has no {self.key!r}"
        actual = run[self.key]
        if self.op == "=":
            if _token(actual) not in self.values:
                return f"run {self.key} is {actual!r}, expected {'|'.join(self.values)}"
            return None
        bound = float(self.values[0])
        if not isinstance(actual, int | float) or isinstance(actual, bool):
            return f"run {self.key} is {actual!r}, not a number"
        if (self.op == "<" and not actual < bound) or (self.op == ">" and not actual > bound):
            return f"run {self.key} is {actual!r}, expected {self.op} {bound:g}"
        return None

    def __str__(self) -> str:
        return f"{self.key}{self.op}{'|'.join(self.values)}"


def _token(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class Attack:
    """An attack file and the outcome it must end in."""

    name: str
    path: Path
    summary: str
    category: str
    expect: str  # the expected outcome in words (README)
    route: str = "grader"
    limits: Mapping[str, float] = field(default_factory=dict)
    score_min: float = 0.0
    score_max: float = 0.0
    details: tuple[str, ...] = ()
    run: tuple[RunTerm, ...] = ()
    stdout: tuple[str, ...] = ()
    forbid: tuple[str, ...] = ()
    runs: int = 1
    warm: bool = False
    needs: tuple[str, ...] = ()
    max_wall: float | None = None

    @property
    def all_limits(self) -> dict[str, float]:
        return {**ATTACK_LIMITS, **self.limits}

    @property
    def command(self) -> tuple[str, ...]:
        return ("bash", self.path.name) if self.path.suffix == ".sh" else ("python", self.path.name)


def _number(text: str) -> float:
    value = float(text)
    return int(value) if value == int(value) else value


def parse_attack(path: Path) -> Attack:
    """Read an attack's header; a malformed header fails loudly (a typo must not pass)."""
    fields: dict[str, list[str]] = {}
    last: str | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#!"):
            continue
        if not line.startswith("#"):
            break
        more = CONTINUED.match(line)
        if more and last is not None:
            fields[last][-1] += " " + more[1]
            continue
        match = HEADER_LINE.match(line)
        if match:
            if match[1] not in KEYS:
                raise ValueError(f"{path.name}: unknown header key {match[1]!r}")
            fields.setdefault(match[1], []).append(match[2])
            last = match[1]

    def one(key: str, default: str | None = None) -> str:
        values = fields.get(key)
        if not values:
            if default is None:
                raise ValueError(f"{path.name}: header needs '# {key}: …'")
            return default
        if len(values) > 1:
            raise ValueError(f"{path.name}: '{key}' given twice")
        return values[0]

    limits: dict[str, float] = {}
    for item in filter(None, (p.strip() for p in one("limits", "").split(","))):
        key, _, value = item.partition("=")
        if key.strip() not in ATTACK_LIMITS:
            raise ValueError(f"{path.name}: unknown limit {key!r}")
        limits[key.strip()] = _number(value)
    terms = []
    for line in fields.get("run", []):
        for item in line.split():
            match = RUN_TERM.match(item)
            if not match:
                raise ValueError(f"{path.name}: bad run term {item!r}")
            terms.append(RunTerm(match[1], match[2], tuple(match[3].split("|"))))
    route = one("route", "grader")
    if route not in ROUTES:
        raise ValueError(f"{path.name}: route must be one of {ROUTES}")
    needs = tuple(one("needs", "").split())
    unknown = sorted(set(needs) - set(NEEDS))
    if unknown:
        raise ValueError(f"{path.name}: unknown needs {unknown}; known: {NEEDS}")
    if route == "grader" and not fields.get("detail"):
        raise ValueError(f"{path.name}: a graded attack must name the reason ('# detail: …')")
    for key in ("detail", "stdout", "forbid"):
        for pattern in fields.get(key, []):
            re.compile(pattern)
    max_wall = one("max-wall", "")
    return Attack(
        name=path.stem, path=path, summary=one("attack"), category=one("category"),
        expect=one("expect"), route=route, limits=limits,
        score_min=float(one("score-min", "0")), score_max=float(one("score-max", "0")),
        details=tuple(fields.get("detail", [])), run=tuple(terms),
        stdout=tuple(fields.get("stdout", [])), forbid=tuple(fields.get("forbid", [])),
        runs=int(one("runs", "1")), warm=one("warm", "no") == "yes", needs=needs,
        max_wall=float(max_wall) if max_wall else None,
    )


def load_catalogue() -> dict[str, Attack]:
    """Every attack by name (its file name without the suffix, unique across suffixes)."""
    catalogue: dict[str, Attack] = {}
    for path in sorted(p for p in ATTACKS_DIR.iterdir() if p.suffix in (".py", ".sh")):
        if path.stem in catalogue:
            raise ValueError(f"two attacks are named {path.stem!r}")
        catalogue[path.stem] = parse_attack(path)
    return catalogue
