"""The workspace's files: a tab for each file the challenge names (an optional build step
too), and an optional file left empty is neither saved nor submitted."""

from __future__ import annotations

import html
import io
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from heldout.graders.result import Evaluation
from heldout.platform.blobs import BlobStore
from heldout.platform.extensions import db
from heldout.platform.models import Attempt, PublicRun, Submission, User, utcnow
from heldout.platform.services import assessments, catalogue, invites
from tests.platform.conftest import REPO, SECRET, NewInvite, make_app, start_attempt


@dataclass(frozen=True)
class Opened:
    app: Flask
    client: FlaskClient
    attempt: str
    slug: str


def open_challenge(tmp_path: Path, slug: str) -> Opened:
    """A fresh app with the one bundle, an assessment of it and a started attempt."""
    challenges = tmp_path / "challenges"
    shutil.copytree(REPO / "challenges" / slug, challenges / slug)
    app = make_app(tmp_path / "site", challenges)
    with app.app_context():
        user = User(email="rec@example.com", name="Rec", role="recruiter", password_hash="x")
        db.session.add(user)
        db.session.commit()
        assessment = assessments.create_assessment(
            name="Files", challenge_slugs=[slug], time_limit_minutes=30, instructions="",
            expires_at=None, show_scores=True, created_by_id=user.id)
        made = invites.create_invite(assessment_id=assessment.id, candidate_name="F",
                                     candidate_email="f@example.org", created_by_id=user.id,
                                     secret=SECRET, ttl_days=1, now=utcnow())
        opened = NewInvite(made.invite.id, made.token)
    client = app.test_client()
    return Opened(app, client, start_attempt(client, opened), slug)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Opened]:
    opened = open_challenge(tmp_path, "churn-service")
    yield opened
    with opened.app.app_context():
        db.engine.dispose()


def test_the_optional_build_step_the_bundle_names_has_a_tab(service: Opened) -> None:
    page = service.client.get(f"/a/{service.attempt}/c/{service.slug}").text
    roles = re.findall(r'class="editor-file js-editor-file" data-name="([^"]+)" data-role="(\w+)"',
                       page)
    assert roles == [("app.py", "entrypoint"), ("train.py", "optional")]
    assert '<input type="hidden" name="optional_name" value="train.py">' in page


def test_an_empty_optional_file_is_not_submitted_and_a_written_one_is(service: Opened) -> None:
    url = f"/a/{service.attempt}/c/{service.slug}/submit"
    form = {"code_name": "app.py", "code": "app = None\n", "optional_name": ["train.py"]}
    for train in ("  \n", "print('trained')\n"):
        response = service.client.post(url, data={**form, "extra_name": ["train.py"],
                                                   "extra_code": [train]})
        assert response.status_code == 302, response.text
    with service.app.app_context():
        submitted = [sorted(f.name for f in s.files)
                     for s in db.session.scalars(select(Submission).order_by(Submission.id))]
    assert submitted == [["app.py"], ["app.py", "train.py"]]


NOTEBOOK = "churn-eda-notebook"
REFERENCE = REPO / "challenges" / NOTEBOOK / "solutions" / "reference" / "analysis.ipynb"


@pytest.fixture
def notebook(tmp_path: Path) -> Iterator[Opened]:
    opened = open_challenge(tmp_path, NOTEBOOK)
    yield opened
    with opened.app.app_context():
        db.engine.dispose()


def _editor_text(page: str) -> str:
    match = re.search(r'<textarea id="code" name="code"[^>]*>(.*?)</textarea>', page, re.S)
    assert match, page
    return html.unescape(match.group(1))


def test_a_notebook_opens_in_the_cell_editor_and_keeps_a_draft(notebook: Opened) -> None:
    url = f"/a/{notebook.attempt}/c/{NOTEBOOK}"
    page = notebook.client.get(url).text
    assert 'data-notebook="yes"' in page and "static/notebook.js" in page
    assert "data-shown-upload" not in page
    starter = json.loads(_editor_text(page))   # the starter notebook, as the cell editor reads it
    assert [c["id"] for c in starter["cells"]][:2] == ["intro", "load"]
    starter["cells"].append({"id": "mine", "cell_type": "code", "metadata": {},
                             "execution_count": None, "outputs": [], "source": "print(42)"})
    saved = notebook.client.post(f"{url}/draft", data=json.dumps(
        {"files": [{"name": "analysis.ipynb", "content": json.dumps(starter)}]}),
        headers={"Content-Type": "application/json", "Accept": "application/json"})
    assert saved.status_code == 200, saved.text
    assert json.loads(_editor_text(notebook.client.get(url).text))["cells"][-1]["id"] == "mine"


def test_an_uploaded_notebook_becomes_the_draft_shown_read_only_and_submits_as_is(
        notebook: Opened) -> None:
    """The reported bug: after "Run public checks" with an upload, Submit needed the file
    chosen again. Now the upload is the draft, and the page's own form submits it."""
    url = f"/a/{notebook.attempt}/c/{NOTEBOOK}"
    data = REFERENCE.read_bytes()
    response = notebook.client.post(f"{url}/public-run", data={
        "code_name": "analysis.ipynb", "code": "",
        "files": (io.BytesIO(data), "analysis.ipynb")}, content_type="multipart/form-data")
    assert response.status_code == 302, response.text
    page = notebook.client.get(url).text
    assert 'data-shown-upload="yes"' in page
    shown = _editor_text(page)
    assert shown == data.decode("utf-8")
    # Submit with no file chosen: the form posts the editor's text, which is the upload.
    response = notebook.client.post(f"{url}/submit", data={"code_name": "analysis.ipynb",
                                                           "code": shown})
    assert response.status_code == 302, response.text
    with notebook.app.app_context():
        submission = db.session.scalars(select(Submission)).one()
        [stored] = submission.files
        assert stored.name == "analysis.ipynb"
        assert BlobStore(Path(notebook.app.config["HELDOUT_DATA_DIR"]) / "blobs").get(
            stored.sha256) == data
    # Once edited in the page, it is the candidate's draft, no longer the upload shown as is.
    edited = json.loads(shown)
    edited["cells"][0]["source"] = "# edited\n"
    notebook.client.post(f"{url}/draft", data=json.dumps(
        {"files": [{"name": "analysis.ipynb", "content": json.dumps(edited)}]}),
        headers={"Content-Type": "application/json", "Accept": "application/json"})
    assert "data-shown-upload" not in notebook.client.get(url).text


def test_the_last_runs_cell_outputs_are_shown_sanitised(notebook: Opened) -> None:
    executed = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", id="load", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="rows: 3000\n"),
        nbformat.v4.new_output("display_data", data={
            "text/html": '<table><tr><td onclick="steal()">0.26</td></tr></table>'
                         "<script>steal()</script>", "text/plain": "0.26"})])])
    with notebook.app.app_context():
        blobs = BlobStore(Path(notebook.app.config["HELDOUT_DATA_DIR"]) / "blobs")
        digest = blobs.put(nbformat.writes(executed).encode("utf-8"))
        attempt = db.session.scalars(select(Attempt)).one()
        challenge = catalogue.available_challenges()[0]
        evaluation = Evaluation(challenge=NOTEBOOK, version=challenge.version, status="graded",
                                score=10.0, split="public").as_dict()
        run = PublicRun(attempt_id=attempt.id, challenge_id=challenge.id,
                        challenge_slug=NOTEBOOK, challenge_version=challenge.version,
                        status="graded", evaluation={**evaluation, "artefacts": [
                            {"name": "executed.ipynb", "sha256": digest, "size": 1}]})
        db.session.add(run)
        db.session.commit()
        run_id = run.id
    page = notebook.client.get(f"/a/{notebook.attempt}/c/{NOTEBOOK}").text
    outputs = re.search(r'<div class="js-cell-outputs" hidden>(.*?)</div>\n', page, re.S)
    assert outputs, page
    assert '<div data-cell="load"><pre class="nb-output_stdout">rows: 3000\n</pre>' in outputs.group(1)
    assert "<td>0.26</td>" in outputs.group(1)
    assert "steal" not in outputs.group(1)
    status = notebook.client.get(f"/a/{notebook.attempt}/public-runs/{run_id}",
                                   headers={"Accept": "application/json"})
    assert status.status_code == 200, status.text
    assert status.json is not None and "rows: 3000" in status.json["cells"]["load"]
