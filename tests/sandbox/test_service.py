"""A candidate's HTTP service is reachable by the probe alone, and reaches nothing itself."""

from __future__ import annotations

import json
import os
import socket
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from heldout.sandbox import JobSpec, Limits
from heldout.sandbox.docker_backend import DockerSandbox
from heldout.sandbox.engine import LABEL, LABEL_OWNER_PID

pytestmark = pytest.mark.docker

SERVICE = """
import http.server, json, socket, sys

def reach(host, port):
    try:
        socket.create_connection((host, port), timeout=1).close()
        return "CONNECTED"
    except OSError as exc:
        return type(exc).__name__

# Before serving: try the host's services, the bridge gateway and the internet.
for target in (("172.17.0.1", {port}), ("{host_ip}", {port}), ("1.1.1.1", 443)):
    print("service ->", target, reach(*target), flush=True)

class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        answer = json.dumps({{"prediction": sum(body["features"])}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(answer)
    def log_message(self, *args):
        pass

http.server.HTTPServer(("127.0.0.1", 8080), Handler).serve_forever()
"""

PROBE = """
import json, socket, time, urllib.request

deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    try:
        socket.create_connection(("127.0.0.1", 8080), timeout=0.2).close()
        break
    except OSError:
        time.sleep(0.05)
answers = []
for features in ([1, 2, 3], [0.5, 0.5]):
    request = urllib.request.Request("http://127.0.0.1:8080/predict",
                                     data=json.dumps({"features": features}).encode(),
                                     headers={"Content-Type": "application/json"})
    answers.append(json.loads(urllib.request.urlopen(request, timeout=5).read())["prediction"])
try:
    socket.create_connection(("172.17.0.1", 80), timeout=1)
    gateway = "CONNECTED"
except OSError as exc:
    gateway = type(exc).__name__
json.dump({"answers": answers, "gateway": gateway}, open("/output/probe.json", "w"))
"""


@pytest.fixture
def host_listener() -> Iterator[tuple[str, int, list[str]]]:
    """A TCP service on every host address; records any connection it gets."""
    server = socket.create_server(("0.0.0.0", 0))
    server.settimeout(0.2)
    seen: list[str] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, peer = server.accept()
            except OSError:
                continue
            seen.append(peer[0])
            connection.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    host_ip = socket.gethostbyname(socket.gethostname())
    yield host_ip, server.getsockname()[1], seen
    stop.set()
    thread.join()
    server.close()


def test_probe_reaches_the_service_and_nothing_else_is_reachable(
        tmp_path: Path, docker_client: Any, sandbox_image: str,
        host_listener: tuple[str, int, list[str]]) -> None:
    host_ip, port, seen = host_listener
    service_dir, probe_dir = tmp_path / "service", tmp_path / "probe"
    service_dir.mkdir()
    probe_dir.mkdir()
    (service_dir / "serve.py").write_text(textwrap.dedent(SERVICE.format(port=port, host_ip=host_ip)))
    (probe_dir / "probe.py").write_text(textwrap.dedent(PROBE))

    ran = DockerSandbox().run_service(
        JobSpec(command=("python", "serve.py"), workspace=service_dir, limits=Limits(wall_seconds=60)),
        JobSpec(command=("python", "probe.py"), workspace=probe_dir, limits=Limits(wall_seconds=30)),
        tmp_path / "service-out", tmp_path / "probe-out")
    service, probe = ran.service, ran.probe

    assert probe is not None and probe.exit_code == 0, probe and probe.stderr_tail
    report = json.loads((tmp_path / "probe-out" / "probe.json").read_text())
    assert report["answers"] == [6, 1.0]
    assert report["gateway"] != "CONNECTED"
    assert not service.timed_out and service.limit is None  # stopped by us after the probe
    # Our kill once the probe is done is not the service's exit: no code, no signal.
    assert service.stopped and service.exit_code is None and service.signal is None
    assert "CONNECTED" not in service.stdout_tail
    assert service.stdout_tail.count("service ->") == 3
    assert seen == [], f"the host's listener was reached from {seen}"
    mine = [f"{LABEL}=1", f"{LABEL_OWNER_PID}={os.getpid()}"]
    assert docker_client.containers.list(all=True, filters={"label": mine}) == []


def test_a_service_that_crashes_is_reported(tmp_path: Path, docker_client: Any, sandbox_image: str) -> None:
    service_dir, probe_dir = tmp_path / "service", tmp_path / "probe"
    service_dir.mkdir()
    probe_dir.mkdir()
    (service_dir / "serve.py").write_text("import time\ntime.sleep(0.5)\nraise SystemExit('no model file')\n")
    (probe_dir / "probe.py").write_text(textwrap.dedent("""
        import socket, sys, time
        time.sleep(1)
        try:
            socket.create_connection(("127.0.0.1", 8080), timeout=1)
        except OSError as exc:
            sys.exit(f"service unreachable: {type(exc).__name__}")
    """))
    ran = DockerSandbox().run_service(
        JobSpec(command=("python", "serve.py"), workspace=service_dir, limits=Limits(wall_seconds=30)),
        JobSpec(command=("python", "probe.py"), workspace=probe_dir, limits=Limits(wall_seconds=30)),
        tmp_path / "service-out", tmp_path / "probe-out")
    service, probe = ran.service, ran.probe
    assert service.exit_code == 1 and "no model file" in service.stderr_tail
    assert probe is not None
    assert probe.exit_code == 1 and "service unreachable" in probe.stderr_tail


def test_a_service_gone_before_the_probe_is_a_graded_outcome(tmp_path: Path, docker_client: Any,
                                                            sandbox_image: str) -> None:
    service_dir, probe_dir = tmp_path / "service", tmp_path / "probe"
    service_dir.mkdir()
    probe_dir.mkdir()
    (service_dir / "serve.py").write_text("raise SystemExit(3)\n")
    (probe_dir / "probe.py").write_text("print('never runs')\n")
    # The service may die before or after the probe joins it; both are the candidate's doing.
    ran = DockerSandbox().run_service(
        JobSpec(command=("python", "serve.py"), workspace=service_dir, limits=Limits(wall_seconds=30)),
        JobSpec(command=("python", "probe.py"), workspace=probe_dir, limits=Limits(wall_seconds=30)),
        tmp_path / "service-out", tmp_path / "probe-out")
    service, probe = ran.service, ran.probe
    assert service.exit_code == 3
    assert probe is None or "never runs" in probe.stdout_tail
