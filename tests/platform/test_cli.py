"""The ``heldout`` command: db upgrade, load-challenges, demo, doctor, settings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select

from heldout.platform.cli import main
from heldout.platform.models import Assessment, Challenge, User


@pytest.fixture
def env(tmp_path: Path, challenges_dir: Path) -> dict[str, str]:
    return {"HELDOUT_DATA_DIR": str(tmp_path / "var"),
            "HELDOUT_CHALLENGES_DIR": str(challenges_dir),
            "HELDOUT_SECRET_KEY": "cli-test", "HELDOUT_ENV": "development"}


def run(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _count(env: dict[str, str], model: type) -> int:
    engine = create_engine(f"sqlite:///{env['HELDOUT_DATA_DIR']}/heldout.db")
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(model)).scalar_one()
    engine.dispose()
    return int(count)


def test_db_upgrade_creates_the_schema(env: dict[str, str]) -> None:
    assert "database at head" in run(env, "db", "upgrade")
    assert _count(env, User) == 0
    run(env, "db", "upgrade")  # again: nothing to do


def test_standings_rebuild(env: dict[str, str]) -> None:
    run(env, "db", "upgrade")
    assert "standings rebuilt for 0 attempts" in run(env, "standings", "rebuild")


def test_load_challenges_then_demo_is_idempotent(env: dict[str, str]) -> None:
    run(env, "db", "upgrade")
    assert "added: churn-prediction" in run(env, "load-challenges")
    assert "unchanged: churn-prediction" in run(env, "load-challenges")
    assert _count(env, Challenge) == 1
    # Each version is stored for grading: <data>/bundles/<sha256>/<slug>/.
    stored_versions = list((Path(env["HELDOUT_DATA_DIR"]) / "bundles").glob("*/churn-prediction"))
    assert len(stored_versions) == 1 and (stored_versions[0] / "challenge.toml").is_file()

    first = run(env, "demo")
    assert "(created)" in first
    second = run(env, "demo")
    assert "(created)" not in second
    logins = [line for line in first.splitlines() if "@example.com" in line]
    assert len(logins) == 3
    assert logins == [line for line in second.splitlines() if "@example.com" in line]
    assert _count(env, User) == 3 and _count(env, Assessment) == 1
    stored = Path(env["HELDOUT_DATA_DIR"]) / "demo-logins.json"
    assert stored.stat().st_mode & 0o777 == 0o600
    # The real place, so the reader can open it (not a placeholder such as <DATA_DIR>).
    assert f"demo logins (kept in {stored.resolve()}):" in first.splitlines()
    assert set(json.loads(stored.read_text())) == {"admin@example.com", "recruiter@example.com",
                                                   "interviewer@example.com"}


def test_demo_logins_work(env: dict[str, str]) -> None:
    from heldout.platform.app import create_app

    run(env, "db", "upgrade")
    output = run(env, "demo")
    line = next(line for line in output.splitlines() if "recruiter@example.com" in line)
    password = line.split()[-1]
    app = create_app({key: value for key, value in env.items()} | {"WTF_CSRF_ENABLED": False})
    client = app.test_client()
    response = client.post("/login", data={"email": "recruiter@example.com",
                                           "password": password})
    assert response.status_code == 302


def test_demo_refuses_production(env: dict[str, str]) -> None:
    env = env | {"HELDOUT_ENV": "production", "HELDOUT_SECRET_KEY": "s" * 40}
    result = CliRunner().invoke(main, ["demo"], env=env)
    assert result.exit_code == 1 and "refusing" in result.output


def test_production_without_secret_is_a_clear_error(env: dict[str, str]) -> None:
    env = env | {"HELDOUT_ENV": "production", "HELDOUT_SECRET_KEY": ""}
    result = CliRunner().invoke(main, ["db", "upgrade"], env=env)
    assert result.exit_code == 1 and "HELDOUT_SECRET_KEY" in result.output


def test_doctor_reports_database_and_queue(env: dict[str, str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from heldout.platform import doctor

    monkeypatch.setattr(doctor, "sandbox_findings", lambda settings: [])
    result = CliRunner().invoke(main, ["doctor"], env=env)
    assert result.exit_code == 1
    assert "[FAIL] database" in result.output and "heldout db upgrade" in result.output
    run(env, "db", "upgrade")
    run(env, "load-challenges")
    output = run(env, "doctor")
    assert "[ok  ] database" in output and "[ok  ] queue" in output
    assert "[ok  ] challenges: 1 challenge(s)" in output


def test_doctor_asks_the_backend_the_settings_name(env: dict[str, str]) -> None:
    """The sandbox's part of the doctor comes from the configured backend; a name no
    backend has is a failed required check that lists the known ones."""
    from heldout.platform.app import create_app
    from heldout.platform.doctor import findings

    app = create_app({"HELDOUT_DATA_DIR": env["HELDOUT_DATA_DIR"],
                      "HELDOUT_SANDBOX_BACKEND": "no-such-backend"})
    first = findings(app)[0]
    assert first.name == "sandbox" and not first.ok and first.required
    assert "unknown sandbox backend 'no-such-backend'; known: docker" in first.detail


def test_settings_and_the_subcommands_of_other_packages(env: dict[str, str]) -> None:
    assert "HELDOUT_QUEUE_URL" in run(env, "settings")
    output = run(env, "--help")
    for command in ("grade", "challenges", "sandbox", "db", "serve", "worker", "up", "doctor"):
        assert command in output


def test_every_command_of_the_table_loads_under_its_own_name() -> None:
    import click

    from heldout.platform.cli import COMMANDS

    context = click.Context(main)
    for name in COMMANDS:
        command = main.get_command(context, name)
        assert isinstance(command, click.Command) and command.name == name, name
    assert main.get_command(context, "no-such-command") is None


def test_a_mistyped_command_is_told_the_close_names() -> None:
    # A fresh process: here, earlier tests have long since loaded every command.
    result = subprocess.run([sys.executable, "-m", "heldout.platform", "serv"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2
    assert "No such command 'serv'" in result.stderr and "'serve'" in result.stderr
