"""Authorship follow-ups: a few short, timed questions about the candidate's own work once
they finish, generated from that work by rules (no language model), and their answers.

A question about a value (what does your ``roc_auc`` return for this call? how many rows
does your query return?) is computed by running the candidate's own code once in the
sandbox, as a queued job (``FollowupJob``), never in a request. A question in words (which
feature helped most? what does this part of your code do?) has no expected answer. Answers
and their timings are evidence for the report, never a score; the expected values are
shown to staff alone, and every input quoted comes from the public data.
"""

from __future__ import annotations

import ast
import hashlib
import json
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from heldout.graders.bundle import Bundle
from heldout.graders.console import read_console
from heldout.graders.console_input import ConsoleRequest
from heldout.graders.errors import GraderError, UnknownName
from heldout.graders.evaluate import evaluate as graders_evaluate
from heldout.graders.kinds.function import FunctionGrading
from heldout.graders.kinds.sql import SqlGrading
from heldout.graders.kinds.sql.sql_harness import QueryFileError, split_queries
from heldout.graders.metrics import METRICS
from heldout.graders.result import Evaluation
from heldout.platform.blobs import BlobMissing, BlobStore, BundleVersionMissing
from heldout.platform.errors import InvalidInput, NotFound
from heldout.platform.extensions import db
from heldout.platform.models import (
    Attempt,
    FollowupQuestion,
    PublicRun,
    Submission,
    SubmissionFile,
)
from heldout.platform.services import jobs
from heldout.platform.services.catalogue import BundleCatalogue
from heldout.platform.services.public_runs import ConsoleEvaluate
from heldout.platform.services.scoring import (
    GradingStatus,
    counted_submission,
    latest_public_metric,
)

log = logging.getLogger(__name__)

MAX_QUESTIONS = 3
# Seconds to answer: a value is read off one's own code; words take a little longer.
TIME_LIMITS = {"value": 120, "text": 180}
# An answer this long after a question's limit is refused (before then it is kept, late).
CLOSES_AFTER = timedelta(minutes=10)
MAX_ANSWER_CHARS = 2000
# A fragment quoted for a question in words: enough to recognise, short enough to read.
MAX_QUOTED_LINES = 30
MIN_FRAGMENT_LINES = 3


class FollowupError(InvalidInput):
    """An answer that can't be taken; the message says why, in the candidate's words."""


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


def model_question(bundle: Bundle, public_metric: float | None) -> Planned | None:
    """Their public score, and which feature helped most (the score they saw, if any)."""
    if bundle.kind != "model_training":
        return None
    metric = str(getattr(bundle.grading, "metric", ""))
    try:
        metric_name = METRICS.get(metric).name
    except UnknownName:
        metric_name = metric
    if public_metric is not None and metric_name:
        said = (f"Your model scored {public_metric:.3g} {metric_name} on the public slice. "
                "Which feature helped it most, and how did you find out?")
    else:
        said = "Which feature helped your model most, and how did you find out?"
    return Planned("text", said)


def fragment_question(files: dict[str, str], starter: dict[str, str], seed: int
                      ) -> Planned | None:
    """Explain one named part of their code (a function or class they wrote, else a few
    lines of their own), picked from the files by the seed."""
    fragments = [f for f in _fragments(files) if not _from_starter(f[2], starter)]
    if not fragments:
        return None
    label, where, code = fragments[seed % len(fragments)]
    return Planned("text", f"In a few sentences: what does {label} ({where}) do, and why did "
                   "you write it this way?", _cut(code))


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
    computed value, or the model's score), then a fragment of their code to explain."""
    kind_question = (function_question(bundle, seed) or sql_question(bundle, files, seed)
                     or model_question(bundle, public_metric))
    fragment = fragment_question(files, starter, seed)
    return [q for q in (kind_question, fragment) if q is not None]


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


def _texts(files: Iterable[SubmissionFile], blobs: BlobStore) -> dict[str, str]:
    texts = {}
    for item in files:
        try:
            texts[item.name] = blobs.get(item.sha256).decode("utf-8")
        except (BlobMissing, UnicodeDecodeError):
            continue
    return texts


def _starter(bundle: Bundle) -> dict[str, str]:
    root = Path(bundle.starter_dir)
    texts = {}
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            if path.is_file():
                try:
                    texts[str(path.relative_to(root))] = path.read_text(encoding="utf-8")
                except UnicodeDecodeError:
                    continue
    return texts


def _public_metric(attempt: Attempt, submission: Submission, bundle: Bundle) -> float | None:
    metric = str(getattr(bundle.grading, "metric", ""))
    if not metric:
        return None
    runs = db.session.scalars(select(PublicRun).where(
        PublicRun.attempt_id == attempt.id, PublicRun.challenge_id == submission.challenge_id,
        PublicRun.status == GradingStatus.GRADED, PublicRun.console.is_(None))
        .order_by(PublicRun.id))
    try:
        name = METRICS.get(metric).name
    except UnknownName:
        return None
    return latest_public_metric([run.evaluation or {} for run in runs], name)


def questions_of(attempt: Attempt) -> list[FollowupQuestion]:
    return list(db.session.scalars(select(FollowupQuestion).where(
        FollowupQuestion.attempt_id == attempt.id).order_by(FollowupQuestion.position)))


def prepare_followups(attempt: Attempt, *, bundles: BundleCatalogue, blobs: BlobStore,
                      queue: jobs.Queue, now: datetime) -> list[FollowupQuestion]:
    """The attempt's questions, made once it is finished when its assessment asks for them
    (nothing otherwise); the computed ones are queued. Calling it again changes nothing."""
    if not attempt.invite.assessment.followups or attempt.finished_at is None:
        return []
    existing = questions_of(attempt)
    if existing:
        return existing
    history: dict[int, list[Submission]] = {}
    for submission in attempt.submissions:
        history.setdefault(submission.challenge_id, []).append(submission)
    counting = attempt.invite.assessment.counting
    sources: list[tuple[Submission, Bundle]] = []
    plans: list[list[Planned]] = []
    for challenge in attempt.invite.assessment.challenges:
        sent = history.get(challenge.id, [])
        # The counted one; while grading is still under way, the last one they sent.
        counted = counted_submission(sent, counting) or (sent[-1] if sent else None)
        if counted is None:
            continue
        submission = counted
        try:
            bundle = bundles.at_version(submission.challenge_slug, submission.challenge_version)
        except (BundleVersionMissing, GraderError) as exc:
            log.warning("follow-ups of attempt %s: %s", attempt.public_id, exc)
            continue
        seed = seed_of(attempt.public_id, submission.id)
        sources.append((submission, bundle))
        plans.append(plan_for(bundle, _texts(submission.files, blobs), _starter(bundle),
                              public_metric=_public_metric(attempt, submission, bundle),
                              seed=seed))
    made: list[FollowupQuestion] = []
    for position, (index, planned) in enumerate(choose(plans), start=1):
        submission, _bundle = sources[index]
        row = FollowupQuestion(
            attempt=attempt, submission=submission, challenge_id=submission.challenge_id,
            challenge_slug=submission.challenge_slug,
            challenge_version=submission.challenge_version, position=position,
            answer_kind=planned.answer_kind, prompt=planned.prompt, quoted=planned.quoted,
            request=planned.request, time_limit_seconds=planned.time_limit_seconds,
            created_at=now,
            # A question in words has nothing to run: finished as soon as it exists.
            status=GradingStatus.QUEUED if planned.request else GradingStatus.GRADED,
            finished_at=None if planned.request else now)
        db.session.add(row)
        made.append(row)
    db.session.commit()
    for row in made:
        if row.request is not None:
            try:
                queue.enqueue(FOLLOWUPS.kind, row.id)
            except Exception:  # the row is safe; the watchdog queues it again
                log.exception("could not enqueue follow-up %s; the watchdog will retry", row.id)
    return made


# --- the candidate answers -------------------------------------------------------------


def deadline_of(question: FollowupQuestion) -> datetime | None:
    if question.shown_at is None:
        return None
    return question.shown_at + timedelta(seconds=question.time_limit_seconds)


def current_question(attempt: Attempt) -> FollowupQuestion | None:
    """The question shown and not answered yet, if any."""
    for question in questions_of(attempt):
        if question.shown_at is not None and question.answered_at is None:
            return question
    return None


def show_next(attempt: Attempt, *, now: datetime) -> FollowupQuestion | None:
    """Start the next question's clock (the one already shown, if unanswered); None: all
    are answered."""
    shown = current_question(attempt)
    if shown is not None:
        return shown
    for question in questions_of(attempt):
        if question.shown_at is None:
            question.shown_at = now
            db.session.commit()
            return question
    return None


def answer_question(attempt: Attempt, question_id: int, answer: str, *,
                    now: datetime) -> FollowupQuestion:
    """Keep the candidate's answer with its time; late past the limit, refused once the
    question closed, refused when too long, another attempt's question not found."""
    question = db.session.get(FollowupQuestion, question_id)
    if question is None or question.attempt_id != attempt.id:
        raise NotFound("There is no such question in your assessment.")
    deadline = deadline_of(question)
    if deadline is None:
        raise FollowupError("This question has not been shown to you yet.",
                            hint="Open the questions page to see it.")
    if question.answered_at is not None:
        raise FollowupError("You already answered this question; the first answer is kept.",
                            hint="Go on to the next question.")
    if now > deadline + CLOSES_AFTER:
        raise FollowupError(
            f"This question closed at {deadline + CLOSES_AFTER:%H:%M} UTC; the answer was "
            "not kept.", hint="The team sees that it was not answered. Go on to the next "
                              "question.")
    text = answer.replace("\r\n", "\n").strip()
    if len(text) > MAX_ANSWER_CHARS:
        raise FollowupError(f"The answer is {len(text):,} characters long; up to "
                            f"{MAX_ANSWER_CHARS:,} are taken.", hint="Shorten it and send "
                            "it again: a few sentences are enough.", field="answer")
    question.answer = text
    question.answered_at = now
    question.late = now > deadline
    db.session.commit()
    return question


# --- the computed answer: the candidate's code, once, in the sandbox ------------------


class FollowupJob(jobs.LeasedJob[FollowupQuestion]):
    """A question's expected value: their code run once on its input, after other jobs."""

    kind = "compute_followup"
    name = "follow-up question"
    priority = -20
    workdir_prefix = "followup-"
    gave_up = "the follow-up run was interrupted {tries} times; gave up"

    @property
    def model(self) -> type[FollowupQuestion]:
        return FollowupQuestion

    def files(self, row: FollowupQuestion) -> Iterable[SubmissionFile]:
        return row.submission.files

    def request(self, row: FollowupQuestion) -> dict[str, Any] | None:
        return row.request

    def evaluate(self, bundle: Bundle, directory: Path,
                 request: dict[str, Any] | None = None) -> Evaluation:
        if request is None:
            return Evaluation.internal_error(bundle.slug, bundle.version,
                                             "a follow-up question with nothing to run")
        console: ConsoleEvaluate = self.evaluator or graders_evaluate
        return console(bundle, directory, split="public",
                       console=ConsoleRequest.from_dict(request))

    def record(self, row: FollowupQuestion, result: Evaluation, now: datetime,
               kept: list[dict[str, Any]]) -> None:
        shown: dict[str, Any] | None = None
        try:
            shown = read_console(result.artefacts) if result.status == "graded" else None
        except ValueError:
            shown = None
        row.expected = expected_of(shown) if shown is not None else None


FOLLOWUPS = FollowupJob()


def expected_of(shown: dict[str, Any]) -> dict[str, Any]:
    """What a console answer says the expected answer is: a value, a row count, or the
    error their code raised (itself worth showing)."""
    if shown.get("error"):
        return {"error": str(shown["error"])[:500]}
    if shown.get("mode") == "sql":
        return {"value": shown.get("row_count"), "capped": bool(shown.get("row_count_capped"))}
    return {"value_text": str(shown.get("value", ""))[:2000]}


# --- what the report shows -------------------------------------------------------------


@dataclass(frozen=True)
class FollowupView:
    """One question as staff read it: asked, answered (when, how fast), and expected."""

    position: int
    challenge_slug: str
    prompt: str
    quoted: str
    answer_kind: str
    answer: str | None
    seconds: int | None
    time_limit_seconds: int
    late: bool
    shown: bool
    expected: str | None
    state: str  # "waiting", "failed", "computed" or "" (nothing to compute)
    agrees: bool | None


def _expected_text(expected: dict[str, Any] | None) -> str | None:
    if expected is None:
        return None
    if "error" in expected:
        return f"their code raised: {expected['error']}"
    if "value_text" in expected:
        return str(expected["value_text"])
    value = expected.get("value")
    return f"{value}{'+' if expected.get('capped') else ''}"


def agrees(answer: str | None, expected: dict[str, Any] | None) -> bool | None:
    """Whether a value answer equals the computed one (numbers within 1e-6); None when
    there is nothing to compare."""
    if not answer or expected is None or "error" in expected:
        return None
    if "value_text" in expected:
        try:
            want = json.loads(str(expected["value_text"]))
        except ValueError:
            return None
    else:
        want = expected.get("value")
    try:
        got = ast.literal_eval(answer.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        try:
            got = json.loads(answer)
        except ValueError:
            return answer.strip() == str(want)
    return _same(got, want)


def _same(got: Any, want: Any) -> bool:
    if isinstance(got, bool) or isinstance(want, bool):
        return bool(got == want)
    if isinstance(got, int | float) and isinstance(want, int | float):
        return bool(math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9))
    if isinstance(got, list | tuple) and isinstance(want, list | tuple):
        return len(got) == len(want) and all(_same(a, b) for a, b in zip(got, want, strict=True))
    if isinstance(got, dict) and isinstance(want, dict):
        return bool(got.keys() == want.keys() and all(_same(got[k], want[k]) for k in got))
    return bool(got == want)


def followup_views(attempt: Attempt) -> list[FollowupView]:
    views = []
    for q in questions_of(attempt):
        seconds = None
        if q.shown_at is not None and q.answered_at is not None:
            seconds = int((q.answered_at - q.shown_at).total_seconds())
        if q.request is None:
            state = ""
        elif q.status == GradingStatus.GRADED:
            state = "computed"
        elif q.status == GradingStatus.INTERNAL_ERROR and q.retry_at is None:
            state = "failed"
        else:
            state = "waiting"
        views.append(FollowupView(
            position=q.position, challenge_slug=q.challenge_slug, prompt=q.prompt,
            quoted=q.quoted, answer_kind=q.answer_kind, answer=q.answer, seconds=seconds,
            time_limit_seconds=q.time_limit_seconds, late=q.late, shown=q.shown_at is not None,
            expected=_expected_text(q.expected),
            agrees=agrees(q.answer, q.expected) if q.answer_kind == "value" else None,
            state=state))
    return views
