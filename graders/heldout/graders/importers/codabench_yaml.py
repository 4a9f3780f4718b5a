"""``competition.yaml``, CodaBench's (v2) and CodaLab's (v1) layouts, read into tasks.

v2 (``version: 2``) lists ``tasks`` (input data, reference data, scoring program),
``solutions`` (each naming its tasks) and ``phases`` (naming tasks, with an optional starting
kit); v1 has ``phases`` as a mapping whose phases hold the same keys. Only references are
read here; the files behind them are :mod:`heldout.graders.importers.codabench_files`'.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from heldout.graders.errors import ImportRefused


@dataclass(frozen=True)
class TaskSpec:
    """One task (v2) or phase (v1) as the YAML gives it: references, not files yet."""

    where: str  # "tasks[0]" or "phases.1", for messages
    name: str
    description: str
    input_data: str | None
    reference_data: str | None
    scoring_program: str | None
    starting_kit: str | None = None
    public_data: str | None = None
    solutions: tuple[tuple[str, str], ...] = ()  # (where, reference)
    wall_seconds: float | None = None


@dataclass
class Competition:
    title: str
    description: str
    pages: list[tuple[str, str]] = field(default_factory=list)  # (title, reference)
    # Leaderboard columns in rank order, each as its names (key, then title or label).
    columns: list[tuple[str, ...]] = field(default_factory=list)
    tasks: list[TaskSpec] = field(default_factory=list)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _reference(value: Any) -> str | None:
    text = _text(value)
    return text or None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _v2_columns(doc: Mapping[str, Any]) -> list[tuple[str, ...]]:
    columns: list[tuple[str, ...]] = []
    for board in doc.get("leaderboards") or []:
        if isinstance(board, Mapping):
            entries = [c for c in board.get("columns") or [] if isinstance(c, Mapping)]
            entries.sort(key=lambda c: c.get("index", 0) if isinstance(c.get("index"), int) else 0)
            columns += [(_text(c.get("key")), _text(c.get("title"))) for c in entries]
    return columns


def _v1_columns(doc: Mapping[str, Any]) -> list[tuple[str, ...]]:
    board = doc.get("leaderboard")
    columns = board.get("columns") if isinstance(board, Mapping) else None
    if not isinstance(columns, Mapping):
        return []
    ranked = sorted(columns.items(), key=lambda item: (
        item[1].get("rank", 0) if isinstance(item[1], Mapping)
        and isinstance(item[1].get("rank"), int) else 0))
    return [(_text(key), _text(c.get("label")) if isinstance(c, Mapping) else "")
            for key, c in ranked]


def _parse_v2(doc: Mapping[str, Any]) -> list[TaskSpec]:
    tasks = doc.get("tasks")
    if not isinstance(tasks, list) or not tasks:
        raise ImportRefused("competition.yaml: unknown layout: `version: 2` without a list of "
                            "`tasks:`")
    kits: dict[Any, str] = {}
    public: dict[Any, str] = {}
    limits: dict[Any, float] = {}
    for phase in doc.get("phases") or []:
        if not isinstance(phase, Mapping):
            continue
        for index in phase.get("tasks") or []:
            if (kit := _reference(phase.get("starting_kit"))):
                kits.setdefault(index, kit)
            if (data := _reference(phase.get("public_data"))):
                public.setdefault(index, data)
            if (limit := _number(phase.get("execution_time_limit"))):
                limits.setdefault(index, limit)
    solutions: dict[Any, list[tuple[str, str]]] = {}
    for number, solution in enumerate(doc.get("solutions") or []):
        if isinstance(solution, Mapping) and (path := _reference(solution.get("path"))):
            for index in solution.get("tasks") or []:
                solutions.setdefault(index, []).append((f"solutions[{number}]", path))
    specs = []
    for number, task in enumerate(tasks):
        where = f"tasks[{number}]"
        if not isinstance(task, Mapping):
            raise ImportRefused(f"competition.yaml: {where}: not a mapping")
        index = task.get("index", number)
        specs.append(TaskSpec(
            where=where, name=_text(task.get("name")) or f"task {index}",
            description=_text(task.get("description")),
            input_data=_reference(task.get("input_data")),
            reference_data=_reference(task.get("reference_data")),
            scoring_program=_reference(task.get("scoring_program")),
            starting_kit=_reference(task.get("starting_kit")) or kits.get(index),
            public_data=_reference(task.get("public_data")) or public.get(index),
            solutions=tuple(solutions.get(index, ())), wall_seconds=limits.get(index)))
    return specs


def _parse_v1(phases: Mapping[Any, Any] | list[Any]) -> list[TaskSpec]:
    items = list(phases.items()) if isinstance(phases, Mapping) else list(enumerate(phases, 1))
    specs = []
    for key, phase in items:
        where = f"phases.{key}"
        if not isinstance(phase, Mapping):
            raise ImportRefused(f"competition.yaml: {where}: not a mapping")
        specs.append(TaskSpec(
            where=where, name=_text(phase.get("label") or phase.get("name")) or f"phase {key}",
            description=_text(phase.get("description")),
            input_data=_reference(phase.get("input_data")),
            reference_data=_reference(phase.get("reference_data")),
            scoring_program=_reference(phase.get("scoring_program")),
            starting_kit=_reference(phase.get("starting_kit")),
            public_data=_reference(phase.get("public_data")),
            wall_seconds=_number(phase.get("execution_time_limit"))))
    return specs


def parse_competition(text: str) -> Competition:
    """The tasks of a ``competition.yaml``; an unknown layout is refused."""
    import yaml

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ImportRefused(f"competition.yaml: not valid YAML: {exc}") from exc
    if not isinstance(doc, Mapping):
        raise ImportRefused("competition.yaml: unknown layout: not a mapping of settings")
    competition = Competition(title=_text(doc.get("title")) or "Imported competition",
                              description=_text(doc.get("description")))
    phases = doc.get("phases")
    if str(doc.get("version", "")).split(".")[0] == "2" or "tasks" in doc:
        competition.tasks = _parse_v2(doc)
        competition.columns = _v2_columns(doc)
        for page in doc.get("pages") or []:
            if isinstance(page, Mapping) and (ref := _reference(page.get("file"))):
                competition.pages.append((_text(page.get("title")), ref))
    elif ((isinstance(phases, Mapping) and phases
           and all(isinstance(p, Mapping) for p in phases.values()))
          or (isinstance(phases, list) and phases
              and all(isinstance(p, Mapping) and "reference_data" in p for p in phases))):
        competition.tasks = _parse_v1(phases)
        competition.columns = _v1_columns(doc)
        pages = doc.get("html")
        if isinstance(pages, Mapping):
            competition.pages = [(_text(k), ref) for k, v in pages.items()
                                 if (ref := _reference(v))]
    else:
        raise ImportRefused("competition.yaml: unknown layout: expected `version: 2` with "
                            "`tasks:`, or CodaLab's `phases:` whose phases name their "
                            "`reference_data`")
    return competition
