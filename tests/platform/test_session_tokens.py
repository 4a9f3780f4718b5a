"""Session tokens: the 0002 migration rotates them on a database with data; no hashing at import."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import flask_migrate
import pytest
import werkzeug.security
from flask import Flask
from sqlalchemy import text

from heldout.platform.app import create_app
from heldout.platform.extensions import db
from heldout.platform.services import accounts


def test_the_migration_gives_existing_accounts_new_tokens(tmp_path: Path) -> None:
    app = create_app({"HELDOUT_ENV": "testing", "HELDOUT_DATA_DIR": str(tmp_path),
                      "HELDOUT_QUEUE_URL": "memory://"})
    with app.app_context():
        flask_migrate.upgrade(revision="0001")
        with db.engine.begin() as connection:
            for n in (1, 2):
                connection.execute(text(
                    "INSERT INTO user_account (email, name, role, password_hash, session_token,"
                    " active, created_at) VALUES (:email, 'N', 'admin', 'x', :token, 1,"
                    " '2026-01-01 00:00:00')"), {"email": f"u{n}@example.com", "token": f"old{n}"})
        flask_migrate.upgrade(revision="0002_session_tokens")
        with db.engine.connect() as connection:
            tokens = connection.execute(
                text("SELECT session_token FROM user_account ORDER BY id")).scalars().all()
            emails = connection.execute(
                text("SELECT email FROM user_account ORDER BY id")).scalars().all()
        flask_migrate.upgrade()  # and on to the newest revision
        db.engine.dispose()
    assert emails == ["u1@example.com", "u2@example.com"]
    assert "old1" not in tokens and "old2" not in tokens
    assert len(set(tokens)) == 2 and all(len(token) >= 40 for token in tokens)


def test_importing_accounts_hashes_no_password(tmp_path: Path) -> None:
    # A fresh interpreter: this one imported the module long ago.
    probe = textwrap.dedent("""
        import hashlib
        import werkzeug.security

        calls = []

        def counting(name, real):
            def wrapper(*args, **kwargs):
                calls.append(name)
                return real(*args, **kwargs)
            return wrapper

        hashlib.scrypt = counting("scrypt", hashlib.scrypt)
        hashlib.pbkdf2_hmac = counting("pbkdf2", hashlib.pbkdf2_hmac)
        werkzeug.security.generate_password_hash = counting(
            "generate_password_hash", werkzeug.security.generate_password_hash)

        import heldout.platform.services.accounts as accounts
        print("import", len(calls))
        accounts._dummy_hash()
        print("first use", len(calls))
    """)
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=False, cwd=tmp_path)
    lines = result.stdout.splitlines()
    assert lines[:1] == ["import 0"], result.stdout + result.stderr
    # First use: werkzeug's generate_password_hash, then the scrypt it calls.
    assert result.returncode == 0 and lines[1:] == ["first use 2"], result.stderr


def test_an_unknown_e_mail_still_costs_a_password_check(app: Flask,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[str] = []
    real = werkzeug.security.check_password_hash

    def recording(pwhash: str, password: str) -> bool:
        checked.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(accounts, "check_password_hash", recording)
    with app.app_context():
        assert accounts.authenticate("nobody@example.com", "some password") is None
    assert len(checked) == 1 and checked[0].startswith("scrypt:")
