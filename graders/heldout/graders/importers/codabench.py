"""CodaBench (and CodaLab) competition bundles -> ``model_training`` bundles, one per task.

Each task (v2) or phase (v1) of ``competition.yaml`` becomes one bundle: input data in
``public/``, the reference labels in ``hidden/``, the starting kit as ``starter/``, each
solution a ``solutions/`` case, the scoring program's metric in ``[grading]``. A bundle
whose hidden files or labels also sit in its public data is refused.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from heldout.graders.bundle import STATEMENT_NAME, TOML_NAME
from heldout.graders.errors import GraderError, ImportRefused
from heldout.graders.importers.archive import safe_member_path
from heldout.graders.importers.codabench_files import (
    RESULT_PROGRAM,
    Unpacked,
    allowed_files,
    choose_entrypoint,
    column_names,
    files_under,
    labels_file,
    page_text,
    result_file,
    top_programs,
)
from heldout.graders.importers.codabench_yaml import Competition, TaskSpec, parse_competition
from heldout.graders.importers.leaks import label_column, same_bytes
from heldout.graders.importers.scoring import choose_metric, scale
from heldout.graders.importers.staging import Draft, TomlValue, slugify, solution_table, toml_text
from heldout.graders.metrics import Metric
from heldout.graders.tables import read_labels

WALL_SECONDS = 300
MEMORY_MB = 2048


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
            for name, path in files_under(folder, shown).items():
                public[name] = path
                public_relative[name] = path.relative_to(folder).as_posix()
    if not public:
        raise ImportRefused(f"competition.yaml: {task.where}: no input_data: candidates would "
                            "have no data to train on")
    hidden = files_under(reference, reference_shown)
    leak = same_bytes(public, hidden)
    if leak:
        raise ImportRefused(f"{unpacked.shown}: {leak}; refused (remove it from the public data)")
    labels_path = labels_file(reference, reference_shown)
    labels_shown = f"{reference_shown}/{labels_path.relative_to(reference).as_posix()}"
    id_name, label_name = column_names(labels_path, labels_shown, options.id_column,
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
    results = {where: result_file(folder, where, id_name, prediction_name)
               for where, folder in solutions if not top_programs(folder)}
    programs = [(where, folder) for where, folder in solutions if where not in results]
    entrypoint = choose_entrypoint(kit, programs, task.where)
    allowed, max_files, max_bytes = allowed_files(entrypoint, [f for f in [kit] if f]
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
                pages.append((page_title, page_text(path)))
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
