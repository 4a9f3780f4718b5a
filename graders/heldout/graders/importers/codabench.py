"""CodaBench (and CodaLab) competition bundles -> ``model_training`` bundles, one per task.

``competition.yaml`` v2 (``version: 2``) lists ``tasks`` (input data, reference data,
scoring program), ``solutions`` (each naming its tasks) and ``phases`` (naming tasks, with
an optional starting kit); v1, CodaLab's layout, has ``phases`` as a mapping whose phases
hold the same keys. Each path is a folder or a ``.zip`` inside the bundle.
"""

from __future__ import annotations

import csv
import html
import json
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from typing import Any

from heldout.graders.bundle import STATEMENT_NAME, TOML_NAME
from heldout.graders.errors import GraderError, ImportRefused
from heldout.graders.importers.archive import Budget, extract_zip, safe_member_path
from heldout.graders.importers.leaks import label_column, same_bytes
from heldout.graders.importers.scoring import choose_metric, scale
from heldout.graders.importers.staging import Draft, TomlValue, slugify, solution_table, toml_text
from heldout.graders.metrics import Metric
from heldout.graders.tables import read_labels

COMPETITION_NAMES = ("competition.yaml", "competition.yml")
MAX_YAML_BYTES = 1024 * 1024
MAX_PAGE_CHARS = 20_000
# When a folder holds several .py files, the one that runs is the first of these present.
ENTRYPOINT_NAMES = ("solution.py", "submission.py", "main.py", "run.py", "model.py",
                    "predict.py", "train.py")
WALL_SECONDS = 300
MEMORY_MB = 2048


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
    columns: list[str] = field(default_factory=list)
    tasks: list[TaskSpec] = field(default_factory=list)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _reference(value: Any) -> str | None:
    text = _text(value)
    return text or None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _v2_columns(doc: Mapping[str, Any]) -> list[str]:
    columns: list[str] = []
    for board in doc.get("leaderboards") or []:
        if isinstance(board, Mapping):
            entries = [c for c in board.get("columns") or [] if isinstance(c, Mapping)]
            entries.sort(key=lambda c: c.get("index", 0) if isinstance(c.get("index"), int) else 0)
            columns += [_text(c.get("key") or c.get("title")) for c in entries]
    return columns


def _v1_columns(doc: Mapping[str, Any]) -> list[str]:
    board = doc.get("leaderboard")
    columns = board.get("columns") if isinstance(board, Mapping) else None
    if not isinstance(columns, Mapping):
        return []
    ranked = sorted(columns.items(), key=lambda item: (
        item[1].get("rank", 0) if isinstance(item[1], Mapping)
        and isinstance(item[1].get("rank"), int) else 0))
    return [_text(key) for key, _ in ranked]


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


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in ("p", "br", "li", "h1", "h2", "h3", "h4", "tr", "div"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self.skip:
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def _page_text(path: Path) -> str:
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix.lower() in (".html", ".htm"):
        parser = _Text()
        parser.feed(text)
        text = html.unescape("".join(parser.parts))
        text = re.sub(r"\n\s*\n+", "\n\n", text)
    return text.strip()[:MAX_PAGE_CHARS]


class Unpacked:
    """The unpacked bundle: resolves the YAML's references to folders, unpacking inner zips."""

    def __init__(self, zip_path: Path, work: Path) -> None:
        self.shown = zip_path.name
        self.work = work
        self.budget = Budget()
        extract_zip(zip_path, work / "bundle", self.shown, self.budget)
        self.base = self._find_base(work / "bundle")
        self._resolved: dict[str, Path] = {}

    def _find_base(self, root: Path) -> Path:
        for name in COMPETITION_NAMES:
            if (root / name).is_file():
                return root
        inside = [p for p in root.iterdir() if not p.name.startswith(("__MACOSX", "."))]
        if len(inside) == 1 and inside[0].is_dir():
            for name in COMPETITION_NAMES:
                if (inside[0] / name).is_file():
                    return inside[0]
        raise ImportRefused(f"{self.shown}: unknown layout: no competition.yaml at its top")

    def competition_text(self) -> str:
        path = next(self.base / n for n in COMPETITION_NAMES if (self.base / n).is_file())
        if path.stat().st_size > MAX_YAML_BYTES:
            raise ImportRefused(f"{self.shown}: competition.yaml is over 1 MB")
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ImportRefused(f"{self.shown}: competition.yaml is not UTF-8") from exc

    def folder(self, reference: str, where: str) -> tuple[Path, str]:
        """The folder a reference names, and how to show it; a missing one is refused."""
        relative = safe_member_path(reference.removeprefix("./").rstrip("/"))
        if relative is None or not relative.parts:
            raise ImportRefused(f"competition.yaml: {where}: {reference!r} is not a path "
                                f"inside {self.shown}")
        key = relative.as_posix()
        shown = key
        if key in self._resolved:
            return self._resolved[key], shown
        path = self.base.joinpath(*relative.parts)
        if path.is_symlink() or not path.exists():
            raise ImportRefused(f"competition.yaml: {where}: {key!r} is missing from {self.shown}")
        if path.is_dir():
            found = path
        elif path.suffix.lower() == ".zip":
            found = self.work / f"inner-{len(self._resolved)}"
            extract_zip(path, found, f"{self.shown}: {key}", self.budget)
            inside = [p for p in found.iterdir() if not p.name.startswith(("__MACOSX", "."))]
            if len(inside) == 1 and inside[0].is_dir():
                found = inside[0]
        else:  # a single file stands for a folder holding it
            found = self.work / f"inner-{len(self._resolved)}"
            found.mkdir()
            shutil.copyfile(path, found / path.name)
        self._resolved[key] = found
        return found, shown


def _files(folder: Path, shown: str) -> dict[str, Path]:
    return {f"{shown}/{p.relative_to(folder).as_posix()}": p for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.is_symlink() and "__MACOSX" not in p.parts
            and "__pycache__" not in p.parts}


def _labels_file(reference: Path, shown: str) -> Path:
    tables = sorted(p for p in reference.rglob("*.csv") if p.is_file())
    if len(tables) != 1:
        listed = ", ".join(sorted(_files(reference, shown))) or "nothing"
        reason = "several CSV files" if tables else "no CSV file"
        raise ImportRefused(f"{shown}: {reason} ({listed}); heldout grades against one CSV of "
                            "labels with an id column")
    return tables[0]


def _columns(path: Path, shown: str, id_column: str | None,
             label_column: str | None) -> tuple[str, str]:
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        header = [name.strip() for name in next(csv.reader(handle), [])]
    if id_column is not None and id_column not in header:
        raise ImportRefused(f"{shown}: no column {id_column!r} (header: {','.join(header)})")
    id_name = id_column or (header[0] if header else "")
    others = [name for name in header if name != id_name]
    if label_column is not None:
        if label_column not in others:
            raise ImportRefused(f"{shown}: no label column {label_column!r} "
                                f"(header: {','.join(header)})")
        return id_name, label_column
    if len(others) != 1:
        raise ImportRefused(f"{shown}: expected an id column and one label column, the header is "
                            f"{','.join(header)!r}; pass --id-column and --label-column")
    return id_name, others[0]


def _top_programs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.py") if p.is_file())


RESULT_PROGRAM = """\
\"\"\"A result submission imported from a CodaBench bundle: it writes the predictions it shipped.\"\"\"
import os
import shutil

here = os.path.dirname(os.path.abspath(__file__))
shutil.copyfile(os.path.join(here, {file}),
                os.path.join(os.environ["HELDOUT_OUTPUT"], "predictions.csv"))
"""


def _result_file(folder: Path, where: str, id_name: str, prediction_name: str) -> Path:
    """The predictions file of a result-only solution (no program): one CSV with the columns."""
    tables = [p for p in sorted(folder.rglob("*.csv")) if p.is_file() and not p.is_symlink()]
    if len(tables) == 1:
        with tables[0].open(encoding="utf-8", errors="replace", newline="") as handle:
            header = [name.strip() for name in next(csv.reader(handle), [])]
        if id_name in header and prediction_name in header:
            return tables[0]
    raise ImportRefused(f"competition.yaml: {where}: neither a .py program nor one CSV of "
                        f"predictions with the columns {id_name!r} and {prediction_name!r}")


def _entrypoint(kit: Path | None, solutions: Sequence[tuple[str, Path]], where: str) -> str:
    folders = [programs for programs in
               ([_top_programs(kit)] if kit else []) + [_top_programs(p) for _, p in solutions]
               if programs]
    if not folders:
        return ENTRYPOINT_NAMES[0]  # only result submissions: their program gets the usual name
    common = sorted(set(folders[0]).intersection(*folders[1:]))
    if not common:
        raise ImportRefused(f"competition.yaml: {where}: the starting kit and the solutions share "
                            "no .py program name, so no one entrypoint runs them all")
    for name in ENTRYPOINT_NAMES:
        if name in common:
            return name
    if len(common) == 1:
        return common[0]
    raise ImportRefused(f"competition.yaml: {where}: several .py programs ({', '.join(common)}) "
                        "and none of the usual names; can't tell which one runs")


def _allowed(entrypoint: str, folders: Sequence[Path]) -> tuple[list[str], int, int]:
    patterns: set[str] = set()
    most_files, most_bytes = 0, 0
    for folder in folders:
        files = [p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
        most_files = max(most_files, len(files))
        most_bytes = max(most_bytes, sum(p.stat().st_size for p in files))
        for path in files:
            if path.relative_to(folder).as_posix() != entrypoint:
                patterns.add(f"*{path.suffix}" if path.suffix else path.name)
    return sorted(patterns), max(20, most_files + 5), max(1024 * 1024, 2 * most_bytes)


@dataclass
class Options:
    metric: str | None = None
    id_column: str | None = None
    label_column: str | None = None
    prediction_column: str | None = None
    slug: str | None = None


def _statement(competition: Competition, task: TaskSpec, pages: Sequence[tuple[str, str]],
               entrypoint: str, public: Sequence[str], id_name: str, label_name: str,
               metric: Metric, baseline: float, target: float, several: bool) -> str:
    title = competition.title + (f": {task.name}" if several else "")
    parts = [f"# {title}", ""]
    for text in (competition.description, task.description):
        if text:
            parts += [text, ""]
    for page_title, text in pages:
        parts += [f"## {page_title}" if page_title else "", "", text, ""]
    listed = "\n".join(f"- `{name}`" for name in public) or "- (no files)"
    better = "higher" if metric.higher_is_better else "lower"
    parts += [
        "## What to submit", "",
        f"Your program `{entrypoint}` runs as `python {entrypoint}`, with no network, and the "
        "data below read-only in `/data` (`$HELDOUT_DATA`):", "", listed, "",
        f"It must write `/output/predictions.csv` (`$HELDOUT_OUTPUT`): a CSV with the header "
        f"`{id_name},{label_name}` and one row per id of the test data, holding "
        f"{metric.expects}.", "",
        "## Grading", "",
        f"Predictions are scored by {metric.title} ({better} is better) on hidden labels: "
        f"{baseline:g} (what a constant prediction gets) earns no points, {target:g} or better "
        "earns all 100, linearly in between.", ""]
    return "\n".join(parts)


def _task_draft(unpacked: Unpacked, competition: Competition, task: TaskSpec, slug: str,
                options: Options, several: bool) -> Draft:
    draft = Draft(slug)
    if task.reference_data is None:
        raise ImportRefused(f"competition.yaml: {task.where}: no reference_data (the hidden "
                            "labels heldout grades against)")
    reference, reference_shown = unpacked.folder(task.reference_data, f"{task.where}.reference_data")
    public: dict[str, Path] = {}
    public_relative: dict[str, str] = {}
    for key, ref in (("input_data", task.input_data), ("public_data", task.public_data)):
        if ref is not None:
            folder, shown = unpacked.folder(ref, f"{task.where}.{key}")
            for name, path in _files(folder, shown).items():
                public[name] = path
                public_relative[name] = path.relative_to(folder).as_posix()
    if not public:
        raise ImportRefused(f"competition.yaml: {task.where}: no input_data: candidates would "
                            "have no data to train on")
    hidden = _files(reference, reference_shown)
    leak = same_bytes(public, hidden)
    if leak:
        raise ImportRefused(f"{unpacked.shown}: {leak}; refused (remove it from the public data)")
    labels_path = _labels_file(reference, reference_shown)
    labels_shown = f"{reference_shown}/{labels_path.relative_to(reference).as_posix()}"
    id_name, label_name = _columns(labels_path, labels_shown, options.id_column,
                                   options.label_column)
    prediction_name = options.prediction_column or label_name
    if prediction_name == id_name:
        raise ImportRefused(f"--prediction-column: {prediction_name!r} is the id column")
    try:
        labels = read_labels(labels_path, id_column=id_name, label_column=label_name)
    except GraderError as exc:
        raise ImportRefused(f"{labels_shown}: {exc} (heldout scores numeric labels)") from exc
    leak = label_column(public, labels, id_name, labels_shown)
    if leak:
        raise ImportRefused(f"{unpacked.shown}: {leak}; refused (remove it from the public data)")

    program: Path | None = None
    program_shown = "scoring_program"
    if task.scoring_program is not None:
        program, program_shown = unpacked.folder(task.scoring_program,
                                                 f"{task.where}.scoring_program")
    metric = choose_metric(program, program_shown, competition.columns, options.metric)
    baseline, target = scale(metric, labels.values, labels_shown)

    kit = (unpacked.folder(task.starting_kit, f"{task.where}.starting_kit")[0]
           if task.starting_kit else None)
    solutions = [(where, unpacked.folder(ref, f"{where}.path")[0]) for where, ref in task.solutions]
    results = {where: _result_file(folder, where, id_name, prediction_name)
               for where, folder in solutions if not _top_programs(folder)}
    programs = [(where, folder) for where, folder in solutions if where not in results]
    entrypoint = _entrypoint(kit, programs, task.where)
    allowed, max_files, max_bytes = _allowed(entrypoint, [f for f in [kit] if f]
                                             + [p for _, p in programs]
                                             + [p.parent for p in results.values()])

    public_names: list[str] = []
    for shown, path in public.items():
        relative = public_relative[shown]
        if f"public/{relative}" in draft.files:
            raise ImportRefused(f"{unpacked.shown}: {shown}: two public files would both be "
                                f"public/{relative}")
        draft.files[f"public/{relative}"] = path
        public_names.append(relative)
    draft.files[f"hidden/{labels_path.name}"] = labels_path
    cases: dict[str, dict[str, TomlValue]] = {}
    if kit is not None:
        draft.add_tree("starter", kit)
        draft.add_tree("solutions/starter", kit)
        cases["solutions.starter"] = solution_table(
            0, 100, "the starting kit as shipped (range not measured yet: tighten it after "
            "`heldout challenges check`)", same_as_starter=True)
    for number, (where, folder) in enumerate(solutions):
        name = "reference" if number == 0 else f"solution-{number + 1}"
        if where in results:  # a result submission: a program that writes its predictions
            kept = results[where].relative_to(folder).as_posix()
            draft.files[f"solutions/{name}/{kept}"] = results[where]
            draft.files[f"solutions/{name}/{entrypoint}"] = RESULT_PROGRAM.format(
                file=json.dumps(kept)).encode()
        else:
            draft.add_tree(f"solutions/{name}", folder)
        cases[f"solutions.{name}"] = solution_table(
            1, 100, f"the bundle's {where} (it must beat a constant prediction; tighten the "
            "range after `heldout challenges check`)")
    if not solutions and kit is None:
        draft.notes.append(f"{slug}: {task.where} has no starting kit and no solution: add a "
                           f"solutions/<case>/ ({entrypoint}) before `heldout challenges check`")
    elif not solutions:
        draft.notes.append(f"{slug}: the bundle has no solution for {task.where}: "
                           "`heldout challenges check` proves only that the starting kit runs")

    pages = []
    for page_title, ref in competition.pages:
        path = unpacked.base.joinpath(*PurePosixPath(ref).parts)
        if safe_member_path(ref) is not None and path.is_file() and not path.is_symlink():
            if page_title.lower() not in ("terms", "terms_and_conditions", "terms and conditions"):
                pages.append((page_title, _page_text(path)))
        else:
            draft.notes.append(f"{slug}: page {ref!r} is missing from {unpacked.shown}; skipped")
    draft.files[STATEMENT_NAME] = _statement(
        competition, task, pages, entrypoint, public_names, id_name, prediction_name, metric,
        baseline, target, several).encode()
    summary = (competition.description.split("\n")[0][:200]
               or f"Imported from the CodaBench competition {competition.title}.")
    wall = max(30, min(int(task.wall_seconds or WALL_SECONDS), 3600))
    draft.files[TOML_NAME] = toml_text(
        {"title": competition.title + (f": {task.name}" if several else ""), "kind": "model_training",
         "summary": summary, "skills": ["machine learning", metric.title],
         "difficulty": "medium", "expected_minutes": 60},
        {"submission": {"entrypoint": entrypoint, "allowed": allowed, "max_bytes": max_bytes,
                        "max_files": max_files},
         "limits": {"wall_seconds": wall, "memory_mb": MEMORY_MB, "cpus": 1},
         "grading": {"metric": metric.name, "baseline": baseline, "target": target,
                     "id_column": id_name, "prediction_column": prediction_name,
                     "label_column": label_name, "labels": labels_path.name},
         **cases}).encode()
    return draft


def codabench_drafts(zip_path: Path, work: Path, options: Options) -> list[Draft]:
    """The bundles a CodaBench zip makes, built in memory from files under ``work``."""
    unpacked = Unpacked(zip_path, work)
    competition = parse_competition(unpacked.competition_text())
    several = len(competition.tasks) > 1
    if options.slug is not None and several:
        raise ImportRefused(f"{unpacked.shown}: --slug names one challenge, but the bundle has "
                            f"{len(competition.tasks)} tasks")
    base = options.slug or slugify(competition.title)
    drafts: list[Draft] = []
    for number, task in enumerate(competition.tasks):
        slug = base if not several else f"{base[:50]}-{slugify(task.name, fallback=str(number))}"[:64]
        while any(d.slug == slug for d in drafts):
            slug = f"{slug[:60]}-{number}"
        drafts.append(_task_draft(unpacked, competition, task, slug.strip("-"), options, several))
    return drafts


