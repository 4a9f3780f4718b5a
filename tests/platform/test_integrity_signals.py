"""The integrity panel: every signal that fired, from each source (similarity, the
integrity run, the public-vs-final gap, large pastes), with its reason and evidence,
never a score penalty; the candidates table's "signals" filter; marking a signal
reviewed (audited). Engine-free: grading and the integrity run are stand-ins."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from heldout.graders.bundle import Bundle
from heldout.graders.kinds.model_training import PREDICTIONS_ARTEFACT
from heldout.graders.result import Check, Evaluation
from heldout.platform.extensions import db
from heldout.platform.models import (
    Attempt,
    AuditEvent,
    EditorEvent,
    PublicRun,
    SignalReview,
    SimilarityPair,
    Submission,
    utcnow,
)
from heldout.platform.services import grading, integrity, integrity_signals, public_runs
from heldout.platform.services.scoring import PublicFinalGap
from heldout.platform.tasks import grading_settings
from tests.platform.conftest import NewInvite, start_attempt
from tests.platform.test_ml_integrity import (
    CODE,
    ROWS_COMPARED,
    RUN,
    SLUG,
    _integrity,
    public_eval,
    rerun_result,
)


def scored(auc: float) -> Callable[[Bundle, Path], Evaluation]:
    def evaluate(bundle: Bundle, submission: Path) -> Evaluation:
        return Evaluation(bundle.slug, bundle.version, "graded", 80.0,
                          checks=(Check("roc_auc", "metric", True, 80, 100, f"roc_auc {auc}"),),
                          metrics={"roc_auc": auc}, run=RUN,
                          artefacts={PREDICTIONS_ARTEFACT: b"customer_id,churn_probability\n"})
    return evaluate


def submit(app: Flask, client: FlaskClient, attempt: str, auc: float) -> tuple[int, int]:
    """A graded submission; its id and its integrity run's id."""
    assert client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": CODE}).status_code == 302
    with app.app_context():
        submission_id = db.session.scalars(select(Submission.id).order_by(
            Submission.id.desc())).first()
        assert submission_id is not None
        outcome = grading.grade_submission(submission_id, grading_settings(),
                                           evaluate=scored(auc))
        return submission_id, dict(outcome.then)[integrity.INTEGRITY_RUNS.kind]


def staff(app: Flask, role: str = "interviewer") -> FlaskClient:
    browser = app.test_client()
    browser.post("/login", data={"email": f"{role}@example.com",
                                 "password": "correct horse battery"})
    return browser


def test_the_panel_lists_every_kind_the_filter_finds_them_and_a_review_is_audited(
        app: Flask, client: FlaskClient, attempt: str, users: object, assessment_id: int,
        make_invite: Callable[..., NewInvite], html: ModuleType) -> None:
    # Cara: a public run at 0.91, then a final 0.70 (a large gap), predictions that ignore
    # the inputs and errors shared with Dan's; a large paste; code like Dan's.
    assert client.post(f"/a/{attempt}/c/{SLUG}/public-run", data={"code": CODE}).status_code == 302
    with app.app_context():
        public_runs.run_public_checks(db.session.scalars(select(PublicRun.id)).one(),
                                      grading_settings(), evaluate=public_eval)
    copied = sum(1 << i for i in range(0, ROWS_COMPARED, 5))
    cara_sub, cara_run = submit(app, client, attempt, 0.70)
    _integrity(app, cara_run, rerun_result(copied, follow=0.03, stuck=1.0))
    dan_client, eve_client = app.test_client(), app.test_client()
    dan_sub, dan_run = submit(app, dan_client, start_attempt(
        dan_client, make_invite("Dan Other", "dan@example.org")), 0.84)
    _integrity(app, dan_run, rerun_result(copied, follow=0.97, stuck=0.02))
    _, eve_run = submit(app, eve_client, start_attempt(
        eve_client, make_invite("Eve Honest", "eve@example.org")), 0.84)
    _integrity(app, eve_run, rerun_result(sum(1 << i for i in range(2, ROWS_COMPARED, 5)),
                                          follow=0.95, stuck=0.01))
    with app.app_context():
        ids = {a.invite.candidate_name: a.id for a in db.session.scalars(select(Attempt))}
        challenge_id = db.session.get(Submission, cara_sub).challenge_id  # type: ignore[union-attr]
        pair = SimilarityPair(challenge_version=db.session.get(Submission, cara_sub)
                              .challenge_version,  # type: ignore[union-attr]
                              submission_a_id=cara_sub, submission_b_id=dan_sub, score=0.9,
                              share_a=0.87, share_b=0.9, flagged=True)
        big = EditorEvent(attempt_id=ids["Cara Candidate"], challenge_id=challenge_id,
                          kind="paste", at=utcnow() - timedelta(minutes=1),
                          file="solution.py", amount=1240)
        small = EditorEvent(attempt_id=ids["Eve Honest"], challenge_id=challenge_id,
                            kind="paste", at=utcnow(), file="solution.py", amount=12)
        db.session.add_all([pair, big, small])
        db.session.commit()
        pair_id, paste_id = pair.id, big.id

    interviewer = staff(app)
    cara = ids["Cara Candidate"]
    tree = html.parse(interviewer.get(f"/attempts/{cara}/report").text)
    panel = tree.one("section", cls="integrity-panel")
    entries = {li.attrs["data-signal"]: li for li in panel.find_all("li", cls="signal")}
    assert [li.attrs["data-source"] for li in entries.values()] == [
        "similarity", "ml", "ml", "ml", "paste"]
    assert set(entries) >= {f"similarity:{pair_id}", f"gap:{cara_sub}", f"paste:{paste_id}"}
    said = {key: li.text() for key, li in entries.items()}
    assert "87 % of this code matches Dan Other's" in said[f"similarity:{pair_id}"]
    assert "roc_auc 0.7000 on the private slice, 0.2100 worse than the 0.91" in \
        said[f"gap:{cara_sub}"]
    assert any("predictions do not follow the inputs" in text for text in said.values())
    assert any("Errors overlap with Dan Other's beyond chance" in text
               for text in said.values())
    assert "pasted 1,240 characters at" in said[f"paste:{paste_id}"]
    assert all("review suggested" in text for text in said.values())
    links = {key: li.find_all("a")[0].attrs["href"] for key, li in entries.items()}
    assert links[f"similarity:{pair_id}"] == f"/similarity/{pair_id}"
    assert links[f"paste:{paste_id}"] == f"/attempts/{cara}/report#event-{paste_id}"
    assert links[f"gap:{cara_sub}"] == f"/attempts/{cara}/report#integrity-{challenge_id}"
    assert tree.one(cls="score-box").text() == "80 / 100"  # evidence, never a penalty
    # Eve's 12-character paste is under the threshold: no signal, an empty panel.
    eve_panel = html.parse(interviewer.get(f"/attempts/{ids['Eve Honest']}/report").text)
    assert eve_panel.one("section", cls="integrity-panel").find_all("li", cls="signal") == []

    # The table's filter reads the same signals.
    def names(query: str) -> list[str]:
        page = html.parse(interviewer.get(
            f"/assessments/{assessment_id}/candidates?signals={query}").text)
        return sorted(td.text().rsplit(" ", 1)[0] for td in
                      page.find_all("td") if "@example.org" in td.text())
    assert names("any") == ["Cara Candidate", "Dan Other"]
    assert names("none") == ["Eve Honest"]
    assert len(names("")) == 3

    # Marking reviewed: interviewers only, the note shown, audited.
    key = f"paste:{paste_id}"
    assert staff(app, "recruiter").post(f"/attempts/{cara}/signals",
                                        data={"signal": key, "note": "x"}).status_code == 403
    unknown = interviewer.post(f"/attempts/{cara}/signals", data={"signal": "paste:999999"})
    assert unknown.status_code == 400 and "is not among the candidate" in unknown.text
    too_long = interviewer.post(f"/attempts/{cara}/signals",
                                data={"signal": key, "note": "n" * 2001})
    assert too_long.status_code == 400 and "at most 2,000" in too_long.text
    done = interviewer.post(f"/attempts/{cara}/signals",
                            data={"signal": key, "note": "Their own helper, from their repo."})
    assert done.status_code == 302
    reviewed = html.parse(interviewer.get(f"/attempts/{cara}/report").text).one(
        "li", cls="reviewed")
    assert reviewed.attrs["data-signal"] == key
    assert "Reviewed by Interviewer" in reviewed.text()
    assert "Their own helper, from their repo." in reviewed.text()
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "signal.review")).one()
        assert event.actor_label == "interviewer@example.com"
        assert event.target_id == str(cara) and event.detail["signal"] == key
        assert db.session.scalars(select(SignalReview.note)).one() == \
            "Their own helper, from their repo."

    # The candidate's own pages never mention any of it.
    for url in (f"/a/{attempt}/c/{SLUG}", f"/a/{attempt}/"):
        text = client.get(url, follow_redirects=True).text
        for word in ("review suggested", "Review suggested", "Dan Other", "1,240"):
            assert word not in text, (url, word)


def test_a_new_source_is_one_more_function(app: Flask, monkeypatch: Any, attempt: str) -> None:
    def disclosed(attempts: Sequence[Attempt], context: integrity_signals.SignalContext
                  ) -> Iterable[integrity_signals.IntegritySignal]:
        for a in attempts:
            yield integrity_signals.IntegritySignal(
                f"ai:{a.id}", a.id, None, "ai", "an undisclosed assistant", "a test source",
                integrity_signals.Evidence("review.report", {"attempt_id": a.id}))

    monkeypatch.setattr(integrity_signals, "SOURCES", [*integrity_signals.SOURCES, disclosed])
    with app.app_context():
        found = db.session.scalars(select(Attempt)).one()
        signals = integrity_signals.gather([found], integrity_signals.SignalContext(None))
        assert [s.key for s in signals[found.id]] == [f"ai:{found.id}"]


def test_the_gap_rule() -> None:
    assert PublicFinalGap("roc_auc", 0.91, 0.70, higher_is_better=True).large
    assert not PublicFinalGap("roc_auc", 0.91, 0.84, higher_is_better=True).large
    assert not PublicFinalGap("roc_auc", 0.80, 0.95, higher_is_better=True).large
    assert PublicFinalGap("rmse", 10.0, 11.5, higher_is_better=False).large
    assert not PublicFinalGap("rmse", 10.0, 10.5, higher_is_better=False).large
    assert not PublicFinalGap("roc_auc", None, 0.5, higher_is_better=True).large
