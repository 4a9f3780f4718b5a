"""Every setting heldout reads: its name, default, parser and meaning, one table
(``SETTINGS``); config.py loads them and checks how they go together, settings_doc.py
writes the table into SETTINGS.md."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from heldout.sandbox.settings import OPTIONS as SANDBOX_OPTIONS
from heldout.sandbox.settings import non_negative_int as _non_negative_int
from heldout.sandbox.settings import text as _text

ENVIRONMENTS = ("development", "production", "testing")


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError("must be at least 1")
    return number


def _days(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError("must be a number of days, 0 for no limit")
    return number


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("must be true or false")


def rate_limit(value: str) -> str:
    from limits import parse_many

    try:
        parse_many(value)
    except ValueError:
        raise ValueError("must look like `5 per minute; 20 per hour`") from None
    return value.strip()


# Voluntary self-identification on the landing page (services/self_identification.py):
# the categories and answers of US EEO-1 reporting.
SELF_ID_DEFAULT = (
    "Sex: Female, Male; "
    "Race or ethnicity: Hispanic or Latino, White, Black or African American, "
    "Native Hawaiian or Other Pacific Islander, Asian, American Indian or Alaska Native, "
    "Two or more races")


def self_id_categories(value: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``Category: answer, answer; Category: …`` as (category, answers) pairs; empty: none."""
    found: list[tuple[str, tuple[str, ...]]] = []
    for part in value.split(";"):
        if not part.strip():
            continue
        name, colon, answers = part.partition(":")
        options = tuple(a.strip() for a in answers.split(",") if a.strip())
        if not colon or not name.strip() or len(options) < 2:
            raise ValueError("must look like `Sex: Female, Male; Race or ethnicity: …` "
                             "(each category with two answers or more)")
        if len(set(options)) != len(options) or name.strip() in dict(found):
            raise ValueError("names a category or an answer twice")
        found.append((name.strip(), options))
    return tuple(found)


def _self_id(value: str) -> str:
    self_id_categories(value)
    return value.strip()


def _language(value: str) -> str:
    from heldout.platform.i18n import LANGUAGES

    if value not in LANGUAGES:
        raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
    return value


def _environment(value: str) -> str:
    if value not in ENVIRONMENTS:
        raise ValueError(f"must be one of {', '.join(ENVIRONMENTS)}")
    return value


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    parse: Callable[[str], Any]
    help: str


# The table in SETTINGS.md is generated from this tuple (``heldout settings``).
SETTINGS: tuple[Setting, ...] = (
    Setting("HELDOUT_ENV", "development", _environment,
            "`development`, `production` or `testing`. Production refuses the default secret key "
            "and any key shorter than 32 bytes, and turns on secure cookies and HSTS."),
    Setting("HELDOUT_SECRET_KEY", "", _text,
            "Signs sessions, CSRF tokens and invite links. Set a long random value in production "
            "(required there). Empty elsewhere (the default): a random key made on first use and "
            "kept in `<DATA_DIR>/secret_key` (mode 600), the same for every process of that "
            "data directory."),
    Setting("HELDOUT_DATA_DIR", "var", _text,
            "Directory for the default SQLite database and queue, submitted files (blobs/) "
            "and grading scratch (runs/)."),
    Setting("HELDOUT_DATABASE_URL", None, _text,
            "SQLAlchemy URL. Default `sqlite:///<DATA_DIR>/heldout.db` (WAL, busy timeout); "
            "`postgresql+psycopg://user:pw@host/db` to scale out."),
    Setting("HELDOUT_QUEUE_URL", None, _text,
            "Job queue. Default `sqlite:///<DATA_DIR>/queue.db` (one host); "
            "`redis://host:6379/0` or `postgresql://user:pw@host/db` for workers on several "
            "hosts; `memory://` in tests only."),
    Setting("HELDOUT_CHALLENGES_DIR", "challenges", _text,
            "Directory of challenge bundles (`heldout load-challenges` reads it)."),
    Setting("HELDOUT_MAX_UPLOAD_MB", 5, _positive_int,
            "Largest request a candidate may send (files or pasted code), in MiB."),
    Setting("HELDOUT_INVITE_TTL_DAYS", 14, _positive_int,
            "How long an invite link stays valid."),
    Setting("HELDOUT_BASE_URL", "", _text,
            "Public address of the web app; invite links start with it. Empty (the default): "
            "`heldout serve` and `heldout up` derive it from their `--host` and `--port` "
            "(`http://localhost:PORT` for 127.0.0.1 and 0.0.0.0), and a web app started "
            "otherwise takes each request's own address. The assessment page warns when it is "
            "reached at another address than its links'."),
    Setting("HELDOUT_ORG_NAME", "heldout", _text,
            "Company name shown to candidates."),
    Setting("HELDOUT_LANGUAGE", "en", _language,
            "Language of the candidate pages when the browser asks for none that heldout "
            "speaks (`en`, `fr`), and of the e-mails candidates receive. A candidate may "
            "choose another on the landing page."),
    Setting("HELDOUT_SMTP_HOST", "", _text,
            "SMTP server invite e-mails go through. Empty (the default): no e-mail is sent "
            "and recruiters download the new links once as a CSV instead."),
    Setting("HELDOUT_SMTP_PORT", 587, _positive_int,
            "Port of the SMTP server."),
    Setting("HELDOUT_SMTP_USER", "", _text,
            "SMTP login; empty sends without logging in."),
    Setting("HELDOUT_SMTP_PASSWORD", "", _text,
            "Password of the SMTP login."),
    Setting("HELDOUT_SMTP_FROM", "", _text,
            "Sender of invite e-mails, e.g. `Hiring <hiring@example.com>`; required with "
            "`HELDOUT_SMTP_HOST`."),
    Setting("HELDOUT_SMTP_STARTTLS", True, _bool,
            "Upgrade the SMTP connection with STARTTLS before logging in (turn off only for "
            "a relay on the same host)."),
    Setting("HELDOUT_WORKERS", 2, _positive_int,
            "Grading jobs one `heldout worker` runs at once."),
    # The sandbox's own settings (heldout.sandbox.settings), which commands that run
    # without the platform read from the environment themselves.
    *(Setting(option.name, option.default, option.parse, option.help)
      for option in SANDBOX_OPTIONS),
    Setting("HELDOUT_WORKER_ID", "", _text,
            "Name of this grading worker: it labels the worker's sandbox containers and "
            "leases, so a restarted worker removes what its previous life left. Default: a "
            "name kept in `<DATA_DIR>/worker-id`, made on first start. Give each concurrently "
            "running worker its own."),
    Setting("HELDOUT_INTERNAL_TOKEN", "", _text,
            "Shared secret between the web app and workers on other hosts: workers send it "
            "(`Authorization: Bearer …`) to fetch submitted files and bundle versions from "
            "`/internal/v1/` and to send back what they store. Empty (the default): those "
            "endpoints answer 404. Keep it secret; at least 32 bytes "
            "(`python -c 'import secrets; print(secrets.token_hex(32))'`). Wrong tokens count "
            "against `HELDOUT_LOGIN_LIMIT_ADDRESS` like failed sign-ins."),
    Setting("HELDOUT_FILES_URL", "", _text,
            "On a worker that shares no disk with the web app: the web app's address as the "
            "worker reaches it (e.g. `http://10.0.0.5:8000`). The worker fetches the files and "
            "bundle versions it lacks from there, checked by hash, and sends what it stores "
            "back; needs `HELDOUT_INTERNAL_TOKEN`. Empty (the default): local disk only (one "
            "host). Leave it empty on the web app."),
    Setting("HELDOUT_GRADING_TRIES", 3, _positive_int,
            "Attempts at grading a submission before a platform error is final."),
    Setting("HELDOUT_LEASE_MARGIN_SECONDS", 300, _positive_int,
            "Added to a challenge's wall-time limit: a job running longer is stale and re-run."),
    Setting("HELDOUT_DUTIES_SECONDS", 10, _positive_int,
            "How often each worker submits the saved drafts of attempts whose time is up and "
            "re-queues lost or stale jobs (the watchdog). The queue's once-a-minute periodic "
            "tasks do the same as a safety net."),
    Setting("HELDOUT_SECURE_COOKIES", None, _bool,
            "Send cookies over HTTPS only and answer with HSTS. Default: on when "
            "`HELDOUT_ENV=production`, off otherwise; set `false` only for a plain-HTTP demo."),
    Setting("HELDOUT_RATELIMIT_STORAGE", "memory://", _text,
            "Where sign-in and submit throttling counts are kept: `memory://` for one web "
            "process (the default server), `redis://host:6379/1` when several share them."),
    Setting("HELDOUT_TRUSTED_PROXIES", 0, _non_negative_int,
            "Reverse proxies in front of the web app whose `X-Forwarded-For` and "
            "`X-Forwarded-Proto` are believed (e.g. 1 behind one TLS proxy). With 0 those "
            "headers are ignored, so a client can't pick its own address to dodge throttling."),
    Setting("HELDOUT_LOGIN_LIMIT_ACCOUNT", "5 per minute; 20 per hour", rate_limit,
            "Failed sign-ins allowed per account and client address before that account "
            "answers 429 from that address (Flask-Limiter syntax, `;` between limits); "
            "counted per address so that failures elsewhere never lock the owner out."),
    Setting("HELDOUT_LOGIN_LIMIT_ADDRESS", "20 per minute; 100 per hour", rate_limit,
            "Failed sign-ins allowed per client address, whatever the account (wrong internal "
            "tokens included)."),
    Setting("HELDOUT_SUBMIT_LIMIT", "6 per minute; 60 per hour", rate_limit,
            "Submissions a candidate may make per attempt in a period."),
    Setting("HELDOUT_PUBLIC_RUN_LIMIT", "3 per minute; 30 per hour", rate_limit,
            "Public check runs (\"Run public checks\" in the workspace) and run-console runs, "
            "together, a candidate may start per attempt in a period; one at a time, queued "
            "behind submissions."),
    Setting("HELDOUT_PRACTICE_CHALLENGE", "warm-up", _text,
            "The bundle (a slug in the challenges directory, marked `practice = true`) the "
            "public practice page `/practice` offers anyone, before an assessment, to try the "
            "workspace on. Empty: no practice page (it answers 404 and the landing page "
            "does not link it)."),
    Setting("HELDOUT_PRACTICE_LIMIT", "4 per minute; 30 per hour", rate_limit,
            "Runs (public checks and Submit together) the practice page takes per client "
            "address in a period; one at a time per browser, queued behind every real "
            "submission and public run."),
    Setting("HELDOUT_PROBLEM_REPORT_LIMIT", "3 per 10 minutes; 10 per day", rate_limit,
            "Problem reports (\"Report a problem with this task\" in the workspace) a "
            "candidate may send per attempt in a period."),
    Setting("HELDOUT_AUTOSAVE_LIMIT", "40 per minute; 1200 per hour", rate_limit,
            "Draft autosaves the workspace may make per attempt in a period (it saves every "
            "few seconds while the candidate types, and when the page is left)."),
    Setting("HELDOUT_EDITOR_EVENTS_LIMIT", "20 per minute; 600 per hour", rate_limit,
            "Batches of editor events (pastes, focus lost and regained, idle gaps) the "
            "workspace may send per attempt in a period; it sends one every few seconds at "
            "most while something happens, never one per keystroke."),
    Setting("HELDOUT_IDLE_GAP_MINUTES", 5, _positive_int,
            "Minutes without typing in the workspace's editor (the page open) after which "
            "the gap is recorded as an editor event and shown on the report's timeline."),
    Setting("HELDOUT_PASTE_SIGNAL_CHARS", 500, _positive_int,
            "A paste of at least this many characters into the editor is listed in the "
            "report's integrity panel (review suggested); every paste is on the timeline."),
    Setting("HELDOUT_API_RATE_LIMIT", "120 per minute; 3000 per hour", rate_limit,
            "Calls one API token may make to `/api/v1/` in a period (calls with no token: "
            "per client address); past it the API answers 429 with `Retry-After`."),
    Setting("HELDOUT_MAX_PENDING_SUBMISSIONS", 3, _positive_int,
            "Submissions of one attempt that may wait for or be in grading at once; the next "
            "is refused (the typed code is kept) until one is graded."),
    Setting("HELDOUT_SELF_ID_CATEGORIES", SELF_ID_DEFAULT, _self_id,
            "Voluntary self-identification offered on the candidate's landing page, for the "
            "admins' adverse-impact report: `Category: answer, answer; Category: …`. Every "
            "question is optional (\"Prefer not to say\" is preselected). The answers are "
            "stored apart from the attempt and shown only as counts per group. Default: "
            "the sex and race or ethnicity categories of US EEO-1 reporting; empty: no "
            "questions asked."),
    Setting("HELDOUT_AI_URL", "", _text,
            "The OpenAI-compatible chat API the workspace's AI assistant talks to, e.g. "
            "`http://127.0.0.1:8080/v1` for a model server on this host (`/chat/completions` "
            "is added unless the address ends with it). The web app calls it, never the "
            "browser. Empty (the default): no assistant, the \"AI assistant in the "
            "workspace\" policy can't be chosen, and nothing is sent anywhere."),
    Setting("HELDOUT_AI_MODEL", "", _text,
            "The model name sent with each request to `HELDOUT_AI_URL` (what the server "
            "calls it, e.g. `qwen2.5-coder-7b-instruct`)."),
    Setting("HELDOUT_AI_KEY", "", _text,
            "Bearer key sent to `HELDOUT_AI_URL` (`Authorization: Bearer …`); empty sends "
            "none. Stays on the server: never in a page or a browser request."),
    Setting("HELDOUT_AI_TOKEN_BUDGET", 20000, _positive_int,
            "Tokens (question and answer, as the model server counts them) one attempt may "
            "use with the assistant; shown to the candidate, who is refused further "
            "questions once it is used up."),
    Setting("HELDOUT_AI_TIMEOUT_SECONDS", 30, _positive_int,
            "Longest the web app waits for one answer from `HELDOUT_AI_URL` before telling "
            "the candidate it did not come (the question stays in the transcript)."),
    Setting("HELDOUT_AI_LIMIT", "6 per minute; 100 per hour", rate_limit,
            "Questions a candidate may ask the assistant per attempt in a period (one at a "
            "time)."),
    Setting("HELDOUT_RETENTION_DRAFTS_DAYS", 0, _days,
            "Days after an attempt ends before its autosaved drafts and their playback "
            "snapshots are deleted (0: kept). Submissions are not touched."),
    Setting("HELDOUT_RETENTION_CODE_DAYS", 0, _days,
            "Days after an attempt ends before the files of its submissions and public runs "
            "are deleted (0: kept); scores, checks and reviews stay, the report then lists "
            "no files."),
    Setting("HELDOUT_RETENTION_EDITOR_EVENTS_DAYS", 0, _days,
            "Days after an attempt ends before its editor events (pastes, focus, idle gaps) "
            "are deleted (0: kept)."),
    Setting("HELDOUT_RETENTION_AI_DAYS", 0, _days,
            "Days after an attempt ends before its conversation with the AI assistant is "
            "deleted (0: kept). The disclosure and the policy stay."),
    Setting("HELDOUT_RETENTION_CANDIDATES_DAYS", 0, _days,
            "Days after an attempt ends (or an invite that was never used expires) before "
            "everything about that invite is erased, as an admin's erasure would (0: kept)."),
    Setting("HELDOUT_OIDC_ISSUER", "", _text,
            "Single sign-on for staff: the OpenID Connect provider's issuer URL (its "
            "`/.well-known/openid-configuration` is read on the first sign-in). Empty (the "
            "default): no single sign-on. Needs `HELDOUT_OIDC_CLIENT_ID` and "
            "`HELDOUT_OIDC_CLIENT_SECRET`; register `<BASE_URL>/login/sso/callback` as the "
            "client's redirect URI at the provider."),
    Setting("HELDOUT_OIDC_CLIENT_ID", "", _text,
            "The client id heldout was given by the OpenID Connect provider."),
    Setting("HELDOUT_OIDC_CLIENT_SECRET", "", _text,
            "The client secret that goes with `HELDOUT_OIDC_CLIENT_ID`."),
    Setting("HELDOUT_OIDC_PROVIDER_NAME", "single sign-on", _text,
            "Shown on the sign-in page's button: \"Sign in with <name>\"."),
    Setting("HELDOUT_OIDC_SCOPES", "openid email profile", _text,
            "Scopes asked for at sign-in (`openid` is always asked); add the scope that "
            "releases the role and team claims if the provider needs one."),
    Setting("HELDOUT_OIDC_ROLE_CLAIM", "", _text,
            "Claim of the ID token (or user info) that gives a staff member's role: a role "
            "name (`admin`, `recruiter`, `interviewer`) or a list of values among which the "
            "strongest role is taken, set again at every sign-in. Empty, or no role in the "
            "claim: a new account waits for an admin to give it a role (Admin → Users), and "
            "an existing account keeps the role an admin gave it."),
    Setting("HELDOUT_OIDC_TEAMS_CLAIM", "", _text,
            "Claim listing the hiring teams (their short names) a staff member belongs to, "
            "set again at every sign-in; names of teams heldout does not have are ignored. "
            "Empty, or the claim absent: teams are assigned by an admin."),
    Setting("HELDOUT_PASSWORD_LOGIN", True, _bool,
            "Staff may sign in with an e-mail and password. Turn off (`false`) to allow "
            "single sign-on only (needs `HELDOUT_OIDC_ISSUER`); `heldout` commands and API "
            "tokens work as before."),
)
SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}


def settings_table() -> str:
    """The settings as a Markdown table (for README and SETTINGS.md)."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for setting in SETTINGS:
        default = "(see meaning)" if setting.default in (None, "") else f"`{setting.default}`"
        lines.append(f"| `{setting.name}` | {default} | {setting.help} |")
    return "\n".join(lines) + "\n"
