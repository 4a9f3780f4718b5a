"""Settings: defaults, environment overrides, strict parsing, the production guard."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from heldout.platform.app import create_app
from heldout.platform.config import load_settings
from heldout.platform.errors import ConfigError
from heldout.platform.settings import settings_table


def test_defaults_derive_from_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings({"HELDOUT_DATA_DIR": str(tmp_path)})
    assert settings["HELDOUT_DATABASE_URL"] == f"sqlite:///{tmp_path}/heldout.db"
    assert settings["HELDOUT_QUEUE_URL"] == f"sqlite:///{tmp_path}/queue.db"
    assert settings["SQLALCHEMY_DATABASE_URI"] == settings["HELDOUT_DATABASE_URL"]
    assert settings["MAX_CONTENT_LENGTH"] > 5 * 1024 * 1024
    assert settings["SECRET_KEY"] is None  # the install's own key, made on first use


def test_environment_overrides_and_test_dict_wins() -> None:
    env = {"HELDOUT_MAX_UPLOAD_MB": "2", "HELDOUT_QUEUE_URL": "redis://queue:6379/0",
           "HELDOUT_BASE_URL": "https://jobs.example.com/"}
    settings = load_settings(env, {"HELDOUT_MAX_UPLOAD_MB": 1, "TESTING": True})
    assert settings["HELDOUT_MAX_UPLOAD_MB"] == 1
    assert settings["HELDOUT_QUEUE_URL"] == "redis://queue:6379/0"
    assert settings["HELDOUT_BASE_URL"] == "https://jobs.example.com"
    assert settings["TESTING"] is True


@pytest.mark.parametrize(("name", "value"), [("HELDOUT_MAX_UPLOAD_MB", "lots"),
                                             ("HELDOUT_WORKERS", "0"),
                                             ("HELDOUT_ENV", "staging"),
                                             ("HELDOUT_SECURE_COOKIES", "maybe")])
def test_malformed_environment_values_are_refused(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({name: value})


def test_unknown_setting_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="HELDOUT_DATA_DIR"):
        load_settings({}, {"HELDOUT_DATABSE_URL": "sqlite://"})


def test_production_refuses_the_default_secret_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="HELDOUT_SECRET_KEY"):
        create_app({"HELDOUT_ENV": "production", "HELDOUT_DATA_DIR": str(tmp_path)})
    app = create_app({"HELDOUT_ENV": "production", "HELDOUT_SECRET_KEY": "x" * 40,
                      "HELDOUT_DATA_DIR": str(tmp_path)})
    assert app.config["SECRET_KEY"] == "x" * 40


def test_memory_queue_is_for_tests_only() -> None:
    with pytest.raises(ConfigError, match="tests only"):
        load_settings({"HELDOUT_QUEUE_URL": "memory://"})
    assert load_settings({"HELDOUT_ENV": "testing", "HELDOUT_QUEUE_URL": "memory://"})


def test_unknown_queue_scheme(tmp_path: Path) -> None:
    from heldout.platform.queue import make_huey

    with pytest.raises(ConfigError, match="known: sqlite"):
        make_huey("amqp://broker/")
    assert type(make_huey(f"sqlite:///{tmp_path}/q.db")).__name__ == "SqliteHuey"
    assert type(make_huey("redis://localhost:6379/0")).__name__ == "RedisHuey"


def test_the_factory_only_wires(tmp_path: Path) -> None:
    data_dir = tmp_path / "never-touched"
    create_app({"HELDOUT_DATA_DIR": str(data_dir)})
    assert not data_dir.exists()


def test_settings_table_lists_every_setting() -> None:
    table = settings_table()
    for name in ("HELDOUT_DATABASE_URL", "HELDOUT_QUEUE_URL", "HELDOUT_SECRET_KEY",
                 "HELDOUT_MAX_UPLOAD_MB", "HELDOUT_INVITE_TTL_DAYS", "HELDOUT_BASE_URL"):
        assert f"`{name}`" in table


PRODUCTION_KEY = "p" * 32


def test_production_refuses_a_secret_key_shorter_than_32_bytes(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        load_settings({"HELDOUT_ENV": "production", "HELDOUT_SECRET_KEY": "s" * 31,
                       "HELDOUT_DATA_DIR": str(tmp_path)})
    settings = load_settings({"HELDOUT_ENV": "production", "HELDOUT_SECRET_KEY": PRODUCTION_KEY,
                              "HELDOUT_DATA_DIR": str(tmp_path)})
    assert settings["SECRET_KEY"] == PRODUCTION_KEY


def test_production_sends_cookies_over_https_only_by_default(tmp_path: Path) -> None:
    env = {"HELDOUT_ENV": "production", "HELDOUT_SECRET_KEY": PRODUCTION_KEY,
           "HELDOUT_DATA_DIR": str(tmp_path)}
    settings = load_settings(env)
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["HELDOUT_SECURE_COOKIES"] is True
    # A plain-HTTP demo turns it off, explicitly.
    demo = load_settings({**env, "HELDOUT_SECURE_COOKIES": "false"})
    assert demo["SESSION_COOKIE_SECURE"] is False
    # Outside production the default is off, and can be turned on.
    assert load_settings({"HELDOUT_DATA_DIR": str(tmp_path)})["SESSION_COOKIE_SECURE"] is False
    assert load_settings({"HELDOUT_DATA_DIR": str(tmp_path),
                          "HELDOUT_SECURE_COOKIES": "on"})["SESSION_COOKIE_SECURE"] is True


def test_production_answers_with_hsts_and_secure_cookies(tmp_path: Path) -> None:
    app = create_app({"HELDOUT_ENV": "production", "HELDOUT_SECRET_KEY": PRODUCTION_KEY,
                      "HELDOUT_DATA_DIR": str(tmp_path)})
    response = app.test_client().get("/login", base_url="https://heldout.example.invalid")
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    cookie = response.headers.get("Set-Cookie", "")
    assert "session=" in cookie and "Secure" in cookie and "HttpOnly" in cookie

    plain = create_app({"HELDOUT_ENV": "production", "HELDOUT_SECRET_KEY": PRODUCTION_KEY,
                        "HELDOUT_DATA_DIR": str(tmp_path), "HELDOUT_SECURE_COOKIES": False})
    response = plain.test_client().get("/login")
    assert "Strict-Transport-Security" not in response.headers
    assert "Secure" not in response.headers.get("Set-Cookie", "")


def test_form_tokens_do_not_expire_on_their_own(tmp_path: Path) -> None:
    assert load_settings({"HELDOUT_DATA_DIR": str(tmp_path)})["WTF_CSRF_TIME_LIMIT"] is None


@pytest.mark.parametrize(("name", "value"), [("HELDOUT_LOGIN_LIMIT_ACCOUNT", "often"),
                                             ("HELDOUT_LOGIN_LIMIT_ADDRESS", "5 per fortnight"),
                                             ("HELDOUT_SUBMIT_LIMIT", "per minute")])
def test_malformed_rate_limits_are_refused(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({name: value})
    with pytest.raises(ConfigError, match=name):
        load_settings({}, {name: value})


def test_rate_limit_storage_is_a_setting(tmp_path: Path) -> None:
    settings = load_settings({"HELDOUT_DATA_DIR": str(tmp_path),
                              "HELDOUT_RATELIMIT_STORAGE": "redis://limits.example.invalid:6379/1"})
    assert settings["RATELIMIT_STORAGE_URI"] == "redis://limits.example.invalid:6379/1"
    assert load_settings({"HELDOUT_DATA_DIR": str(tmp_path)})["RATELIMIT_STORAGE_URI"] == "memory://"


def test_the_sandbox_settings_are_the_platforms_own(tmp_path: Path) -> None:
    """One list: every sandbox setting is a platform setting, and the platform's config and
    the environment give the sandbox the same value."""
    from heldout.platform.config import sandbox_settings
    from heldout.platform.settings import SETTINGS_BY_NAME
    from heldout.sandbox.settings import OPTIONS, SandboxSettings

    assert {o.name for o in OPTIONS} <= set(SETTINGS_BY_NAME)
    env = {"HELDOUT_SANDBOX_BACKEND": "docker", "HELDOUT_SANDBOX_WARM": "3",
           "HELDOUT_RUN_DIR": str(tmp_path / "runs"), "DOCKER_HOST": "unix:///run/d.sock"}
    config = load_settings(env)
    assert sandbox_settings(config) == SandboxSettings.from_environment(env)
    assert sandbox_settings(config, owner="w1").owner_name == "w1"
    # A test's dict wins over the environment, for the sandbox's settings too.
    config = load_settings(env, {"HELDOUT_SANDBOX_WARM": 0, "DOCKER_HOST": ""})
    chosen = sandbox_settings(config)
    assert (chosen.warm_per_profile, chosen.docker_host) == (0, "")


def test_a_malformed_sandbox_setting_is_refused() -> None:
    with pytest.raises(ConfigError, match="HELDOUT_SANDBOX_WARM"):
        load_settings({"HELDOUT_SANDBOX_WARM": "-2"})


# The key every installation signed its sessions with before keys were made per install.
FORMER_PUBLIC_KEY = "heldout-development-key-not-secret"


def test_outside_production_each_install_makes_its_own_secret_key(tmp_path: Path) -> None:
    """The development default was a constant in the source: anyone could sign a session
    for any install started without HELDOUT_SECRET_KEY (`scripts/run --host 0.0.0.0`)."""
    first = create_app({"HELDOUT_DATA_DIR": str(tmp_path / "one")})
    assert not (tmp_path / "one").exists()  # made on first use, not by the factory
    assert first.test_client().get("/login").status_code == 200
    key_file = tmp_path / "one" / "secret_key"
    key = first.config["SECRET_KEY"]
    assert key != FORMER_PUBLIC_KEY and len(key.encode()) >= 32
    assert key_file.read_text(encoding="utf-8").strip() == key
    assert key_file.stat().st_mode & 0o777 == 0o600
    # The same install keeps it across restarts; another install has its own.
    again = create_app({"HELDOUT_DATA_DIR": str(tmp_path / "one")})
    again.test_client().get("/login")
    assert again.config["SECRET_KEY"] == key
    other = create_app({"HELDOUT_DATA_DIR": str(tmp_path / "two")})
    other.test_client().get("/login")
    assert other.config["SECRET_KEY"] != key


def test_a_session_signed_with_the_former_public_key_opens_nothing(tmp_path: Path) -> None:
    from flask.sessions import SecureCookieSessionInterface

    app = create_app({"HELDOUT_DATA_DIR": str(tmp_path)})
    forged = Flask("forger")
    forged.secret_key = FORMER_PUBLIC_KEY
    serializer = SecureCookieSessionInterface().get_signing_serializer(forged)
    assert serializer is not None
    client = app.test_client()
    client.set_cookie("session", serializer.dumps({"csrf_token": "x", "invite": 1}))
    with client.session_transaction() as session:
        assert "invite" not in session


def test_tests_without_a_key_get_a_random_one_in_memory(tmp_path: Path) -> None:
    env = {"HELDOUT_ENV": "testing", "HELDOUT_QUEUE_URL": "memory://",
           "HELDOUT_DATA_DIR": str(tmp_path)}
    keys = {load_settings(env)["SECRET_KEY"] for _ in range(2)}
    assert len(keys) == 2 and FORMER_PUBLIC_KEY not in keys
    assert not tmp_path.joinpath("secret_key").exists()


def test_production_still_refuses_a_missing_or_former_public_key(tmp_path: Path) -> None:
    for key in ("", FORMER_PUBLIC_KEY):
        with pytest.raises(ConfigError, match="HELDOUT_SECRET_KEY"):
            load_settings({"HELDOUT_ENV": "production", "HELDOUT_SECRET_KEY": key,
                           "HELDOUT_DATA_DIR": str(tmp_path)})
    assert not tmp_path.joinpath("secret_key").exists()


def test_the_compose_stack_sends_cookies_over_https_only_by_default() -> None:
    """docker-compose.yml (production) turned secure cookies off unless told otherwise."""
    import re

    from heldout.platform.settings import SETTINGS_BY_NAME

    compose = (Path(__file__).resolve().parents[2] / "docker-compose.yml").read_text()
    found = re.findall(r"^\s*HELDOUT_SECURE_COOKIES: \$\{HELDOUT_SECURE_COOKIES:-(\w+)\}\s*$",
                       compose, re.MULTILINE)
    assert len(found) == 1, "HELDOUT_SECURE_COOKIES is not set once, with a default"
    assert SETTINGS_BY_NAME["HELDOUT_SECURE_COOKIES"].parse(found[0]) is True
