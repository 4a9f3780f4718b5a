"""The sandbox contract, checked on the real Docker engine."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from heldout.sandbox import JobSpec, Limits, RunResult, run
from heldout.sandbox.engine import LABEL

pytestmark = pytest.mark.docker


def run_code(tmp_path: Path, code: str, *, limits: Limits | None = None,
             data: dict[str, str] | None = None, files: dict[str, str] | None = None) -> RunResult:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "main.py").write_text(textwrap.dedent(code))
    for name, text in (files or {}).items():
        (workspace / name).write_text(text)
    data_dir = None
    if data is not None:
        data_dir = tmp_path / "data"
        data_dir.mkdir()
        for name, text in data.items():
            (data_dir / name).write_text(text)
    spec = JobSpec(command=("python", "main.py"), workspace=workspace, data=data_dir,
                   limits=limits or Limits(wall_seconds=30))
    return run(spec, tmp_path / "out")


@pytest.fixture(autouse=True)
def _no_leftover_containers(docker_client: Any, sandbox_image: str) -> Any:
    yield
    left = docker_client.containers.list(all=True, filters={"label": f"{LABEL}=1"})
    assert left == [], f"sandbox containers left behind: {[c.name for c in left]}"


def test_runs_as_unprivileged_user_in_workspace(tmp_path: Path) -> None:
    result = run_code(tmp_path, """
        import os
        status = open("/proc/self/status").read()
        caps = [l for l in status.splitlines() if l.startswith(("CapEff", "CapPrm", "NoNewPrivs"))]
        print(os.getuid(), os.getgid(), os.getcwd(), os.environ["HELDOUT_DATA"], os.environ["HELDOUT_OUTPUT"])
        print(*caps, sep="\\n")
    """)
    assert result.exit_code == 0, result.stderr_tail
    lines = result.stdout_tail.splitlines()
    assert lines[0] == "10001 10001 /workspace /data /output"
    assert "CapEff:\t0000000000000000" in lines
    assert "CapPrm:\t0000000000000000" in lines
    assert "NoNewPrivs:\t1" in lines


def test_workspace_data_and_root_are_read_only(tmp_path: Path) -> None:
    result = run_code(tmp_path, """
        import errno
        for path in ("/workspace/x", "/data/x", "/x", "/etc/x", "/opt/venv/x"):
            try:
                open(path, "w")
                print(path, "WRITABLE")
            except OSError as exc:
                print(path, errno.errorcode[exc.errno])
        print(open("/data/public.csv").read().strip())
    """, data={"public.csv": "id,x\n1,2"})
    assert result.exit_code == 0, result.stderr_tail
    assert "WRITABLE" not in result.stdout_tail
    assert "id,x\n1,2" in result.stdout_tail


def test_output_files_are_copied_and_links_are_not_followed(tmp_path: Path) -> None:
    result = run_code(tmp_path, """
        import os
        os.makedirs("/output/sub")
        open("/output/predictions.csv", "w").write("id,p\\n1,0.5\\n")
        open("/output/sub/model.txt", "w").write("weights")
        os.symlink("/etc/passwd", "/output/passwd")
        os.symlink("/proc/self/environ", "/output/env")
        os.mkfifo("/output/fifo")
    """)
    assert result.exit_code == 0, result.stderr_tail
    names = {item.name: item for item in result.outputs}
    assert set(names) == {"predictions.csv", "sub/model.txt"}
    assert names["predictions.csv"].path.read_text() == "id,p\n1,0.5\n"
    assert result.output_bytes == len("id,p\n1,0.5\n") + len("weights")
    skipped = "\n".join(result.skipped_outputs)
    assert "passwd (symbolic link" in skipped and "env (symbolic link" in skipped
    assert "fifo (not a regular file)" in skipped
    assert not (tmp_path / "out" / "passwd").exists()


def test_busy_loop_is_killed_at_the_wall_limit(tmp_path: Path) -> None:
    result = run_code(tmp_path, "while True: pass\n", limits=Limits(wall_seconds=3))
    assert result.timed_out and result.limit == "time"
    assert result.exit_code == 137 and result.signal == 9
    assert 3.0 <= result.wall_seconds < 8.0
    assert result.cpu_seconds > 1.0


def test_memory_bomb_is_oom_killed(tmp_path: Path) -> None:
    result = run_code(tmp_path, """
        chunks = []
        while True:
            chunks.append(bytearray(16 * 1024 * 1024))
    """, limits=Limits(wall_seconds=30, memory_mb=256))
    assert result.oom_killed and result.limit == "memory"
    assert not result.timed_out
    assert 200 <= result.peak_memory_mb <= 260


def test_no_network_at_all(tmp_path: Path) -> None:
    result = run_code(tmp_path, """
        import socket
        names = [name for _, name in socket.if_nameindex()]
        print("interfaces", sorted(names))
        for target in [("1.1.1.1", 53), ("172.17.0.1", 2375), ("127.0.0.1", 5000)]:
            try:
                socket.create_connection(target, timeout=2)
                print(target, "CONNECTED")
            except OSError as exc:
                print(target, type(exc).__name__)
        try:
            socket.getaddrinfo("pypi.org", 443)
            print("dns RESOLVED")
        except OSError as exc:
            print("dns", type(exc).__name__)
    """)
    assert result.exit_code == 0, result.stderr_tail
    assert "interfaces ['lo']" in result.stdout_tail
    assert "CONNECTED" not in result.stdout_tail and "RESOLVED" not in result.stdout_tail


def test_fork_bomb_hits_the_process_limit(tmp_path: Path) -> None:
    result = run_code(tmp_path, """
        import os, time
        children = 0
        try:
            while True:
                if os.fork() == 0:
                    time.sleep(30)
                    os._exit(0)
                children += 1
        except OSError as exc:
            print("refused after", children, exc.strerror)
    """, limits=Limits(wall_seconds=20, pids=32))
    assert "refused after" in result.stdout_tail
    refused_after = int(result.stdout_tail.split("refused after")[1].split()[0])
    assert refused_after < 32


def test_output_is_capped_by_the_filesystem(tmp_path: Path) -> None:
    result = run_code(tmp_path, """
        import errno
        try:
            with open("/output/big.bin", "wb") as f:
                for _ in range(64):
                    f.write(b"x" * 1024 * 1024)
            print("WROTE ALL")
        except OSError as exc:
            print("stopped", errno.errorcode[exc.errno])
    """, limits=Limits(wall_seconds=30, output_mb=8, file_size_mb=64))
    assert "stopped ENOSPC" in result.stdout_tail
    assert result.output_bytes <= 8 * 1024 * 1024


def test_file_size_ulimit(tmp_path: Path) -> None:
    result = run_code(tmp_path, """
        import signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        try:
            with open("/tmp/f", "wb") as f:
                f.write(b"x" * 3 * 1024 * 1024)
            print("WROTE")
        except OSError as exc:
            print("refused", exc.errno)
    """, limits=Limits(wall_seconds=30, file_size_mb=2))
    assert "refused 27" in result.stdout_tail  # EFBIG


def test_stdout_flood_is_truncated(tmp_path: Path) -> None:
    result = run_code(tmp_path, """
        import sys
        line = "y" * 1023 + "\\n"
        for _ in range(20_000):
            sys.stdout.write(line)
        print("THE END")
    """, limits=Limits(wall_seconds=30, log_bytes=4096))
    assert result.stdout_truncated
    assert result.stdout_tail.rstrip().endswith("THE END")
    assert len(result.stdout_tail) < 4096 + 200


def test_crash_is_reported_with_its_exit_code(tmp_path: Path) -> None:
    result = run_code(tmp_path, "raise SystemExit(3)\n")
    assert result.exit_code == 3 and not result.timed_out and result.limit is None


def test_unreadable_host_directories_are_staged(tmp_path: Path) -> None:
    # tempfile.mkdtemp makes 0700 directories the sandbox user could not enter.
    workspace, data = tmp_path / "ws", tmp_path / "data"
    for directory, name, text in ((workspace, "main.py", "print(open('/data/a.txt').read())"),
                                  (data, "a.txt", "secret-free public data")):
        directory.mkdir(mode=0o700)
        (directory / name).write_text(text)
        (directory / name).chmod(0o600)
    result = run(JobSpec(command=("python", "main.py"), workspace=workspace, data=data,
                         limits=Limits(wall_seconds=30)), tmp_path / "out")
    assert result.exit_code == 0, result.stderr_tail
    assert result.stdout_tail.strip() == "secret-free public data"
