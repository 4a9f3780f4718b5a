"""schemathesis against the live API: a real `heldout serve`, a token, a few seeded
assessments, invites and graded candidates; every operation of /api/v1/openapi.json is
called with generated requests, valid and invalid. No answer may be a server error or
differ from the document (status code, content type, headers, body schema), invalid
requests must be refused, and a call without the token must be refused.

The example count per operation is small and fixed (``EXAMPLES``), so the run is bounded
(about a minute on the project's two-core machines); ``--seed`` makes a failure reproducible.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import flask_migrate
import pytest

from heldout.platform.app import create_app
from heldout.platform.extensions import db
from heldout.platform.models import EditorEvent, SignalReview, utcnow
from heldout.platform.services import accounts, api_tokens, assessments, catalogue, invites
from tests.e2e.live_server import REPO, SLUG, serving, site_settings
from tests.platform import review_seed as seed

pytestmark = [pytest.mark.slow]

SECRET = "schemathesis-secret-key-not-for-production"
PASSWORD = "schemathesis horse battery"
EXAMPLES = 12
SEED = 20261202
# What must hold for every answer. Left out: positive_data_acceptance (a request the
# document allows may still break a rule the document can't say: an unknown challenge, an
# expiry in the past, an id that names nothing, which are 400 and 404 by design) and
# use_after_free / ensure_resource_availability (they need the stateful phase's links).
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance",
          "negative_data_rejection", "ignored_auth", "unsupported_method",
          "missing_required_header")


@dataclass(frozen=True)
class Live:
    base_url: str
    token: str


def _seed(app_settings: dict[str, str], challenges_dir: Path) -> str:
    """Staff, two assessments (one with invites and graded candidates); an admin token."""
    app = create_app(app_settings)
    with app.app_context():
        flask_migrate.upgrade(revision="heads")
        catalogue.load_challenges(challenges_dir)
        admin = accounts.create_user("admin@example.com", "Ada Admin", "admin", PASSWORD)
        recruiter = accounts.create_user("recruiter@example.com", "Rita", "recruiter", PASSWORD)
        main = assessments.create_assessment(
            name="Take-home", challenge_slugs=[SLUG], time_limit_minutes=60, instructions="",
            expires_at=None, show_scores=True, created_by_id=recruiter.id)
        assessments.create_assessment(
            name="Archived", challenge_slugs=[SLUG], time_limit_minutes=30, instructions="",
            expires_at=None, show_scores=False, created_by_id=recruiter.id)
        for name in ("Ana Able", "Ben Bright"):
            invites.create_invite(assessment_id=main.id, candidate_name=name,
                                  candidate_email=f"{name.split()[0].lower()}@example.org",
                                  created_by_id=recruiter.id, secret=SECRET, ttl_days=7,
                                  now=utcnow())
        priya = seed.candidate(main.id, recruiter.id, "Priya Raman",
                               {SLUG: [seed.Graded(41.0, 12), seed.Graded(82.0, 40)]})
        # An integrity signal in her report (a large paste), reviewed.
        paste = EditorEvent(attempt_id=priya, challenge_id=main.challenges[0].id,
                            kind="paste", at=utcnow(), file="solution.py", amount=1240)
        db.session.add(paste)
        db.session.flush()
        db.session.add(SignalReview(attempt_id=priya, signal=f"paste:{paste.id}",
                                    note="Their own notes.", reviewed_by_id=admin.id))
        seed.candidate(main.id, recruiter.id, "Tom Becker", {SLUG: [seed.Graded(35.0, 25)]},
                       index=1)
        db.session.commit()
        token = api_tokens.create_token(user=admin, name="schemathesis", scope="admin",
                                        days=1, now=utcnow(), actor=admin).secret
        db.engine.dispose()
    return token


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("schemathesis")
    # Generated requests come fast: the limit itself has its own test.
    settings, challenges_dir, port = site_settings(
        root, SECRET, HELDOUT_API_RATE_LIMIT="100000 per minute")
    token = _seed(settings, challenges_dir)
    with serving(settings, root / "server.log", port) as base_url:
        yield Live(base_url, token)


def test_the_live_api_matches_its_document(live: Live, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    command = [sys.executable, "-m", "schemathesis.cli", "run",
               f"{live.base_url}/api/v1/openapi.json",
               "--header", f"Authorization: Bearer {live.token}",
               "--checks", ",".join(CHECKS), "--phases", "examples,coverage,fuzzing",
               "--max-examples", str(EXAMPLES), "--seed", str(SEED), "--workers", "2",
               "--request-timeout", "30", "--no-color",
               "--report", "json", "--report-json-path", str(report)]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.e2e.schemathesis_hooks",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          check=False, env=env)
    output = done.stdout + done.stderr
    print(output[-6000:])  # the summary, in the test's log
    assert done.returncode == 0, output[-6000:]
    summary = json.loads(report.read_text())
    spec = json.loads(urllib.request.urlopen(f"{live.base_url}/api/v1/openapi.json",
                                             timeout=10).read())
    operations = {f"{method.upper()} {path}" for path, item in spec["paths"].items()
                  for method in item if method in ("get", "post", "patch", "put", "delete")}
    # Every operation of the document was called (but the document itself, which
    # schemathesis reads instead), none errored, and nothing failed.
    assert set(summary["valid_rates"]) == operations - {"GET /api/v1/openapi.json"}
    assert summary["operations"]["tested"] == len(operations) - 1
    assert summary["operations"]["errored"] == 0 and summary["failures"] == []
    assert summary["test_cases"]["generated"] >= len(operations) * 10
    assert summary["test_cases"]["with_failures"] == 0
