"""Adding a kind is one package and one registration line: a throw-away kind proves it.

The kind below lives in a temporary directory. Registered with the one line a kind of the
house gets in ``heldout/graders/kinds/__init__.py``, it loads bundles, grades them through
``heldout grade --json`` in the real sandbox, shows its report part in a candidate's
report, is picked by the role template it names and owns a registered check type; the only
other place it needs is its documentation (challenges/README.md), which a test enforces.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from heldout.graders.checks import CHECKS
from heldout.graders.cli import grade_command
from heldout.graders.kinds import KINDS, register_package
from heldout.platform.extensions import db
from heldout.platform.models import Attempt, Submission
from heldout.platform.services import assessments, catalogue, grading, roles
from heldout.platform.tasks import grading_settings
from tests.graders.test_checks import undocumented_checks
from tests.platform.conftest import PASSWORD, NewInvite, Users, start_attempt

PACKAGE = "throwaway_echo"
SLUG = "echo-word"

KIND_SOURCE = '''\
"""``echo``: the candidate's program prints one word; the grader compares it on the host."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from heldout.graders.bundle_types import GradingConfig
from heldout.graders.checks import RUN, CheckType
from heldout.graders.errors import BundleError
from heldout.graders.kinds.parts import ReportPart, Unreadable, clipped, json_artefact
from heldout.graders.result import MAX_SCORE, Evaluation, RunStats
from heldout.graders.runcheck import run_check
from heldout.sandbox.spec import JobSpec

WORD = CheckType("word", "test", "the word the program printed, against the expected one")
SAID = "said.json"


@dataclass(frozen=True)
class EchoGrading(GradingConfig):
    word_file: str


def read_said(artefact):
    raw = json_artefact(artefact.data())
    if not isinstance(raw, dict):
        raise Unreadable("not an object")
    return clipped(raw.get("said", ""), 40)


class EchoKind:
    name = "echo"
    summary = "print the expected word"
    checks = (RUN, WORD)
    artefacts = (SAID,)
    report_parts = (ReportPart(SAID, Path(__file__).parent / "report.html", read_said),)
    roles = ("data-engineer",)

    def parse_grading(self, table, *, root, submission):
        word_file = table.string("word_file", "word.txt")
        table.finish()
        for split in ("public", "hidden"):
            if not (root / split / word_file).is_file():
                raise BundleError(f"{split}/{word_file}: missing")
        return EchoGrading(word_file)

    def verify(self, bundle):
        return None

    def grade(self, bundle, workspace, sandbox, split):
        data = bundle.hidden_dir if split == "hidden" else bundle.public_dir
        expected = (data / bundle.grading.word_file).read_text().strip()
        with tempfile.TemporaryDirectory() as output:
            result = sandbox.run(JobSpec(command=("python", bundle.submission.entrypoint),
                                         workspace=workspace, limits=bundle.limits),
                                 Path(output))
        said = result.stdout_tail.strip()
        right = said == expected
        checks = (run_check(result, bundle.limits),
                  WORD.verdict(right, f"printed {said[:40]!r}",
                               score=MAX_SCORE if right else 0.0, max_score=MAX_SCORE))
        return Evaluation(challenge=bundle.slug, version=bundle.version, status="graded",
                          score=checks[1].score, checks=checks,
                          run=RunStats.from_result(result),
                          artefacts={SAID: json.dumps({"said": said}).encode()})


KIND = EchoKind()
'''

TEMPLATE = '''\
<h3>Echo</h3>
<p class="echo-said">The program said <span class="mono">{{ part }}</span>.</p>
'''

TOML = '''\
title = "Echo a word"
kind = "echo"
summary = "Print the word."
skills = ["printing"]
difficulty = "easy"
expected_minutes = 5

[submission]
entrypoint = "say.py"
allowed = ["*.py"]

[limits]
wall_seconds = 30

[grading]
word_file = "word.txt"
'''


def write_kind(root: Path) -> list[Path]:
    """The throw-away kind's package: everything of it that is code or template."""
    package = root / PACKAGE
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(KIND_SOURCE)
    (package / "report.html").write_text(TEMPLATE)
    return sorted(package.iterdir())


def write_bundle(root: Path) -> Path:
    bundle = root / SLUG
    for area, name, text in (("public", "word.txt", "hello\n"), ("hidden", "word.txt", "tangerine\n"),
                             ("starter", "say.py", "print('?')\n")):
        (bundle / area).mkdir(parents=True, exist_ok=True)
        (bundle / area / name).write_text(text)
    (bundle / "challenge.toml").write_text(TOML)
    (bundle / "statement.md").write_text("# Echo\n\nPrint the word.\n")
    return bundle


@pytest.fixture
def echo_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Path]]:
    """The kind's package on the path and registered, for this test only."""
    written = write_kind(tmp_path / "plugins")
    monkeypatch.syspath_prepend(str(tmp_path / "plugins"))
    for registry in (KINDS, CHECKS):  # restored after the test, kind and check type gone
        monkeypatch.setattr(registry, "_entries", dict(registry._entries))
    register_package(PACKAGE)  # the one registration line
    yield written
    sys.modules.pop(PACKAGE, None)


def test_a_kind_is_one_package_and_one_line_and_the_rest_reads_its_declarations(
        echo_kind: list[Path]) -> None:
    # Places a new kind touches: its package (code, report template) and the registration
    # line. Its documentation is the third, enforced below.
    code_places = {path.parent for path in echo_kind} | {"register_package(…)"}
    assert len(code_places) == 2
    kind = KINDS.get("echo")
    assert "echo" in KINDS.known() and CHECKS.get("word") in kind.checks
    assert "echo" in roles.get_role("data-engineer").kinds
    assert "echo" not in roles.get_role("ml-engineer").kinds
    assert undocumented_checks() == {"word"}


@pytest.mark.docker
def test_the_new_kind_grades_through_heldout_grade_json(
        echo_kind: list[Path], tmp_path: Path, sandbox_image: str) -> None:
    bundle = write_bundle(tmp_path / "challenges")
    for words, split, score in (("tangerine", [], 100), ("hello", [], 0),
                                ("hello", ["--public"], 100)):
        submission = tmp_path / f"say-{words}.py"
        submission.write_text(f"print({words!r})\n")
        result = CliRunner().invoke(grade_command, [str(bundle), str(submission), "--json",
                                                    *split])
        assert result.exit_code == 0, result.output
        shown = json.loads(result.stdout)
        assert shown["status"] == "graded" and shown["score"] == score, shown
        assert [(c["name"], c["kind"], c["passed"]) for c in shown["checks"]] == [
            ("run", "run", True), ("word", "test", score == 100)]
        assert shown["checks"][1]["detail"] == f"printed {words!r}"
        assert ("split" in shown) == bool(split)


@pytest.fixture
def challenges_dir(echo_kind: list[Path], tmp_path: Path) -> Path:
    """The web app's catalogue: the echo bundle alone (the kind registered first)."""
    challenges = tmp_path / "challenges"
    write_bundle(challenges)
    return challenges


@pytest.fixture
def assessment_id(app: Flask, users: Users) -> int:
    with app.app_context():
        return assessments.create_assessment(
            name="Echo", challenge_slugs=[SLUG], time_limit_minutes=30, instructions="",
            expires_at=None, show_scores=True, created_by_id=users.recruiter).id


@pytest.mark.docker
def test_the_new_kind_shows_its_report_part(  # type: ignore[no-untyped-def]
        app: Flask, client: FlaskClient, invite: NewInvite, users, sandbox_image: str,
        html: ModuleType) -> None:
    with app.app_context():
        assert [c.kind for c in catalogue.available_challenges()] == ["echo"]
    attempt = start_attempt(client, invite)
    response = client.post(f"/a/{attempt}/c/{SLUG}/submit",
                           data={"files": (io.BytesIO(b"print('tangerine')\n"), "say.py")},
                           content_type="multipart/form-data")
    assert response.status_code in (200, 302), response.text
    with app.app_context():
        submission_id = db.session.scalars(select(Submission.id)).one()
        outcome = grading.grade_submission(submission_id, grading_settings())
        assert outcome.status == "graded", outcome.detail
        attempt_id = db.session.scalars(select(Attempt.id)).one()
    staff = app.test_client()
    staff.post("/login", data={"email": "interviewer@example.com", "password": PASSWORD})
    page = staff.get(f"/attempts/{attempt_id}/report")
    assert page.status_code == 200
    [said] = html.parse(page.text).find_all("p", cls="echo-said")
    assert said.text().startswith("The program said") and said.one("span").text() == "tangerine"
