"""Attacks on the ``deployment`` kind through the real sandbox.

A candidate's service tries to reach the host, the Docker gateway, the probe and the
internet; hunts for the hidden requests' answers; never becomes healthy; answers slowly or
with bytes that aren't HTTP; forks a daemon away and ignores the signals that should end
it. Each ends graded with the reason named, nothing is reached, and nothing is left behind.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from heldout.graders import evaluate, load_bundle
from heldout.graders.bundle import Bundle
from heldout.graders.kinds.deployment.config import PROBE_REPORT
from heldout.graders.result import Check, Evaluation
from heldout.sandbox.engine import LABEL, LABEL_OWNER_PID

pytestmark = pytest.mark.docker

SERVICE = Path(__file__).resolve().parents[2] / "challenges" / "churn-service"
REFERENCE = SERVICE / "solutions" / "reference"


@pytest.fixture
def tokens() -> dict[str, str]:
    return {name: f"heldout-{name}-{secrets.token_hex(10)}" for name in ("canary", "control")}


def _bundle(tmp_path: Path, tokens: dict[str, str], **grading: str) -> Bundle:
    """churn-service with short budgets, a canary among its hidden files and in a hidden
    request's label, and a control token in its public data (a hunt must find the control)."""
    root = tmp_path / "challenges" / "churn-service"
    if not root.exists():
        shutil.copytree(SERVICE, root)
        (root / "hidden" / "canary.txt").write_text(tokens["canary"] + "\n")
        (root / "public" / "control.txt").write_text(tokens["control"] + "\n")
        lines = (root / "hidden" / "requests.jsonl").read_text().splitlines()
        first = json.loads(lines[0])
        first["label"] = f"customer {tokens['canary']}"
        lines[0] = json.dumps(first)
        (root / "hidden" / "requests.jsonl").write_text("\n".join(lines) + "\n")
    toml = (SERVICE / "challenge.toml").read_text()
    changes = {"startup_seconds": "8", "probe_seconds": "40", "request_timeout": "2"} | grading
    for key, value in changes.items():
        lines = toml.splitlines()
        if any(line.split(" = ")[0] == key for line in lines):
            lines = [f"{key} = {value}" if line.split(" = ")[0] == key else line for line in lines]
        else:
            lines.insert(lines.index("[grading]") + 1, f"{key} = {value}")
        toml = "\n".join(lines) + "\n"
    (root / "challenge.toml").write_text(toml)
    return load_bundle(root)


def _submission(tmp_path: Path, app: str, *, with_reference: bool = False,
                name: str = "submission") -> Path:
    """``app`` as app.py; with the reference's model and validation appended when asked."""
    target = tmp_path / name
    if with_reference:
        shutil.copytree(REFERENCE, target)
        app = app + "\n" + (REFERENCE / "app.py").read_text()
    else:
        target.mkdir()
    (target / "app.py").write_text(app)
    return target


def _checks(evaluation: Evaluation) -> dict[str, Check]:
    return {check.name: check for check in evaluation.checks}


def _served_well(evaluation: Evaluation) -> None:
    """The reference's service beside an attack: every check but latency passed in full
    (latency depends on how busy the machine is, not on the attack)."""
    for check in evaluation.checks:
        if check.name != "latency":
            assert check.passed and check.score == check.max_score, (check.name, check.detail)


def _no_leftovers(docker_client: Any, marker: str | None = None) -> None:
    mine = [f"{LABEL}=1", f"{LABEL_OWNER_PID}={os.getpid()}"]
    assert docker_client.containers.list(all=True, filters={"label": mine}) == []
    if marker is not None:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    cmdline = (entry / "cmdline").read_bytes()
                except OSError:
                    continue
                assert marker.encode() not in cmdline, f"process {entry.name} survived: {cmdline!r}"


REACH = """
import errno, os, socket, sys

def reach(host, port):
    try:
        socket.create_connection((host, port), timeout=1).close()
        return "CONNECTED"
    except OSError as exc:
        return errno.errorcode.get(exc.errno or 0, type(exc).__name__)

seen = []
for host in {hosts!r} + ["1.1.1.1", "8.8.8.8"]:
    for port in ({port}, 80, 443, 2375, 53):
        seen.append(f"{{host}}:{{port}}={{reach(host, port)}}")
try:
    socket.getaddrinfo("example.com", 443)
    seen.append("dns=RESOLVED")
except OSError as exc:
    seen.append(f"dns={{type(exc).__name__}}")
try:
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.connect("\\0{abstract}")
    seen.append("abstract=CONNECTED")
except OSError as exc:
    seen.append(f"abstract={{type(exc).__name__}}")
# Every port on loopback: the probe shares this namespace, so anything it listened on would show.
open_ports = []
for port in range(1, 65536):
    probe = socket.socket()
    probe.settimeout(0.2)
    # A connection to one's own ephemeral port is a self-connect, not a listener.
    if probe.connect_ex(("127.0.0.1", port)) == 0 and probe.getsockname() != probe.getpeername():
        open_ports.append(port)
    probe.close()
interfaces = sorted(name for _, name in socket.if_nameindex())
print("REACH " + " ".join(seen) + f" loopback_open={{open_ports}} interfaces={{interfaces}}",
      file=sys.stderr, flush=True)
"""


def test_a_service_that_reaches_out_finds_nothing_but_its_own_port(
        tmp_path: Path, tokens: dict[str, str], docker_client: Any, sandbox_image: str,
        host_listener: Any) -> None:
    bundle = _bundle(tmp_path, tokens, startup_seconds="60")
    hosts = [h for h in host_listener.addresses() if h != "127.0.0.1"]
    attack = REACH.format(hosts=hosts, port=host_listener.port, abstract=host_listener.abstract_name)
    evaluation = evaluate(bundle, _submission(tmp_path, attack, with_reference=True))
    assert evaluation.status == "graded", evaluation.error
    assert evaluation.run is not None
    lines = [line for line in evaluation.run.stderr_tail.splitlines() if line.startswith("REACH ")]
    assert lines, evaluation.run.stderr_tail[-2000:]
    for line in lines:  # one per gunicorn worker
        assert "CONNECTED" not in line and "RESOLVED" not in line, line
        assert f"{hosts[0]}:{host_listener.port}=" in line
        # Its own server's port is open (the scan works); nothing of the probe's is.
        assert "loopback_open=[8000]" in line, line
        assert "interfaces=['lo']" in line, line
    assert host_listener.contacts == []
    # Next to the attack, the service still works and is graded for it.
    _served_well(evaluation)
    _no_leftovers(docker_client)


HUNT = """
import json, os, sys
from pathlib import Path

# The tokens are written reversed here, so this very file holds neither.
TOKENS = (("control", {control!r}[::-1]), ("canary", {canary!r}[::-1]))
found = {{"control": [], "canary": [], "probe_job": []}}
for root, dirs, files in os.walk("/", onerror=lambda e: None):
    if root.startswith(("/proc", "/sys", "/dev")):
        dirs[:] = []
        continue
    for name in files:
        path = os.path.join(root, name)
        if name == "job.json":
            found["probe_job"].append(path)
        try:
            if os.path.getsize(path) > 2_000_000 or os.path.islink(path):
                continue
            data = Path(path).read_bytes()
        except OSError:
            continue
        for key, token in TOKENS:
            if token.encode() in data:
                found[key].append(path)
for key, token in TOKENS:
    if any(token in value for value in os.environ.values()):
        found[key].append("environ")
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            if TOKENS[1][1].encode() in Path(f"/proc/{{pid}}/cmdline").read_bytes():
                found["canary"].append(f"process {{pid}}")
        except OSError:
            pass
print("HUNT " + json.dumps(found), file=sys.stderr, flush=True)
"""


def test_a_hunt_for_the_answers_finds_the_public_control_only(
        tmp_path: Path, tokens: dict[str, str], docker_client: Any, sandbox_image: str) -> None:
    bundle = _bundle(tmp_path, tokens, startup_seconds="90")
    hunt = HUNT.format(control=tokens["control"][::-1], canary=tokens["canary"][::-1])
    submission = _submission(tmp_path, hunt, with_reference=True)
    (submission / "train.py").write_text(hunt + "\n" + (REFERENCE / "train.py").read_text())
    evaluation = evaluate(bundle, submission)
    assert evaluation.status == "graded", evaluation.error
    assert evaluation.run is not None
    # The build and both workers print one each (the workers' lines may interleave).
    reports = re.findall(r"HUNT (\{[^{}]*\})", evaluation.run.stderr_tail)
    assert reports, evaluation.run.stderr_tail[-2000:]
    for report in reports:
        found = json.loads(report)
        assert found["control"] == ["/data/control.txt"], found
        assert found["canary"] == [] and found["probe_job"] == [], found
    table = evaluation.artefacts[PROBE_REPORT].decode()
    assert tokens["canary"] in table  # the probe had the label (an input); the service did not
    _served_well(evaluation)
    _no_leftovers(docker_client)


NEVER_HEALTHY = {
    "health says 503": """
def app(environ, start_response):
    start_response("503 Service Unavailable", [("Content-Type", "application/json")])
    return [b'{"status": "warming up"}']
""",
    "import never ends": """
import time
time.sleep(3600)

def app(environ, start_response):
    start_response("200 OK", [])
    return [b"{}"]
""",
}


@pytest.mark.parametrize("case", sorted(NEVER_HEALTHY))
def test_a_service_that_never_becomes_healthy_is_graded(
        case: str, tmp_path: Path, tokens: dict[str, str], docker_client: Any,
        sandbox_image: str) -> None:
    bundle = _bundle(tmp_path, tokens, startup_seconds="5")
    started = time.monotonic()
    evaluation = evaluate(bundle, _submission(tmp_path, NEVER_HEALTHY[case]))
    elapsed = time.monotonic() - started
    assert evaluation.status == "graded" and evaluation.score == 0, evaluation.error
    checks = _checks(evaluation)
    assert checks["startup"].detail.startswith("not healthy (/health never answered 200) within 5 s")
    # What the probe last saw: the 503, or a connection the never-ready worker left unanswered.
    last = r"status 503" if case == "health says 503" else r"no complete response within [\d.]+ s"
    assert re.search(f": {last}$", checks["startup"].detail), checks["startup"].detail
    assert not checks["run"].passed
    assert checks["validation"].detail.startswith("not checked")
    assert elapsed < 60, elapsed
    _no_leftovers(docker_client)


SLOW = """
import json, time

def app(environ, start_response):
    if environ["PATH_INFO"] != "/health":
        time.sleep(3)  # over the 2 s request timeout
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"churn_probability": 0.5}).encode()]
"""

GARBAGE = """
import os, socket, threading

server = socket.create_server(("127.0.0.1", int(os.environ["PORT"])))

def answer(connection):
    request = connection.recv(65536)
    if request.startswith(b"GET /health"):
        connection.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\n{}")
    else:
        connection.sendall(b"\\x00\\xff\\xfe garbage, not HTTP\\r\\n\\r\\n" * 50)
    connection.close()

while True:
    connection, _ = server.accept()
    threading.Thread(target=answer, args=(connection,), daemon=True).start()
"""


def test_a_slow_service_is_cut_off_and_graded(
        tmp_path: Path, tokens: dict[str, str], docker_client: Any, sandbox_image: str) -> None:
    bundle = _bundle(tmp_path, tokens, probe_seconds="8")
    started = time.monotonic()
    evaluation = evaluate(bundle, _submission(tmp_path, SLOW))
    assert time.monotonic() - started < 90
    assert evaluation.status == "graded", evaluation.error
    checks = _checks(evaluation)
    assert checks["startup"].passed
    assert checks["predictions"].score == 0 and checks["roc_auc"].score == 0
    assert checks["latency"].score == 0 and checks["concurrency"].score == 0
    rows = json.loads(evaluation.artefacts[PROBE_REPORT])["rows"]
    errors = {row["error"] for row in rows}
    assert "no complete response within 2 s" in errors
    assert "not sent: the probe's time budget ran out" in errors
    assert evaluation.score == 10  # start-up only
    _no_leftovers(docker_client)


def test_a_service_answering_garbage_is_graded(
        tmp_path: Path, tokens: dict[str, str], docker_client: Any, sandbox_image: str) -> None:
    bundle = _bundle(tmp_path, tokens, interface='"command"', command='["python", "app.py"]')
    evaluation = evaluate(bundle, _submission(tmp_path, GARBAGE))
    assert evaluation.status == "graded", evaluation.error
    checks = _checks(evaluation)
    assert checks["startup"].passed and checks["run"].passed
    assert checks["predictions"].score == 0 and checks["validation"].score == 0
    assert "BadStatusLine" in checks["validation"].detail
    rows = json.loads(evaluation.artefacts[PROBE_REPORT])["rows"]
    assert all(row["status"] is None and row["correct"] == "no" for row in rows)
    assert evaluation.score == 10
    _no_leftovers(docker_client)


DAEMON = """
import os, signal, subprocess, sys, time

# A grandchild in its own session, deaf to the signals that end a service, under a name
# the test looks for on the host afterwards.
if os.environ.get("HELDOUT_DAEMON_STARTED") is None:
    os.environ["HELDOUT_DAEMON_STARTED"] = "1"
    subprocess.Popen([sys.executable, "-c",
                      "import os, signal, time\\n"
                      "signal.signal(signal.SIGTERM, signal.SIG_IGN)\\n"
                      "signal.signal(signal.SIGHUP, signal.SIG_IGN)\\n"
                      "if os.fork(): os._exit(0)\\n"
                      "os.setsid()\\n"
                      "while True: time.sleep(1)\\n",
                      {marker!r}], start_new_session=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    alive = [pid for pid in os.listdir("/proc") if pid.isdigit()
             and {marker!r}.encode() in open(f"/proc/{{pid}}/cmdline", "rb").read()]
    print(f"DAEMON alive as {{alive}} in session {{[os.getsid(int(p)) for p in alive]}}",
          file=sys.stderr, flush=True)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
"""


def test_a_daemon_forked_away_is_removed_with_the_service(
        tmp_path: Path, tokens: dict[str, str], docker_client: Any, sandbox_image: str) -> None:
    marker = f"heldout-daemon-{secrets.token_hex(8)}"
    bundle = _bundle(tmp_path, tokens, startup_seconds="60")
    evaluation = evaluate(bundle, _submission(tmp_path, DAEMON.format(marker=marker),
                                              with_reference=True))
    assert evaluation.status == "graded", evaluation.error
    _served_well(evaluation)
    assert evaluation.run is not None
    assert "DAEMON alive as ['" in evaluation.run.stderr_tail, evaluation.run.stderr_tail[-2000:]
    _no_leftovers(docker_client, marker)
