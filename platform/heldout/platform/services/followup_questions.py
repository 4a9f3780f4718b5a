"""Follow-up questions made by fixed rules from a candidate's own submission (no LLM):
what each kind asks, picked deterministically from a seed, and how many are asked."""

from __future__ import annotations

import ast
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from heldout.graders.bundle import Bundle
from heldout.graders.console_input import ConsoleRequest
from heldout.graders.errors import UnknownName
from heldout.graders.kinds.function import FunctionGrading
from heldout.graders.kinds.sql import SqlGrading
from heldout.graders.kinds.sql.sql_harness import QueryFileError, split_queries
from heldout.graders.metrics import METRICS

log = logging.getLogger(__name__)

MAX_QUESTIONS = 3
# Seconds to answer: a value is read off one's own code; words take a little longer.
TIME_LIMITS = {"value": 120, "text": 180}
# A fragment quoted for a question in words: enough to recognise, short enough to read.
MAX_QUOTED_LINES = 30
MIN_FRAGMENT_LINES = 3




# --- what is asked: rules over the candidate's own files ------------------------------


@dataclass(frozen=True)
class Planned:
    """A question before it is stored: what it asks, what it quotes, what runs for it."""

    answer_kind: str  # "value" or "text"
    prompt: str
    quoted: str = ""
    request: dict[str, Any] | None = None

    @property
    def time_limit_seconds(self) -> int:
        return TIME_LIMITS[self.answer_kind]


def seed_of(*parts: object) -> int:
    """A stable number from the parts: the same work always gets the same questions."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "big")


def public_cases(bundle: Bundle, function: str) -> list[dict[str, Any]]:
    """The public cases of one function (``public/cases.jsonl``); malformed lines skipped."""
    path = Path(bundle.public_dir) / "cases.jsonl"
    if not path.is_file():
        return []
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            case = json.loads(line)
        except ValueError:
            continue
        if isinstance(case, dict) and case.get("function") == function \
                and isinstance(case.get("args", []), list):
            cases.append(case)
    return cases


def fresh_arguments(args: Sequence[Any], seed: int) -> list[Any]:
    """A public case's arguments made new: every list argument rotated by the same amount
    (paired lists such as labels and scores stay paired), so the answer can't be recalled
    from the public cases."""
    lengths = [len(a) for a in args if isinstance(a, list) and len(a) > 1]
    if not lengths:
        return list(args)
    shift = 1 + seed % max(1, min(lengths) - 1)
    return [a[shift:] + a[:shift] if isinstance(a, list) and len(a) > 1 else a for a in args]


def _typed(args: Sequence[Any], kwargs: dict[str, Any]) -> str:
    parts = [json.dumps(a, allow_nan=False) for a in args]
    parts += [f"{k}={json.dumps(v, allow_nan=False)}" for k, v in kwargs.items()]
    return ", ".join(parts)


def function_question(bundle: Bundle, seed: int) -> Planned | None:
    """Call one of their functions on a fresh input made from a public case."""
    grading = bundle.grading
    if not isinstance(grading, FunctionGrading) or not grading.functions:
        return None
    functions = list(grading.functions)
    for offset in range(len(functions)):
        name = functions[(seed + offset) % len(functions)]
        cases = public_cases(bundle, name)
        if not cases:
            continue
        case = cases[seed % len(cases)]
        args = fresh_arguments(case.get("args") or [], seed)
        raw = case.get("kwargs")
        kwargs: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
        typed = _typed(args, kwargs)
        request = ConsoleRequest("call", function=name, args=tuple(args), kwargs=kwargs,
                                 typed=typed)
        return Planned("value", f"What does your {name}() return for this call? Give the "
                       "value as you would write it in Python (a number, a list…).",
                       f"{name}({typed})", request.as_dict())
    return None


def sql_question(bundle: Bundle, files: dict[str, str], seed: int) -> Planned | None:
    """How many rows one of their named queries returns on the public tables."""
    grading = bundle.grading
    text = files.get(bundle.submission.entrypoint)
    if not isinstance(grading, SqlGrading) or text is None:
        return None
    try:
        queries = split_queries(text)
    except QueryFileError:
        return None
    names = [q.name for q in grading.queries if queries.get(q.name)]
    if not names:
        return None
    name = names[seed % len(names)]
    body = str(queries[name])
    request = ConsoleRequest("sql", query=body, typed=body)
    return Planned("value", f"How many rows does your query {name!r} return on the public "
                   "tables? Answer with a number.", _cut(body), request.as_dict())


# Whose score a kind's metric measures, in the question's words (kinds graded by a model
# metric on hidden labels; the others ask about a function, a query or a fragment).
MODEL_SUBJECTS = {
    "model_training": ("Your model", "your model"),
    "feature_engineering": ("With your features the fixed model", "your features"),
    "deployment": ("The model behind your service", "the model behind your service"),
    "notebook": ("Your notebook's model", "your notebook's model"),
}


def model_question(bundle: Bundle, public_metric: float | None) -> Planned | None:
    """Their public score, and which feature helped most (the score they saw, if any)."""
    metric = str(getattr(bundle.grading, "metric", "") or "")
    if bundle.kind not in MODEL_SUBJECTS or not metric:
        return None
    subject, object_ = MODEL_SUBJECTS[bundle.kind]
    try:
        metric_name = METRICS.get(metric).name
    except UnknownName:
        metric_name = metric
    if public_metric is not None:
        said = (f"{subject} scored {public_metric:.3g} {metric_name} on the public slice. "
                "Which feature helped it most, and how did you find out?")
    elif bundle.kind == "feature_engineering":
        said = "Which of your features helped the fixed model most, and how did you find out?"
    else:
        said = f"Which feature helped {object_} most, and how did you find out?"
    return Planned("text", said)


def fragment_question(files: dict[str, str], starter: dict[str, str], seed: int
                      ) -> Planned | None:
    """Explain one named part of their code (a function or class they wrote, else a few
    lines of their own), picked from the files by the seed."""
    asked = fragment_questions(files, starter, seed, 1)
    return asked[0] if asked else None


def fragment_questions(files: dict[str, str], starter: dict[str, str], seed: int,
                       count: int) -> list[Planned]:
    """Up to ``count`` questions on different parts of their own code, from the seed's
    pick onwards."""
    fragments = [f for f in _fragments(files) if not _from_starter(f[2], starter)]
    asked = []
    for step in range(min(count, len(fragments))):
        label, where, code = fragments[(seed + step) % len(fragments)]
        asked.append(Planned("text", f"In a few sentences: what does {label} ({where}) do, "
                             "and why did you write it this way?", _cut(code)))
    return asked


def _fragments(files: dict[str, str]) -> list[tuple[str, str, str]]:
    """(what to call it, where it is, its code) for every candidate fragment, in order."""
    found: list[tuple[str, str, str]] = []
    for name in sorted(files):
        text = files[name]
        lines = text.splitlines()
        if name.endswith(".py"):
            try:
                tree = ast.parse(text)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                tree = None
            if tree is not None:
                for node in ast.walk(tree):
                    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) \
                            and node.end_lineno is not None \
                            and node.end_lineno - node.lineno + 1 >= MIN_FRAGMENT_LINES:
                        code = "\n".join(lines[node.lineno - 1:node.end_lineno])
                        what = "class" if isinstance(node, ast.ClassDef) else "function"
                        found.append((f"your {what} {node.name}",
                                      f"{name}, lines {node.lineno}-{node.end_lineno}", code))
                continue
        if name.endswith(".ipynb"):
            found += _cells(name, text)
            continue
        if name.endswith(".sql"):
            try:
                queries = split_queries(text)
            except QueryFileError:
                queries = {}
            found += [(f"your query {q!r}", name, body) for q, body in queries.items() if body]
            if queries:
                continue
        found += _blocks(name, lines)
    return found


def _cells(name: str, text: str) -> list[tuple[str, str, str]]:
    try:
        notebook = json.loads(text)
    except ValueError:
        return []
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    found = []
    for number, cell in enumerate(cells if isinstance(cells, list) else [], start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source")
        code = "".join(source) if isinstance(source, list) else str(source or "")
        if len(code.strip().splitlines()) >= MIN_FRAGMENT_LINES:
            found.append((f"code cell {number}", name, code))
    return found


def _blocks(name: str, lines: list[str]) -> list[tuple[str, str, str]]:
    """Paragraphs of a file (lines between blank ones) long enough to explain."""
    found, start = [], None
    for number, line in enumerate([*lines, ""], start=1):
        if line.strip() and start is None:
            start = number
        elif not line.strip() and start is not None:
            if number - start >= MIN_FRAGMENT_LINES:
                found.append(("this part of your code", f"{name}, lines {start}-{number - 1}",
                              "\n".join(lines[start - 1:number - 1])))
            start = None
    return found


def _from_starter(code: str, starter: dict[str, str]) -> bool:
    squeezed = "".join(code.split())
    return any(squeezed and squeezed in "".join(text.split()) for text in starter.values())


def _cut(code: str) -> str:
    lines = code.splitlines()
    if len(lines) <= MAX_QUOTED_LINES:
        return code
    return "\n".join([*lines[:MAX_QUOTED_LINES], "…"])


def plan_for(bundle: Bundle, files: dict[str, str], starter: dict[str, str], *,
             public_metric: float | None, seed: int) -> list[Planned]:
    """The questions one submission could get, best first: the kind's own question (a
    computed value, or the model's score), then a fragment of their code to explain — two
    fragments when the kind has no question of its own, so one challenge still asks two."""
    kind_question = (function_question(bundle, seed) or sql_question(bundle, files, seed)
                     or model_question(bundle, public_metric))
    fragments = fragment_questions(files, starter, seed, 1 if kind_question else 2)
    return ([kind_question] if kind_question else []) + fragments


def choose(plans: Sequence[Sequence[Planned]], limit: int = MAX_QUESTIONS) -> list[tuple[int, Planned]]:
    """Up to ``limit`` questions over the challenges: each one's best first, then seconds.
    Pairs of (index of the challenge's plans, question)."""
    chosen: list[tuple[int, Planned]] = []
    for rank in range(max((len(p) for p in plans), default=0)):
        for index, planned in enumerate(plans):
            if rank < len(planned) and len(chosen) < limit:
                chosen.append((index, planned[rank]))
    return chosen


# --- storing the questions of an attempt ----------------------------------------------
