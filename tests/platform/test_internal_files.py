"""Workers on other hosts: files and bundle versions over the web app's internal endpoint.

The web app and the worker get separate data directories (they share the database only);
the worker's stores talk to a real HTTP server in a thread. A tiny fake server stands in
for a web app that sends wrong bytes or hostile tars, which the worker must refuse.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import nbformat
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from urllib3.util import Retry
from werkzeug.security import generate_password_hash
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from heldout.graders.bundle import bundle_version
from heldout.platform import worker
from heldout.platform.app import create_app
from heldout.platform.blobs import BlobMissing, BlobStore, BundleStore, BundleVersionMissing
from heldout.platform.config import load_settings
from heldout.platform.errors import ConfigError
from heldout.platform.extensions import db
from heldout.platform.models import (
    Attempt,
    Challenge,
    EvaluationRecord,
    Submission,
    User,
    utcnow,
)
from heldout.platform.remote_files import (
    EXTENSION_KEY,
    FilesClient,
    FilesUnavailable,
    RemoteBlobStore,
    RemoteBundleStore,
    UnsafeArchive,
    extract_bundle_tar,
    write_bundle_tar,
)
from heldout.platform.services import assessments, catalogue, grading, invites
from heldout.platform.tasks import grading_settings
from tests.platform.conftest import PASSWORD, NewInvite, Users, make_app, start_attempt

REPO = Path(__file__).resolve().parents[2]
TOKEN = "internal-token-for-tests-0123456789abcdef"
NOTEBOOK = "churn-eda-notebook"
QUICK = Retry(total=0, redirect=0, raise_on_status=False)


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def app(tmp_path: Path, challenges_dir: Path) -> Iterator[Flask]:
    """The web app (data directory ``web/var``) with the internal endpoint switched on."""
    app = make_app(tmp_path / "web", challenges_dir, HELDOUT_INTERNAL_TOKEN=TOKEN)
    yield app
    with app.app_context():
        db.engine.dispose()


def _slug_version(app: Flask) -> tuple[str, str]:
    with app.app_context():
        challenge = db.session.scalars(select(Challenge)).first()
        assert challenge is not None
        return challenge.slug, challenge.version


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[Callable[[Flask], str]]:
    """Serve an app over real HTTP on 127.0.0.1 in a thread; its base URL."""
    servers: list[BaseWSGIServer] = []

    def start(app: Flask) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


class FakeWebApp:
    """An HTTP server answering fixed bytes per path: a web app gone wrong."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, bytes]] = {}
        self.requests: list[str] = []
        answers, requests = self.answers, self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                requests.append(self.path)
                status, body = answers.get(self.path, (404, b'{"error": "NotFound"}'))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake() -> Iterator[FakeWebApp]:
    server = FakeWebApp()
    yield server
    server.close()


def _tar(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def _special(name: str, kind: bytes, target: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


def _leftovers(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) if root.exists() \
        else []


# --- authentication ------------------------------------------------------------------------

def test_ping_wants_the_token_and_only_the_token(client: FlaskClient) -> None:
    missing = client.get("/internal/v1/ping")
    assert missing.status_code == 401 and missing.is_json
    assert missing.json is not None and missing.json["type"] == "/api/problems/unauthorized"
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/internal/v1/ping", headers=bearer("wrong")).status_code == 401
    assert client.get("/internal/v1/ping",
                      headers={"Authorization": TOKEN}).status_code == 401  # no scheme
    assert client.get("/internal/v1/ping", headers=bearer(TOKEN + "x")).status_code == 401
    right = client.get("/internal/v1/ping", headers=bearer())
    assert right.status_code == 200 and right.json == {"ok": True}
    assert right.headers["Cache-Control"] == "no-store"


def test_every_internal_route_is_refused_without_the_token(client: FlaskClient,
                                                           app: Flask) -> None:
    slug, version = _slug_version(app)
    digest = hashlib.sha256(b"x").hexdigest()
    for method, url in (("GET", f"/internal/v1/blobs/{digest}"),
                        ("PUT", f"/internal/v1/blobs/{digest}"),
                        ("GET", f"/internal/v1/bundles/{version[7:]}/{slug}.tar")):
        response = client.open(url, method=method, data=b"x", headers=bearer("nope"))
        assert response.status_code == 401, (method, url)
    assert not BlobStore(Path(app.config["HELDOUT_DATA_DIR"]) / "blobs").path(digest).exists()


def test_endpoints_do_not_exist_without_a_configured_token(tmp_path: Path,
                                                           challenges_dir: Path) -> None:
    app = make_app(tmp_path, challenges_dir)  # HELDOUT_INTERNAL_TOKEN unset
    client = app.test_client()
    for token in ("", TOKEN):
        response = client.get("/internal/v1/ping", headers=bearer(token))
        assert response.status_code == 404 and response.is_json
    digest = hashlib.sha256(b"x").hexdigest()
    assert client.put(f"/internal/v1/blobs/{digest}", data=b"x").status_code == 404
    with app.app_context():
        db.engine.dispose()


def test_an_admins_browser_session_is_not_the_token(client: FlaskClient, users: Users,
                                                    app: Flask) -> None:
    signed_in = client.post("/login", data={"email": "admin@example.com", "password": PASSWORD})
    assert signed_in.status_code == 302
    assert client.get("/admin/users").status_code == 200  # the session works for pages
    slug, version = _slug_version(app)
    for url in ("/internal/v1/ping", f"/internal/v1/bundles/{version[7:]}/{slug}.tar"):
        with client.get(url) as response:
            assert response.status_code == 401, url  # not a redirect to sign in, not the file
            assert "Location" not in response.headers


def test_wrong_tokens_from_one_address_are_throttled(tmp_path: Path,
                                                      challenges_dir: Path) -> None:
    """The endpoint shares the public port and counted nothing: a token could be guessed
    at full speed."""
    app = make_app(tmp_path, challenges_dir, HELDOUT_INTERNAL_TOKEN=TOKEN,
                   HELDOUT_LOGIN_LIMIT_ADDRESS="3 per minute")
    guesser = app.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    for n in range(3):
        assert guesser.get("/internal/v1/ping", headers=bearer(f"guess-{n}")).status_code == 401
    refused = guesser.get("/internal/v1/ping", headers=bearer("guess-3"))
    assert refused.status_code == 429 and refused.is_json
    assert refused.json is not None
    assert refused.json["type"] == "/api/problems/too-many-requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    # Even the right token waits from there; a worker elsewhere is not slowed, however busy.
    assert guesser.get("/internal/v1/ping", headers=bearer()).status_code == 429
    worker = app.test_client()
    worker.environ_base["REMOTE_ADDR"] = "10.0.0.7"
    for _ in range(5):
        assert worker.get("/internal/v1/ping", headers=bearer()).status_code == 200
    with app.app_context():
        db.engine.dispose()


# --- blobs ----------------------------------------------------------------------------------

def test_blob_put_then_get_round_trip(client: FlaskClient, app: Flask) -> None:
    data = b"artefact bytes \x00\xff" * 100
    digest = hashlib.sha256(data).hexdigest()
    created = client.put(f"/internal/v1/blobs/{digest}", data=data, headers=bearer())
    assert created.status_code == 201, created.text
    assert created.json is not None and created.json["created"] is True
    again = client.put(f"/internal/v1/blobs/{digest}", data=data, headers=bearer())
    assert again.status_code == 200 and again.json is not None and not again.json["created"]
    store = BlobStore(Path(app.config["HELDOUT_DATA_DIR"]) / "blobs")
    assert store.get(digest) == data

    got = client.get(f"/internal/v1/blobs/{digest}", headers=bearer())
    assert got.status_code == 200 and got.data == data
    assert got.mimetype == "application/octet-stream"
    assert got.headers["X-Content-SHA256"] == digest

    absent = hashlib.sha256(b"never stored").hexdigest()
    missing = client.get(f"/internal/v1/blobs/{absent}", headers=bearer())
    assert missing.status_code == 404 and missing.is_json
    assert client.get("/internal/v1/blobs/not-a-digest", headers=bearer()).status_code == 404


def test_a_put_whose_body_does_not_match_its_digest_stores_nothing(client: FlaskClient,
                                                                   app: Flask) -> None:
    claimed = hashlib.sha256(b"what the worker meant").hexdigest()
    response = client.put(f"/internal/v1/blobs/{claimed}", data=b"something else",
                          headers=bearer())
    assert response.status_code == 400 and response.json is not None
    assert response.json["type"] == "/api/problems/hash-mismatch"
    root = Path(app.config["HELDOUT_DATA_DIR"]) / "blobs"
    assert not BlobStore(root).path(claimed).exists()
    assert not BlobStore(root).path(hashlib.sha256(b"something else").hexdigest()).exists()


def test_a_damaged_blob_is_not_served(client: FlaskClient, app: Flask) -> None:
    store = BlobStore(Path(app.config["HELDOUT_DATA_DIR"]) / "blobs")
    digest = store.put(b"original")
    path = store.path(digest)
    path.chmod(0o644)
    path.write_bytes(b"tampered")
    assert client.get(f"/internal/v1/blobs/{digest}", headers=bearer()).status_code == 404


def test_a_put_over_the_cap_is_413(client: FlaskClient) -> None:
    from heldout.platform.remote_files import MAX_BLOB_BYTES

    data = b"\0" * (MAX_BLOB_BYTES + 1)
    response = client.put(f"/internal/v1/blobs/{hashlib.sha256(data).hexdigest()}",
                          data=data, headers=bearer())
    assert response.status_code == 413 and response.is_json


def test_a_put_to_a_full_disk_is_507_and_leaves_nothing(client: FlaskClient, app: Flask) -> None:
    """The web app's blob directory on a real 1 MiB tmpfs, filled but for a little room."""
    if os.geteuid() != 0:
        pytest.fail("mounting the small tmpfs needs root (scripts/test runs as root in CI)")
    blobs = Path(app.config["HELDOUT_DATA_DIR"]) / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", str(blobs)],
                   check=True, capture_output=True, timeout=30)
    try:
        stats = os.statvfs(blobs)
        with (blobs / "filler").open("wb") as handle:
            handle.write(b"\0" * max(0, stats.f_bavail * stats.f_frsize - 32 * 1024))
        data = os.urandom(256 * 1024)
        digest = hashlib.sha256(data).hexdigest()
        response = client.put(f"/internal/v1/blobs/{digest}", data=data, headers=bearer())
        assert response.status_code == 507 and response.json is not None
        assert response.json["type"] == "/api/problems/storage-full"
        assert sorted(p.name for p in blobs.rglob("*") if p.is_file()) == ["filler"]
    finally:
        subprocess.run(["umount", "--lazy", str(blobs)], check=True, capture_output=True,
                       timeout=30)


# --- bundles --------------------------------------------------------------------------------

def test_the_bundle_tar_round_trips_to_the_same_version(client: FlaskClient, app: Flask,
                                                        tmp_path: Path) -> None:
    slug, version = _slug_version(app)
    url = f"/internal/v1/bundles/{version.removeprefix('sha256:')}/{slug}.tar"
    with client.get(url, headers=bearer()) as first, client.get(url, headers=bearer()) as again:
        assert first.status_code == 200 and first.mimetype == "application/x-tar"
        assert first.headers["X-Bundle-Version"] == version
        assert int(first.headers["Content-Length"]) == len(first.data)
        assert again.data == first.data  # deterministic
    with tarfile.open(fileobj=io.BytesIO(first.data)) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names) and "challenge.toml" in names
    assert all(not n.startswith(("/", slug + "/")) and ".." not in n for n in names)
    assert all(m.isreg() or m.isdir() for m in members)
    assert any(n.startswith("hidden/") for n in names)  # graders need it; token holders only
    archive = tmp_path / "bundle.tar"
    archive.write_bytes(first.data)
    extract_bundle_tar(archive, tmp_path / "copy")
    assert bundle_version(tmp_path / "copy") == version

    other = "0" * 64
    assert client.get(f"/internal/v1/bundles/{other}/{slug}.tar",
                      headers=bearer()).status_code == 404
    assert client.get(f"/internal/v1/bundles/{version[7:]}/no-such.tar",
                      headers=bearer()).status_code == 404
    assert client.get(f"/internal/v1/bundles/xyz/{slug}.tar", headers=bearer()).status_code == 404


@pytest.mark.parametrize(("name", "members"), [
    ("traversal", [_file("../escaped.txt", b"x")]),
    ("nested traversal", [_file("public/../../escaped.txt", b"x")]),
    ("absolute", [_file("/tmp/escaped.txt", b"x")]),
    ("dot segment", [_file("./challenge.toml", b"x")]),
    ("symlink", [_special("data", tarfile.SYMTYPE, "/etc")]),
    ("symlink then write through it", [_special("data", tarfile.SYMTYPE, "/tmp"),
                                       _file("data/escaped.txt", b"x")]),
    ("hard link", [_file("a.txt", b"x"), _special("b.txt", tarfile.LNKTYPE, "a.txt")]),
    ("device", [_special("dev", tarfile.CHRTYPE)]),
    ("fifo", [_special("pipe", tarfile.FIFOTYPE)]),
    ("twice", [_file("a.txt", b"x"), _file("a.txt", b"y")]),
])
def test_a_hostile_tar_is_refused(name: str, members: list[tuple[tarfile.TarInfo, bytes | None]],
                                  tmp_path: Path) -> None:
    archive = tmp_path / "hostile.tar"
    archive.write_bytes(_tar(members))
    target = tmp_path / "stage" / "copy"
    target.parent.mkdir()
    with pytest.raises(UnsafeArchive):
        extract_bundle_tar(archive, target)
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "stage" /
                                                             "escaped.txt").exists()
    assert not any(p.is_symlink() for p in target.rglob("*"))


def test_tar_caps_on_size_and_members(tmp_path: Path) -> None:
    archive = tmp_path / "big.tar"
    archive.write_bytes(_tar([_file("a.bin", b"x" * 2000)]))
    with pytest.raises(UnsafeArchive, match="bytes"):
        extract_bundle_tar(archive, tmp_path / "one", max_bytes=1000)
    archive.write_bytes(_tar([_file(f"f{i}", b"") for i in range(5)]))
    with pytest.raises(UnsafeArchive, match="members"):
        extract_bundle_tar(archive, tmp_path / "two", max_members=4)


def test_write_bundle_tar_refuses_a_link_in_the_bundle(tmp_path: Path) -> None:
    bundle = tmp_path / "b"
    bundle.mkdir()
    (bundle / "challenge.toml").write_text("x")
    (bundle / "link").symlink_to("/etc/passwd")
    with pytest.raises(Exception, match="symbolic links"):
        write_bundle_tar(bundle, io.BytesIO())


# --- the worker's stores against a real server ---------------------------------------------

def test_remote_blob_store_fetches_caches_and_sends_back(app: Flask, serve: Callable[[Flask], str],
                                                         tmp_path: Path) -> None:
    url = serve(app)
    web = BlobStore(Path(app.config["HELDOUT_DATA_DIR"]) / "blobs")
    digest = web.put(b"submitted solution")
    client = FilesClient(url, TOKEN)
    cache = tmp_path / "worker" / "blobs"
    store = RemoteBlobStore(cache, client)
    assert not cache.exists()
    assert store.get(digest) == b"submitted solution"
    assert BlobStore(cache).get(digest) == b"submitted solution"  # now in the worker's cache

    written = store.put(b"an artefact the worker made")
    assert web.get(written) == b"an artefact the worker made"
    assert BlobStore(cache).get(written) == b"an artefact the worker made"
    with pytest.raises(BlobMissing, match="neither"):
        store.get(hashlib.sha256(b"nowhere").hexdigest())

    # A damaged copy in the cache is replaced from the web app, not served.
    cached = BlobStore(cache).path(digest)
    cached.chmod(0o644)
    cached.write_bytes(b"submitted soluti0n")
    assert store.get(digest) == b"submitted solution"
    client.close()


def test_remote_bundle_store_fetches_a_version_once(app: Flask, serve: Callable[[Flask], str],
                                                    tmp_path: Path) -> None:
    url = serve(app)
    slug, version = _slug_version(app)
    root = tmp_path / "worker" / "bundles"
    store = RemoteBundleStore(root, FilesClient(url, TOKEN))
    directory = store.materialise(slug, version)
    assert directory == root / version[7:] / slug
    assert bundle_version(directory) == version
    assert sorted(p.name for p in root.iterdir()) == [version[7:]]  # no staging left
    # A second time comes from the worker's own disk, whatever the web app does.
    store.client = FilesClient("http://127.0.0.1:9", TOKEN, retries=QUICK)
    assert store.materialise(slug, version) == directory
    with pytest.raises(BundleVersionMissing):
        store.materialise(slug, "sha256:" + "0" * 64)
    with pytest.raises(BundleVersionMissing):
        store.materialise("../escape", version)


def test_wrong_bytes_from_the_web_app_are_refused_and_not_cached(fake: FakeWebApp,
                                                                 tmp_path: Path) -> None:
    digest = hashlib.sha256(b"the real file").hexdigest()
    fake.answers[f"/internal/v1/blobs/{digest}"] = (200, b"a different file")
    cache = tmp_path / "blobs"
    store = RemoteBlobStore(cache, FilesClient(fake.url, TOKEN, retries=QUICK))
    with pytest.raises(BlobMissing, match="does not match"):
        store.get(digest)
    assert fake.requests == [f"/internal/v1/blobs/{digest}"]
    assert not BlobStore(cache).path(digest).exists()
    assert not [path for path in cache.rglob("*") if path.is_file()]


def test_a_bundle_of_another_version_is_refused_and_not_kept(app: Flask, fake: FakeWebApp,
                                                             tmp_path: Path) -> None:
    slug, version = _slug_version(app)
    source = BundleStore(Path(app.config["HELDOUT_DATA_DIR"]) / "bundles").materialise(
        slug, version)
    altered = tmp_path / "altered" / slug
    shutil.copytree(source, altered)
    (altered / "statement.md").chmod(0o644)
    (altered / "statement.md").write_text("a different statement\n")
    buffer = io.BytesIO()
    write_bundle_tar(altered, buffer)
    fake.answers[f"/internal/v1/bundles/{version[7:]}/{slug}.tar"] = (200, buffer.getvalue())
    root = tmp_path / "worker" / "bundles"
    store = RemoteBundleStore(root, FilesClient(fake.url, TOKEN, retries=QUICK))
    with pytest.raises(BundleVersionMissing, match="hashes to"):
        store.materialise(slug, version)
    assert _leftovers(root) == []


def test_a_hostile_tar_from_the_web_app_is_refused_and_leaves_nothing(app: Flask,
                                                                      fake: FakeWebApp,
                                                                      tmp_path: Path) -> None:
    slug, version = _slug_version(app)
    fake.answers[f"/internal/v1/bundles/{version[7:]}/{slug}.tar"] = (
        200, _tar([_file("challenge.toml", b"x"), _special("public", tarfile.SYMTYPE, "/"),
                   _file("public/escaped.txt", b"x")]))
    root = tmp_path / "worker" / "bundles"
    store = RemoteBundleStore(root, FilesClient(fake.url, TOKEN, retries=QUICK))
    with pytest.raises(BundleVersionMissing, match="not a regular file"):
        store.materialise(slug, version)
    assert _leftovers(root) == []
    assert not Path("/escaped.txt").exists()


def test_a_put_that_cannot_reach_the_web_app_raises(tmp_path: Path) -> None:
    store = RemoteBlobStore(tmp_path / "blobs", FilesClient("http://127.0.0.1:9", TOKEN,
                                                            retries=QUICK))
    with pytest.raises(FilesUnavailable):
        store.put(b"an artefact")
    assert not issubclass(FilesUnavailable, OSError)  # never swallowed as "not kept"
    with pytest.raises(BlobMissing):
        store.get(hashlib.sha256(b"anything").hexdigest())


# --- settings and wiring ---------------------------------------------------------------------

def test_settings_for_the_endpoint() -> None:
    with pytest.raises(ConfigError, match="HELDOUT_INTERNAL_TOKEN"):
        load_settings({}, {"HELDOUT_FILES_URL": "http://web:8000"})
    with pytest.raises(ConfigError, match="http://"):
        load_settings({}, {"HELDOUT_FILES_URL": "web:8000", "HELDOUT_INTERNAL_TOKEN": TOKEN})
    production = {"HELDOUT_ENV": "production", "HELDOUT_SECRET_KEY": "k" * 40}
    with pytest.raises(ConfigError, match="at least 32"):
        load_settings({}, {**production, "HELDOUT_INTERNAL_TOKEN": "short"})
    values = load_settings({"HELDOUT_FILES_URL": "http://web:8000/",
                            "HELDOUT_INTERNAL_TOKEN": TOKEN}, production)
    assert values["HELDOUT_FILES_URL"] == "http://web:8000"
    assert load_settings({}, production)["HELDOUT_INTERNAL_TOKEN"] == ""


@pytest.mark.parametrize("env", ["development", "testing"])
def test_a_short_internal_token_is_refused_outside_production_too(env: str) -> None:
    """Outside production a 1-byte token was accepted, on the public port."""
    settings = {"HELDOUT_ENV": env, "HELDOUT_QUEUE_URL": "memory://" if env == "testing"
                else "sqlite:///q.db"}
    for short in ("x", "s" * 31):
        with pytest.raises(ConfigError, match="at least 32 bytes"):
            load_settings({}, {**settings, "HELDOUT_INTERNAL_TOKEN": short})
    assert load_settings({}, {**settings, "HELDOUT_INTERNAL_TOKEN": TOKEN})


def _worker_app(web: Flask, tmp_path: Path, url: str, token: str = TOKEN) -> Flask:
    """A worker on another host: its own data directory and an empty challenges directory,
    the web app's database, files from ``url``."""
    (tmp_path / "worker-challenges").mkdir(exist_ok=True)
    return create_app({
        "HELDOUT_ENV": "testing", "HELDOUT_SECRET_KEY": web.config["SECRET_KEY"],
        "HELDOUT_DATA_DIR": str(tmp_path / "worker" / "var"),
        "HELDOUT_CHALLENGES_DIR": str(tmp_path / "worker-challenges"),
        "HELDOUT_DATABASE_URL": web.config["HELDOUT_DATABASE_URL"],
        "HELDOUT_QUEUE_URL": "memory://", "HELDOUT_FILES_URL": url,
        "HELDOUT_INTERNAL_TOKEN": token})


def test_a_worker_uses_the_remote_stores_and_the_web_app_never(
        app: Flask, serve: Callable[[Flask], str], tmp_path: Path) -> None:
    with app.app_context():
        assert app.extensions[EXTENSION_KEY] is None
        assert type(grading_settings().blobs) is BlobStore
        assert type(catalogue.get_bundles().store) is BundleStore
    url = serve(app)
    worker_app = _worker_app(app, tmp_path, url)
    with worker_app.app_context():
        settings = grading_settings()
        assert isinstance(settings.blobs, RemoteBlobStore)
        assert settings.blobs.root == tmp_path / "worker" / "var" / "blobs"
        assert isinstance(catalogue.get_bundles().store, RemoteBundleStore)
        # The worker has no challenges directory of its own: the version comes over HTTP.
        slug, version = _slug_version(app)
        bundle = catalogue.get_bundles().at_version(slug, version)
        assert bundle.root.is_relative_to(tmp_path / "worker")
        db.engine.dispose()


def test_the_worker_checks_the_endpoint_at_start_up(app: Flask, serve: Callable[[Flask], str],
                                                    tmp_path: Path) -> None:
    url = serve(app)
    worker.check_files_endpoint(_worker_app(app, tmp_path, url))  # answers: no error
    wrong = _worker_app(app, tmp_path, url, token="x" * 40)
    with pytest.raises(SystemExit, match="refused HELDOUT_INTERNAL_TOKEN"):
        worker.run(wrong)
    nowhere = _worker_app(app, tmp_path, "http://127.0.0.1:9")
    nowhere.extensions[EXTENSION_KEY] = FilesClient("http://127.0.0.1:9", TOKEN, retries=QUICK)
    with pytest.raises(ConfigError, match="not usable"):
        worker.check_files_endpoint(nowhere)
    from heldout.platform.doctor import files_finding

    assert files_finding(app) is None  # the web app: nothing to check
    good = files_finding(_worker_app(app, tmp_path, url))
    assert good is not None and good.ok
    bad = files_finding(wrong)
    assert bad is not None and not bad.ok and "refused" in bad.detail
    for made in (wrong, nowhere):
        with made.app_context():
            db.engine.dispose()


# --- end to end: submitted on the web app, graded by a worker on "another host" -----------

@pytest.fixture
def notebook_challenges(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("notebook-challenges")
    shutil.copytree(REPO / "challenges" / NOTEBOOK, root / NOTEBOOK)
    return root


def _graded(app: Flask, submission_id: int) -> EvaluationRecord:
    with app.app_context():
        record = db.session.scalars(select(EvaluationRecord).where(
            EvaluationRecord.submission_id == submission_id)).one()
        db.session.expunge(record)
        return record


@pytest.mark.docker
def test_a_worker_with_its_own_disk_grades_a_web_submission(
        tmp_path: Path, notebook_challenges: Path, serve: Callable[[Flask], str],
        sandbox_image: str) -> None:
    web = make_app(tmp_path / "web", notebook_challenges, HELDOUT_INTERNAL_TOKEN=TOKEN)
    url = serve(web)
    with web.app_context():
        staff = User(email="interviewer@example.com", name="I", role="interviewer",
                     password_hash=generate_password_hash(PASSWORD, "pbkdf2:sha256:1000"))
        db.session.add(staff)
        db.session.commit()
        assessment = assessments.create_assessment(
            name="Remote", challenge_slugs=[NOTEBOOK], time_limit_minutes=60, instructions="",
            expires_at=None, show_scores=True, created_by_id=staff.id)
        made = invites.create_invite(
            assessment_id=assessment.id, candidate_name="Cara", candidate_email="c@ex.org",
            created_by_id=staff.id, secret=web.config["SECRET_KEY"], ttl_days=14, now=utcnow())
        invite = NewInvite(made.invite.id, made.token)
    candidate = web.test_client()
    attempt = start_attempt(candidate, invite)
    reference = (REPO / "challenges" / NOTEBOOK / "solutions" / "reference" /
                 "analysis.ipynb").read_bytes()
    nbformat.reads(reference.decode(), as_version=4)  # a valid notebook, as submitted

    def submit() -> int:
        response = candidate.post(f"/a/{attempt}/c/{NOTEBOOK}/submit",
                                  data={"files": (io.BytesIO(reference), "analysis.ipynb")},
                                  content_type="multipart/form-data")
        assert response.status_code in (200, 302), response.text
        with web.app_context():
            latest = db.session.scalars(select(Submission.id).order_by(Submission.id.desc())
                                        ).first()
            assert latest is not None
            return latest

    remote_id = submit()
    worker_app = _worker_app(web, tmp_path, url)
    worker_dir = tmp_path / "worker" / "var"
    with worker_app.app_context():
        settings = grading_settings()
        assert isinstance(settings.blobs, RemoteBlobStore)
        outcome = grading.grade_submission(remote_id, settings)
        assert outcome.status == "graded", outcome.detail
        db.engine.dispose()
    remote = _graded(web, remote_id)
    # What the worker needed came over HTTP into its own data directory.
    assert any((worker_dir / "bundles").iterdir())
    web_blobs = BlobStore(Path(web.config["HELDOUT_DATA_DIR"]) / "blobs")
    [entry] = [a for a in remote.artefacts if a["name"] == "executed.ipynb"]
    assert entry["sha256"], entry
    executed = web_blobs.get(entry["sha256"])  # sent back to the web app's disk
    assert BlobStore(worker_dir / "blobs").get(entry["sha256"]) == executed

    reader = web.test_client()
    reader.post("/login", data={"email": "interviewer@example.com", "password": PASSWORD})
    with web.app_context():
        attempt_id = db.session.scalars(select(Attempt.id).where(Attempt.public_id == attempt)
                                        ).one()
    page = reader.get(f"/attempts/{attempt_id}/report")
    assert page.status_code == 200
    # The executed notebook the worker made, read by the report from the web app's disk.
    assert 'class="nb-frame"' in page.text and "not kept" not in page.text

    local_id = submit()
    with web.app_context():
        outcome = grading.grade_submission(local_id, grading_settings())
        assert outcome.status == "graded", outcome.detail
    local = _graded(web, local_id)
    assert remote.score is not None and remote.score >= 95, remote.checks
    assert remote.score == local.score
    with web.app_context():
        db.engine.dispose()
