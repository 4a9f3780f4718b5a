"""Loading the settings (declared in settings.py): defaults in code, overrides from
``HELDOUT_*`` environment variables, strictly parsed and checked together; the sandbox's
settings from them; the address a served app is reached at; the installation's secret key."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from heldout.platform.errors import ConfigError
from heldout.platform.settings import SETTINGS, SETTINGS_BY_NAME, rate_limit
from heldout.sandbox.settings import OPTIONS as SANDBOX_OPTIONS
from heldout.sandbox.settings import SandboxSettings

# Published in the source of earlier versions as their development default: never a key.
FORMER_DEVELOPMENT_KEY = "heldout-development-key-not-secret"
MIN_SECRET_BYTES = 32
# Outside production with no HELDOUT_SECRET_KEY: this installation's own key, made once.
SECRET_KEY_FILE = "secret_key"  # noqa: S105 (a file name)




def load_settings(env: Mapping[str, str], overrides: Mapping[str, Any] | None = None
                  ) -> dict[str, Any]:
    """Defaults, then ``HELDOUT_*`` from ``env``, then ``overrides`` (tests); strictly parsed.

    Returns the Flask config: every ``HELDOUT_*`` setting plus the Flask and extension
    keys derived from them. Keys in ``overrides`` that are not ``HELDOUT_*`` (``TESTING``,
    ``WTF_CSRF_ENABLED``) are passed through last.
    """
    overrides = dict(overrides or {})
    for key in overrides:
        if key.startswith("HELDOUT_") and key not in SETTINGS_BY_NAME:
            raise ConfigError(f"unknown setting {key}; known: {', '.join(SETTINGS_BY_NAME)}")
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        value = setting.default
        if setting.name in env:
            try:
                value = setting.parse(env[setting.name])
            except ValueError as exc:
                raise ConfigError(f"{setting.name}={env[setting.name]!r}: {exc}") from exc
        if setting.name in overrides:
            value = overrides[setting.name]
        values[setting.name] = value

    data_dir = Path(values["HELDOUT_DATA_DIR"]).expanduser().resolve()
    values["HELDOUT_DATA_DIR"] = str(data_dir)
    values["HELDOUT_CHALLENGES_DIR"] = str(
        Path(values["HELDOUT_CHALLENGES_DIR"]).expanduser().resolve())
    if not values["HELDOUT_DATABASE_URL"]:
        values["HELDOUT_DATABASE_URL"] = f"sqlite:///{data_dir / 'heldout.db'}"
    if not values["HELDOUT_QUEUE_URL"]:
        values["HELDOUT_QUEUE_URL"] = f"sqlite:///{data_dir / 'queue.db'}"
    values["HELDOUT_BASE_URL"] = str(values["HELDOUT_BASE_URL"]).strip().rstrip("/")

    production = values["HELDOUT_ENV"] == "production"
    secret = str(values["HELDOUT_SECRET_KEY"] or "")
    if production and (secret == FORMER_DEVELOPMENT_KEY
                       or len(secret.encode("utf-8")) < MIN_SECRET_BYTES):
        raise ConfigError(f"HELDOUT_ENV=production needs HELDOUT_SECRET_KEY set to a random "
                          f"value of at least {MIN_SECRET_BYTES} bytes (e.g. "
                          "`python -c 'import secrets; print(secrets.token_hex(32))'`)")
    if not secret and values["HELDOUT_ENV"] == "testing":
        secret = secrets.token_hex(32)  # a test that needs a stable key passes its own
    # Empty in development: the installation's own key, read or made on first use
    # (install_secret_key), so that creating the app touches no disk.
    values["HELDOUT_SECRET_KEY"] = secret
    for name in ("HELDOUT_LOGIN_LIMIT_ACCOUNT", "HELDOUT_LOGIN_LIMIT_ADDRESS",
                 "HELDOUT_SUBMIT_LIMIT", "HELDOUT_PUBLIC_RUN_LIMIT", "HELDOUT_AUTOSAVE_LIMIT",
                 "HELDOUT_API_RATE_LIMIT", "HELDOUT_PROBLEM_REPORT_LIMIT",
                 "HELDOUT_EDITOR_EVENTS_LIMIT", "HELDOUT_AI_LIMIT"):
        if name in overrides:  # the environment's values were parsed above
            try:
                rate_limit(str(values[name]))
            except ValueError as exc:
                raise ConfigError(f"{name}={values[name]!r}: {exc}") from exc
    if values["HELDOUT_SMTP_HOST"] and not values["HELDOUT_SMTP_FROM"]:
        raise ConfigError("HELDOUT_SMTP_HOST is set: set HELDOUT_SMTP_FROM to the sender "
                          "invite e-mails come from")
    token = str(values["HELDOUT_INTERNAL_TOKEN"])
    values["HELDOUT_FILES_URL"] = str(values["HELDOUT_FILES_URL"]).rstrip("/")
    if token and len(token.encode("utf-8")) < MIN_SECRET_BYTES:
        # Whatever the environment: the endpoint answers on the web app's own port.
        raise ConfigError(f"HELDOUT_INTERNAL_TOKEN must be at least {MIN_SECRET_BYTES} bytes "
                          "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`), "
                          "the same on the web app and every worker")
    if values["HELDOUT_FILES_URL"]:
        if not values["HELDOUT_FILES_URL"].startswith(("http://", "https://")):
            raise ConfigError(f"HELDOUT_FILES_URL={values['HELDOUT_FILES_URL']!r}: must start "
                              "with http:// or https:// (the web app's address as this worker "
                              "reaches it)")
        if not token:
            raise ConfigError("HELDOUT_FILES_URL is set: set HELDOUT_INTERNAL_TOKEN to the "
                              "web app's token too")
    values["HELDOUT_AI_URL"] = str(values["HELDOUT_AI_URL"]).strip()
    if values["HELDOUT_AI_URL"] and not values["HELDOUT_AI_URL"].startswith(("http://",
                                                                             "https://")):
        raise ConfigError(f"HELDOUT_AI_URL={values['HELDOUT_AI_URL']!r}: must start with "
                          "http:// or https:// (an OpenAI-compatible API, e.g. "
                          "http://127.0.0.1:8080/v1)")
    # Kept exactly (a trailing slash included): the ID token's ``iss`` must equal it.
    values["HELDOUT_OIDC_ISSUER"] = str(values["HELDOUT_OIDC_ISSUER"]).strip()
    if values["HELDOUT_OIDC_ISSUER"]:
        if not values["HELDOUT_OIDC_ISSUER"].startswith(("http://", "https://")):
            raise ConfigError(f"HELDOUT_OIDC_ISSUER={values['HELDOUT_OIDC_ISSUER']!r}: must "
                              "start with https:// (the provider's issuer URL)")
        if not (values["HELDOUT_OIDC_CLIENT_ID"] and values["HELDOUT_OIDC_CLIENT_SECRET"]):
            raise ConfigError("HELDOUT_OIDC_ISSUER is set: set HELDOUT_OIDC_CLIENT_ID and "
                              "HELDOUT_OIDC_CLIENT_SECRET to the client registered there")
    elif not values["HELDOUT_PASSWORD_LOGIN"]:
        raise ConfigError("HELDOUT_PASSWORD_LOGIN=false leaves no way to sign in: set "
                          "HELDOUT_OIDC_ISSUER (single sign-on) too")
    secure = values["HELDOUT_SECURE_COOKIES"]
    values["HELDOUT_SECURE_COOKIES"] = production if secure is None else bool(secure)

    if values["HELDOUT_QUEUE_URL"].startswith("memory:") and values["HELDOUT_ENV"] != "testing":
        # An in-process queue is invisible to a separate worker: jobs would never run.
        raise ConfigError("HELDOUT_QUEUE_URL=memory:// is for tests only (HELDOUT_ENV=testing); "
                          "use sqlite:///… or redis://…")

    upload_bytes = int(values["HELDOUT_MAX_UPLOAD_MB"]) * 1024 * 1024
    values.update(
        SECRET_KEY=secret or None,
        SQLALCHEMY_DATABASE_URI=values["HELDOUT_DATABASE_URL"],
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(values["HELDOUT_DATABASE_URL"]),
        # A little room beyond the upload for the rest of the form.
        MAX_CONTENT_LENGTH=upload_bytes + 64 * 1024,
        MAX_FORM_MEMORY_SIZE=upload_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=values["HELDOUT_SECURE_COOKIES"],
        REMEMBER_COOKIE_SECURE=values["HELDOUT_SECURE_COOKIES"],
        # The token lives as long as the session: an attempt can outlast any fixed limit,
        # and a refused submit would cost the candidate their typed code.
        WTF_CSRF_TIME_LIMIT=None,
        RATELIMIT_STORAGE_URI=values["HELDOUT_RATELIMIT_STORAGE"],
        # Redis down: count in this process rather than refuse every sign-in.
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        # Our 429 page sets Retry-After itself; no X-RateLimit-* headers on every answer.
        RATELIMIT_HEADERS_ENABLED=False,
        TESTING=values["HELDOUT_ENV"] == "testing",
    )
    values.update({k: v for k, v in overrides.items() if not k.startswith("HELDOUT_")})
    return values


def sandbox_settings(config: Mapping[str, Any], *, owner: str = "") -> SandboxSettings:
    """The sandbox's settings from the platform's (``load_settings``' result); ``owner``
    labels what the sandbox starts (a worker's identity)."""
    return SandboxSettings.from_values({option.name: config[option.name]
                                        for option in SANDBOX_OPTIONS}, owner=owner)


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        # Web and worker write the same file: wait for the lock instead of failing at once.
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True}


def served_base_url(host: str, port: int) -> str:
    """The address a web app served on HOST:PORT is reached at from this machine.

    A wildcard or loopback bind is shown as localhost; behind a proxy or on another
    name, set HELDOUT_BASE_URL (the assessment page warns when it is reached elsewhere).
    """
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::", "::1", "") else host  # noqa: S104
    if ":" in shown:  # an IPv6 literal
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def install_secret_key(data_dir: Path) -> str:
    """This installation's secret key: read from ``<data_dir>/secret_key``, or made there.

    Made once, readable by its owner only, and published whole (a hard link to a written
    file), so processes starting together all read the same key, never a half-written one.
    """
    path = data_dir / SECRET_KEY_FILE
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    draft = data_dir / f".{SECRET_KEY_FILE}-{secrets.token_hex(8)}"
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_hex(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first: theirs
            os.link(draft, path)
    finally:
        draft.unlink(missing_ok=True)
    return _read_key(path)


def _read_key(path: Path) -> str:
    key = path.read_text(encoding="utf-8").strip()
    if len(key.encode("utf-8")) < MIN_SECRET_BYTES:
        raise ConfigError(f"{path} holds no key of at least {MIN_SECRET_BYTES} bytes; delete "
                          "it to have a new one made (signed-in sessions and unopened invite "
                          "links then end), or set HELDOUT_SECRET_KEY")
    return key
