"""Demo accounts and a demo assessment, for trying heldout on one machine."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from heldout.platform.extensions import db
from heldout.platform.models import Assessment, AssessmentChallenge, User
from heldout.platform.services import accounts, catalogue

DEMO_USERS = (
    ("admin@example.com", "Ada Admin", "admin"),
    ("recruiter@example.com", "Rita Recruiter", "recruiter"),
    ("interviewer@example.com", "Ivan Interviewer", "interviewer"),
)
DEMO_ASSESSMENT = "Demo — ML engineer take-home"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    password: str


@dataclass(frozen=True)
class DemoReport:
    logins: tuple[DemoLogin, ...]
    created_users: tuple[str, ...]
    assessment: Assessment | None
    created_assessment: bool


def _read_passwords(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write_passwords(path: Path, passwords: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(passwords, handle, indent=2)


def ensure_demo(passwords_file: Path) -> DemoReport:
    """Create what is missing; running it again changes nothing and prints the same logins.

    Passwords are random, kept in ``passwords_file`` (mode 600) so a re-run can print them;
    a demo account whose password no longer matches the file gets a new one.
    """
    known = _read_passwords(passwords_file)
    logins: list[DemoLogin] = []
    created: list[str] = []
    users: dict[str, User] = {}
    for email, name, role in DEMO_USERS:
        user = db.session.scalar(select(User).where(User.email == email))
        password = known.get(email, "")
        if user is None:
            password = password or secrets.token_urlsafe(12)
            user = User(email=email, name=name, role=role,
                        password_hash=generate_password_hash(password, method="scrypt"))
            db.session.add(user)
            created.append(email)
        elif not password or not accounts.password_matches(user, password):
            password = secrets.token_urlsafe(12)
            user.password_hash = generate_password_hash(password, method="scrypt")
            user.rotate_session_token()
        users[role] = user
        logins.append(DemoLogin(email, role, password))
    db.session.flush()

    assessment = db.session.scalar(select(Assessment).where(Assessment.name == DEMO_ASSESSMENT))
    created_assessment = False
    challenges = catalogue.available_challenges()
    if assessment is None and challenges:
        assessment = Assessment(
            name=DEMO_ASSESSMENT, time_limit_minutes=max(30, sum(c.expected_minutes
                                                                for c in challenges) + 15),
            instructions="Use any documentation you like. Write your own code.",
            show_scores=True, created_by=users["recruiter"])
        assessment.items = [AssessmentChallenge(challenge=c, position=i)
                            for i, c in enumerate(challenges)]
        db.session.add(assessment)
        created_assessment = True
    db.session.commit()
    _write_passwords(passwords_file, {login.email: login.password for login in logins})
    return DemoReport(tuple(logins), tuple(created), assessment, created_assessment)
