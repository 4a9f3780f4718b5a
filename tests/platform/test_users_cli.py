"""`heldout users`: list accounts, set a password, disable one; sessions end with each."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient

from heldout.platform.cli import main

PASSWORD = "correct horse battery"


@pytest.fixture
def env(app: Flask, tmp_path: Path) -> dict[str, str]:
    """The environment that makes `heldout` open the test app's database."""
    return {"HELDOUT_ENV": "testing", "HELDOUT_DATA_DIR": app.config["HELDOUT_DATA_DIR"],
            "HELDOUT_DATABASE_URL": app.config["HELDOUT_DATABASE_URL"],
            "HELDOUT_CHALLENGES_DIR": app.config["HELDOUT_CHALLENGES_DIR"],
            "HELDOUT_QUEUE_URL": "memory://", "HELDOUT_SECRET_KEY": "cli-test"}


def heldout(env: dict[str, str], *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, input=stdin, catch_exceptions=False)


def _signed_in(client: FlaskClient, email: str, password: str = PASSWORD) -> FlaskClient:
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 302, response.text
    assert client.get("/assessments").status_code == 200
    return client


def test_list_shows_every_account(env: dict[str, str], users: object) -> None:
    result = heldout(env, "users", "list")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[:3] for line in lines] == [
        ["admin@example.com", "admin", "active"],
        ["interviewer@example.com", "interviewer", "active"],
        ["recruiter@example.com", "recruiter", "active"]]


def test_set_password_from_stdin_ends_old_sessions(env: dict[str, str], client: FlaskClient,
                                                   users: object) -> None:
    _signed_in(client, "recruiter@example.com")
    result = heldout(env, "users", "set-password", "Recruiter@Example.com", "--password-stdin",
                     stdin="a much newer password\n")
    assert result.exit_code == 0, result.output
    assert "its sessions have ended" in result.output
    assert client.get("/assessments").status_code == 302
    fresh = client.application.test_client()
    assert fresh.post("/login", data={"email": "recruiter@example.com",
                                      "password": PASSWORD}).status_code == 401
    _signed_in(fresh, "recruiter@example.com", "a much newer password")


def test_set_password_prompts_twice(env: dict[str, str], client: FlaskClient,
                                    users: object) -> None:
    result = heldout(env, "users", "set-password", "admin@example.com",
                     stdin="typed at the prompt\ntyped at the prompt\n")
    assert result.exit_code == 0, result.output
    assert "typed at the prompt" not in result.output  # hidden input
    _signed_in(client, "admin@example.com", "typed at the prompt")


def test_set_password_refusals(env: dict[str, str], users: object) -> None:
    short = heldout(env, "users", "set-password", "admin@example.com", "--password-stdin",
                    stdin="short\n")
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    unknown = heldout(env, "users", "set-password", "nobody@example.com", "--password-stdin",
                      stdin="long enough password\n")
    assert unknown.exit_code == 1 and "No account for nobody@example.com" in unknown.output


def test_disable_ends_sessions_and_refuses_sign_in(env: dict[str, str], client: FlaskClient,
                                                   users: object) -> None:
    _signed_in(client, "interviewer@example.com")
    result = heldout(env, "users", "disable", "interviewer@example.com")
    assert result.exit_code == 0, result.output
    assert client.get("/assessments").status_code == 302
    response = client.post("/login", data={"email": "interviewer@example.com",
                                           "password": PASSWORD})
    assert response.status_code == 401
    listed = heldout(env, "users", "list").output
    assert "interviewer@example.com" in listed
    assert [line.split()[2] for line in listed.splitlines()
            if line.startswith("interviewer@")] == ["disabled"]

    assert heldout(env, "users", "enable", "interviewer@example.com").exit_code == 0
    _signed_in(client, "interviewer@example.com")
